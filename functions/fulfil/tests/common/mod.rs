//! Shared set-up of the fulfil function's moto tests: a table with its stream on the moto
//! server that `infra/test.sh` starts, an event committed through the DynamoDB store, the
//! stream read back with the real DynamoDB Streams client and turned into the event Lambda
//! hands the function, and a clock the test sets.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use aws_lambda_events::event::dynamodb::{Event, EventRecord, StreamViewType};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use jiff::{SignedDuration, Timestamp};
use saguaro_app::Earner;
use saguaro_domain::ports::Clock;
use saguaro_domain::{CustomerId, Event as DomainEvent, Money, Program, Provider, Trigger};
use saguaro_dynamodb::{DynamoStore, RequestCounter};

/// One point per euro; a 120-point €5 billing credit, redeemed as soon as it is affordable.
pub const PROGRAM: &str = r#"
[program]
name = "Fulfil"
timezone = "UTC"

[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { eur = 100 }

[[rewards]]
id = "credit"
kind = "billing_credit"
cost = 120
value = { eur = 500 }
"#;

pub const OCCURRED: &str = "2026-06-01T10:00:00Z";

/// A clock the test sets.
#[derive(Debug)]
pub struct TestClock(Mutex<Timestamp>);

impl TestClock {
    pub fn at(t: &str) -> Arc<Self> {
        Arc::new(Self(Mutex::new(t.parse().unwrap())))
    }

    pub fn advance(&self, by: SignedDuration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

/// A store on a new table (with its `NEW_IMAGE` stream), and the stream's ARN.
pub async fn fresh_store(test: &str) -> (Arc<DynamoStore>, String) {
    let aws = saguaro_testkit::aws().await;
    let client = saguaro_testkit::dynamodb::counted_client(&aws, &RequestCounter::new());
    let table = saguaro_testkit::unique_name(&format!("fulfil-{test}"));
    saguaro_dynamodb::create_table_with_stream(&client, &table)
        .await
        .unwrap_or_else(|e| panic!("creating table {table}: {e:?}"));
    let described = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .expect("DescribeTable");
    let arn = described
        .table()
        .and_then(|t| t.latest_stream_arn())
        .expect("the table has a stream (create_table_with_stream)")
        .to_owned();
    (Arc::new(DynamoStore::new(client, table)), arn)
}

/// Commits a €150 payment of Stripe customer `customer` (150 points: one credit).
pub async fn pay(store: &Arc<DynamoStore>, customer: &str, event_id: &str) {
    let program = Arc::new(Program::parse(PROGRAM).unwrap());
    let who = CustomerId::new(Provider::Stripe, customer);
    let mut e = DomainEvent::new(
        event_id,
        who,
        Trigger::PaymentSucceeded,
        OCCURRED.parse().unwrap(),
    );
    e.amount = Some(Money::new(15_000, "eur".parse().unwrap()));
    e.refs.payment = Some(format!("pay-{event_id}"));
    Earner::new(store.clone(), program)
        .apply(&e)
        .await
        .expect("the payment applies");
}

/// Reads the stream from its start with the SDK (DescribeStream, GetShardIterator
/// TRIM_HORIZON, GetRecords until a page is empty) and returns the records as Lambda hands
/// them to the function.
pub async fn stream_records(stream_arn: &str) -> Vec<EventRecord> {
    let aws = saguaro_testkit::aws().await;
    let streams = aws_sdk_dynamodbstreams::Client::new(&aws);
    let described = streams
        .describe_stream()
        .stream_arn(stream_arn)
        .send()
        .await
        .expect("DescribeStream");
    let shards = described
        .stream_description()
        .map(|d| d.shards().to_vec())
        .unwrap_or_default();
    let mut out = Vec::new();
    for shard in shards {
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(stream_arn)
            .shard_id(shard.shard_id().expect("a shard id"))
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("GetShardIterator")
            .shard_iterator
            .map(|s| s.to_owned());
        while let Some(it) = iterator {
            let page = streams
                .get_records()
                .shard_iterator(it)
                .send()
                .await
                .expect("GetRecords");
            if page.records().is_empty() {
                break;
            }
            out.extend(page.records().iter().map(|r| lambda_record(r, stream_arn)));
            iterator = page.next_shard_iterator.clone();
        }
    }
    out
}

/// One SDK stream record as the event source mapping hands it over.
fn lambda_record(r: &aws_sdk_dynamodbstreams::types::Record, arn: &str) -> EventRecord {
    let change = r.dynamodb().expect("a stream record");
    let mut record = EventRecord::default();
    record.event_id = r.event_id().unwrap_or_default().to_owned();
    record.event_name = r
        .event_name()
        .map(|n| n.as_str().to_owned())
        .unwrap_or_default();
    record.event_source = r.event_source().map(str::to_owned);
    record.event_version = r.event_version().map(str::to_owned);
    record.aws_region = r.aws_region().unwrap_or("us-east-1").to_owned();
    record.event_source_arn = Some(arn.to_owned());
    record.change.keys = change.keys().cloned().unwrap_or_default().into();
    record.change.new_image = change.new_image().cloned().unwrap_or_default().into();
    record.change.sequence_number = change.sequence_number().map(str::to_owned);
    record.change.size_bytes = change.size_bytes().unwrap_or_default();
    record.change.stream_view_type = Some(StreamViewType::NewImage);
    record
}

/// The invocation payload of a batch of `records`, as JSON (what the runtime deserializes).
pub fn payload(records: Vec<EventRecord>) -> serde_json::Value {
    let mut event = Event::default();
    event.records = records;
    serde_json::to_value(&event).unwrap()
}

/// The `sk` of a record.
pub fn sort_key(record: &EventRecord) -> String {
    match record.change.keys.get("sk") {
        Some(serde_dynamo::AttributeValue::S(s)) => s.clone(),
        other => panic!("a record without a string sk: {other:?}"),
    }
}
