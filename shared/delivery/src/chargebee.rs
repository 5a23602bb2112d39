//! Chargebee rewards (API v2; form-encoded requests, HTTP Basic auth with the API key as
//! the user name and an empty password, base URL `https://{site}.chargebee.com`):
//!
//! - `billing_credit`: `POST /api/v2/promotional_credits/add` with `customer_id`, `amount`
//!   (minor units: the row's value, already × quantity), `currency_code`, `description`,
//!   `credit_type=loyalty_credits` and `reference` = the reward row's id, header
//!   `chargebee-idempotency-key`. Chargebee keeps idempotency keys only 30 minutes, so
//!   after an attempt whose outcome is unknown the fulfiler first lists the customer's
//!   promotional credits created since the attempt (`GET /api/v2/promotional_credits?
//!   customer_id[is]=…&created_at[after]=…`) and matches `reference` itself (the list
//!   cannot filter on it).
//! - `coupon`: `coupon_ids[0]` on the customer's active subscription (Chargebee appends to
//!   the coupons already there): `POST /api/v2/subscriptions/{id}/update_for_items`
//!   (Product Catalog 2.0) or `POST /api/v2/subscriptions/{id}` (1.0). No active
//!   subscription, or a coupon Chargebee refuses, is a permanent failure.
//! - 429 honours `Retry-After` (up to [`crate::http::MAX_RETRY_AFTER`]) once inside the
//!   attempt; then it is the next attempt's.

use jiff::Timestamp;
use saguaro_app::fulfil::{BoxFuture, Found, RewardDelivery, Sent, idempotency_key};
use saguaro_domain::RewardOutbox;
use saguaro_domain::program::RewardKind;
use saguaro_domain::secret::Secret;
use serde_json::Value;

use crate::http::{self, MAX_RETRY_AFTER, no_answer, refused};

/// Promotional credit pages read when looking for an earlier attempt (100 each).
const MAX_PAGES: usize = 10;

/// Which Chargebee product catalog the site uses (decides the subscription update path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductCatalog {
    V1,
    V2,
}

/// The Chargebee adapter.
#[derive(Clone)]
pub struct ChargebeeRewards {
    client: reqwest::Client,
    base_url: String,
    api_key: Secret,
    catalog: ProductCatalog,
}

impl std::fmt::Debug for ChargebeeRewards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChargebeeRewards")
            .field("base_url", &self.base_url)
            .field("api_key", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl ChargebeeRewards {
    /// `base_url` without `/api/v2` (`https://acme.chargebee.com`, or a test server).
    pub fn new(
        base_url: &str,
        api_key: Secret,
        catalog: ProductCatalog,
    ) -> Result<Self, http::ClientError> {
        Ok(Self {
            client: http::client()?,
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
            catalog,
        })
    }

    /// The site's default base URL.
    pub fn site_url(site: &str) -> String {
        format!("https://{site}.chargebee.com")
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v2{path}", self.base_url)
    }

    fn authed(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        r.basic_auth(self.api_key.expose(), Some(""))
    }

    /// POSTs `form` with the idempotency key, honouring one `Retry-After`.
    async fn post(
        &self,
        what: &str,
        path: &str,
        form: &[(String, String)],
        key: &str,
    ) -> Result<Value, Sent> {
        let mut waited = false;
        loop {
            let sent = self
                .authed(self.client.post(self.url(path)))
                .header("chargebee-idempotency-key", key)
                .form(form)
                .send()
                .await
                .map_err(|e| no_answer(what, &e))?;
            let status = sent.status().as_u16();
            if status == 429
                && !waited
                && let Some(wait) = http::retry_after(&sent).filter(|w| *w <= MAX_RETRY_AFTER)
            {
                waited = true;
                tokio::time::sleep(wait).await;
                continue;
            }
            return answer(what, sent).await;
        }
    }

    async fn get(&self, what: &str, path: &str, query: &[(&str, String)]) -> Result<Value, Sent> {
        let sent = self
            .authed(self.client.get(self.url(path)))
            .query(query)
            .send()
            .await
            .map_err(|e| no_answer(what, &e))?;
        answer(what, sent).await
    }

    async fn credit(&self, row: &RewardOutbox, attempt: u32) -> Sent {
        let Some(value) = row.value else {
            return Sent::Failed("billing credit without a value".to_owned());
        };
        let form = vec![
            ("customer_id".to_owned(), row.customer.id.clone()),
            ("amount".to_owned(), value.minor.to_string()),
            (
                "currency_code".to_owned(),
                value.currency.as_str().to_ascii_uppercase(),
            ),
            ("description".to_owned(), description(row)),
            ("credit_type".to_owned(), "loyalty_credits".to_owned()),
            ("reference".to_owned(), row.id.clone()),
        ];
        let key = idempotency_key(row, attempt);
        match self
            .post(
                "Chargebee promotional credit",
                "/promotional_credits/add",
                &form,
                &key,
            )
            .await
        {
            Ok(v) => Sent::Delivered(
                v.pointer("/promotional_credit/id")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            ),
            Err(sent) => sent,
        }
    }

    /// The customer's active subscription, if any.
    async fn subscription(&self, row: &RewardOutbox) -> Result<Option<Value>, Sent> {
        let v = self
            .get(
                "Chargebee subscriptions",
                "/subscriptions",
                &[
                    ("customer_id[is]", row.customer.id.clone()),
                    ("status[is]", "active".to_owned()),
                    ("limit", "1".to_owned()),
                ],
            )
            .await?;
        Ok(v.pointer("/list/0/subscription").cloned())
    }

    async fn coupon(&self, row: &RewardOutbox, attempt: u32) -> Sent {
        let Some(coupon) = row.coupon.as_deref() else {
            return Sent::Failed("coupon reward without a coupon".to_owned());
        };
        let sub = match self.subscription(row).await {
            Ok(Some(sub)) => sub,
            Ok(None) => {
                return Sent::Failed(format!(
                    "customer {} has no active subscription for coupon {coupon}",
                    row.customer.id
                ));
            }
            Err(sent) => return sent,
        };
        let Some(id) = sub.get("id").and_then(Value::as_str) else {
            return Sent::Failed("Chargebee subscription without an id".to_owned());
        };
        let path = match self.catalog {
            ProductCatalog::V2 => format!("/subscriptions/{id}/update_for_items"),
            ProductCatalog::V1 => format!("/subscriptions/{id}"),
        };
        let form = vec![("coupon_ids[0]".to_owned(), coupon.to_owned())];
        match self
            .post(
                "Chargebee coupon",
                &path,
                &form,
                &idempotency_key(row, attempt),
            )
            .await
        {
            Ok(_) => Sent::Delivered(Some(id.to_owned())),
            Err(sent) => sent,
        }
    }

    async fn find_credit(&self, row: &RewardOutbox, since: Timestamp) -> Found {
        let mut offset: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![
                ("customer_id[is]", row.customer.id.clone()),
                ("created_at[after]", since.as_second().to_string()),
                ("limit", "100".to_owned()),
            ];
            if let Some(o) = &offset {
                query.push(("offset", o.clone()));
            }
            let page = match self
                .get(
                    "Chargebee promotional credits",
                    "/promotional_credits",
                    &query,
                )
                .await
            {
                Ok(v) => v,
                Err(sent) => return Found::Unknown(reason(&sent)),
            };
            let list = page.get("list").and_then(Value::as_array);
            for entry in list.into_iter().flatten() {
                let credit = entry.get("promotional_credit");
                let reference = credit
                    .and_then(|c| c.get("reference"))
                    .and_then(Value::as_str);
                if reference == Some(row.id.as_str()) {
                    let id = credit.and_then(|c| c.get("id")).and_then(Value::as_str);
                    return Found::Yes(id.map(str::to_owned));
                }
            }
            match page.get("next_offset").and_then(Value::as_str) {
                Some(next) => offset = Some(next.to_owned()),
                None => return Found::No,
            }
        }
        Found::Unknown("too many promotional credits to look through".to_owned())
    }

    async fn find_coupon(&self, row: &RewardOutbox) -> Found {
        let sub = match self.subscription(row).await {
            Ok(Some(sub)) => sub,
            Ok(None) => return Found::No,
            Err(sent) => return Found::Unknown(reason(&sent)),
        };
        let has = sub
            .get("coupons")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|c| c.get("coupon_id").and_then(Value::as_str) == row.coupon.as_deref());
        if has {
            Found::Yes(sub.get("id").and_then(Value::as_str).map(str::to_owned))
        } else {
            Found::No
        }
    }
}

/// A billing credit's description: the reward and the quantity.
pub fn description(row: &RewardOutbox) -> String {
    if row.quantity > 1 {
        format!("Loyalty reward {} × {}", row.reward, row.quantity)
    } else {
        format!("Loyalty reward {}", row.reward)
    }
}

fn reason(sent: &Sent) -> String {
    match sent {
        Sent::Retry { error, .. } | Sent::Failed(error) => error.clone(),
        Sent::Delivered(_) => String::new(),
    }
}

/// A 2xx answer's JSON, or what the error status means.
async fn answer(what: &str, response: reqwest::Response) -> Result<Value, Sent> {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return Ok(body);
    }
    let message = body
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no message");
    Err(refused(what, status, message))
}

impl RewardDelivery for ChargebeeRewards {
    fn unavailable(&self, _row: &RewardOutbox) -> Option<String> {
        None
    }

    fn find<'a>(&'a self, row: &'a RewardOutbox, since: Timestamp) -> BoxFuture<'a, Found> {
        Box::pin(async move {
            match row.kind {
                RewardKind::BillingCredit => self.find_credit(row, since).await,
                RewardKind::Coupon => self.find_coupon(row).await,
                _ => Found::No,
            }
        })
    }

    fn send<'a>(&'a self, row: &'a RewardOutbox, attempt: u32) -> BoxFuture<'a, Sent> {
        Box::pin(async move {
            match row.kind {
                RewardKind::BillingCredit => self.credit(row, attempt).await,
                RewardKind::Coupon => self.coupon(row, attempt).await,
                _ => Sent::Failed("not a Chargebee reward".to_owned()),
            }
        })
    }
}
