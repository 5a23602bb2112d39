//! `api`: wiring only. Tracing, configuration, clients built once, then the runtime loop
//! serving the function's router.

use std::sync::Arc;

use api::config::Config;
use lambda_http::Error;
use saguaro_app::ports::SystemClock;
use saguaro_dynamodb::DynamoStore;
use saguaro_sqs::SqsQueue;

#[tokio::main]
async fn main() -> Result<(), Error> {
    saguaro_lambda::logs::json_logs()
        .with_current_span(false)
        .with_target(false)
        .init();
    let aws = aws_config::load_from_env().await;
    let config = Config::from_env(&saguaro_lambda::env(&aws).await?)?;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), config.table_name);
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&aws), config.queue_url);
    lambda_http::run(api::router(
        Arc::new(store),
        queue,
        SystemClock,
        config.program,
    ))
    .await
}
