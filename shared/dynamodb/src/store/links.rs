//! The Stripe webhook's side of [`DynamoStore`] ([`InvoiceLinkStore`]): one item per
//! PaymentIntent in its own partition (`LINK#{pi}`), one PutItem per paid invoice and one
//! strongly consistent GetItem per basil refund. Items carry the TTL attribute, so DynamoDB
//! deletes them [`KEEP_DAYS`] after the payment, when no refund can come any more.

use saguaro_domain::links::{InvoiceLink, InvoiceLinkStore, KEEP_DAYS};
use saguaro_domain::ports::StoreError;

use super::DynamoStore;
use crate::error::{Error, Result};
use crate::{item, keys};

impl DynamoStore {
    async fn put_link(&self, link: &InvoiceLink) -> Result<()> {
        let expires_at = link
            .paid_at
            .as_second()
            .saturating_add(KEEP_DAYS.saturating_mul(86_400));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item::link_item(link, expires_at)))
            .send()
            .await
            .map_err(|e| Error::request("PutItem", e))?;
        Ok(())
    }

    async fn get_link(&self, payment_intent: &str) -> Result<Option<String>> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .key(keys::PK, item::str_value(keys::link_pk(payment_intent)))
            .key(keys::SK, item::str_value(keys::LINK_SK))
            .send()
            .await
            .map_err(|e| Error::request("GetItem", e))?;
        got.item.as_ref().map(item::decode_link_invoice).transpose()
    }
}

impl InvoiceLinkStore for DynamoStore {
    async fn put_invoice_link(&self, link: &InvoiceLink) -> Result<(), StoreError> {
        Ok(self.put_link(link).await?)
    }

    async fn invoice_link(&self, payment_intent: &str) -> Result<Option<String>, StoreError> {
        Ok(self.get_link(payment_intent).await?)
    }
}
