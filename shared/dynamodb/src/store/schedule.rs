//! The daily job's side of [`DynamoStore`] ([`ScheduleStore`]): pages of the expiry and
//! anniversary indexes on `gsi1`, and the watermark item moved by a conditional PutItem.

use std::collections::BTreeMap;

use jiff::civil::Date;
use saguaro_domain::ports::{IndexPage, ScheduleStore, StoreError};
use saguaro_domain::schedule::{ScheduledExpiry, ScheduledSubscription};

use super::DynamoStore;
use crate::error::{Error, Result};
use crate::item::{self, Item};
use crate::keys;

impl DynamoStore {
    /// One page of `gsi1` (eventually consistent): partition `gsi1pk`, sort keys in
    /// `range` when given, from `start`.
    async fn index_page(
        &self,
        gsi1pk: String,
        range: Option<(String, String)>,
        start: Option<Item>,
        limit: usize,
    ) -> Result<(Vec<Item>, Option<Item>)> {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI1)
            .expression_attribute_names("#pk", keys::GSI1_PK)
            .expression_attribute_values(":pk", item::str_value(gsi1pk))
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start);
        q = match range {
            None => q.key_condition_expression("#pk = :pk"),
            Some((lo, hi)) => q
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
                .expression_attribute_names("#sk", keys::GSI1_SK)
                .expression_attribute_values(":lo", item::str_value(lo))
                .expression_attribute_values(":hi", item::str_value(hi)),
        };
        let page = q.send().await.map_err(|e| Error::request("Query", e))?;
        Ok((page.items.unwrap_or_default(), page.last_evaluated_key))
    }

    /// The expiry index for `from..=through`: one Query per month partition, each with a
    /// sort-key range, continuing into the next month until `limit` items are read.
    async fn expiring_page(
        &self,
        from: Date,
        through: Date,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<IndexPage<ScheduledExpiry>, StoreError> {
        let limit = limit.max(1);
        let (mut month, mut start) = match cursor {
            None => (from.first_of_month(), None),
            Some(c) => {
                let c = Cursor::decode(&c)?;
                let month: Date = c.month.parse().map_err(|_| bad_cursor())?;
                (month, c.key)
            }
        };
        let mut items = Vec::new();
        while month <= through {
            let lo = from.max(month);
            let hi = through.min(month.last_of_month());
            let want = limit - items.len();
            let (got, last) = self
                .index_page(
                    keys::expiry_gsi_pk(month),
                    Some(keys::expiry_gsi_sk_range(lo, hi)),
                    start.take().map(Cursor::to_item),
                    want,
                )
                .await?;
            for it in &got {
                items.push(item::decode_expiry_index(it)?);
            }
            match last {
                Some(key) => {
                    let next = Cursor::of(month, &key).encode();
                    if items.len() >= limit {
                        return Ok(IndexPage {
                            items,
                            next: Some(next),
                        });
                    }
                    start = Some(Cursor::of(month, &key).key.unwrap_or_default());
                }
                None => {
                    month = month
                        .last_of_month()
                        .tomorrow()
                        .map_err(|e| StoreError::Rejected(Box::new(e)))?;
                    if items.len() >= limit && month <= through {
                        let next = Cursor {
                            month: month.to_string(),
                            key: None,
                        };
                        return Ok(IndexPage {
                            items,
                            next: Some(next.encode()),
                        });
                    }
                }
            }
        }
        Ok(IndexPage { items, next: None })
    }

    async fn anniversaries_page(
        &self,
        month: i8,
        day: i8,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<IndexPage<ScheduledSubscription>, StoreError> {
        let start = match cursor {
            None => None,
            Some(c) => Cursor::decode(&c)?.key.map(Cursor::to_item),
        };
        let (got, last) = self
            .index_page(keys::anniversary_gsi_pk(month, day), None, start, limit)
            .await?;
        let items = got
            .iter()
            .map(item::decode_anniversary_index)
            .collect::<Result<Vec<_>>>()?;
        let next = last.map(|key| {
            Cursor {
                month: String::new(),
                key: Some(Cursor::key_of(&key)),
            }
            .encode()
        });
        Ok(IndexPage { items, next })
    }

    async fn read_watermark(&self) -> Result<Option<Date>> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .key(keys::PK, item::str_value(keys::WATERMARK_PK))
            .key(keys::SK, item::str_value(keys::WATERMARK_SK))
            .send()
            .await
            .map_err(|e| Error::request("GetItem", e))?;
        got.item.as_ref().map(item::decode_watermark).transpose()
    }

    /// One conditional PutItem: absent (`from` = `None`) or still at `from`.
    async fn put_watermark(&self, from: Option<Date>, to: Date) -> Result<bool> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item::watermark_item(to)));
        let put = match from {
            None => put
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK),
            Some(day) => put
                .condition_expression("#day = :from")
                .expression_attribute_names("#day", keys::DAY)
                .expression_attribute_values(":from", item::str_value(day.to_string())),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(Error::request("PutItem", e)),
        }
    }
}

/// An index page cursor: the month partition being read (expiry) and DynamoDB's
/// `LastEvaluatedKey` (all string attributes: table and index keys), as JSON.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Cursor {
    #[serde(rename = "m")]
    month: String,
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    key: Option<BTreeMap<String, String>>,
}

fn bad_cursor() -> StoreError {
    StoreError::Rejected("not a cursor of the DynamoDB store".into())
}

impl Cursor {
    fn of(month: Date, key: &Item) -> Self {
        Self {
            month: month.to_string(),
            key: Some(Self::key_of(key)),
        }
    }

    fn key_of(key: &Item) -> BTreeMap<String, String> {
        key.iter()
            .filter_map(|(k, v)| v.as_s().ok().map(|v| (k.clone(), v.clone())))
            .collect()
    }

    fn to_item(key: BTreeMap<String, String>) -> Item {
        key.into_iter()
            .map(|(k, v)| (k, item::str_value(v)))
            .collect()
    }

    fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    fn decode(cursor: &str) -> Result<Self, StoreError> {
        serde_json::from_str(cursor).map_err(|_| bad_cursor())
    }
}

impl ScheduleStore for DynamoStore {
    async fn expiring(
        &self,
        from: Date,
        through: Date,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<IndexPage<ScheduledExpiry>, StoreError> {
        self.expiring_page(from, through, cursor, limit).await
    }

    async fn anniversaries(
        &self,
        month: i8,
        day: i8,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<IndexPage<ScheduledSubscription>, StoreError> {
        self.anniversaries_page(month, day, cursor, limit).await
    }

    async fn watermark(&self) -> Result<Option<Date>, StoreError> {
        Ok(self.read_watermark().await?)
    }

    async fn advance_watermark(&self, from: Option<Date>, to: Date) -> Result<bool, StoreError> {
        Ok(self.put_watermark(from, to).await?)
    }
}
