//! DynamoDB on the emulator: a client that counts its requests, and a fresh table per test.

use aws_sdk_dynamodb::Client;
use saguaro_dynamodb::RequestCounter;

use crate::unique_name;

/// A DynamoDB client whose requests `counter` counts by operation.
pub fn counted_client(shared: &aws_config::SdkConfig, counter: &RequestCounter) -> Client {
    let config = aws_sdk_dynamodb::config::Builder::from(shared)
        .interceptor(counter.clone())
        .build();
    Client::from_conf(config)
}

/// A new, empty Saguaro table (made as the application makes it) whose name starts with
/// `prefix` and that no other test uses. Returns its name.
pub async fn fresh_table(client: &Client, prefix: &str) -> String {
    let name = unique_name(prefix);
    saguaro_dynamodb::create_table(client, &name)
        .await
        .unwrap_or_else(|e| panic!("creating table {name}: {e:?}"));
    name
}
