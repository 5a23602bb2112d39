//! Shared set-up of the adapter tests: a real SDK client on the moto server that
//! `infra/test.sh` starts (from [`saguaro_testkit`]), and a fresh table per test.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::sync::LazyLock;

use aws_sdk_dynamodb::Client;
use saguaro_domain::ids::CustomerId;
use saguaro_domain::ports::{
    Commit, CommitOutcome, HistoryStore, LedgerPage, PageRequest, RewardPage, RewardPageRequest,
    RewardRef, RewardStore, StateStore, StoreError,
};
use saguaro_domain::state::CustomerState;
use saguaro_dynamodb::{DynamoStore, RequestCounter};

pub async fn client(counter: &RequestCounter) -> Client {
    saguaro_testkit::dynamodb::counted_client(&saguaro_testkit::aws().await, counter)
}

/// A store on a new, empty table, with a counter of the requests it sends.
pub async fn fresh_store(test: &str) -> (DynamoStore, RequestCounter) {
    let counter = RequestCounter::new();
    let client = client(&counter).await;
    let name = saguaro_testkit::dynamodb::fresh_table(&client, &format!("saguaro-{test}")).await;
    counter.reset();
    (DynamoStore::new(client, name), counter)
}

/// moto's `TransactWriteItems` is not atomic when requests overlap: it applies the actions
/// one by one and undoes a cancelled transaction by restoring a snapshot of the whole table
/// taken before it started, which also undoes (or half-undoes) a transaction that ran in
/// between. Seen here as a commit undone after it was reported applied. DynamoDB
/// itself is atomic, so tests with concurrent tasks run each store operation alone; tasks
/// still interleave between operations (load, engine, commit), which is what the
/// optimistic-concurrency tests exercise.
static ONE_AT_A_TIME: LazyLock<tokio::sync::Mutex<()>> = LazyLock::new(Default::default);

/// A [`DynamoStore`] whose operations never overlap in time (see [`ONE_AT_A_TIME`]).
#[derive(Debug)]
pub struct OneAtATime(pub DynamoStore);

impl StateStore for OneAtATime {
    async fn load(&self, customer: &CustomerId) -> Result<Option<CustomerState>, StoreError> {
        let _turn = ONE_AT_A_TIME.lock().await;
        self.0.load(customer).await
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        let _turn = ONE_AT_A_TIME.lock().await;
        self.0.commit(commit).await
    }
}

impl HistoryStore for OneAtATime {
    async fn ledger(
        &self,
        customer: &CustomerId,
        page: PageRequest,
    ) -> Result<LedgerPage, StoreError> {
        let _turn = ONE_AT_A_TIME.lock().await;
        self.0.ledger(customer, page).await
    }

    async fn rewards(
        &self,
        customer: &CustomerId,
        page: RewardPageRequest,
    ) -> Result<RewardPage, StoreError> {
        let _turn = ONE_AT_A_TIME.lock().await;
        self.0.rewards(customer, page).await
    }
}

impl RewardStore for OneAtATime {
    async fn reward(
        &self,
        at: &RewardRef,
    ) -> Result<Option<saguaro_domain::RewardOutbox>, StoreError> {
        let _turn = ONE_AT_A_TIME.lock().await;
        self.0.reward(at).await
    }

    async fn set_delivery(
        &self,
        at: &RewardRef,
        expected: &saguaro_domain::Delivery,
        next: &saguaro_domain::Delivery,
        notice: Option<&saguaro_domain::RewardOutbox>,
    ) -> Result<bool, StoreError> {
        let _turn = ONE_AT_A_TIME.lock().await;
        self.0.set_delivery(at, expected, next, notice).await
    }

    async fn waiting_rewards(
        &self,
        before: jiff::Timestamp,
        limit: usize,
    ) -> Result<Vec<(RewardRef, saguaro_domain::RewardOutbox)>, StoreError> {
        let _turn = ONE_AT_A_TIME.lock().await;
        self.0.waiting_rewards(before, limit).await
    }
}

impl saguaro_domain::ports::ScheduleStore for OneAtATime {
    async fn expiring(
        &self,
        from: saguaro_domain::schedule::Date,
        through: saguaro_domain::schedule::Date,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<
        saguaro_domain::ports::IndexPage<saguaro_domain::schedule::ScheduledExpiry>,
        StoreError,
    > {
        let _turn = ONE_AT_A_TIME.lock().await;
        self.0.expiring(from, through, cursor, limit).await
    }

    async fn anniversaries(
        &self,
        month: i8,
        day: i8,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<
        saguaro_domain::ports::IndexPage<saguaro_domain::schedule::ScheduledSubscription>,
        StoreError,
    > {
        let _turn = ONE_AT_A_TIME.lock().await;
        self.0.anniversaries(month, day, cursor, limit).await
    }

    async fn watermark(&self) -> Result<Option<saguaro_domain::schedule::Date>, StoreError> {
        let _turn = ONE_AT_A_TIME.lock().await;
        self.0.watermark().await
    }

    async fn advance_watermark(
        &self,
        from: Option<saguaro_domain::schedule::Date>,
        to: saguaro_domain::schedule::Date,
    ) -> Result<bool, StoreError> {
        let _turn = ONE_AT_A_TIME.lock().await;
        self.0.advance_watermark(from, to).await
    }
}

impl saguaro_domain::links::InvoiceLinkStore for OneAtATime {
    async fn put_invoice_link(
        &self,
        link: &saguaro_domain::links::InvoiceLink,
    ) -> Result<(), StoreError> {
        let _turn = ONE_AT_A_TIME.lock().await;
        self.0.put_invoice_link(link).await
    }

    async fn invoice_link(&self, payment_intent: &str) -> Result<Option<String>, StoreError> {
        let _turn = ONE_AT_A_TIME.lock().await;
        self.0.invoice_link(payment_intent).await
    }
}
