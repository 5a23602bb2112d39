//! `chargebee-webhook`: wiring only. Tracing, configuration, clients built once, then the
//! runtime loop serving the function's router.

use chargebee_webhook::config::Config;
use lambda_http::Error;
use saguaro_app::webhooks::ChargebeeWebhook;
use saguaro_sqs::SqsQueue;

#[tokio::main]
async fn main() -> Result<(), Error> {
    saguaro_lambda::logs::json_logs()
        .with_current_span(false)
        .with_target(false)
        .init();
    let aws = aws_config::load_from_env().await;
    // the SSM secrets the template names, over the environment; the bundled program
    let config = Config::from_env(&saguaro_lambda::env(&aws).await?)?;
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&aws), config.queue_url);
    let webhook = ChargebeeWebhook::new(config.auth, queue, config.referral_key);
    lambda_http::run(chargebee_webhook::router(webhook)).await
}
