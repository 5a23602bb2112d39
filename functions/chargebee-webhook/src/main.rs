//! `chargebee-webhook`: wiring only. Tracing, configuration, clients built once, then the
//! runtime loop.

use chargebee_webhook::config::Config;
use chargebee_webhook::handler;
use lambda_http::{Error, service_fn};
use saguaro_app::webhooks::ChargebeeWebhook;
use saguaro_sqs::SqsQueue;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_current_span(false)
        .without_time()
        .with_target(false)
        .init();
    let config = Config::from_env()?;
    let aws = aws_config::load_from_env().await;
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&aws), config.queue_url);
    let webhook = ChargebeeWebhook::new(config.auth, queue, config.referral_key);
    let webhook = &webhook;
    lambda_http::run(service_fn(move |req| handler::handle(webhook, req))).await
}
