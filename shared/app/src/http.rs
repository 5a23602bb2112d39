//! The HTTP contract (DESIGN §8) over plain `http` types, so that the local runner (axum)
//! and the Lambda functions (lambda_http) serve the very same routes. Errors are mapped to
//! statuses here, once: 4xx bodies carry a short code, 5xx bodies say nothing more.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use saguaro_domain::engine::qualifying_points;
use saguaro_domain::ledger::{Delivery, LedgerLine, RewardOutbox};
use saguaro_domain::ports::{Clock, HistoryStore, PageRequest, RewardPageRequest, StateStore};
use saguaro_domain::{CustomerId, Event, Program, Provider};
use serde_json::{Value, json};
use tracing::{error, warn};

use crate::earn::{EarnError, Earner};
use crate::incoming::{IncomingError, parse_event};

/// Bodies over this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 500;

/// Where accepted events go: applied at once (local runner) or enqueued (Lambda).
pub trait EventSink: Send + Sync {
    fn submit(&self, event: Event) -> impl Future<Output = Result<(), SinkError>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The event cannot be applied (4xx: the sender must fix it).
    #[error("event rejected: {0}")]
    Rejected(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The id was already used for a different event (409).
    #[error("event id reused")]
    IdReused,
    /// Try again later (5xx).
    #[error("sink unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl<S: StateStore> EventSink for Earner<S> {
    async fn submit(&self, event: Event) -> Result<(), SinkError> {
        match self.apply(&event).await {
            Ok(_) => Ok(()),
            Err(EarnError::IdReused(_)) => Err(SinkError::IdReused),
            Err(e) if !e.is_retryable() => Err(SinkError::Rejected(Box::new(e))),
            Err(e) => Err(SinkError::Unavailable(Box::new(e))),
        }
    }
}

/// The routes of DESIGN §8 that are not webhooks.
#[derive(Debug)]
pub struct Api<H, K, C> {
    history: H,
    sink: K,
    clock: C,
    program: Arc<Program>,
}

impl<H, K, C> Api<H, K, C>
where
    H: StateStore + HistoryStore,
    K: EventSink,
    C: Clock,
{
    pub fn new(history: H, sink: K, clock: C, program: Arc<Program>) -> Self {
        Self {
            history,
            sink,
            clock,
            program,
        }
    }

    pub async fn handle(&self, req: Request<Bytes>) -> Response<Bytes> {
        let path = req.uri().path().trim_end_matches('/').to_owned();
        let segments: Vec<&str> = path.split('/').skip(1).collect();
        match (req.method(), segments.as_slice()) {
            (&Method::POST, ["events"]) => self.post_event(&req).await,
            (&Method::GET, ["customers", provider, id]) => match customer(provider, id) {
                Some(c) => self.get_customer(&c).await,
                None => error_response(StatusCode::NOT_FOUND, "not_found"),
            },
            (&Method::GET, ["customers", provider, id, "ledger"]) => match customer(provider, id) {
                Some(c) => self.get_ledger(&c, req.uri().query()).await,
                None => error_response(StatusCode::NOT_FOUND, "not_found"),
            },
            (&Method::GET, ["customers", provider, id, "rewards"]) => {
                match customer(provider, id) {
                    Some(c) => self.get_rewards(&c, req.uri().query()).await,
                    None => error_response(StatusCode::NOT_FOUND, "not_found"),
                }
            }
            (_, ["events"] | ["customers", ..]) => {
                error_response(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
            }
            _ => error_response(StatusCode::NOT_FOUND, "not_found"),
        }
    }

    async fn post_event(&self, req: &Request<Bytes>) -> Response<Bytes> {
        if let Some(rejection) = check_body(req) {
            return rejection;
        }
        let event = match parse_event(req.body()) {
            Ok(e) => e,
            Err(IncomingError::Malformed(e)) => {
                warn!(error = %e, "malformed event body");
                return error_response(StatusCode::BAD_REQUEST, "malformed");
            }
            Err(e @ IncomingError::Invalid(_)) => {
                warn!(error = %e, "invalid event");
                return error_response(StatusCode::BAD_REQUEST, "invalid_event");
            }
        };
        let id = event.id.clone();
        match self.sink.submit(event).await {
            Ok(()) => json_response(StatusCode::ACCEPTED, &json!({ "id": id })),
            Err(SinkError::Rejected(e)) => {
                warn!(event_id = %id, error = %e, cause = ?e.source().map(ToString::to_string), "event rejected");
                error_response(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable_event")
            }
            Err(SinkError::IdReused) => error_response(StatusCode::CONFLICT, "id_reused"),
            Err(SinkError::Unavailable(e)) => {
                error!(event_id = %id, error = %e, "event not accepted");
                error_response(StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
        }
    }

    async fn get_customer(&self, customer: &CustomerId) -> Response<Bytes> {
        let state = match self.history.load(customer).await {
            Ok(Some(s)) => s,
            Ok(None) => return error_response(StatusCode::NOT_FOUND, "not_found"),
            Err(e) => return internal(&e),
        };
        let qualifying = qualifying_points(&self.program, &state, self.clock.now());
        let tier = self.program.tier_for(qualifying);
        let mut grants: Vec<&str> = tier
            .map(|t| t.grants.iter().map(String::as_str).collect())
            .unwrap_or_default();
        grants.extend(state.grants.iter().map(String::as_str));
        grants.sort_unstable();
        grants.dedup();
        json_response(
            StatusCode::OK,
            &json!({
                "balance": state.balance,
                "qualifying_points": qualifying,
                "tier": tier.map(|t| t.name.as_str()),
                "grants": grants,
            }),
        )
    }

    async fn get_ledger(&self, customer: &CustomerId, query: Option<&str>) -> Response<Bytes> {
        let Some(page) = page_request(query) else {
            return error_response(StatusCode::BAD_REQUEST, "invalid_query");
        };
        let page = match self.history.ledger(customer, page).await {
            Ok(p) => p,
            Err(e) => return internal(&e),
        };
        if page.lines.is_empty()
            && let Some(missing) = self.unknown(customer).await
        {
            return missing;
        }
        json_response(
            StatusCode::OK,
            &json!({
                "lines": page.lines.iter().map(line_json).collect::<Vec<_>>(),
                "next_cursor": page.next.map(|s| s.to_string()),
            }),
        )
    }

    async fn get_rewards(&self, customer: &CustomerId, query: Option<&str>) -> Response<Bytes> {
        let Some(page) = reward_page_request(query) else {
            return error_response(StatusCode::BAD_REQUEST, "invalid_query");
        };
        let page = match self.history.rewards(customer, page).await {
            Ok(p) => p,
            Err(e) => return internal(&e),
        };
        if page.rewards.is_empty()
            && let Some(missing) = self.unknown(customer).await
        {
            return missing;
        }
        json_response(
            StatusCode::OK,
            &json!({
                "rewards": page.rewards.iter().map(reward_json).collect::<Vec<_>>(),
                "next_cursor": page.next.map(|at| at.to_string()),
            }),
        )
    }

    /// The 404 (or 500) for a customer the store has no state for; `None` when it has.
    /// Asked only when a listing came back empty, so a known customer costs one read.
    async fn unknown(&self, customer: &CustomerId) -> Option<Response<Bytes>> {
        match self.history.load(customer).await {
            Ok(Some(_)) => None,
            Ok(None) => Some(error_response(StatusCode::NOT_FOUND, "not_found")),
            Err(e) => Some(internal(&e)),
        }
    }
}

fn customer(provider: &str, id: &str) -> Option<CustomerId> {
    let provider: Provider = provider.parse().ok()?;
    (provider != Provider::Scheduler && !id.is_empty()).then(|| CustomerId::new(provider, id))
}

/// `?limit=&cursor=` of a listing, the cursor parsed as `T`: `None` when either is invalid.
fn page_query<T: std::str::FromStr>(query: Option<&str>) -> Option<(usize, Option<T>)> {
    let (mut limit, mut cursor) = (DEFAULT_PAGE, None);
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "limit" => limit = value.parse().ok().filter(|n| (1..=MAX_PAGE).contains(n))?,
            "cursor" if value.is_empty() => {}
            "cursor" => cursor = Some(value.parse().ok()?),
            _ => {}
        }
    }
    Some((limit, cursor))
}

fn page_request(query: Option<&str>) -> Option<PageRequest> {
    page_query(query).map(|(limit, before)| PageRequest { limit, before })
}

fn reward_page_request(query: Option<&str>) -> Option<RewardPageRequest> {
    page_query(query).map(|(limit, before)| RewardPageRequest { limit, before })
}

/// 413 for an oversized body, 415 for a body that is not JSON; `None` when it may be read.
pub fn check_body(req: &Request<Bytes>) -> Option<Response<Bytes>> {
    if req.body().len() > MAX_BODY_BYTES {
        return Some(error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ));
    }
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    (!json).then(|| error_response(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"))
}

fn line_json(l: &LedgerLine) -> Value {
    json!({
        "seq": l.seq,
        "kind": l.kind,
        "points": l.points,
        "balance_after": l.balance_after,
        "rule": l.rule,
        "program_version": l.program_version,
        "event_id": l.event_id,
        "occurred_at": l.occurred_at,
        "refers_to": l.refers_to,
    })
}

fn reward_json(r: &RewardOutbox) -> Value {
    let (status, detail) = match &r.delivery {
        Delivery::Pending => ("pending", Value::Null),
        Delivery::Delivered { at } => ("delivered", json!({ "at": at })),
        Delivery::Failed { attempts, reason } => {
            ("failed", json!({ "attempts": attempts, "reason": reason }))
        }
    };
    json!({
        "id": r.id,
        "reward": r.reward,
        "kind": r.kind,
        "points": r.points,
        "quantity": r.quantity,
        "value": r.value,
        "coupon": r.coupon,
        "grant": r.grant,
        "url": r.url,
        "event_id": r.event_id,
        "created_at": r.created_at,
        "status": status,
        "delivery": detail,
    })
}

pub fn json_response(status: StatusCode, body: &Value) -> Response<Bytes> {
    let mut res = Response::new(Bytes::from(body.to_string()));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    res
}

pub fn error_response(status: StatusCode, code: &str) -> Response<Bytes> {
    json_response(status, &json!({ "error": code }))
}

fn internal(e: &dyn std::error::Error) -> Response<Bytes> {
    error!(error = %e, cause = ?e.source().map(ToString::to_string), "request failed");
    error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_query_is_empty_then_default_page() {
        assert_eq!(
            page_request(None),
            Some(PageRequest {
                limit: DEFAULT_PAGE,
                before: None
            })
        );
    }

    #[test]
    fn when_query_has_limit_and_cursor_then_both_are_read() {
        assert_eq!(
            page_request(Some("limit=2&cursor=17")),
            Some(PageRequest {
                limit: 2,
                before: Some(17)
            })
        );
    }

    #[test]
    fn when_a_rewards_query_has_a_cursor_then_it_is_a_position() {
        assert_eq!(
            reward_page_request(Some("limit=5&cursor=12.3")),
            Some(RewardPageRequest {
                limit: 5,
                before: Some(saguaro_domain::ports::RewardPosition {
                    version: 12,
                    index: 3
                })
            })
        );
        assert_eq!(reward_page_request(Some("cursor=12")), None);
        assert_eq!(reward_page_request(Some("cursor=x.1")), None);
    }

    #[test]
    fn when_limit_or_cursor_is_bad_then_none() {
        assert_eq!(page_request(Some("limit=0")), None);
        assert_eq!(page_request(Some("limit=501")), None);
        assert_eq!(page_request(Some("cursor=abc")), None);
    }
}
