//! Every customer of the table, for `saguaro export`: a paginated Scan of the customer
//! items only (`sk = S#META`, projecting the key). A Scan reads the whole table (every
//! ledger line and reward row too: 0.5 read units per 4 KB, eventually consistent), so it is
//! for an operator's export, never for per-event work.

use aws_sdk_dynamodb::types::AttributeValue;
use saguaro_domain::ids::CustomerId;

use super::DynamoStore;
use crate::error::{Error, Result};
use crate::{item, keys};

impl DynamoStore {
    /// Every customer with a state item, in no particular order.
    pub async fn customer_ids(&self) -> Result<Vec<CustomerId>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .projection_expression("#pk")
                .filter_expression("#sk = :meta")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#sk", keys::SK)
                .expression_attribute_values(":meta", item::str_value(keys::META_SK))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| Error::request("Scan", e))?;
            for it in page.items() {
                if let Some(AttributeValue::S(pk)) = it.get(keys::PK)
                    && let Some(customer) = keys::parse_customer_pk(pk)
                {
                    out.push(customer);
                }
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(out),
            }
        }
    }
}
