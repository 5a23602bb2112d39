//! Reward delivery state on [`DynamoStore`] ([`RewardStore`]): conditional updates of a
//! reward row and the sweep's query of waiting rows. A transition that carries a merchant
//! notification (`[notify]`) is one `TransactWriteItems`: the conditional update of the row
//! and the put of the notification row (`attribute_not_exists`), so both or neither.

use jiff::Timestamp;
use saguaro_domain::Delivery;
use saguaro_domain::ledger::RewardOutbox;
use saguaro_domain::ports::{RewardRef, RewardStore, StoreError};

use super::DynamoStore;
use crate::error::{Error, Result};
use crate::{item, keys};

/// Reward delivery state: each change is one `UpdateItem` of the row conditioned on its
/// delivery attribute ([`keys::DELIVERY_STATE`]) being what the writer last read; a waiting
/// row carries the index keys of [`keys::WAITING_REWARDS_GSI_PK`], which the sweep queries.
impl DynamoStore {
    async fn reward_row(&self, at: &RewardRef) -> Result<Option<RewardOutbox>> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .key(keys::PK, item::str_value(keys::customer_pk(&at.customer)))
            .key(keys::SK, item::str_value(keys::reward_sk(at.at)))
            .send()
            .await
            .map_err(|e| Error::request("GetItem", e))?;
        got.item
            .as_ref()
            .map(|i| item::decode_reward(i).map(|(_, r)| r))
            .transpose()
    }

    async fn update_delivery(
        &self,
        at: &RewardRef,
        expected: &Delivery,
        next: &Delivery,
    ) -> Result<bool> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;

        let pk = keys::customer_pk(&at.customer);
        let sk = keys::reward_sk(at.at);
        // Since when the row waits in its new state; a fresh `pending` waits since its
        // creation, which only the row knows.
        let waiting = match next {
            Delivery::Pending {
                last_attempt_at: None,
                ..
            } => match self.reward_row(at).await? {
                Some(row) => Some(row.created_at),
                None => return Ok(false),
            },
            Delivery::Pending {
                last_attempt_at: Some(t),
                ..
            } => Some(*t),
            Delivery::Delivering { at, .. } => Some(*at),
            Delivery::Delivered { .. } | Delivery::Failed { .. } => None,
        };
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, item::str_value(pk.clone()))
            .key(keys::SK, item::str_value(sk.clone()))
            .expression_attribute_names("#ds", keys::DELIVERY_STATE)
            .expression_attribute_names("#d", keys::DELIVERY)
            .expression_attribute_names("#gpk", keys::GSI1_PK)
            .expression_attribute_names("#gsk", keys::GSI1_SK)
            .expression_attribute_values(":expected", item::delivery_value(expected)?)
            .expression_attribute_values(":next", item::delivery_value(next)?)
            .expression_attribute_values(":status", item::str_value(next.status()));
        update = if *expected == Delivery::pending() {
            // Rows committed before the delivery attribute existed are pending.
            update
                .condition_expression(
                    "#ds = :expected OR (attribute_not_exists(#ds) AND #d = :pending)",
                )
                .expression_attribute_values(":pending", item::str_value("pending"))
        } else {
            update.condition_expression("#ds = :expected")
        };
        update = match waiting {
            Some(since) => update
                .update_expression("SET #ds = :next, #d = :status, #gpk = :gpk, #gsk = :gsk")
                .expression_attribute_values(":gpk", item::str_value(keys::WAITING_REWARDS_GSI_PK))
                .expression_attribute_values(
                    ":gsk",
                    item::str_value(keys::waiting_reward_gsi_sk(since, &pk, &sk)),
                ),
            None => update.update_expression("SET #ds = :next, #d = :status REMOVE #gpk, #gsk"),
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(Error::request("UpdateItem", e)),
            },
        }
    }

    /// The conditional update of the row at `at` from `expected` to `next` (a terminal
    /// state, which leaves the waiting index) with the put of `notice`, in one transaction.
    /// `false` when the row was not `expected` (nothing written).
    async fn update_delivery_noting(
        &self,
        at: &RewardRef,
        expected: &Delivery,
        next: &Delivery,
        notice: &RewardOutbox,
    ) -> Result<bool> {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};

        if next.status() != "delivered" && next.status() != "failed" {
            // Notifications are of outcomes only; anything else is a plain update.
            return self.update_delivery(at, expected, next).await;
        }
        let pk = keys::customer_pk(&at.customer);
        let sk = keys::reward_sk(at.at);
        let mut update = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, item::str_value(pk))
            .key(keys::SK, item::str_value(sk))
            .expression_attribute_names("#ds", keys::DELIVERY_STATE)
            .expression_attribute_names("#d", keys::DELIVERY)
            .expression_attribute_names("#gpk", keys::GSI1_PK)
            .expression_attribute_names("#gsk", keys::GSI1_SK)
            .expression_attribute_values(":expected", item::delivery_value(expected)?)
            .expression_attribute_values(":next", item::delivery_value(next)?)
            .expression_attribute_values(":status", item::str_value(next.status()))
            .update_expression("SET #ds = :next, #d = :status REMOVE #gpk, #gsk");
        update = if *expected == Delivery::pending() {
            update
                .condition_expression(
                    "#ds = :expected OR (attribute_not_exists(#ds) AND #d = :pending)",
                )
                .expression_attribute_values(":pending", item::str_value("pending"))
        } else {
            update.condition_expression("#ds = :expected")
        };
        let update = update
            .build()
            .map_err(|e| Error::build("TransactWriteItems", e))?;
        let position = saguaro_domain::notify::notice_position(at.at);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item::reward_item(notice, position)?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .build()
            .map_err(|e| Error::build("TransactWriteItems", e))?;
        let sent = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                // The row moved (a lost race, a repeated transition) or its notification is
                // already there: nothing was written.
                Some(TransactWriteItemsError::TransactionCanceledException(c))
                    if c.cancellation_reasons()
                        .iter()
                        .any(|r| r.code() == Some("ConditionalCheckFailed")) =>
                {
                    Ok(false)
                }
                _ => Err(Error::request("TransactWriteItems", e)),
            },
        }
    }

    async fn waiting(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<(RewardRef, RewardOutbox)>> {
        let mut out = Vec::new();
        let mut start = None;
        while out.len() < limit {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(keys::GSI1)
                .key_condition_expression("#pk = :pk AND #sk < :before")
                .expression_attribute_names("#pk", keys::GSI1_PK)
                .expression_attribute_names("#sk", keys::GSI1_SK)
                .expression_attribute_values(":pk", item::str_value(keys::WAITING_REWARDS_GSI_PK))
                .expression_attribute_values(
                    ":before",
                    item::str_value(keys::waiting_bound(before)),
                )
                .limit(i32::try_from(limit - out.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| Error::request("Query", e))?;
            for found in page.items.unwrap_or_default() {
                let text = |name| match found.get(name) {
                    Some(aws_sdk_dynamodb::types::AttributeValue::S(v)) => Some(v.as_str()),
                    _ => None,
                };
                let customer = text(keys::PK).and_then(keys::parse_customer_pk);
                let position = text(keys::SK).and_then(keys::parse_reward_sk);
                let (Some(customer), Some(at)) = (customer, position) else {
                    return Err(Error::Attribute {
                        pk: text(keys::PK).unwrap_or("?").to_owned(),
                        sk: text(keys::SK).unwrap_or("?").to_owned(),
                        attribute: keys::SK,
                    });
                };
                let (_, reward) = item::decode_reward(&found)?;
                out.push((RewardRef { customer, at }, reward));
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        out.truncate(limit);
        Ok(out)
    }
}

impl RewardStore for DynamoStore {
    async fn reward(&self, at: &RewardRef) -> Result<Option<RewardOutbox>, StoreError> {
        Ok(self.reward_row(at).await?)
    }

    async fn set_delivery(
        &self,
        at: &RewardRef,
        expected: &Delivery,
        next: &Delivery,
        notice: Option<&RewardOutbox>,
    ) -> Result<bool, StoreError> {
        Ok(match notice {
            Some(notice) => {
                self.update_delivery_noting(at, expected, next, notice)
                    .await?
            }
            None => self.update_delivery(at, expected, next).await?,
        })
    }

    async fn waiting_rewards(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<(RewardRef, RewardOutbox)>, StoreError> {
        Ok(self.waiting(before, limit).await?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeSet;

    use saguaro_domain::notify::{Notification, Notify, NotifyKind, notice_position};
    use saguaro_domain::ports::RewardPosition;
    use saguaro_domain::{CustomerId, EventId, Provider};

    use crate::{item, size};

    /// The extra item a notification adds (README "Notifying the merchant"): one reward row
    /// under 1 KB, so 2 write units in a transaction. Prints the sizes.
    #[test]
    fn when_a_notification_row_is_laid_out_then_it_is_one_item_under_a_kilobyte() {
        let notify = Notify {
            url: "https://app.example.com/hooks/saguaro".to_owned(),
            kinds: NotifyKind::ALL.into_iter().collect::<BTreeSet<_>>(),
            secret: "NOTIFY".to_owned(),
            expiring_days: 7,
        };
        let c = CustomerId::new(Provider::Stripe, "cus_QXk3nR0aB1cD2e");
        let at = "2026-05-01T12:00:00Z".parse().unwrap();
        let e = EventId::new("evt_1QXk3nR0aB1cD2eFgHiJkLmN");
        let rows = [
            Notification::TierChanged {
                from: Some("Member".into()),
                to: Some("Gold".into()),
            },
            Notification::PointsExpiring {
                points: 1200,
                date: jiff::civil::date(2026, 5, 31),
            },
            Notification::RewardIssued {
                reward_id: format!("{c}/12"),
                reward: "credit-10".into(),
                kind: saguaro_domain::program::RewardKind::BillingCredit,
                quantity: 1,
                value: Some(saguaro_domain::Money::new(1000, "usd".parse().unwrap())),
                coupon: None,
                grant: None,
                provider_id: Some("cbtxn_1QXk3nR0aB1cD2eFgHiJkLmN".into()),
            },
        ];
        for data in rows {
            let kind = data.kind().as_str();
            let row = notify
                .row("Acme Rewards", format!("{c}/12/{kind}"), &c, &e, at, data)
                .unwrap();
            let pos = notice_position(RewardPosition {
                version: 7,
                index: 0,
            });
            let bytes = size::item_size(&item::reward_item(&row, pos).unwrap());
            println!("figure: {kind} notification item: {bytes} bytes");
            assert!(bytes < 1024, "{kind}: {bytes}");
            assert_eq!(size::transactional_write_units(bytes), 2);
        }
    }
}
