//! The table definition, as code. `template.yaml` must declare the same thing:
//!
//! ```yaml
//! Table:
//!   Type: AWS::DynamoDB::Table
//!   Properties:
//!     BillingMode: PAY_PER_REQUEST
//!     AttributeDefinitions:
//!       - { AttributeName: pk, AttributeType: S }
//!       - { AttributeName: sk, AttributeType: S }
//!       - { AttributeName: gsi1pk, AttributeType: S }
//!       - { AttributeName: gsi1sk, AttributeType: S }
//!     KeySchema:
//!       - { AttributeName: pk, KeyType: HASH }
//!       - { AttributeName: sk, KeyType: RANGE }
//!     GlobalSecondaryIndexes:
//!       - IndexName: gsi1
//!         KeySchema:
//!           - { AttributeName: gsi1pk, KeyType: HASH }
//!           - { AttributeName: gsi1sk, KeyType: RANGE }
//!         Projection: { ProjectionType: ALL }
//!     StreamSpecification: { StreamViewType: NEW_IMAGE }
//!     TimeToLiveSpecification: { AttributeName: ttl, Enabled: true }
//!     PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }
//! ```

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};

use crate::error::{Error, Result};
use crate::keys;

/// How long to wait for a new table to become active.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(120);

/// Creates the Saguaro table `name` (on-demand, `gsi1`, TTL on [`keys::TTL`]), without the
/// stream (tests that do not read it spare moto the bookkeeping), and waits
/// until it is active. For tests and local set-ups; deployed stacks get the table from
/// `template.yaml` (see the module documentation for the equivalent declaration).
pub async fn create_table(client: &Client, name: &str) -> Result<()> {
    create(client, name, false).await
}

/// [`create_table`] with the `NEW_IMAGE` stream the deployed table has (the fulfil
/// function's event source), for tests that read the stream.
pub async fn create_table_with_stream(client: &Client, name: &str) -> Result<()> {
    create(client, name, true).await
}

async fn create(client: &Client, name: &str, stream: bool) -> Result<()> {
    let string_attr = |attr: &str| {
        AttributeDefinition::builder()
            .attribute_name(attr)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| Error::sdk("CreateTable", e))
    };
    let key = |attr: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(attr)
            .key_type(kind)
            .build()
            .map_err(|e| Error::sdk("CreateTable", e))
    };
    let gsi = GlobalSecondaryIndex::builder()
        .index_name(keys::GSI1)
        .key_schema(key(keys::GSI1_PK, KeyType::Hash)?)
        .key_schema(key(keys::GSI1_SK, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(|e| Error::sdk("CreateTable", e))?;
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attr(keys::PK)?)
        .attribute_definitions(string_attr(keys::SK)?)
        .attribute_definitions(string_attr(keys::GSI1_PK)?)
        .attribute_definitions(string_attr(keys::GSI1_SK)?)
        .key_schema(key(keys::PK, KeyType::Hash)?)
        .key_schema(key(keys::SK, KeyType::Range)?)
        .global_secondary_indexes(gsi)
        .set_stream_specification(
            stream
                .then(|| {
                    StreamSpecification::builder()
                        .stream_enabled(true)
                        .stream_view_type(StreamViewType::NewImage)
                        .build()
                        .map_err(|e| Error::sdk("CreateTable", e))
                })
                .transpose()?,
        )
        .send()
        .await
        .map_err(|e| Error::sdk("CreateTable", e))?;
    client
        .wait_until_table_exists()
        .table_name(name)
        .wait(ACTIVE_TIMEOUT)
        .await
        .map_err(|e| Error::sdk("DescribeTable", e))?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(keys::TTL)
                .enabled(true)
                .build()
                .map_err(|e| Error::sdk("UpdateTimeToLive", e))?,
        )
        .send()
        .await
        .map_err(|e| Error::sdk("UpdateTimeToLive", e))?;
    Ok(())
}
