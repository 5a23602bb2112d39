//! The scheduler Lambda's entry point: wiring only. Configuration and clients are built once
//! per cold start; every invocation (EventBridge Scheduler, hourly) runs the job once.

// The runtime's service stack around the SDK's futures is deeper than rustc's default layout
// query limit.
#![recursion_limit = "256"]

use lambda_runtime::{LambdaEvent, service_fn};
use saguaro_app::ports::SystemClock;
use saguaro_dynamodb::DynamoStore;
use saguaro_sqs::SqsQueue;
use scheduler::{Config, SchedulerHandler};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    saguaro_lambda::logs::json_logs()
        .with_current_span(true)
        .with_span_list(false)
        .init();

    let aws = aws_config::load_from_env().await;
    // the environment, with the bundled program
    let config = Config::from_env(&saguaro_lambda::env(&aws).await?)?;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), config.table_name);
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&aws), config.queue_url);
    let handler = SchedulerHandler::new(store, queue, config.program, SystemClock);
    let handler = &handler;

    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| async move {
        handler
            .handle()
            .await
            .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
    }))
    .await
}
