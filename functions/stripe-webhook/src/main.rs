//! `stripe-webhook`: wiring only. Tracing, configuration, clients built once, then the
//! runtime loop serving the function's router.

use lambda_http::Error;
use std::sync::Arc;

use saguaro_app::config::{EARN_DLQ_URL, STRIPE_API_KEY, TABLE_NAME};
use saguaro_app::ports::SystemClock;
use saguaro_app::webhooks::StripeWebhook;
use saguaro_dynamodb::DynamoStore;
use saguaro_sqs::{SqsParking, SqsQueue};
use saguaro_stripe_api::StripeApi;
use stripe_webhook::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    saguaro_lambda::logs::json_logs()
        .with_current_span(false)
        .with_target(false)
        .init();
    let aws = aws_config::load_from_env().await;
    // the SSM secrets the template names, over the environment; the bundled program
    let config = Config::from_env(&saguaro_lambda::env(&aws).await?)?;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let queue = SqsQueue::new(sqs.clone(), config.queue_url);
    let stripe_api = match &config.stripe_api_key {
        Some(key) => Some(StripeApi::new(key)?),
        None => {
            tracing::warn!(
                "{STRIPE_API_KEY} is not set: refunds on basil+ Stripe API versions cannot be linked to their invoices and reverse no points"
            );
            None
        }
    };
    let links = match &config.link_table {
        Some(table) => Some(DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table)),
        None => {
            tracing::warn!(
                "{TABLE_NAME} is not set: basil invoice_payment.paid links are not kept, so basil refunds are linked only through {STRIPE_API_KEY}"
            );
            None
        }
    };
    let mut webhook = StripeWebhook::new(config.verifier, queue, SystemClock, config.referral_key)
        .with_lookup(stripe_api)
        .with_links(links);
    match config.parking_url {
        Some(url) => webhook = webhook.with_parking(Arc::new(SqsParking::new(sqs, url))),
        None => tracing::warn!(
            "{EARN_DLQ_URL} is not set: deliveries that can never be applied are answered 500 and retried by Stripe"
        ),
    }
    lambda_http::run(stripe_webhook::router(webhook)).await
}
