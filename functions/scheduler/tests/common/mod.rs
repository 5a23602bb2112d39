//! What the scheduler's emulator tests share: a table and a FIFO queue on moto, a fixed
//! clock, the program, seeding through the earner, draining the queue, and filler index
//! items for large tables.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use jiff::Timestamp;
use jiff::civil::Date;
use saguaro_app::Earner;
use saguaro_app::ports::{Clock, HistoryStore, PageRequest};
use saguaro_domain::{CustomerId, Event, LedgerLine, Program, Provider, SubscriptionInfo, Trigger};
use saguaro_dynamodb::{DynamoStore, RequestCounter, keys};
use saguaro_sqs::SqsQueue;
use saguaro_testkit::{aws, dynamodb, sqs};
use scheduler::SchedulerHandler;

pub const PROGRAM: &str = r#"
[program]
name = "Scheduler"
timezone = "America/New_York"

[[earn]]
id = "loyal"
on = "subscription.anniversary"
points = 1000

[[promotions]]
id = "summer-gift"
starts = 2026-06-01
ends = 2026-06-30
grant = 250

[expiry]
after_days = 30
"#;

#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

pub struct Setup {
    pub store: Arc<DynamoStore>,
    pub counter: RequestCounter,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub program: Arc<Program>,
    pub earner: Earner<Arc<DynamoStore>>,
}

impl Setup {
    pub async fn new(test: &str) -> Self {
        let shared = aws().await;
        let counter = RequestCounter::new();
        let client = dynamodb::counted_client(&shared, &counter);
        let table = dynamodb::fresh_table(&client, test).await;
        let store = Arc::new(DynamoStore::new(client, table));
        let sqs = aws_sdk_sqs::Client::new(&shared);
        let queue_url = sqs::fresh_queue(&sqs, test).await;
        let program = Arc::new(Program::parse(PROGRAM).unwrap());
        Self {
            earner: Earner::new(store.clone(), program.clone()),
            store,
            counter,
            sqs,
            queue_url,
            program,
        }
    }

    pub fn handler(&self, now: &str) -> SchedulerHandler<Arc<DynamoStore>, SqsQueue, FixedClock> {
        SchedulerHandler::new(
            self.store.clone(),
            SqsQueue::new(self.sqs.clone(), self.queue_url.clone()),
            self.program.clone(),
            FixedClock(now.parse().unwrap()),
        )
    }

    pub async fn apply(&self, event: Event) {
        self.earner.apply(&event).await.unwrap();
    }

    pub async fn subscribe(&self, customer: &str, sub: &str, started: &str) -> CustomerId {
        let c = CustomerId::new(Provider::Stripe, customer);
        let at: Timestamp = started.parse().unwrap();
        let mut e = Event::new(
            format!("created-{customer}"),
            c.clone(),
            Trigger::SubscriptionCreated,
            at,
        );
        e.subscription = Some(SubscriptionInfo {
            id: sub.into(),
            plan: Some("price_gold".into()),
            status: Some("active".into()),
            started_at: Some(at),
            monthly_amount: None,
            resource_version: None,
        });
        self.apply(e).await;
        c
    }

    /// Every message on the queue (deleted once read), decoded, in the order received.
    pub async fn drain(&self) -> Vec<Event> {
        let mut out = Vec::new();
        loop {
            let got = sqs::receive(&self.sqs, &self.queue_url, 0).await;
            if got.is_empty() {
                return out;
            }
            for m in got {
                out.push(saguaro_sqs::decode(m.body().unwrap()).unwrap());
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    pub async fn lines(&self, c: &CustomerId) -> Vec<LedgerLine> {
        let page = PageRequest {
            limit: 500,
            before: None,
        };
        let mut lines = self.store.ledger(c, page).await.unwrap().lines;
        lines.reverse();
        lines
    }

    /// Writes index items as the store lays them out, without customer items: large
    /// tables for the tests that count what a run reads (moto copies the whole table on
    /// every transaction, so committing thousands of customers would take minutes).
    pub async fn filler(&self, items: Vec<HashMap<String, AttributeValue>>) {
        for chunk in items.chunks(25) {
            let requests = chunk
                .iter()
                .map(|item| {
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(item.clone()))
                                .build()
                                .unwrap(),
                        )
                        .build()
                })
                .collect();
            self.store
                .client()
                .batch_write_item()
                .request_items(self.store.table(), requests)
                .send()
                .await
                .unwrap();
        }
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// An anniversary index item as the store writes it (`keys.rs`).
pub fn anniversary_item(
    customer: &str,
    sub: &str,
    started_on: Date,
    active: bool,
) -> HashMap<String, AttributeValue> {
    let c = CustomerId::new(Provider::Stripe, customer);
    HashMap::from([
        (keys::PK.to_owned(), s(keys::customer_pk(&c))),
        (keys::SK.to_owned(), s(keys::anniversary_index_sk(sub))),
        (keys::KIND.to_owned(), s("anniversary-index")),
        (keys::ID.to_owned(), s(sub)),
        (keys::STARTED_ON.to_owned(), s(started_on.to_string())),
        (keys::ACTIVE.to_owned(), AttributeValue::Bool(active)),
        (
            keys::GSI1_PK.to_owned(),
            s(keys::anniversary_gsi_pk(
                started_on.month(),
                started_on.day(),
            )),
        ),
        (
            keys::GSI1_SK.to_owned(),
            s(keys::subscription_gsi_sk(&c, sub)),
        ),
    ])
}

/// An expiry index item as the store writes it (`keys.rs`).
pub fn expiry_item(customer: &str, day: Date) -> HashMap<String, AttributeValue> {
    let c = CustomerId::new(Provider::Stripe, customer);
    HashMap::from([
        (keys::PK.to_owned(), s(keys::customer_pk(&c))),
        (keys::SK.to_owned(), s(keys::EXPIRY_INDEX_SK)),
        (keys::KIND.to_owned(), s("expiry-index")),
        (keys::EXPIRES_ON.to_owned(), s(day.to_string())),
        (keys::GSI1_PK.to_owned(), s(keys::expiry_gsi_pk(day))),
        (keys::GSI1_SK.to_owned(), s(keys::expiry_gsi_sk(day, &c))),
    ])
}
