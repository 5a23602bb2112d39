//! The fulfil Lambda's entry point: wiring only (STYLE §2). Configuration and clients are
//! built once per cold start; every invocation borrows them.

// The runtime's service stack around the SDK's futures is deeper than rustc's default layout
// query limit.
#![recursion_limit = "256"]

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use fulfil::{Config, FulfilHandler};
use lambda_runtime::{LambdaEvent, service_fn};
use saguaro_app::fulfil::Fulfiler;
use saguaro_domain::ports::SystemClock;
use saguaro_dynamodb::DynamoStore;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    saguaro_lambda::logs::json_logs()
        .with_current_span(true)
        .with_span_list(false)
        .init();

    let aws = aws_config::load_from_env().await;
    // the SSM secrets the template names (keys, perk secrets), over the environment; the
    // bundled program
    let env = saguaro_lambda::env(&aws).await?;
    let config = Config::from_env(&env, &|name| env.named(name))?;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), config.table_name);
    let fulfiler =
        Fulfiler::new(store, config.deliveries, Arc::new(SystemClock)).with_notify(&config.program);
    let handler = FulfilHandler::new(fulfiler);
    let handler = &handler;

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        // The context's deadline as an Instant (an invocation ends before the clock moves
        // far enough to matter).
        let left = event
            .context
            .deadline()
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        handler.handle(event.payload, Instant::now() + left).await
    }))
    .await
}
