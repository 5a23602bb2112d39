//! The two webhook routes of DESIGN §8, `POST /webhooks/stripe` and `POST /webhooks/chargebee`,
//! over plain `http` types so that the Lambda functions and the local runner share them.
//!
//! Each request goes through the same steps, in this order: size (413) and content type
//! (415); verification on the raw bytes before anything is parsed (401; the reason is logged,
//! never the secret); normalisation (400 for a body that is not an event, 200 and nothing
//! submitted for a type Saguaro does not use, 500 for a relevant event that cannot be
//! normalised so that the provider retries); then the sink (200 `{"received":true}` only once
//! the event is accepted: DESIGN §5.4, "a webhook is acknowledged only after the event is on
//! the queue").
//!
//! Stripe refunds need one more step on "basil" and later API versions (2025-03-31+): the
//! charge no longer names its invoice and `invoice.paid` usually names no PaymentIntent, so
//! a refund known only by its PaymentIntent would match no payment. Before submitting such a
//! refund the handler asks a [`StripeLookup`] which invoice the PaymentIntent paid and sets
//! it as the refund's `payment_alias`. A failed lookup answers 503 (or 500) so that Stripe
//! retries: the refund is never submitted without its link while a lookup is configured.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use saguaro_domain::ports::Clock;
use saguaro_domain::{Event, Trigger};
use saguaro_providers::chargebee::{self, BasicAuth, SubscriptionChange};
use saguaro_providers::stripe::{self, Verifier, WebhookSecret};
use serde_json::json;
use tracing::{debug, error, info, warn};

use crate::http::{EventSink, SinkError, check_body, error_response, json_response};

/// The header Stripe signs with.
pub const STRIPE_SIGNATURE: &str = "stripe-signature";

/// A verifier for the value of `STRIPE_WEBHOOK_SECRET`: one `whsec_...` secret, or several
/// separated by commas while a secret is being rolled. `None` when it holds no secret.
pub fn stripe_verifier(secrets: &str) -> Option<Verifier> {
    let secrets: Vec<WebhookSecret> = secrets
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(WebhookSecret::new)
        .collect();
    (!secrets.is_empty()).then(|| Verifier::new(secrets))
}

/// Why a [`StripeLookup`] could not answer. Either way the webhook is answered with a 5xx so
/// that Stripe delivers it again.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// Stripe could not be reached, timed out or answered 429/5xx: try again later (503).
    #[error("Stripe API unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Stripe refused the request (401, 403, 400...) or answered something unreadable: an
    /// operator has to look (500; Stripe's retries keep the event until then).
    #[error("Stripe API lookup failed")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Outbound Stripe reads the webhook needs (the port; `saguaro-stripe-api` is the adapter).
pub trait StripeLookup: Send + Sync {
    /// The id of the invoice that `payment_intent` paid, `None` when it paid no invoice (a
    /// one-off charge).
    fn invoice_for_payment_intent(
        &self,
        payment_intent: &str,
    ) -> impl Future<Output = Result<Option<String>, LookupError>> + Send;
}

/// No Stripe API key configured: every lookup finds nothing, so a basil+ refund is submitted
/// with only its PaymentIntent (and matches a payment only if that was keyed by it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoStripeLookup;

impl StripeLookup for NoStripeLookup {
    async fn invoice_for_payment_intent(
        &self,
        _payment_intent: &str,
    ) -> Result<Option<String>, LookupError> {
        Ok(None)
    }
}

/// `None` behaves as [`NoStripeLookup`], so that wiring can hold an optional adapter.
impl<L: StripeLookup> StripeLookup for Option<L> {
    async fn invoice_for_payment_intent(
        &self,
        payment_intent: &str,
    ) -> Result<Option<String>, LookupError> {
        match self {
            Some(lookup) => lookup.invoice_for_payment_intent(payment_intent).await,
            None => Ok(None),
        }
    }
}

impl<L: StripeLookup> StripeLookup for Arc<L> {
    fn invoice_for_payment_intent(
        &self,
        payment_intent: &str,
    ) -> impl Future<Output = Result<Option<String>, LookupError>> + Send {
        (**self).invoice_for_payment_intent(payment_intent)
    }
}

/// `POST /webhooks/stripe`: `Stripe-Signature` verification, normalisation, the invoice
/// lookup for refunds that need it, submission.
#[derive(Debug)]
pub struct StripeWebhook<K, C, L = NoStripeLookup> {
    verifier: Verifier,
    sink: K,
    clock: C,
    referral_key: Option<String>,
    lookup: L,
}

impl<K: EventSink, C: Clock> StripeWebhook<K, C> {
    /// `referral_key` is the program's `referral_key` (metadata key naming the referrer).
    /// Without [`StripeWebhook::with_lookup`] refunds are not linked to their invoices.
    pub fn new(verifier: Verifier, sink: K, clock: C, referral_key: Option<String>) -> Self {
        Self {
            verifier,
            sink,
            clock,
            referral_key,
            lookup: NoStripeLookup,
        }
    }
}

impl<K: EventSink, C: Clock, L: StripeLookup> StripeWebhook<K, C, L> {
    /// The same webhook, asking `lookup` for the invoice of refunds that name only their
    /// PaymentIntent.
    pub fn with_lookup<M: StripeLookup>(self, lookup: M) -> StripeWebhook<K, C, M> {
        StripeWebhook {
            verifier: self.verifier,
            sink: self.sink,
            clock: self.clock,
            referral_key: self.referral_key,
            lookup,
        }
    }

    pub fn sink(&self) -> &K {
        &self.sink
    }

    pub fn lookup(&self) -> &L {
        &self.lookup
    }

    pub async fn handle(&self, req: Request<Bytes>) -> Response<Bytes> {
        if let Some(rejection) = check_body(&req) {
            return rejection;
        }
        let header = req
            .headers()
            .get(STRIPE_SIGNATURE)
            .and_then(|v| v.to_str().ok());
        if let Err(e) = self.verifier.verify(req.body(), header, self.clock.now()) {
            warn!(provider = "stripe", reason = %e, "webhook refused");
            return error_response(StatusCode::UNAUTHORIZED, "unauthorized");
        }
        let mut event = match stripe::normalise(req.body(), self.referral_key.as_deref()) {
            Ok(stripe::Normalised::Event(event)) => *event,
            Ok(stripe::Normalised::Ignored { event_type, reason }) => {
                return ignored("stripe", &event_type, reason);
            }
            Err(stripe::NormaliseError::Unprocessable {
                event_id,
                event_type,
                reason,
            }) => return unprocessable("stripe", &event_id, &event_type, reason),
            Err(e) => {
                warn!(provider = "stripe", error = %e, "webhook body is not an event");
                return error_response(StatusCode::BAD_REQUEST, "malformed");
            }
        };
        if let Err(rejection) = self.link_refund_to_invoice(&mut event).await {
            return rejection;
        }
        submit(&self.sink, "stripe", event).await
    }

    /// A refund that names only its PaymentIntent (basil+ charges carry no `invoice`) gets
    /// the invoice that PaymentIntent paid as its `payment_alias`, which is the key a basil+
    /// `invoice.paid` without `payments` was recorded under.
    async fn link_refund_to_invoice(&self, event: &mut Event) -> Result<(), Response<Bytes>> {
        if event.trigger != Trigger::PaymentRefunded || event.refs.payment_alias.is_some() {
            return Ok(());
        }
        let Some(payment_intent) = event
            .refs
            .payment
            .as_deref()
            .filter(|p| p.starts_with("pi_"))
        else {
            return Ok(());
        };
        match self.lookup.invoice_for_payment_intent(payment_intent).await {
            Ok(Some(invoice)) => {
                debug!(provider = "stripe", event_id = %event.id, payment_intent, invoice, "refund linked to its invoice");
                if event.refs.invoice.is_none() {
                    event.refs.invoice = Some(invoice.clone());
                }
                event.refs.payment_alias = Some(invoice).filter(|i| i != payment_intent);
                Ok(())
            }
            Ok(None) => {
                debug!(provider = "stripe", event_id = %event.id, payment_intent, "refund of a payment with no invoice");
                Ok(())
            }
            Err(e) => {
                let (status, code) = match &e {
                    LookupError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
                    LookupError::Failed(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
                };
                error!(
                    provider = "stripe",
                    event_id = %event.id,
                    payment_intent,
                    error = %e,
                    cause = ?std::error::Error::source(&e).map(ToString::to_string),
                    "cannot look up the refunded payment's invoice; Stripe will retry"
                );
                Err(error_response(status, code))
            }
        }
    }
}

/// `POST /webhooks/chargebee`: HTTP Basic credentials, normalisation, submission.
#[derive(Debug)]
pub struct ChargebeeWebhook<K> {
    auth: BasicAuth,
    sink: K,
    referral_key: Option<String>,
}

impl<K: EventSink> ChargebeeWebhook<K> {
    /// `referral_key` is the program's `referral_key` (read from the `cf_<key>` field).
    pub fn new(auth: BasicAuth, sink: K, referral_key: Option<String>) -> Self {
        Self {
            auth,
            sink,
            referral_key,
        }
    }

    pub fn sink(&self) -> &K {
        &self.sink
    }

    pub async fn handle(&self, req: Request<Bytes>) -> Response<Bytes> {
        if let Some(rejection) = check_body(&req) {
            return rejection;
        }
        let authorization = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if let Err(e) = self.auth.verify(authorization) {
            warn!(provider = "chargebee", reason = %e, "webhook refused");
            return error_response(StatusCode::UNAUTHORIZED, "unauthorized");
        }
        let event = match chargebee::normalise(req.body(), self.referral_key.as_deref()) {
            Ok(chargebee::Normalised::Event(event)) => *event,
            Ok(chargebee::Normalised::SubscriptionChanged(change)) => changed_event(*change),
            Ok(chargebee::Normalised::Ignored { event_type, reason }) => {
                return ignored("chargebee", &event_type, reason);
            }
            Err(chargebee::NormaliseError::Unprocessable {
                event_id,
                event_type,
                reason,
            }) => return unprocessable("chargebee", &event_id, &event_type, reason),
            Err(e) => {
                warn!(provider = "chargebee", error = %e, "webhook body is not an event");
                return error_response(StatusCode::BAD_REQUEST, "malformed");
            }
        };
        submit(&self.sink, "chargebee", event).await
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

fn ignored(provider: &str, event_type: &str, reason: &str) -> Response<Bytes> {
    debug!(provider, event_type, reason, "webhook ignored");
    received()
}

/// A relevant event we cannot read: a bare 500, so that the provider keeps retrying it while
/// the log tells the operator which event to look at.
fn unprocessable(
    provider: &str,
    event_id: &str,
    event_type: &str,
    reason: &str,
) -> Response<Bytes> {
    error!(
        provider,
        event_id, event_type, reason, "relevant webhook event cannot be normalised"
    );
    error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal")
}

async fn submit<K: EventSink>(sink: &K, provider: &str, event: Event) -> Response<Bytes> {
    let event_id = event.id.clone();
    let customer = event.customer.to_string();
    let trigger = event.trigger.clone();
    match sink.submit(event).await {
        Ok(()) => {
            info!(provider, event_id = %event_id, customer, trigger = %trigger, "webhook accepted");
            received()
        }
        Err(SinkError::Unavailable(e)) => {
            error!(provider, event_id = %event_id, error = %e, cause = ?e.source().map(ToString::to_string), "sink unavailable");
            error_response(StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        }
        // The provider cannot fix the event; retrying gives an operator (or a later deploy)
        // the provider's retry window to deal with it, where a 4xx would lose it.
        Err(SinkError::Rejected(e)) => {
            error!(provider, event_id = %event_id, error = %e, cause = ?e.source().map(ToString::to_string), "event rejected by the sink");
            error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal")
        }
        // Providers never reuse an event id for another event; if it happens, say so and
        // let the provider's retry be visible rather than acknowledging a lost event.
        Err(SinkError::IdReused) => {
            error!(provider, event_id = %event_id, "event id already used for a different event");
            error_response(StatusCode::CONFLICT, "id_reused")
        }
    }
}

fn received() -> Response<Bytes> {
    json_response(StatusCode::OK, &json!({ "received": true }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Mutex;

    use base64::Engine as _;
    use jiff::Timestamp;
    use saguaro_domain::{Currency, CustomerId, Money, Provider};
    use saguaro_providers::chargebee::Password;
    use saguaro_providers::stripe::sign_header;
    use serde_json::Value;

    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const NOW: i64 = 1_700_000_000;

    #[derive(Debug, Clone, Copy)]
    enum Mode {
        Accept,
        Unavailable,
        Rejected,
        IdReused,
    }

    /// Records what it is given, and answers as told.
    #[derive(Debug)]
    struct RecordingSink {
        mode: Mode,
        events: Mutex<Vec<Event>>,
    }

    impl RecordingSink {
        fn new(mode: Mode) -> Self {
            Self {
                mode,
                events: Mutex::new(Vec::new()),
            }
        }

        fn events(&self) -> Vec<Event> {
            self.events.lock().unwrap().clone()
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("test sink failure")]
    struct TestFailure;

    impl EventSink for RecordingSink {
        async fn submit(&self, event: Event) -> Result<(), SinkError> {
            self.events.lock().unwrap().push(event);
            match self.mode {
                Mode::Accept => Ok(()),
                Mode::Unavailable => Err(SinkError::Unavailable(Box::new(TestFailure))),
                Mode::Rejected => Err(SinkError::Rejected(Box::new(TestFailure))),
                Mode::IdReused => Err(SinkError::IdReused),
            }
        }
    }

    #[derive(Debug)]
    struct FixedClock(Timestamp);

    impl Clock for FixedClock {
        fn now(&self) -> Timestamp {
            self.0
        }
    }

    fn read(path: PathBuf) -> Vec<u8> {
        std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    }

    /// `/work/shared/fixtures`: real payloads from public sources.
    fn shared_fixture(rel: &str) -> Vec<u8> {
        read(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/fixtures")
                .join(rel),
        )
    }

    /// The providers crate's hand-built test data (its README says how it was made).
    fn provider_data(rel: &str) -> Vec<u8> {
        read(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../providers/tests/data")
                .join(rel),
        )
    }

    fn stripe_webhook(mode: Mode) -> StripeWebhook<RecordingSink, FixedClock> {
        StripeWebhook::new(
            Verifier::new([WebhookSecret::new(SECRET)]),
            RecordingSink::new(mode),
            FixedClock(Timestamp::from_second(NOW).unwrap()),
            Some("referred_by".to_owned()),
        )
    }

    fn chargebee_webhook(mode: Mode) -> ChargebeeWebhook<RecordingSink> {
        ChargebeeWebhook::new(
            BasicAuth::new("saguaro", &Password::new("pa55")),
            RecordingSink::new(mode),
            Some("referred_by".to_owned()),
        )
    }

    fn request(body: Vec<u8>, headers: &[(&str, &str)]) -> Request<Bytes> {
        let mut builder = Request::post("/webhooks/x");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(Bytes::from(body)).unwrap()
    }

    fn signed(body: Vec<u8>) -> Request<Bytes> {
        let header = sign_header(&WebhookSecret::new(SECRET), NOW, &body);
        request(
            body,
            &[
                ("content-type", "application/json; charset=utf-8"),
                (STRIPE_SIGNATURE, &header),
            ],
        )
    }

    fn basic(credentials: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    }

    fn authenticated(body: Vec<u8>) -> Request<Bytes> {
        request(
            body,
            &[
                ("content-type", "application/json"),
                ("authorization", &basic("saguaro:pa55")),
            ],
        )
    }

    fn answer(res: &Response<Bytes>) -> (StatusCode, Value) {
        (res.status(), serde_json::from_slice(res.body()).unwrap())
    }

    fn usd(minor: i64) -> Money {
        Money::new(minor, "usd".parse::<Currency>().unwrap())
    }

    fn stripe_invoice_paid() -> Vec<u8> {
        provider_data("stripe/2020-03-02_invoice.paid.json")
    }

    #[tokio::test]
    async fn when_stripe_event_is_signed_then_it_is_submitted_and_200() {
        // given
        let hook = stripe_webhook(Mode::Accept);
        // when
        let res = hook.handle(signed(stripe_invoice_paid())).await;
        // then
        assert_eq!(answer(&res), (StatusCode::OK, json!({ "received": true })));
        let events = hook.sink().events();
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.id.as_str(), "evt_1GqInvoicePaid2020");
        assert_eq!(e.customer, CustomerId::new(Provider::Stripe, "cus_H2020"));
        assert_eq!(e.trigger, Trigger::PaymentSucceeded);
        assert_eq!(e.amount, Some(usd(3998)));
    }

    #[tokio::test]
    async fn when_stripe_subscription_has_referral_metadata_then_referrer_is_submitted() {
        let hook = stripe_webhook(Mode::Accept);
        let body = provider_data("stripe/2020-03-02_customer.subscription.created.json");
        let res = hook.handle(signed(body)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let events = hook.sink().events();
        assert_eq!(events[0].trigger, Trigger::SubscriptionCreated);
        assert_eq!(
            events[0].refs.referrer,
            Some(CustomerId::new(Provider::Stripe, "cus_Referrer1"))
        );
    }

    #[tokio::test]
    async fn when_stripe_signature_is_wrong_missing_or_stale_then_401_and_nothing_submitted() {
        let hook = stripe_webhook(Mode::Accept);
        let body = stripe_invoice_paid();
        let wrong = sign_header(&WebhookSecret::new("whsec_other"), NOW, &body);
        let stale = sign_header(&WebhookSecret::new(SECRET), NOW - 301, &body);
        let mut tampered = body.clone();
        tampered.push(b' ');
        let good = sign_header(&WebhookSecret::new(SECRET), NOW, &body);
        let cases = [
            request(
                body.clone(),
                &[
                    ("content-type", "application/json"),
                    (STRIPE_SIGNATURE, &wrong),
                ],
            ),
            request(
                body.clone(),
                &[
                    ("content-type", "application/json"),
                    (STRIPE_SIGNATURE, &stale),
                ],
            ),
            request(body.clone(), &[("content-type", "application/json")]),
            request(
                tampered,
                &[
                    ("content-type", "application/json"),
                    (STRIPE_SIGNATURE, &good),
                ],
            ),
        ];
        for req in cases {
            let res = hook.handle(req).await;
            assert_eq!(
                answer(&res),
                (StatusCode::UNAUTHORIZED, json!({ "error": "unauthorized" }))
            );
        }
        assert!(hook.sink().events().is_empty());
    }

    #[tokio::test]
    async fn when_body_is_too_large_or_not_json_then_413_or_415_before_verification() {
        let hook = stripe_webhook(Mode::Accept);
        let big = vec![b' '; crate::http::MAX_BODY_BYTES + 1];
        let res = hook.handle(signed(big)).await;
        assert_eq!(
            answer(&res),
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({ "error": "payload_too_large" })
            )
        );
        // no signature at all: the content type is refused first
        let res = hook
            .handle(request(
                stripe_invoice_paid(),
                &[("content-type", "text/plain")],
            ))
            .await;
        assert_eq!(
            answer(&res),
            (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                json!({ "error": "unsupported_media_type" })
            )
        );
        assert!(hook.sink().events().is_empty());
    }

    #[tokio::test]
    async fn when_signed_body_is_not_json_or_not_an_event_then_400_malformed() {
        let hook = stripe_webhook(Mode::Accept);
        for body in [&b"{not json"[..], br#"{"object":"event"}"#] {
            let res = hook.handle(signed(body.to_vec())).await;
            assert_eq!(
                answer(&res),
                (StatusCode::BAD_REQUEST, json!({ "error": "malformed" }))
            );
        }
        assert!(hook.sink().events().is_empty());
    }

    #[tokio::test]
    async fn when_stripe_type_is_not_used_then_200_and_nothing_submitted() {
        // given async-stripe's signed `invoiceitem.created` vector, verified with its own
        // secret, header and time
        let vector: Value = serde_json::from_slice(&shared_fixture(
            "stripe/signature_vectors/async_stripe_invoiceitem_created_vector.json",
        ))
        .unwrap();
        let hook = StripeWebhook::new(
            Verifier::new([WebhookSecret::new(vector["secret"].as_str().unwrap())]),
            RecordingSink::new(Mode::Accept),
            FixedClock(Timestamp::from_second(vector["timestamp"].as_i64().unwrap()).unwrap()),
            None,
        );
        let req = request(
            vector["payload"].as_str().unwrap().as_bytes().to_vec(),
            &[
                ("content-type", "application/json"),
                (STRIPE_SIGNATURE, vector["header"].as_str().unwrap()),
            ],
        );
        // when
        let res = hook.handle(req).await;
        // then
        assert_eq!(answer(&res), (StatusCode::OK, json!({ "received": true })));
        assert!(hook.sink().events().is_empty());
    }

    #[tokio::test]
    async fn when_relevant_stripe_event_cannot_be_normalised_then_500_so_stripe_retries() {
        // given an invoice.paid whose invoice names no customer
        let hook = stripe_webhook(Mode::Accept);
        let mut event: Value = serde_json::from_slice(&stripe_invoice_paid()).unwrap();
        event["data"]["object"]
            .as_object_mut()
            .unwrap()
            .remove("customer");
        // when
        let res = hook
            .handle(signed(serde_json::to_vec(&event).unwrap()))
            .await;
        // then
        assert_eq!(
            answer(&res),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "error": "internal" })
            )
        );
        assert!(hook.sink().events().is_empty());
    }

    #[tokio::test]
    async fn when_sink_fails_then_503_for_unavailable_500_for_rejected_409_for_reused_id() {
        for (mode, status, code) in [
            (
                Mode::Unavailable,
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
            ),
            (
                Mode::Rejected,
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
            ),
            (Mode::IdReused, StatusCode::CONFLICT, "id_reused"),
        ] {
            let hook = stripe_webhook(mode);
            let res = hook.handle(signed(stripe_invoice_paid())).await;
            assert_eq!(answer(&res), (status, json!({ "error": code })), "{mode:?}");
            assert_eq!(hook.sink().events().len(), 1, "{mode:?}");
        }
    }

    #[tokio::test]
    async fn when_secret_list_has_several_secrets_then_each_one_verifies() {
        assert!(stripe_verifier(" , ").is_none());
        let verifier = stripe_verifier("whsec_old, whsec_new").unwrap();
        let now = Timestamp::from_second(NOW).unwrap();
        for secret in ["whsec_old", "whsec_new"] {
            let header = sign_header(&WebhookSecret::new(secret), NOW, b"{}");
            assert!(
                verifier.verify(b"{}", Some(&header), now).is_ok(),
                "{secret}"
            );
        }
        let other = sign_header(&WebhookSecret::new("whsec_other"), NOW, b"{}");
        assert!(verifier.verify(b"{}", Some(&other), now).is_err());
    }

    /// What a [`FakeLookup`] answers.
    #[derive(Debug, Clone)]
    enum LookupAnswer {
        Invoice(&'static str),
        NoInvoice,
        Unavailable,
        Failed,
    }

    /// Answers as told and records the PaymentIntents it was asked about.
    #[derive(Debug)]
    struct FakeLookup {
        answer: LookupAnswer,
        asked: Mutex<Vec<String>>,
    }

    impl FakeLookup {
        fn new(answer: LookupAnswer) -> Arc<Self> {
            Arc::new(Self {
                answer,
                asked: Mutex::new(Vec::new()),
            })
        }

        fn asked(&self) -> Vec<String> {
            self.asked.lock().unwrap().clone()
        }
    }

    impl StripeLookup for FakeLookup {
        async fn invoice_for_payment_intent(
            &self,
            payment_intent: &str,
        ) -> Result<Option<String>, LookupError> {
            self.asked.lock().unwrap().push(payment_intent.to_owned());
            match self.answer {
                LookupAnswer::Invoice(id) => Ok(Some(id.to_owned())),
                LookupAnswer::NoInvoice => Ok(None),
                LookupAnswer::Unavailable => Err(LookupError::Unavailable(Box::new(TestFailure))),
                LookupAnswer::Failed => Err(LookupError::Failed(Box::new(TestFailure))),
            }
        }
    }

    fn stripe_webhook_with(
        lookup: &Arc<FakeLookup>,
    ) -> StripeWebhook<RecordingSink, FixedClock, Arc<FakeLookup>> {
        stripe_webhook(Mode::Accept).with_lookup(lookup.clone())
    }

    /// The 2020 `charge.refunded` in its basil+ shape: the charge names its PaymentIntent
    /// (`pi_H2020`) but no longer its invoice.
    fn basil_charge_refunded() -> Vec<u8> {
        let mut event: Value =
            serde_json::from_slice(&provider_data("stripe/2020-03-02_charge.refunded.json"))
                .unwrap();
        event["api_version"] = json!("2025-03-31.basil");
        event["data"]["object"]
            .as_object_mut()
            .unwrap()
            .remove("invoice");
        serde_json::to_vec(&event).unwrap()
    }

    #[tokio::test]
    async fn when_basil_refund_names_only_its_payment_intent_then_the_invoice_found_is_its_alias() {
        // given
        let lookup = FakeLookup::new(LookupAnswer::Invoice("in_H2020"));
        let hook = stripe_webhook_with(&lookup);
        // when
        let res = hook.handle(signed(basil_charge_refunded())).await;
        // then
        assert_eq!(answer(&res), (StatusCode::OK, json!({ "received": true })));
        assert_eq!(lookup.asked(), ["pi_H2020"]);
        let events = hook.sink().events();
        assert_eq!(events.len(), 1);
        let refs = &events[0].refs;
        assert_eq!(events[0].trigger, Trigger::PaymentRefunded);
        assert_eq!(refs.payment.as_deref(), Some("pi_H2020"));
        assert_eq!(refs.payment_alias.as_deref(), Some("in_H2020"));
        assert_eq!(refs.invoice.as_deref(), Some("in_H2020"));
        assert_eq!(events[0].refunded_total, Some(usd(1000)));
    }

    #[tokio::test]
    async fn when_payment_intent_paid_no_invoice_then_the_refund_is_submitted_as_is() {
        let lookup = FakeLookup::new(LookupAnswer::NoInvoice);
        let hook = stripe_webhook_with(&lookup);
        let res = hook.handle(signed(basil_charge_refunded())).await;
        assert_eq!(answer(&res), (StatusCode::OK, json!({ "received": true })));
        assert_eq!(lookup.asked(), ["pi_H2020"]);
        let events = hook.sink().events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].refs.payment.as_deref(), Some("pi_H2020"));
        assert_eq!(events[0].refs.payment_alias, None);
        assert_eq!(events[0].refs.invoice, None);
    }

    #[tokio::test]
    async fn when_lookup_fails_then_5xx_and_the_refund_is_not_submitted() {
        for (answer_given, status, code) in [
            (
                LookupAnswer::Unavailable,
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
            ),
            (
                LookupAnswer::Failed,
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
            ),
        ] {
            let lookup = FakeLookup::new(answer_given.clone());
            let hook = stripe_webhook_with(&lookup);
            let res = hook.handle(signed(basil_charge_refunded())).await;
            assert_eq!(
                answer(&res),
                (status, json!({ "error": code })),
                "{answer_given:?}"
            );
            assert_eq!(lookup.asked(), ["pi_H2020"], "{answer_given:?}");
            assert!(hook.sink().events().is_empty(), "{answer_given:?}");
        }
    }

    #[tokio::test]
    async fn when_refund_already_names_its_invoice_then_no_lookup_is_made() {
        // given the pre-basil charge, which names in_H2020
        let lookup = FakeLookup::new(LookupAnswer::Failed);
        let hook = stripe_webhook_with(&lookup);
        let body = provider_data("stripe/2020-03-02_charge.refunded.json");
        // when
        let res = hook.handle(signed(body)).await;
        // then
        assert_eq!(answer(&res), (StatusCode::OK, json!({ "received": true })));
        assert!(lookup.asked().is_empty());
        let events = hook.sink().events();
        assert_eq!(events[0].refs.payment_alias.as_deref(), Some("in_H2020"));
    }

    #[tokio::test]
    async fn when_event_is_not_a_refund_or_refund_has_no_payment_intent_then_no_lookup_is_made() {
        let lookup = FakeLookup::new(LookupAnswer::Failed);
        let hook = stripe_webhook_with(&lookup);
        // a payment
        let res = hook.handle(signed(stripe_invoice_paid())).await;
        assert_eq!(res.status(), StatusCode::OK);
        // a basil refund of a charge with neither PaymentIntent nor invoice: keyed by charge
        let mut event: Value = serde_json::from_slice(&basil_charge_refunded()).unwrap();
        event["data"]["object"]
            .as_object_mut()
            .unwrap()
            .remove("payment_intent");
        let res = hook
            .handle(signed(serde_json::to_vec(&event).unwrap()))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(lookup.asked().is_empty());
        let events = hook.sink().events();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].refs.payment.as_deref(), Some("ch_H2020"));
        assert_eq!(events[1].refs.payment_alias, None);
    }

    #[tokio::test]
    async fn when_no_lookup_is_configured_then_basil_refund_is_submitted_unlinked() {
        let hook = stripe_webhook(Mode::Accept);
        assert_eq!(hook.lookup(), &NoStripeLookup);
        let res = hook.handle(signed(basil_charge_refunded())).await;
        assert_eq!(answer(&res), (StatusCode::OK, json!({ "received": true })));
        let events = hook.sink().events();
        assert_eq!(events[0].refs.payment.as_deref(), Some("pi_H2020"));
        assert_eq!(events[0].refs.payment_alias, None);
    }

    #[tokio::test]
    async fn when_optional_lookup_is_none_then_it_finds_nothing() {
        let none: Option<Arc<FakeLookup>> = None;
        assert!(matches!(
            none.invoice_for_payment_intent("pi_1").await,
            Ok(None)
        ));
        let some = Some(FakeLookup::new(LookupAnswer::Invoice("in_1")));
        assert_eq!(
            some.invoice_for_payment_intent("pi_1").await.unwrap(),
            Some("in_1".to_owned())
        );
    }

    #[tokio::test]
    async fn when_chargebee_payment_is_authenticated_then_it_is_submitted_and_200() {
        let hook = chargebee_webhook(Mode::Accept);
        let res = hook
            .handle(authenticated(provider_data(
                "chargebee/pc2_payment_succeeded.json",
            )))
            .await;
        assert_eq!(answer(&res), (StatusCode::OK, json!({ "received": true })));
        let events = hook.sink().events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].id.as_str(), "ev_pc2_paid_1");
        assert_eq!(
            events[0].customer,
            CustomerId::new(Provider::Chargebee, "cust_pc2")
        );
        assert_eq!(events[0].trigger, Trigger::PaymentSucceeded);
        assert_eq!(events[0].refs.payment.as_deref(), Some("txn_pc2_paid"));
        assert_eq!(
            events[0].amount,
            Some(Money::new(11667, "inr".parse::<Currency>().unwrap()))
        );
    }

    #[tokio::test]
    async fn when_chargebee_subscription_changes_then_subscription_changed_with_new_state() {
        // given a PC 2.0 change: 2 × 120.00 + 24.00 EUR a year (the 50.00 setup charge is
        // one-time) = 264.00 a year = 2200 cents a month
        let hook = chargebee_webhook(Mode::Accept);
        let body = provider_data("chargebee/pc2_subscription_changed.json");
        // when
        let res = hook.handle(authenticated(body)).await;
        // then
        assert_eq!(answer(&res), (StatusCode::OK, json!({ "received": true })));
        let events = hook.sink().events();
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.trigger, Trigger::SubscriptionChanged);
        assert_eq!(e.id.as_str(), "ev_pc2_changed_1");
        assert_eq!(
            e.occurred_at,
            Timestamp::from_second(1_703_000_000).unwrap()
        );
        let sub = e.subscription.as_ref().unwrap();
        assert_eq!(sub.id, "sub_pc2_1");
        assert_eq!(sub.resource_version, Some(1_703_000_000_123));
        assert_eq!(
            sub.monthly_amount,
            Some(Money::new(2200, "eur".parse::<Currency>().unwrap()))
        );
        assert!(e.refs.referrer.is_some());
    }

    #[tokio::test]
    async fn when_chargebee_credentials_are_wrong_or_missing_then_401() {
        let hook = chargebee_webhook(Mode::Accept);
        let body = provider_data("chargebee/pc2_payment_succeeded.json");
        let wrong = basic("saguaro:nope");
        for headers in [
            vec![
                ("content-type", "application/json"),
                ("authorization", wrong.as_str()),
            ],
            vec![("content-type", "application/json")],
        ] {
            let res = hook.handle(request(body.clone(), &headers)).await;
            assert_eq!(
                answer(&res),
                (StatusCode::UNAUTHORIZED, json!({ "error": "unauthorized" }))
            );
        }
        assert!(hook.sink().events().is_empty());
    }

    #[tokio::test]
    async fn when_chargebee_type_is_not_used_then_200_and_nothing_submitted() {
        let hook = chargebee_webhook(Mode::Accept);
        let body = shared_fixture("chargebee/pc1/invoice_generated.json");
        let res = hook.handle(authenticated(body)).await;
        assert_eq!(answer(&res), (StatusCode::OK, json!({ "received": true })));
        assert!(hook.sink().events().is_empty());
    }

    #[tokio::test]
    async fn when_chargebee_body_is_bad_then_400_413_415_or_500() {
        let hook = chargebee_webhook(Mode::Accept);
        let res = hook.handle(authenticated(b"[1,2".to_vec())).await;
        assert_eq!(
            answer(&res),
            (StatusCode::BAD_REQUEST, json!({ "error": "malformed" }))
        );
        let res = hook
            .handle(authenticated(vec![b' '; crate::http::MAX_BODY_BYTES + 1]))
            .await;
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let res = hook
            .handle(request(
                provider_data("chargebee/pc2_payment_succeeded.json"),
                &[("authorization", &basic("saguaro:pa55"))],
            ))
            .await;
        assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        // a payment without its transaction cannot be normalised: Chargebee must retry
        let mut event: Value =
            serde_json::from_slice(&provider_data("chargebee/pc2_payment_succeeded.json")).unwrap();
        event["content"]
            .as_object_mut()
            .unwrap()
            .remove("transaction");
        let res = hook
            .handle(authenticated(serde_json::to_vec(&event).unwrap()))
            .await;
        assert_eq!(
            answer(&res),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "error": "internal" })
            )
        );
        assert!(hook.sink().events().is_empty());
    }

    #[tokio::test]
    async fn when_chargebee_sink_is_unavailable_then_503() {
        let hook = chargebee_webhook(Mode::Unavailable);
        let res = hook
            .handle(authenticated(provider_data(
                "chargebee/pc2_payment_succeeded.json",
            )))
            .await;
        assert_eq!(
            answer(&res),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "error": "unavailable" })
            )
        );
    }
}
