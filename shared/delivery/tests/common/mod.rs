//! Shared set-up of the delivery adapter tests: a reward row committed to the embedded
//! store, a clock the test moves, and the fulfiler over them.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use saguaro_app::fulfil::{Deliveries, Fulfiler};
use saguaro_domain::ports::{Clock, Commit, RewardPosition, RewardRef, StateStore};
use saguaro_domain::program::RewardKind;
use saguaro_domain::{CustomerId, CustomerState, Delivery, EventId, Money, Provider, RewardOutbox};
use saguaro_embedded::EmbeddedStore;

/// A clock the test sets.
#[derive(Debug)]
pub struct TestClock(Mutex<Timestamp>);

impl TestClock {
    pub fn at(t: &str) -> Arc<Self> {
        Arc::new(Self(Mutex::new(t.parse().unwrap())))
    }

    pub fn advance(&self, by: SignedDuration) {
        let mut t = self.0.lock().unwrap();
        *t += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

pub const CREATED: &str = "2026-05-01T12:00:00Z";

/// A pending row of `kind` for `provider` customer `cus_1`, id `{provider}:cus_1/7`.
pub fn row(provider: Provider, kind: RewardKind) -> RewardOutbox {
    let customer = CustomerId::new(provider, "cus_1");
    RewardOutbox {
        id: format!("{customer}/7"),
        customer,
        reward: "credit-10".to_owned(),
        kind,
        points: 2000,
        quantity: 2,
        line: Some(7),
        event_id: EventId::new("evt_1"),
        created_at: CREATED.parse().unwrap(),
        value: Some(Money::new(2000, "usd".parse().unwrap())),
        coupon: Some("LOYAL20".to_owned()),
        grant: Some("gold-lounge".to_owned()),
        url: None,
        secret: None,
        notice: None,
        delivery: Delivery::pending(),
    }
}

/// Commits `row` (as the first commit of its customer) and returns where it is.
pub async fn stored(store: &EmbeddedStore, row: RewardOutbox) -> RewardRef {
    let mut state = CustomerState::new(row.customer.clone());
    state.version = 1;
    let customer = row.customer.clone();
    store
        .commit(Commit {
            marker: None,
            expected_version: 0,
            state,
            lines: Vec::new(),
            rewards: vec![row],
        })
        .await
        .unwrap();
    RewardRef {
        customer,
        at: RewardPosition {
            version: 1,
            index: 0,
        },
    }
}

pub type TestFulfiler = Fulfiler<Arc<EmbeddedStore>, Deliveries>;

pub fn fulfiler(
    store: &Arc<EmbeddedStore>,
    deliveries: Deliveries,
    clock: &Arc<TestClock>,
) -> TestFulfiler {
    Fulfiler::new(store.clone(), deliveries, clock.clone())
}
