//! [`DynamoStore`]: the state and history ports on the Saguaro table.
//!
//! `load` is one strongly consistent Query of the customer's `S#` items (more only if they
//! exceed 1 MB). `commit` is exactly one `TransactWriteItems`:
//!
//! 0. the event marker (keyed by event id alone), `attribute_not_exists(pk)`, returning the
//!    old item on failure: a known id is a redelivery if customer and payload hash match,
//!    else a reused id;
//! 1. the customer item, `attribute_not_exists(pk)` for version 0, else `version = :expected`;
//! 2. the lots, payments and subscriptions that are new or changed since the state the
//!    commit was computed from, and deletes of the ones that disappeared;
//! 3. the new ledger lines and reward rows.
//!
//! To know what changed without reading, the store remembers the last state it loaded or
//! committed per customer (bounded cache, keyed by version). A commit computed from a state
//! this instance did not load (another process, cache evicted) first reads the customer
//! item's manifest (one GetItem) and rewrites every state item. Either way the version
//! condition guarantees the baseline was the stored state when the transaction applies.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    CancellationReason, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use jiff::Timestamp;
use jiff::civil::Date;
use saguaro_domain::ids::CustomerId;
use saguaro_domain::ids::PaymentKey;
use saguaro_domain::ledger::{LedgerLine, RewardOutbox};
use saguaro_domain::ports::{
    Commit, CommitOutcome, EventMarker, HistoryStore, LedgerPage, PageRequest, StateStore,
    StoreError,
};
use saguaro_domain::state::{CustomerState, Lot, PaymentRecord, SubscriptionSnapshot};

use crate::error::{Error, Result, is_permanent_cancellation};
use crate::item::{self, Decoded, Item, Manifest};
use crate::keys;

/// DynamoDB's limit on the actions of one `TransactWriteItems`.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

/// How long an event marker is kept. Providers retry for about 3 days, and SQS keeps a
/// message (or a DLQ keeps it for redrive) up to 14 days: 30 days covers both with margin.
pub const DEFAULT_MARKER_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Customers whose last state is remembered; beyond this the cache starts over.
const BASELINE_CAPACITY: usize = 4096;

/// Reads of a state that raced a transaction are retried this many times.
const TORN_READ_RETRIES: u32 = 4;

const CONDITION_FAILED: &str = "ConditionalCheckFailed";
const TRANSACTION_CONFLICT: &str = "TransactionConflict";

/// The state a commit is computed from, as stored.
#[derive(Debug, Clone)]
struct Baseline {
    version: u64,
    manifest: Manifest,
    /// `None` when only the manifest is known: every state item is then rewritten.
    state: Option<CustomerState>,
}

impl Baseline {
    fn empty() -> Self {
        Self {
            version: 0,
            manifest: Manifest::default(),
            state: None,
        }
    }
}

/// The Saguaro store on DynamoDB. Cheap to share behind an `Arc`; build it once per process.
pub struct DynamoStore {
    client: Client,
    table: String,
    marker_ttl: Duration,
    baselines: Mutex<HashMap<CustomerId, Baseline>>,
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
            baselines: Mutex::new(HashMap::new()),
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

    /// Every lot that expires at the end of `day`, with its customer (index `gsi1`,
    /// eventually consistent).
    pub async fn lots_expiring_on(&self, day: Date) -> Result<Vec<(CustomerId, Lot)>> {
        let items = self.query_index(keys::expiry_gsi_pk(day)).await?;
        items.iter().map(item::decode_lot).collect()
    }

    /// Every subscription whose start (UTC) fell on `month`-`day` of some year, with its
    /// customer and id (index `gsi1`, eventually consistent). Subscriptions started on
    /// 29 February are only under (2, 29).
    pub async fn subscriptions_with_anniversary(
        &self,
        month: i8,
        day: i8,
    ) -> Result<Vec<(CustomerId, String, SubscriptionSnapshot)>> {
        let items = self
            .query_index(keys::anniversary_gsi_pk(month, day))
            .await?;
        items.iter().map(item::decode_subscription).collect()
    }

    async fn query_index(&self, gsi1pk: String) -> Result<Vec<Item>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(keys::GSI1)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", keys::GSI1_PK)
                .expression_attribute_values(":pk", item::str_value(gsi1pk.clone()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| Error::request("Query", e))?;
            out.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    /// All items of `customer`'s partition whose sort key starts with `prefix`, in key order.
    async fn query_prefix(&self, customer: &CustomerId, prefix: &str) -> Result<Vec<Item>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#sk", keys::SK)
                .expression_attribute_values(":pk", item::str_value(keys::customer_pk(customer)))
                .expression_attribute_values(":prefix", item::str_value(prefix))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| Error::request("Query", e))?;
            out.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    async fn load_state(&self, customer: &CustomerId) -> Result<Option<CustomerState>> {
        let mut attempt = 0;
        loop {
            let items = self.query_prefix(customer, keys::STATE_PREFIX).await?;
            match item::decode_state(customer, &items)? {
                Decoded::Absent => return Ok(None),
                Decoded::Loaded(state, manifest) => {
                    self.remember(Baseline {
                        version: state.version,
                        manifest,
                        state: Some((*state).clone()),
                    });
                    return Ok(Some(*state));
                }
                Decoded::Torn(detail) if attempt >= TORN_READ_RETRIES => {
                    return Err(Error::Inconsistent {
                        customer: customer.to_string(),
                        detail,
                    });
                }
                Decoded::Torn(detail) => {
                    tracing::debug!(customer = %customer, attempt, detail, "state read raced a commit; retrying");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(10 << attempt)).await;
                }
            }
        }
    }

    fn baselines(&self) -> MutexGuard<'_, HashMap<CustomerId, Baseline>> {
        // The map only caches; a panic while holding it cannot break an invariant.
        self.baselines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn remember(&self, baseline: Baseline) {
        let Some(customer) = baseline.state.as_ref().map(|s| s.customer.clone()) else {
            return;
        };
        let mut map = self.baselines();
        if map.len() >= BASELINE_CAPACITY && !map.contains_key(&customer) {
            map.clear();
        }
        map.insert(customer, baseline);
    }

    fn forget(&self, customer: &CustomerId) {
        self.baselines().remove(customer);
    }

    /// What the stored state at `expected` is, as far as a commit needs to know.
    async fn baseline(&self, customer: &CustomerId, expected: u64) -> Result<Baseline> {
        if expected == 0 {
            return Ok(Baseline::empty());
        }
        if let Some(b) = self.baselines().get(customer)
            && b.version == expected
        {
            return Ok(b.clone());
        }
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .key(keys::PK, item::str_value(keys::customer_pk(customer)))
            .key(keys::SK, item::str_value(keys::META_SK))
            .projection_expression("#v, #m")
            .expression_attribute_names("#v", keys::VERSION)
            .expression_attribute_names("#m", keys::MANIFEST)
            .send()
            .await
            .map_err(|e| Error::request("GetItem", e))?;
        // A missing or newer customer item fails the version condition anyway; the manifest
        // read here only decides deletes, which are then never applied.
        Ok(match got.item {
            None => Baseline::empty(),
            Some(meta) => {
                let r = item::Reader::new(&meta);
                Baseline {
                    version: r.n(keys::VERSION)?,
                    manifest: r.doc(keys::MANIFEST)?,
                    state: None,
                }
            }
        })
    }

    async fn commit_inner(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        let customer = commit.state.customer.clone();
        let expected = commit.expected_version;
        let baseline = self.baseline(&customer, expected).await?;
        let mut state = commit.state;
        state.version = expected + 1;
        let built = self.actions(
            commit.marker.as_ref(),
            expected,
            &state,
            &baseline,
            &commit.lines,
            &commit.rewards,
        );
        let (actions, manifest) = match (built, commit.marker.as_ref()) {
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
                self.remember(Baseline {
                    version: state.version,
                    manifest,
                    state: Some(state),
                });
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

    /// The transaction's actions (marker first, customer item second) and the new manifest.
    fn actions(
        &self,
        marker: Option<&EventMarker>,
        expected: u64,
        state: &CustomerState,
        baseline: &Baseline,
        lines: &[LedgerLine],
        rewards: &[RewardOutbox],
    ) -> Result<(Vec<TransactWriteItem>, Manifest)> {
        let customer = &state.customer;
        let version = state.version;
        let old = baseline.state.as_ref();
        let mut actions = Vec::new();
        let mut state_puts = Vec::new();
        let mut manifest = Manifest::default();

        // Lots, payments and subscriptions: keep the version of unchanged items, put the rest.
        let mut seen = std::collections::HashSet::new();
        for lot in &state.lots {
            if !seen.insert(lot.line) {
                return Err(Error::DuplicateItem {
                    customer: customer.to_string(),
                    sk: keys::lot_sk(lot.line),
                });
            }
            let kept = baseline
                .manifest
                .lots
                .iter()
                .find(|(line, _)| *line == lot.line)
                .map(|(_, at)| *at)
                .filter(|_| old.is_some_and(|o| o.lots.contains(lot)));
            match kept {
                Some(at) => manifest.lots.push((lot.line, at)),
                None => {
                    manifest.lots.push((lot.line, version));
                    state_puts.push(item::lot_item(customer, lot, version));
                }
            }
        }
        let by_id = |m: &BTreeMap<PaymentKey, PaymentRecord>| -> BTreeMap<String, PaymentRecord> {
            m.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
        };
        let old_payments = old.map(|o| by_id(&o.payments));
        let payments = diff_by_id(
            &by_id(&state.payments),
            old_payments.as_ref(),
            &baseline.manifest.payments,
            version,
            |id, record| item::payment_item(customer, id, record, version),
        )?;
        let subscriptions = diff_by_id(
            &state.subscriptions,
            old.map(|o| &o.subscriptions),
            &baseline.manifest.subscriptions,
            version,
            |id, snapshot| item::subscription_item(customer, id, snapshot, version),
        )?;
        manifest.payments = payments.written;
        manifest.subscriptions = subscriptions.written;
        state_puts.extend(payments.puts);
        state_puts.extend(subscriptions.puts);
        let mut deletes = Vec::new();
        for (line, _) in &baseline.manifest.lots {
            if !seen.contains(line) {
                deletes.push(keys::lot_sk(*line));
            }
        }
        deletes.extend(payments.gone.iter().map(|id| keys::payment_sk(id)));
        deletes.extend(
            subscriptions
                .gone
                .iter()
                .map(|id| keys::subscription_sk(id)),
        );

        let total = usize::from(marker.is_some())
            + 1
            + state_puts.len()
            + deletes.len()
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
            let ttl_secs = i64::try_from(self.marker_ttl.as_secs()).unwrap_or(i64::MAX);
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

        let meta = self.put(item::customer_item(state, &manifest)?);
        let meta = if expected == 0 {
            meta.condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK)
        } else {
            meta.condition_expression("#v = :expected")
                .expression_attribute_names("#v", keys::VERSION)
                .expression_attribute_values(":expected", item::num_value(expected))
        };
        actions.push(self.put_action(meta)?);

        for it in state_puts {
            actions.push(self.put_action(self.put(it))?);
        }
        let pk = keys::customer_pk(customer);
        for sk in deletes {
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
            actions.push(self.put_action(self.put(item::reward_item(reward, version, i)?))?);
        }
        Ok((actions, manifest))
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

    async fn ledger_page(&self, customer: &CustomerId, page: PageRequest) -> Result<LedgerPage> {
        let empty = LedgerPage {
            lines: Vec::new(),
            next: None,
        };
        if page.limit == 0 || page.before == Some(0) {
            return Ok(empty);
        }
        // One more than asked: tells whether another page exists without a second request.
        let want = page.limit.saturating_add(1);
        let mut lines = Vec::new();
        let mut start = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .scan_index_forward(false)
                .limit(i32::try_from(want - lines.len()).unwrap_or(i32::MAX))
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#sk", keys::SK)
                .expression_attribute_values(":pk", item::str_value(keys::customer_pk(customer)))
                .set_exclusive_start_key(start);
            q = match page.before {
                None => q
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_values(":prefix", item::str_value(keys::LINE_PREFIX)),
                Some(before) => q
                    .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
                    .expression_attribute_values(":lo", item::str_value(keys::LINE_PREFIX))
                    .expression_attribute_values(":hi", item::str_value(keys::line_sk(before - 1))),
            };
            let out = q.send().await.map_err(|e| Error::request("Query", e))?;
            for it in out.items.unwrap_or_default() {
                lines.push(item::decode_line(&it)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() || lines.len() >= want {
                break;
            }
        }
        let next = if lines.len() > page.limit {
            lines.truncate(page.limit);
            lines.last().map(|l| l.seq)
        } else {
            None
        };
        Ok(LedgerPage { lines, next })
    }

    async fn reward_rows(&self, customer: &CustomerId) -> Result<Vec<RewardOutbox>> {
        let items = self.query_prefix(customer, keys::REWARD_PREFIX).await?;
        let mut rows = items
            .iter()
            .map(item::decode_reward)
            .collect::<Result<Vec<_>>>()?;
        rows.sort_by_key(|(order, _)| *order);
        Ok(rows.into_iter().map(|(_, r)| r).collect())
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

    async fn rewards(&self, customer: &CustomerId) -> Result<Vec<RewardOutbox>, StoreError> {
        Ok(self.reward_rows(customer).await?)
    }
}

/// How a map of state items keyed by id (payments, subscriptions) changed since the baseline.
struct KeyedDiff<'a> {
    /// Each current id with the version that last wrote its item.
    written: BTreeMap<String, u64>,
    /// Items to put: new ones, and ones whose content changed.
    puts: Vec<Item>,
    /// Ids in the baseline that are gone: their items are deleted.
    gone: Vec<&'a str>,
}

/// An unchanged item keeps the version it was written at; a new or changed one is put at
/// `version` (its item built by `item`); one the baseline lists and `current` lacks is gone.
fn diff_by_id<'a, T: PartialEq>(
    current: &BTreeMap<String, T>,
    old: Option<&BTreeMap<String, T>>,
    baseline: &'a BTreeMap<String, u64>,
    version: u64,
    item: impl Fn(&str, &T) -> Result<Item>,
) -> Result<KeyedDiff<'a>> {
    let mut diff = KeyedDiff {
        written: BTreeMap::new(),
        puts: Vec::new(),
        gone: Vec::new(),
    };
    for (id, value) in current {
        let kept = baseline
            .get(id)
            .copied()
            .filter(|_| old.is_some_and(|o| o.get(id) == Some(value)));
        match kept {
            Some(at) => {
                diff.written.insert(id.clone(), at);
            }
            None => {
                diff.written.insert(id.clone(), version);
                diff.puts.push(item(id, value)?);
            }
        }
    }
    diff.gone = baseline
        .keys()
        .filter(|id| !current.contains_key(*id))
        .map(String::as_str)
        .collect();
    Ok(diff)
}
