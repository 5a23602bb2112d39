//! Counts DynamoDB requests by operation, for tests and benchmarks ("one commit is one
//! `TransactWriteItems`"), records the item sizes of every transaction sent, so that write
//! units can be counted ([`crate::size`]), and the bytes of the items reads return. An SDK interceptor: add it to the client's
//! config with `aws_sdk_dynamodb::config::Builder::interceptor(counter.clone())`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef,
    BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;

use crate::size::{item_size, transaction_item_sizes, transactional_write_units};

/// DynamoDB's JSON protocol names the operation in this header: `DynamoDB_20120810.Query`.
const TARGET_HEADER: &str = "x-amz-target";

/// Shared counter of HTTP requests sent, by operation name (`Query`, `TransactWriteItems`...).
/// Every attempt counts, retries included: it measures what DynamoDB bills and sees.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    transactions: Arc<Mutex<Vec<Vec<usize>>>>,
    bytes_read: Arc<Mutex<u64>>,
    items_read: Arc<Mutex<u64>>,
}

impl RequestCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests sent for `operation` so far.
    pub fn get(&self, operation: &str) -> u64 {
        self.lock().get(operation).copied().unwrap_or(0)
    }

    /// All requests sent so far, by operation.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.lock().clone()
    }

    /// Requests of every operation.
    pub fn total(&self) -> u64 {
        self.lock().values().sum()
    }

    pub fn reset(&self) {
        self.lock().clear();
        self.transactions_lock().clear();
        *self.bytes_read_lock() = 0;
        *self.items_read_lock() = 0;
    }

    /// Items returned by GetItem and Query since the last reset.
    pub fn items_read(&self) -> u64 {
        *self.items_read_lock()
    }

    fn items_read_lock(&self) -> std::sync::MutexGuard<'_, u64> {
        self.items_read
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes of the items GetItem and Query answers returned so far (DynamoDB's item sizes:
    /// what a read is billed by).
    pub fn bytes_read(&self) -> u64 {
        *self.bytes_read_lock()
    }

    fn bytes_read_lock(&self) -> std::sync::MutexGuard<'_, u64> {
        self.bytes_read
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The item sizes (bytes) of each `TransactWriteItems` sent so far, in order.
    pub fn transactions(&self) -> Vec<Vec<usize>> {
        self.transactions_lock().clone()
    }

    /// Write units of the transactions sent so far: 2 per started KB of each item.
    pub fn transactional_write_units(&self) -> u64 {
        self.transactions_lock()
            .iter()
            .flatten()
            .map(|bytes| transactional_write_units(*bytes))
            .sum()
    }

    fn transactions_lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<usize>>> {
        self.transactions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, u64>> {
        // A panic elsewhere cannot leave a count map half-updated: keep counting.
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "saguaro-request-counter"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(input) = context.input().downcast_ref::<TransactWriteItemsInput>() {
            let sizes = transaction_item_sizes(input.transact_items());
            self.transactions_lock().push(sizes);
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Ok(output) = context.output_or_error() else {
            return Ok(());
        };
        let (bytes, items): (usize, usize) =
            if let Some(got) = output.downcast_ref::<GetItemOutput>() {
                (
                    got.item().map_or(0, item_size),
                    usize::from(got.item().is_some()),
                )
            } else if let Some(page) = output.downcast_ref::<QueryOutput>() {
                (page.items().iter().map(item_size).sum(), page.items().len())
            } else {
                (0, 0)
            };
        *self.bytes_read_lock() += bytes as u64;
        *self.items_read_lock() += items as u64;
        Ok(())
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context.request().headers().get(TARGET_HEADER);
        let operation = target
            .and_then(|t| t.rsplit_once('.').map(|(_, op)| op))
            .or(target)
            .unwrap_or("unknown");
        *self.lock().entry(operation.to_owned()).or_insert(0) += 1;
        Ok(())
    }
}
