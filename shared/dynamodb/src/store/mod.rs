//! [`DynamoStore`]: the state and history ports on the Saguaro table.
//!
//! A customer's state is one item ([`saguaro_domain::codec`]): `load` is one strongly consistent
//! GetItem, and no read can see half a commit. `commit` is exactly one `TransactWriteItems`:
//!
//! 0. the event marker (keyed by event id alone), `attribute_not_exists(pk)`, returning the
//!    old item on failure: a known id is a redelivery if customer and payload hash match,
//!    else a reused id;
//! 1. the customer item, `attribute_not_exists(pk)` for version 0, else `version = :expected`;
//! 2. the index items whose day changed: the expiry index (the soonest lot's day) and the
//!    anniversary index of a subscription whose start is new;
//! 3. the new ledger lines and reward rows.
//!
//! A typical payment is three items (marker, customer, line) of under 1 KB each: 6 write
//! units. To know which index items changed without reading, the store remembers what the
//! last state it loaded or committed per customer indexed (bounded cache, keyed by version).
//! A commit computed from a state this instance did not load (another process, cache
//! evicted) rewrites every index item of the state, which is idempotent; the version
//! condition guarantees the state was computed from the stored one either way.
//!
//! What bounds a commit: the engine keeps the state bounded (one lot per expiry day, payment
//! records for the refund window, cap counters for 21 days) and the program's validation
//! bounds the lines and rewards of one event (at most 16 rules a trigger and 16 rewards), so
//! a commit stays under DynamoDB's 100 actions and 4 MB. A customer item past 400 KB (which
//! needs years of daily lots and tens of payments a day inside the refund window) is refused
//! before anything is sent.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    CancellationReason, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use jiff::Timestamp;
use saguaro_domain::ids::CustomerId;
use saguaro_domain::ledger::{LedgerLine, RewardOutbox};
use saguaro_domain::ports::{
    Commit, CommitOutcome, EventMarker, HistoryStore, LedgerPage, PageRequest, RewardPage,
    RewardPageRequest, RewardPosition, StateStore, StoreError,
};
use saguaro_domain::state::CustomerState;

use crate::error::{Error, Result, is_permanent_cancellation};
use crate::item::{self, Indexed, Item};
use crate::keys;
use crate::size::item_size;

mod links;
mod listing;
mod rewards;
mod schedule;

/// DynamoDB's limit on the actions of one `TransactWriteItems`.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

/// DynamoDB's limit on the size of one item.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// How long an event marker is kept. Providers retry for about 3 days, and SQS keeps a
/// message (or a DLQ keeps it for redrive) up to 14 days: 30 days covers both with margin.
pub const DEFAULT_MARKER_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// How long the marker of a synthetic event (the scheduler's) is kept: longer than a year,
/// so that a day the job processes again (after a crash, or a watermark reset) finds the
/// markers of its anniversaries, expiry runs and grants however late it is (docs/design.md
/// §6.1). Anniversary ids repeat only a year later with another `years`.
pub const SYNTHETIC_MARKER_TTL: Duration = Duration::from_secs(400 * 24 * 3600);

/// Customers whose last indexed days are remembered; beyond this the cache starts over.
const BASELINE_CAPACITY: usize = 4096;

const CONDITION_FAILED: &str = "ConditionalCheckFailed";
const TRANSACTION_CONFLICT: &str = "TransactionConflict";

/// The Saguaro store on DynamoDB. Cheap to share behind an `Arc`; build it once per process.
pub struct DynamoStore {
    client: Client,
    table: String,
    marker_ttl: Duration,
    /// Per customer: the version last loaded or committed, and what its index items say.
    indexed: Mutex<HashMap<CustomerId, (u64, Indexed)>>,
}

impl std::fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoStore")
            .field("table", &self.table)
            .field("marker_ttl", &self.marker_ttl)
            .finish_non_exhaustive()
    }
}

impl DynamoStore {
    /// A store on table `table` (created by [`crate::create_table`] or `template.yaml`).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            marker_ttl: DEFAULT_MARKER_TTL,
            indexed: Mutex::new(HashMap::new()),
        }
    }

    /// Keep event markers this long instead of [`DEFAULT_MARKER_TTL`].
    pub fn with_marker_ttl(mut self, ttl: Duration) -> Self {
        self.marker_ttl = ttl;
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn load_state(&self, customer: &CustomerId) -> Result<Option<CustomerState>> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .key(keys::PK, item::str_value(keys::customer_pk(customer)))
            .key(keys::SK, item::str_value(keys::META_SK))
            .send()
            .await
            .map_err(|e| Error::request("GetItem", e))?;
        let Some(found) = got.item else {
            return Ok(None);
        };
        let state = item::decode_customer(customer, &found)?;
        self.remember(customer, state.version, Indexed::of(&state));
        Ok(Some(state))
    }

    fn baselines(&self) -> MutexGuard<'_, HashMap<CustomerId, (u64, Indexed)>> {
        // The map only caches; a panic while holding it cannot break an invariant.
        self.indexed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn remember(&self, customer: &CustomerId, version: u64, indexed: Indexed) {
        let mut map = self.baselines();
        if map.len() >= BASELINE_CAPACITY && !map.contains_key(customer) {
            map.clear();
        }
        map.insert(customer.clone(), (version, indexed));
    }

    fn forget(&self, customer: &CustomerId) {
        self.baselines().remove(customer);
    }

    /// What the index items of the stored state at `expected` say, when known: nothing for a
    /// customer never committed, the remembered days for the version last seen here.
    fn baseline(&self, customer: &CustomerId, expected: u64) -> Option<Indexed> {
        if expected == 0 {
            return Some(Indexed::default());
        }
        self.baselines()
            .get(customer)
            .filter(|(version, _)| *version == expected)
            .map(|(_, indexed)| indexed.clone())
    }

    async fn commit_inner(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        let customer = commit.state.customer.clone();
        let expected = commit.expected_version;
        let baseline = self.baseline(&customer, expected);
        let mut state = commit.state;
        state.version = expected + 1;
        let indexed = Indexed::of(&state);
        let built = self.actions(
            commit.marker.as_ref(),
            expected,
            &state,
            &indexed,
            baseline.as_ref(),
            &commit.lines,
            &commit.rewards,
        );
        let actions = match (built, commit.marker.as_ref()) {
            (Ok(built), _) => built,
            // The marker wins even over a commit that cannot be sent: a redelivery computed
            // from a later state must still be reported as already applied.
            (Err(e), Some(marker)) => match self.stored_marker(marker).await? {
                Some(same_payload) => {
                    return Ok(CommitOutcome::AlreadyApplied { same_payload });
                }
                None => return Err(e.into()),
            },
            (Err(e), None) => return Err(e.into()),
        };
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await;
        match sent {
            Ok(_) => {
                self.remember(&customer, state.version, indexed);
                Ok(CommitOutcome::Applied)
            }
            Err(err) => {
                let reasons = match err.as_service_error() {
                    Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                        c.cancellation_reasons().to_vec()
                    }
                    _ => return Err(Error::request("TransactWriteItems", err).into()),
                };
                self.cancelled(commit.marker.as_ref(), &customer, expected, &reasons)
                    .await
            }
        }
    }

    /// Why the transaction was cancelled: the marker first, then the version.
    async fn cancelled(
        &self,
        marker: Option<&EventMarker>,
        customer: &CustomerId,
        expected: u64,
        reasons: &[CancellationReason],
    ) -> Result<CommitOutcome, StoreError> {
        let code = |i: usize| reasons.get(i).and_then(|r| r.code());
        let customer_index = usize::from(marker.is_some());
        if let Some(marker) = marker
            && code(0) == Some(CONDITION_FAILED)
        {
            let same = match reasons[0].item().and_then(|i| item::same_event(i, marker)) {
                Some(same) => Some(same),
                // Emulators may not return the old item: read it instead.
                None => self.stored_marker(marker).await?,
            };
            return Ok(CommitOutcome::AlreadyApplied {
                same_payload: same == Some(true),
            });
        }
        let conflict = code(customer_index) == Some(CONDITION_FAILED)
            || reasons
                .iter()
                .any(|r| r.code() == Some(TRANSACTION_CONFLICT));
        if conflict {
            self.forget(customer);
            return Err(StoreError::Conflict {
                customer: customer.clone(),
                expected,
            });
        }
        let summary: Vec<String> = reasons
            .iter()
            .enumerate()
            .filter(|(_, r)| r.code().is_some_and(|c| c != "None"))
            .map(|(i, r)| {
                format!(
                    "item {i}: {} {}",
                    r.code().unwrap_or(""),
                    r.message().unwrap_or("")
                )
            })
            .collect();
        Err(Error::Cancelled {
            customer: customer.to_string(),
            reasons: summary.join("; "),
            permanent: is_permanent_cancellation(reasons.iter().filter_map(|r| r.code())),
        }
        .into())
    }

    /// Whether `marker`'s event id is stored, and if so whether for the same event (see
    /// [`item::same_event`]).
    async fn stored_marker(&self, marker: &EventMarker) -> Result<Option<bool>> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .key(keys::PK, item::str_value(keys::marker_pk(&marker.event_id)))
            .key(keys::SK, item::str_value(keys::MARKER_SK))
            .send()
            .await
            .map_err(|e| Error::request("GetItem", e))?;
        // An item without the marker's attributes is not the same event.
        Ok(got
            .item
            .as_ref()
            .map(|i| item::same_event(i, marker).unwrap_or(false)))
    }

    /// The transaction's actions: marker first, customer item second.
    #[allow(clippy::too_many_arguments)]
    fn actions(
        &self,
        marker: Option<&EventMarker>,
        expected: u64,
        state: &CustomerState,
        indexed: &Indexed,
        baseline: Option<&Indexed>,
        lines: &[LedgerLine],
        rewards: &[RewardOutbox],
    ) -> Result<Vec<TransactWriteItem>> {
        let customer = &state.customer;
        let version = state.version;
        let mut actions = Vec::new();

        let meta_item = item::customer_item(state)?;
        let bytes = item_size(&meta_item);
        if bytes > MAX_ITEM_BYTES {
            return Err(Error::ItemTooLarge {
                customer: customer.to_string(),
                bytes,
                limit: MAX_ITEM_BYTES,
            });
        }

        // Index items: only those whose day differs from the baseline's; all of them when
        // the baseline is unknown.
        let mut index_puts = Vec::new();
        let mut index_deletes = Vec::new();
        if baseline.is_none_or(|b| b.expires != indexed.expires) {
            match indexed.expires {
                Some(day) => index_puts.push(item::expiry_index_item(customer, day)),
                None => index_deletes.push(keys::EXPIRY_INDEX_SK.to_owned()),
            }
        }
        for (id, sub) in &indexed.started {
            if baseline.is_none_or(|b| b.started.get(id) != Some(sub)) {
                index_puts.push(item::anniversary_index_item(sub));
            }
        }
        if let Some(b) = baseline {
            index_deletes.extend(
                b.started
                    .keys()
                    .filter(|id| !indexed.started.contains_key(*id))
                    .map(|id| keys::anniversary_index_sk(id)),
            );
        }

        let total = usize::from(marker.is_some())
            + 1
            + index_puts.len()
            + index_deletes.len()
            + lines.len()
            + rewards.len();
        if total > MAX_TRANSACTION_ITEMS {
            return Err(Error::TransactionTooLarge {
                customer: customer.to_string(),
                items: total,
                limit: MAX_TRANSACTION_ITEMS,
            });
        }

        if let Some(marker) = marker {
            let now = Timestamp::now();
            let ttl = if marker.synthetic {
                self.marker_ttl.max(SYNTHETIC_MARKER_TTL)
            } else {
                self.marker_ttl
            };
            let ttl_secs = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
            let expires_at = now.as_second().saturating_add(ttl_secs);
            let put = self
                .put(item::marker_item(marker, now, expires_at))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
            actions.push(self.put_action(put)?);
        }

        let meta = self.put(meta_item);
        let meta = if expected == 0 {
            meta.condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK)
        } else {
            meta.condition_expression("#v = :expected")
                .expression_attribute_names("#v", keys::VERSION)
                .expression_attribute_values(":expected", item::num_value(expected))
        };
        actions.push(self.put_action(meta)?);

        for it in index_puts {
            actions.push(self.put_action(self.put(it))?);
        }
        let pk = keys::customer_pk(customer);
        for sk in index_deletes {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key(keys::PK, item::str_value(pk.clone()))
                .key(keys::SK, item::str_value(sk))
                .build()
                .map_err(|e| Error::build("TransactWriteItems", e))?;
            actions.push(TransactWriteItem::builder().delete(delete).build());
        }
        for line in lines {
            actions.push(self.put_action(self.put(item::line_item(line)?))?);
        }
        for (i, reward) in rewards.iter().enumerate() {
            let index = u32::try_from(i)
                .ok()
                .filter(|i| *i <= keys::MAX_REWARD_INDEX)
                .ok_or_else(|| Error::TransactionTooLarge {
                    customer: customer.to_string(),
                    items: total,
                    limit: MAX_TRANSACTION_ITEMS,
                })?;
            let at = RewardPosition { version, index };
            actions.push(self.put_action(self.put(item::reward_item(reward, at)?))?);
        }
        Ok(actions)
    }

    fn put(&self, item: Item) -> aws_sdk_dynamodb::types::builders::PutBuilder {
        Put::builder().table_name(&self.table).set_item(Some(item))
    }

    fn put_action(
        &self,
        put: aws_sdk_dynamodb::types::builders::PutBuilder,
    ) -> Result<TransactWriteItem> {
        let put = put
            .build()
            .map_err(|e| Error::build("TransactWriteItems", e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Up to `want` items of `customer` under `prefix`, newest (highest key) first, from
    /// `hi` (inclusive) down when given.
    async fn newest_first(
        &self,
        customer: &CustomerId,
        prefix: &str,
        hi: Option<String>,
        want: usize,
    ) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .scan_index_forward(false)
                .limit(i32::try_from(want - items.len()).unwrap_or(i32::MAX))
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#sk", keys::SK)
                .expression_attribute_values(":pk", item::str_value(keys::customer_pk(customer)))
                .set_exclusive_start_key(start);
            q = match &hi {
                None => q
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_values(":prefix", item::str_value(prefix)),
                Some(hi) => q
                    .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
                    .expression_attribute_values(":lo", item::str_value(prefix))
                    .expression_attribute_values(":hi", item::str_value(hi.clone())),
            };
            let out = q.send().await.map_err(|e| Error::request("Query", e))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() || items.len() >= want {
                return Ok(items);
            }
        }
    }

    async fn ledger_page(&self, customer: &CustomerId, page: PageRequest) -> Result<LedgerPage> {
        if page.limit == 0 || page.before == Some(0) {
            return Ok(LedgerPage {
                lines: Vec::new(),
                next: None,
            });
        }
        // One more than asked: tells whether another page exists without a second request.
        let want = page.limit.saturating_add(1);
        let hi = page.before.map(|before| keys::line_sk(before - 1));
        let items = self
            .newest_first(customer, keys::LINE_PREFIX, hi, want)
            .await?;
        let mut lines = items
            .iter()
            .map(item::decode_line)
            .collect::<Result<Vec<_>>>()?;
        let next = if lines.len() > page.limit {
            lines.truncate(page.limit);
            lines.last().map(|l| l.seq)
        } else {
            None
        };
        Ok(LedgerPage { lines, next })
    }

    async fn reward_page(
        &self,
        customer: &CustomerId,
        page: RewardPageRequest,
    ) -> Result<RewardPage> {
        let empty = RewardPage {
            rewards: Vec::new(),
            next: None,
        };
        // The position just before `before`, as the highest key to read.
        let hi = match page.before {
            None => None,
            Some(RewardPosition {
                version: 0,
                index: 0,
            }) => return Ok(empty),
            Some(RewardPosition { version, index: 0 }) => Some(keys::reward_sk(RewardPosition {
                version: version - 1,
                index: keys::MAX_REWARD_INDEX,
            })),
            Some(RewardPosition { version, index }) => Some(keys::reward_sk(RewardPosition {
                version,
                index: index - 1,
            })),
        };
        if page.limit == 0 {
            return Ok(empty);
        }
        let want = page.limit.saturating_add(1);
        let items = self
            .newest_first(customer, keys::REWARD_PREFIX, hi, want)
            .await?;
        let mut rows = items
            .iter()
            .map(item::decode_reward)
            .collect::<Result<Vec<_>>>()?;
        let next = if rows.len() > page.limit {
            rows.truncate(page.limit);
            rows.last().map(|(at, _)| *at)
        } else {
            None
        };
        Ok(RewardPage {
            rewards: rows.into_iter().map(|(_, r)| r).collect(),
            next,
        })
    }
}

impl StateStore for DynamoStore {
    async fn load(&self, customer: &CustomerId) -> Result<Option<CustomerState>, StoreError> {
        Ok(self.load_state(customer).await?)
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        self.commit_inner(commit).await
    }
}

impl HistoryStore for DynamoStore {
    async fn ledger(
        &self,
        customer: &CustomerId,
        page: PageRequest,
    ) -> Result<LedgerPage, StoreError> {
        Ok(self.ledger_page(customer, page).await?)
    }

    async fn rewards(
        &self,
        customer: &CustomerId,
        page: RewardPageRequest,
    ) -> Result<RewardPage, StoreError> {
        Ok(self.reward_page(customer, page).await?)
    }
}
