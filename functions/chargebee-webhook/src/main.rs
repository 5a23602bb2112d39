//! `chargebee-webhook`: wiring only. Tracing, configuration, clients built once, then the
//! runtime loop.

use chargebee_webhook::config::Config;
use chargebee_webhook::handler;
use lambda_http::{Error, service_fn};
use saguaro_app::config::Env;
use saguaro_app::webhooks::ChargebeeWebhook;
use saguaro_sqs::SqsQueue;

#[tokio::main]
async fn main() -> Result<(), Error> {
    saguaro_lambda::logs::json_logs()
        .with_current_span(false)
        .with_target(false)
        .init();
    let config = Config::from_env(&Env::process())?;
    let aws = aws_config::load_from_env().await;
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&aws), config.queue_url);
    let webhook = ChargebeeWebhook::new(config.auth, queue, config.referral_key);
    let webhook = &webhook;
    lambda_http::run(service_fn(move |req| handler::handle(webhook, req))).await
}
