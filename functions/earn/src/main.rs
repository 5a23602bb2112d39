//! The earn Lambda's entry point: wiring only (STYLE §2). Configuration and clients are built
//! once per cold start; every invocation borrows them.

// The runtime's service stack around the SDK's futures is deeper than rustc's default layout
// query limit.
#![recursion_limit = "256"]

use aws_lambda_events::event::sqs::SqsEvent;
use earn::{Config, EarnHandler};
use lambda_runtime::{LambdaEvent, service_fn};
use saguaro_app::Earner;
use saguaro_dynamodb::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    saguaro_lambda::logs::json_logs()
        .with_current_span(true)
        .with_span_list(false)
        .init();

    let aws = aws_config::load_from_env().await;
    // the SSM secrets the template names, over the environment; the bundled program
    let config = Config::from_env(&saguaro_lambda::env(&aws).await?)?;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), config.table_name);
    let handler = EarnHandler::new(Earner::new(store, config.program));
    let handler = &handler;

    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        handler.handle(event.payload).await
    }))
    .await
}
