//! `POST /webhooks/chargebee`: HTTP Basic credentials, normalisation, submission.

use std::sync::Arc;

use http::HeaderMap;
use saguaro_domain::{Event, Trigger};
use saguaro_providers::chargebee::{self, BasicAuth, SubscriptionChange};
use tracing::warn;

use super::{Answer, Parking, ignored, submit, unprocessable};
use crate::http::ErrorCode;
use crate::ports::EventSink;
use crate::rejected::{LocalParking, ParkRejected, RejectedEvents};

/// The Chargebee webhook: the credentials set on it, and where events go.
#[derive(Debug)]
pub struct ChargebeeWebhook<K> {
    auth: BasicAuth,
    sink: K,
    referral_key: Option<String>,
    rejected: Parking,
}

impl<K: EventSink> ChargebeeWebhook<K> {
    /// `referral_key` is the program's `referral_key` (read from the `cf_<key>` field).
    pub fn new(auth: BasicAuth, sink: K, referral_key: Option<String>) -> Self {
        Self {
            auth,
            sink,
            referral_key,
            rejected: None,
        }
    }

    /// The same webhook, parking what it can never apply in `rejected` (answered 200) instead
    /// of answering 500.
    pub fn with_rejected(self, rejected: Arc<dyn RejectedEvents>) -> Self {
        self.with_parking(Arc::new(LocalParking(rejected)))
    }

    /// The same webhook, parking what it can never apply in `parking` (answered 200 once it
    /// is kept there): on AWS, the earn dead-letter queue.
    pub fn with_parking(mut self, parking: Arc<dyn ParkRejected>) -> Self {
        self.rejected = Some(parking);
        self
    }

    /// One delivery: its headers and its exact body (already checked for size and content
    /// type).
    pub async fn handle(&self, headers: &HeaderMap, body: &[u8]) -> Answer {
        let authorization = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if let Err(e) = self.auth.verify(authorization) {
            warn!(provider = "chargebee", reason = %e, "webhook refused");
            return Err(ErrorCode::Unauthorized);
        }
        let event = match chargebee::normalise(body, self.referral_key.as_deref()) {
            Ok(chargebee::Normalised::Event(event)) => *event,
            Ok(chargebee::Normalised::SubscriptionChanged(change)) => changed_event(*change),
            Ok(chargebee::Normalised::Ignored { event_type, reason }) => {
                return ignored("chargebee", &event_type, reason);
            }
            Err(chargebee::NormaliseError::Unprocessable {
                event_id,
                event_type,
                reason,
            }) => {
                return unprocessable(
                    &self.rejected,
                    "chargebee",
                    &event_id,
                    &event_type,
                    reason,
                    body,
                )
                .await;
            }
            Err(e) => {
                warn!(provider = "chargebee", error = %e, "webhook body is not an event");
                return Err(ErrorCode::Malformed);
            }
        };
        submit(&self.sink, &self.rejected, "chargebee", event).await
    }
}

/// `subscription_changed` says nothing about the previous state, so it travels as
/// `subscription.changed` with the new state and its `resource_version`; the engine compares
/// it with the snapshot it keeps for the customer (the only place snapshots live) and applies
/// the upgrade or downgrade rules.
fn changed_event(change: SubscriptionChange) -> Event {
    let mut event = Event::new(
        change.event_id,
        change.customer,
        Trigger::SubscriptionChanged,
        change.occurred_at,
    );
    let mut subscription = change.subscription;
    subscription.resource_version = subscription.resource_version.or(change.resource_version);
    event.subscription = Some(subscription);
    event.refs.referrer = change.referrer;
    event
}
