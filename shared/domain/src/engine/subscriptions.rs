//! Subscription snapshots: the latest known state of each subscription (the newest change
//! wins), and what a `subscription.changed` event means against it.

use std::cmp::Ordering;

use super::Run;
use crate::event::Trigger;
use crate::state::SubscriptionSnapshot;

impl Run<'_> {
    /// For `subscription.changed`: upgraded or downgraded, by the monthly amount against the
    /// stored snapshot, when the change is newer than it and both amounts are known in one
    /// currency. Anything else (first sight, late delivery, same value) earns nothing.
    pub(super) fn classify_change(&self) -> Option<Trigger> {
        let event = self.event;
        if event.trigger != Trigger::SubscriptionChanged {
            return None;
        }
        let new = event.subscription.as_ref()?;
        let old = self.state.subscriptions.get(&new.id)?;
        if !old.is_older_than(new.resource_version, event.occurred_at) {
            return None;
        }
        let (before, after) = (old.monthly_amount?, new.monthly_amount?);
        if before.currency != after.currency {
            return None;
        }
        match after.minor.cmp(&before.minor) {
            Ordering::Greater => Some(Trigger::SubscriptionUpgraded),
            Ordering::Less => Some(Trigger::SubscriptionDowngraded),
            Ordering::Equal => None,
        }
    }

    /// Updates the snapshot of the subscription the event names, unless it is newer.
    ///
    /// A payment or a refund names the subscription as it is when billed, which may already
    /// include a change whose own event has not arrived yet (Chargebee bills an upgrade at
    /// once: `payment_succeeded` and `subscription_changed`, in either order). It is not a
    /// change: it seeds a snapshot of a subscription seen for the first time, but never
    /// moves an existing one, whose amount and `resource_version` a later change is judged
    /// against. So both delivery orders classify the change alike.
    ///
    /// The scheduler's own events (an anniversary) only repeat what the snapshot says and
    /// leave it alone: their `occurred_at` (local midnight) must not make a provider's late
    /// event look older than the snapshot.
    pub(super) fn remember_subscription(&mut self) {
        if self.event.provider == crate::ids::Provider::Scheduler {
            return;
        }
        let Some(sub) = &self.event.subscription else {
            return;
        };
        let at = self.event.occurred_at;
        let tz = &self.program.timezone;
        let cancelled = self.event.trigger == Trigger::SubscriptionCancelled;
        let billing = matches!(
            self.event.trigger,
            Trigger::PaymentSucceeded | Trigger::PaymentRefunded
        );
        match self.state.subscriptions.get_mut(&sub.id) {
            Some(_) if billing => {}
            // A late, older event cannot overwrite a newer snapshot.
            Some(old) if !old.is_older_than(sub.resource_version, at) => {}
            // Updated in place: most events repeat what is stored, and copying costs.
            Some(old) => {
                if sub.plan.is_some() && old.plan != sub.plan {
                    old.plan.clone_from(&sub.plan);
                }
                if cancelled {
                    old.status = Some("cancelled".to_owned());
                } else if sub.status.is_some() && old.status != sub.status {
                    old.status.clone_from(&sub.status);
                }
                old.started_at = sub.started_at.or(old.started_at);
                old.started_on = local_date(tz, old.started_at).or(old.started_on);
                old.monthly_amount = sub.monthly_amount.or(old.monthly_amount);
                old.resource_version = sub.resource_version.or(old.resource_version);
                old.updated_at = at;
            }
            None => {
                let snapshot = SubscriptionSnapshot {
                    plan: sub.plan.clone(),
                    status: if cancelled {
                        Some("cancelled".to_owned())
                    } else {
                        sub.status.clone()
                    },
                    started_at: sub.started_at,
                    started_on: local_date(tz, sub.started_at),
                    monthly_amount: sub.monthly_amount,
                    resource_version: sub.resource_version,
                    updated_at: at,
                };
                self.state.subscriptions.insert(sub.id.clone(), snapshot);
            }
        }
    }
}

/// The date of `at` in `tz` (the program timezone).
fn local_date(tz: &jiff::tz::TimeZone, at: Option<jiff::Timestamp>) -> Option<jiff::civil::Date> {
    at.map(|t| t.to_zoned(tz.clone()).date())
}
