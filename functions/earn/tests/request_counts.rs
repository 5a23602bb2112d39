//! What the earn handler costs on DynamoDB (moto): 1,000 events across 100 customers, in
//! batches of 10 as the SQS FIFO event source delivers them (several message groups per
//! batch). Prints the requests by operation, per applied event and per customer-batch, and
//! asserts the goals: exactly one `TransactWriteItems` per event, at most one read per
//! customer per batch.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use common::*;
use earn::EarnHandler;
use saguaro_app::Earner;
use saguaro_dynamodb::{DynamoStore, RequestCounter};

const CUSTOMERS: usize = 100;
const EVENTS: usize = 1_000;
const BATCH: usize = 10;
/// Customers whose messages share batches: the queue delivers their groups interleaved.
const GROUPS_PER_BATCH: usize = 4;
const READS: [&str; 4] = ["GetItem", "Query", "BatchGetItem", "Scan"];

#[tokio::test]
async fn when_1000_events_arrive_in_batches_of_10_then_each_costs_one_write_and_each_customer_one_read_per_batch()
 {
    let aws = aws().await;
    let counter = RequestCounter::new();
    let client = dynamodb(&aws, &counter);
    let program = program();

    // Customers in sets of GROUPS_PER_BATCH; each set's events are interleaved round-robin
    // (each customer's in order) and cut into batches of BATCH, as SQS hands out several
    // groups per receive.
    let per_customer = EVENTS / CUSTOMERS;
    let mut batches = Vec::new();
    for set in 0..CUSTOMERS / GROUPS_PER_BATCH {
        let mut messages = Vec::new();
        for n in 0..per_customer {
            for g in 0..GROUPS_PER_BATCH {
                let c = customer(&format!("rq-{}", set * GROUPS_PER_BATCH + g));
                let id = format!("rq-{}-{n}", set * GROUPS_PER_BATCH + g);
                let event = match n % 5 {
                    4 => adjusted(&id, &c, 5, n as i64),
                    _ => payment(&id, &c, 1_000 + 731 * n as i64, n as i64),
                };
                messages.push(event_message(&format!("m-{id}"), &event));
            }
        }
        batches.push(messages);
    }

    // One table per set of customers: moto copies the whole table in every transaction, so
    // one table of 100 customers makes the run quadratic (minutes). The requests counted are
    // the same: the handler only ever touches the customers of its batch.
    let mut tables = Vec::new();
    for set in 0..batches.len() {
        tables.push(fresh_table(&client, &format!("earn-requests-{set}")).await);
    }
    counter.reset();
    let mut customer_batches = 0u64;
    let mut applied = 0u64;
    for (set_messages, table) in batches.into_iter().zip(tables) {
        let handler = EarnHandler::new(Earner::new(
            Arc::new(DynamoStore::new(client.clone(), table)),
            program.clone(),
        ));
        for chunk in set_messages.chunks(BATCH) {
            let messages = chunk.to_vec();
            let groups: HashSet<String> = messages
                .iter()
                .filter_map(|m| m.attributes.get("MessageGroupId").cloned())
                .collect();
            customer_batches += groups.len() as u64;
            applied += messages.len() as u64;
            let response = handler.handle(batch(messages)).await.unwrap();
            assert!(response.batch_item_failures.is_empty());
        }
    }
    assert_eq!(applied, EVENTS as u64);

    let counts: BTreeMap<String, u64> = counter.snapshot();
    let mut table_text = format!(
        "earn request counts: {EVENTS} events, {CUSTOMERS} customers, batches of {BATCH} \
         ({GROUPS_PER_BATCH} groups interleaved), {customer_batches} customer-batches\n\
         \x20 {:<20} {:>7} {:>10} {:>19}\n",
        "operation", "count", "per event", "per customer-batch"
    );
    for (op, n) in &counts {
        table_text.push_str(&format!(
            "  {op:<20} {n:>7} {:>10.3} {:>19.3}\n",
            *n as f64 / applied as f64,
            *n as f64 / customer_batches as f64
        ));
    }
    report(table_text.trim_end());

    assert_eq!(
        counts.get("TransactWriteItems"),
        Some(&(EVENTS as u64)),
        "one commit per event"
    );
    let writes: u64 = ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"]
        .iter()
        .map(|op| counter.get(op))
        .sum();
    assert_eq!(writes, 0, "no write besides the commit");
    let reads: u64 = READS.iter().map(|op| counter.get(op)).sum();
    assert!(
        reads <= customer_batches,
        "{reads} reads for {customer_batches} customer-batches"
    );
    assert_eq!(counter.total(), counter.get("TransactWriteItems") + reads);
}
