//! Ids that reach the logs. An id holding a newline would forge a second log line, an ANSI
//! escape would recolour or hide what a terminal shows: events whose ids hold a control
//! character (Unicode category Cc: C0, DEL, C1) are refused at the edge, whichever door they
//! came in by (`POST /events`, or a webhook's normalised event).

use std::borrow::Cow;

use saguaro_domain::Event;

/// The first field of `event` (its name in the `POST /events` format) whose text holds a
/// control character, if any.
pub fn control_character_in(event: &Event) -> Option<&'static str> {
    let subscription = event.subscription.as_ref();
    let fields: [(&'static str, Option<&str>); 12] = [
        ("id", Some(event.id.as_str())),
        ("type", Some(event.trigger.as_str())),
        ("customer.id", Some(event.customer.id.as_str())),
        (
            "referrer.id",
            event.refs.referrer.as_ref().map(|c| c.id.as_str()),
        ),
        ("payment", event.refs.payment.as_deref()),
        ("payment_alias", event.refs.payment_alias.as_deref()),
        ("invoice", event.refs.invoice.as_deref()),
        ("promotion", event.refs.promotion.as_deref()),
        ("reason", event.reason.as_deref()),
        ("subscription.id", subscription.map(|s| s.id.as_str())),
        (
            "subscription.plan",
            subscription.and_then(|s| s.plan.as_deref()),
        ),
        (
            "subscription.status",
            subscription.and_then(|s| s.status.as_deref()),
        ),
    ];
    fields
        .into_iter()
        .find(|(_, text)| text.is_some_and(has_control))
        .map(|(name, _)| name)
}

fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// `text` as it may go into a log line: unchanged when printable, with its control
/// characters escaped (`\n`, `\u{1b}`) otherwise. For what is logged before an event is
/// checked (the id and type of an event that is ignored or cannot be normalised).
pub fn escaped(text: &str) -> Cow<'_, str> {
    if has_control(text) {
        Cow::Owned(text.escape_debug().to_string())
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use saguaro_domain::{CustomerId, Provider, Trigger};

    fn event(id: &str, customer: &str) -> Event {
        Event::new(
            id,
            CustomerId::new(Provider::Custom, customer),
            Trigger::PaymentSucceeded,
            jiff::Timestamp::UNIX_EPOCH,
        )
    }

    #[test]
    fn when_an_id_holds_a_newline_or_an_escape_then_its_field_is_named() {
        assert_eq!(control_character_in(&event("evt-1", "c-1")), None);
        assert_eq!(control_character_in(&event("evt\n1", "c-1")), Some("id"));
        assert_eq!(
            control_character_in(&event("evt-1", "\u{1b}[31mc-1")),
            Some("customer.id")
        );
        let mut e = event("evt-1", "c-1");
        e.refs.payment = Some("pay\r1".into());
        assert_eq!(control_character_in(&e), Some("payment"));
        // Non-ASCII is not a control character.
        assert_eq!(control_character_in(&event("évt-東京", "zoë")), None);
    }

    #[test]
    fn when_text_holds_a_control_character_then_it_is_escaped_for_the_log() {
        assert_eq!(escaped("evt_1"), "evt_1");
        assert_eq!(escaped("evt\nINFO forged"), "evt\\nINFO forged");
        assert_eq!(escaped("\u{1b}[31m"), "\\u{1b}[31m");
    }
}
