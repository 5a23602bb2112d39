//! `chargebee-webhook`: wiring only. Tracing, configuration, clients built once, then the
//! runtime loop serving the function's router.

use chargebee_webhook::config::Config;
use lambda_http::Error;
use std::sync::Arc;

use saguaro_app::config::EARN_DLQ_URL;
use saguaro_app::webhooks::ChargebeeWebhook;
use saguaro_sqs::{SqsParking, SqsQueue};

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
    let mut webhook = ChargebeeWebhook::new(config.auth, queue, config.referral_key);
    match config.parking_url {
        Some(url) => webhook = webhook.with_parking(Arc::new(SqsParking::new(sqs, url))),
        None => tracing::warn!(
            "{EARN_DLQ_URL} is not set: deliveries that can never be applied are answered 500 and retried by Chargebee"
        ),
    }
    lambda_http::run(chargebee_webhook::router(webhook)).await
}
