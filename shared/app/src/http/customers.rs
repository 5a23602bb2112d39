//! The read routes, `GET /customers/{provider}/{id}` and its `/ledger` and `/rewards`: what
//! a customer has, straight from the store. A customer the store knows nothing of is a 404.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::response::Response;
use http::StatusCode;
use http::request::Parts;
use saguaro_domain::engine::qualifying_points;
use saguaro_domain::ledger::{Delivery, LedgerLine, RewardOutbox};
use saguaro_domain::{CustomerId, Program, Provider};
use serde_json::{Value, json};

use crate::http::{ErrorCode, internal, json};
use crate::ports::{Clock, HistoryStore, PageRequest, RewardPageRequest, StateStore};

const DEFAULT_PAGE: usize = 50;
/// Lots shown in `next_expiry`.
const NEXT_EXPIRY: usize = 3;
const MAX_PAGE: usize = 500;

/// Why a pending reward is not being delivered by this process (no keys for its provider),
/// shown by the rewards route as `waiting_for`.
pub type WaitingReason = Arc<dyn Fn(&RewardOutbox) -> Option<String> + Send + Sync>;

/// What the read routes read from.
pub(crate) struct Customers<S, C> {
    store: Arc<S>,
    clock: C,
    program: Arc<Program>,
    waiting: Option<WaitingReason>,
}

impl<S, C> std::fmt::Debug for Customers<S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Customers").finish_non_exhaustive()
    }
}

impl<S: StateStore + HistoryStore, C: Clock> Customers<S, C> {
    pub(crate) fn new(store: Arc<S>, clock: C, program: Arc<Program>) -> Self {
        Self {
            store,
            clock,
            program,
            waiting: None,
        }
    }

    pub(crate) fn with_waiting(mut self, waiting: WaitingReason) -> Self {
        self.waiting = Some(waiting);
        self
    }

    /// `Err(NotFound)` (or `Internal`) for a customer the store has no state for. Asked only
    /// when a listing came back empty, so a known customer costs one read.
    async fn known(&self, customer: &CustomerId) -> Result<(), ErrorCode> {
        match self.store.load(customer).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(ErrorCode::NotFound),
            Err(e) => Err(internal(&e)),
        }
    }
}

/// The `{provider}/{id}` of a customer route: 404 for a provider that has no customers
/// (unknown, or the scheduler's internal one) or an empty id.
#[derive(Debug)]
pub(crate) struct CustomerPath(pub(crate) CustomerId);

impl<T: Send + Sync> FromRequestParts<T> for CustomerPath {
    type Rejection = ErrorCode;

    async fn from_request_parts(parts: &mut Parts, state: &T) -> Result<Self, Self::Rejection> {
        let Path((provider, id)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| ErrorCode::NotFound)?;
        let provider: Provider = provider.parse().map_err(|_| ErrorCode::NotFound)?;
        if provider == Provider::Scheduler || id.is_empty() {
            return Err(ErrorCode::NotFound);
        }
        Ok(Self(CustomerId::new(provider, id)))
    }
}

pub(crate) async fn summary<S: StateStore + HistoryStore, C: Clock>(
    State(customers): State<Arc<Customers<S, C>>>,
    CustomerPath(customer): CustomerPath,
) -> Result<Response, ErrorCode> {
    let state = match customers.store.load(&customer).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(ErrorCode::NotFound),
        Err(e) => return Err(internal(&e)),
    };
    let program = &customers.program;
    let qualifying = qualifying_points(program, &state, customers.clock.now());
    let tier = program.tier_for(qualifying);
    let mut grants: Vec<&str> = tier
        .map(|t| t.grants.iter().map(String::as_str).collect())
        .unwrap_or_default();
    grants.extend(state.grants.iter().map(String::as_str));
    grants.sort_unstable();
    grants.dedup();
    let mut expiring: Vec<_> = state
        .lots
        .iter()
        .filter_map(|l| l.expires_on.map(|d| (d, l.remaining)))
        .collect();
    expiring.sort_unstable();
    let next_expiry: Vec<Value> = expiring
        .iter()
        .take(NEXT_EXPIRY)
        .map(|(date, points)| json!({ "date": date.to_string(), "points": points }))
        .collect();
    Ok(json(
        StatusCode::OK,
        &json!({
            "balance": state.balance,
            "qualifying_points": qualifying,
            "tier": tier.map(|t| t.name.as_str()),
            "grants": grants,
            "next_expiry": next_expiry,
        }),
    ))
}

pub(crate) async fn ledger<S: StateStore + HistoryStore, C: Clock>(
    State(customers): State<Arc<Customers<S, C>>>,
    CustomerPath(customer): CustomerPath,
    RawQuery(query): RawQuery,
) -> Result<Response, ErrorCode> {
    let page = page_request(query.as_deref()).ok_or(ErrorCode::InvalidQuery)?;
    let page = customers
        .store
        .ledger(&customer, page)
        .await
        .map_err(|e| internal(&e))?;
    if page.lines.is_empty() {
        customers.known(&customer).await?;
    }
    Ok(json(
        StatusCode::OK,
        &json!({
            "lines": page.lines.iter().map(line_json).collect::<Vec<_>>(),
            "next_cursor": page.next.map(|s| s.to_string()),
        }),
    ))
}

pub(crate) async fn rewards<S: StateStore + HistoryStore, C: Clock>(
    State(customers): State<Arc<Customers<S, C>>>,
    CustomerPath(customer): CustomerPath,
    RawQuery(query): RawQuery,
) -> Result<Response, ErrorCode> {
    let page = reward_page_request(query.as_deref()).ok_or(ErrorCode::InvalidQuery)?;
    let page = customers
        .store
        .rewards(&customer, page)
        .await
        .map_err(|e| internal(&e))?;
    if page.rewards.is_empty() {
        customers.known(&customer).await?;
    }
    Ok(json(
        StatusCode::OK,
        &json!({
            "rewards": page
                .rewards
                .iter()
                .map(|r| {
                    let waiting = match (&r.delivery, &customers.waiting) {
                        (Delivery::Pending { .. }, Some(why)) => why(r),
                        _ => None,
                    };
                    reward_json(r, waiting)
                })
                .collect::<Vec<_>>(),
            "next_cursor": page.next.map(|at| at.to_string()),
        }),
    ))
}

/// `?limit=&cursor=` of a listing, read by hand as it always was: `limit` in 1..=500,
/// `cursor` parsed as `T` (empty: the first page); other keys are ignored. `None` when
/// either is invalid.
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

/// A ledger page: the cursor is a line number.
fn page_request(query: Option<&str>) -> Option<PageRequest> {
    page_query(query).map(|(limit, before)| PageRequest { limit, before })
}

/// A rewards page: the cursor is a commit position, `{version}.{index}`.
fn reward_page_request(query: Option<&str>) -> Option<RewardPageRequest> {
    page_query(query).map(|(limit, before)| RewardPageRequest { limit, before })
}

fn line_json(l: &LedgerLine) -> Value {
    let mut line = json!({
        "seq": l.seq,
        "kind": l.kind,
        "points": l.points,
        "balance_after": l.balance_after,
        "rule": l.rule,
        "program_version": l.program_version,
        "event_id": l.event_id,
        "occurred_at": l.occurred_at,
        "refers_to": l.refers_to,
    });
    if let (Some(reason), Some(map)) = (&l.reason, line.as_object_mut()) {
        map.insert("reason".to_owned(), json!(reason));
    }
    line
}

fn reward_json(r: &RewardOutbox, waiting_for: Option<String>) -> Value {
    let (attempts, last_error, provider_id, at) = match &r.delivery {
        Delivery::Pending {
            attempts,
            last_error,
            ..
        } => (*attempts, last_error.as_deref(), None, None),
        Delivery::Delivering {
            attempt,
            last_error,
            at,
            ..
        } => (*attempt, last_error.as_deref(), None, Some(at)),
        Delivery::Delivered {
            at,
            attempts,
            provider_id,
        } => (*attempts, None, provider_id.as_deref(), Some(at)),
        Delivery::Failed { attempts, reason } => (*attempts, Some(reason.as_str()), None, None),
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
        "status": r.delivery.status(),
        "attempts": attempts,
        "last_error": last_error,
        "provider_id": provider_id,
        "delivery_at": at,
        "waiting_for": waiting_for,
    })
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
