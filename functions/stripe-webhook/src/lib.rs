//! The `stripe-webhook` Lambda: `POST /webhooks/stripe` behind API Gateway (HTTP API).
//! [`config`] reads the environment once at start-up; [`handler`] adapts a `lambda_http`
//! request to the shared [`saguaro_app::webhooks::StripeWebhook`], whose sink is the earn
//! queue ([`saguaro_sqs::SqsQueue`]).

pub mod config;
pub mod handler;
