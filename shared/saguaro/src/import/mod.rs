//! `saguaro import stripe|chargebee --since DATE`: a provider's history as Saguaro events,
//! one `POST /events` body per line on stdout (`saguaro_app::incoming::event_body`), ready
//! for `saguaro simulate` (and a backfill).
//!
//! Each object read from the provider's list APIs is wrapped in the envelope of the webhook
//! event that reports it and handed to the webhook's own normaliser
//! (`saguaro_providers::{stripe, chargebee}::normalise`): the import and the webhook read the
//! same fields the same way, and give the same customer, plan, referrer and **payment key**.
//! The event ids differ and cannot be equal: a webhook event's id is the provider's *event*
//! id (`evt_…`, `ev_…`), which the list APIs do not return (Stripe's events API keeps 30
//! days). An imported event's id is derived from its object (`import:stripe:invoice:in_…`),
//! so importing twice gives the same ids. Counting once across import and webhooks rests on
//! what the engine keys by object: a payment earns once under its payment key (the
//! PaymentIntent, the invoice, the Chargebee transaction) whatever the event id, and Stripe
//! refunds carry the charge's cumulative refunded total, of which the largest seen counts.
//! Subscription starts have no such key: import up to the moment webhooks were switched on.
//!
//! [`fetch`] reads pages with retries: a 429 waits its `Retry-After` (seconds; 2 s when
//! absent), a 5xx or a lost connection backs off; every request is counted.

pub mod chargebee;
pub mod fetch;
pub mod stripe;

use std::io::Write;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use saguaro_domain::Event;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error(transparent)]
    Fetch(#[from] fetch::FetchError),
    #[error("cannot write the history")]
    Write(#[source] std::io::Error),
    #[error("cannot start the runtime")]
    Runtime(#[source] std::io::Error),
}

/// What an import wrote and read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Events written, per kind of object (`subscriptions`, `invoices`, …), in order.
    pub written: Vec<(&'static str, u64)>,
    /// Objects that make no event (a guest payment, an incomplete subscription, an unpaid
    /// invoice), per reason.
    pub skipped: Vec<(String, u64)>,
    /// HTTP requests made, retries included.
    pub requests: u64,
    /// 429 answers waited out.
    pub rate_limited: u64,
}

impl ImportReport {
    pub(crate) fn skip(&mut self, reason: &str) {
        match self.skipped.iter_mut().find(|(r, _)| r == reason) {
            Some((_, n)) => *n += 1,
            None => self.skipped.push((reason.to_owned(), 1)),
        }
    }

    pub(crate) fn wrote(&mut self, kind: &'static str) {
        match self.written.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => self.written.push((kind, 1)),
        }
    }

    /// One line for stderr.
    pub fn describe(&self) -> String {
        let written: Vec<String> = self
            .written
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        let skipped: Vec<String> = self
            .skipped
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        format!(
            "wrote {} events ({}); skipped {}; {} requests ({} rate-limited)",
            self.written.iter().map(|(_, n)| n).sum::<u64>(),
            if written.is_empty() {
                "none".to_owned()
            } else {
                written.join(", ")
            },
            if skipped.is_empty() {
                "nothing".to_owned()
            } else {
                skipped.join(", ")
            },
            self.requests,
            self.rate_limited
        )
    }
}

/// Writes one event as a line of the history.
pub(crate) fn write_event(out: &mut dyn Write, event: &Event) -> Result<(), ImportError> {
    let line = saguaro_app::incoming::event_body(event).to_string();
    out.write_all(line.as_bytes()).map_err(ImportError::Write)?;
    out.write_all(b"\n").map_err(ImportError::Write)
}

/// A spinner on stderr counting the objects read (hidden when stderr is not a terminal).
pub fn spinner(provider: &str) -> ProgressBar {
    use std::io::IsTerminal as _;
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{{spinner}} {provider}: {{pos}} objects read, {{msg}} ({{per_sec}})"
    )) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}
