//! Perks: a POST of the reward to the URL the program names, signed the Standard Webhooks
//! way ([`crate::signing`]) with the secret the reward names (`secret = "PERK_ACME"`: the
//! name of the variable that holds `whsec_…`).
//!
//! Headers: `webhook-id` = the reward row's id (the same on every attempt, so the receiver
//! can drop duplicates), `webhook-timestamp` (unix seconds of this request),
//! `webhook-signature`. The body (JSON):
//!
//! ```json
//! {"type": "reward.issued", "id": "stripe:cus_1/7", "reward": "partner-perk",
//!  "quantity": 1, "customer": {"provider": "stripe", "id": "cus_1"},
//!  "value": null, "event": "evt_1", "created_at": "2026-05-01T12:00:00Z"}
//! ```
//!
//! A merchant notification (`[notify]`, a row of kind `notification`) goes the same way to
//! the `[notify] url`, signed with its `secret`, with the body of [`notification_body`].
//!
//! Any 2xx is delivered (its status is kept as the provider id); 410 Gone fails for good
//! (the receiver says the endpoint is retired); other answers are retried inside the attempt
//! with backoff and jitter ([`PerkRewards::with_retry_delays`]), then by later attempts (the
//! sweep) up to the fulfiler's budget.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use saguaro_app::fulfil::{BoxFuture, Found, RewardDelivery, Sent};
use saguaro_domain::RewardOutbox;
use saguaro_domain::notify::Notice;
use serde_json::json;

use crate::http::{self, no_answer};
use crate::signing::SigningKey;

/// Looks up a secret by the name the reward gives (an environment variable locally).
pub type SecretSource = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Delays before the in-attempt retries: the Standard Webhooks schedule starts with an
/// immediate try and one after 5 seconds; later tries (5 and 30 minutes...) are the sweep's.
pub const RETRY_DELAYS: [Duration; 1] = [Duration::from_secs(5)];

/// The perk adapter.
#[derive(Clone)]
pub struct PerkRewards {
    client: reqwest::Client,
    secrets: SecretSource,
    delays: Vec<Duration>,
}

impl std::fmt::Debug for PerkRewards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerkRewards")
            .field("delays", &self.delays)
            .finish_non_exhaustive()
    }
}

impl PerkRewards {
    /// The adapter with the public-roots client ([`http::client`]).
    pub fn new(secrets: SecretSource) -> Result<Self, http::ClientError> {
        Ok(Self::with_client(http::client()?, secrets))
    }

    /// The adapter over `client` (one from [`http::client_trusting`] in tests).
    pub fn with_client(client: reqwest::Client, secrets: SecretSource) -> Self {
        Self {
            client,
            secrets,
            delays: RETRY_DELAYS.to_vec(),
        }
    }

    /// Secrets from the process environment.
    pub fn from_env() -> Result<Self, http::ClientError> {
        Self::new(Arc::new(|name| std::env::var(name).ok()))
    }

    /// Retries inside one attempt after these delays (each ±25% jitter).
    pub fn with_retry_delays(mut self, delays: Vec<Duration>) -> Self {
        self.delays = delays;
        self
    }

    /// The body sent for `row`.
    pub fn body(row: &RewardOutbox) -> Vec<u8> {
        if let Some(notice) = &row.notice {
            return notification_body(row, notice);
        }
        let body = json!({
            "type": "reward.issued",
            "id": row.id,
            "reward": row.reward,
            "quantity": row.quantity,
            "customer": { "provider": row.customer.provider.as_str(), "id": row.customer.id },
            "value": row.value,
            "event": row.event_id,
            "created_at": row.created_at,
        });
        serde_json::to_vec(&body).unwrap_or_default()
    }

    fn key(&self, row: &RewardOutbox) -> Result<SigningKey, String> {
        let name = row
            .secret
            .as_deref()
            .ok_or_else(|| format!("perk `{}` names no secret", row.reward))?;
        let value = (self.secrets)(name).ok_or_else(|| format!("secret {name} is not set"))?;
        SigningKey::from_secret(&value).map_err(|e| format!("secret {name}: {e}"))
    }

    async fn post(&self, row: &RewardOutbox) -> Sent {
        let key = match self.key(row) {
            Ok(k) => k,
            Err(e) => return Sent::Failed(e),
        };
        let Some(url) = row.url.as_deref() else {
            return Sent::Failed(format!("perk `{}` has no url", row.reward));
        };
        let body = Self::body(row);
        let mut last = Sent::Retry {
            error: "not sent".to_owned(),
            maybe_applied: false,
        };
        for n in 0..=self.delays.len() {
            if n > 0 {
                let base = self.delays[n - 1];
                // ±25% jitter, so that retries of many perks do not arrive together.
                let jitter = 0.75 + fastrand::f64() * 0.5;
                tokio::time::sleep(base.mul_f64(jitter)).await;
            }
            let timestamp = Timestamp::now().as_second();
            let sent = self
                .client
                .post(url)
                .header("content-type", "application/json")
                .header("webhook-id", &row.id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", key.sign(&row.id, timestamp, &body))
                .body(body.clone())
                .send()
                .await;
            last = match sent {
                Ok(r) if r.status().is_success() => {
                    return Sent::Delivered(Some(format!("HTTP {}", r.status().as_u16())));
                }
                Ok(r) if r.status().as_u16() == 410 => {
                    return Sent::Failed(format!("perk endpoint {url} answered 410 Gone"));
                }
                Ok(r) => Sent::Retry {
                    error: format!("perk endpoint answered HTTP {}", r.status().as_u16()),
                    maybe_applied: true,
                },
                Err(e) => no_answer("perk endpoint", &e),
            };
        }
        last
    }
}

/// A merchant notification's body: `{"type", "program", "customer", "provider", "data",
/// "occurred_at"}`, `data` being what the kind says (README "Notifying the merchant").
pub fn notification_body(row: &RewardOutbox, notice: &Notice) -> Vec<u8> {
    let mut data = serde_json::to_value(&notice.data).unwrap_or_default();
    if let Some(fields) = data.as_object_mut() {
        fields.remove("type");
    }
    let body = json!({
        "type": notice.data.kind().as_str(),
        "program": notice.program,
        "customer": row.customer.id,
        "provider": row.customer.provider.as_str(),
        "data": data,
        "occurred_at": row.created_at,
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

impl RewardDelivery for PerkRewards {
    /// A secret that is not set is configuration to fix, not a reason to give up: the row
    /// stays pending and says so.
    fn unavailable(&self, row: &RewardOutbox) -> Option<String> {
        let name = row.secret.as_deref()?;
        (self.secrets)(name)
            .is_none()
            .then(|| format!("secret {name} is not set"))
    }

    /// Receivers drop duplicates by `webhook-id`, so sending again is safe.
    fn find<'a>(&'a self, _row: &'a RewardOutbox, _since: Timestamp) -> BoxFuture<'a, Found> {
        Box::pin(async { Found::No })
    }

    fn send<'a>(&'a self, row: &'a RewardOutbox, _attempt: u32) -> BoxFuture<'a, Sent> {
        Box::pin(self.post(row))
    }
}
