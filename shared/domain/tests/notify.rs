//! `[notify]` in the program file (every key read; an unknown kind, a bad url, a missing
//! secret name or days out of range name the key and the line) and the rows the engine
//! writes for it (`tier.changed` once per change; none without the kind).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use saguaro_domain::notify::{Notification, NotifyKind};
use saguaro_domain::program::RewardKind;
use saguaro_domain::{CustomerId, CustomerState, Event, Money, Program, Provider, Trigger, apply};

const BASE: &str = r#"[program]
name = "Notify"
timezone = "UTC"

[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }

[[tiers]]
name = "Member"
min_points = 0

[[tiers]]
name = "Gold"
min_points = 100

[expiry]
after_days = 30
"#;

fn with(notify: &str) -> Result<Program, saguaro_domain::ProgramError> {
    Program::parse(&format!("{BASE}\n[notify]\n{notify}"))
}

#[test]
fn when_every_notify_key_is_set_then_every_value_is_read() {
    let p = with(
        "url = \"https://app.example.com/saguaro\"\nkinds = [\"tier.changed\", \"reward.issued\", \
         \"reward.failed\", \"points.expiring\"]\nsecret = \"NOTIFY\"\nexpiring_days = 14\n",
    )
    .unwrap();
    let n = p.notify.unwrap();
    assert_eq!(n.url, "https://app.example.com/saguaro");
    assert_eq!(n.kinds.len(), 4);
    assert!(n.sends(NotifyKind::PointsExpiring));
    assert_eq!(n.secret, "NOTIFY");
    assert_eq!(n.expiring_days, 14);
    let default =
        with("url = \"http://127.0.0.1:9/n\"\nkinds = [\"tier.changed\"]\nsecret = \"N\"\n")
            .unwrap();
    assert_eq!(default.notify.unwrap().expiring_days, 7);
    assert!(Program::parse(BASE).unwrap().notify.is_none());
}

#[test]
fn when_notify_is_invalid_then_the_error_names_the_key_and_line() {
    let ok_kinds = "kinds = [\"tier.changed\"]";
    let cases = [
        (
            "url = \"https://a.example\"\nkinds = [\"tier.moved\"]\nsecret = \"N\"".to_owned(),
            "notify.kinds",
            "`tier.moved` is not a notification kind",
            23,
        ),
        (
            format!("url = \"ftp://a.example\"\n{ok_kinds}\nsecret = \"N\""),
            "notify.url",
            "must be an http(s) URL",
            22,
        ),
        (
            format!("url = \"https://a.example\"\n{ok_kinds}"),
            "notify.secret",
            "needs `secret`",
            21,
        ),
        (
            format!("url = \"https://a.example\"\n{ok_kinds}\nsecret = \"whsec_abc\""),
            "notify.secret",
            "A-Z, 0-9 and _",
            24,
        ),
        (
            format!("url = \"https://a.example\"\n{ok_kinds}\nsecret = \"N\"\nexpiring_days = 91"),
            "notify.expiring_days",
            "at most 90",
            25,
        ),
        (
            "url = \"https://a.example\"\nkinds = []\nsecret = \"N\"".to_owned(),
            "notify.kinds",
            "lists no kind",
            23,
        ),
        (
            format!("url = \"https://a.example\"\n{ok_kinds}\nsecret = \"N\"\ncolour = 1"),
            "colour",
            "unknown field",
            25,
        ),
    ];
    for (notify, key, message, line) in cases {
        let e = with(&notify).unwrap_err();
        assert_eq!(e.key, key, "{notify}: {e}");
        assert!(e.message.contains(message), "{notify}: {e}");
        assert_eq!(e.line, line, "{notify}: {e}");
    }
    let no_expiry = BASE.replace("[expiry]\nafter_days = 30\n", "")
        + "\n[notify]\nurl = \"https://a.example\"\nkinds = [\"points.expiring\"]\nsecret = \"N\"\n";
    let e = Program::parse(&no_expiry).unwrap_err();
    assert!(e.message.contains("needs an [expiry]"), "{e}");
    let late = with(
        "url = \"https://a.example\"\nkinds = [\"points.expiring\"]\nsecret = \"N\"\nexpiring_days = 30",
    )
    .unwrap_err();
    assert_eq!(late.key, "notify.expiring_days");
    assert!(
        late.message.contains("less than [expiry] after_days (30)"),
        "{late}"
    );
}

fn pay(c: &CustomerId, id: &str, minor: i64) -> Event {
    let mut e = Event::new(
        id,
        c.clone(),
        Trigger::PaymentSucceeded,
        "2026-05-01T12:00:00Z".parse().unwrap(),
    );
    e.amount = Some(Money::new(minor, "usd".parse().unwrap()));
    e
}

#[test]
fn when_an_event_changes_the_tier_then_its_outcome_carries_one_tier_changed_row() {
    let p = with("url = \"https://a.example/n\"\nkinds = [\"tier.changed\"]\nsecret = \"N\"\n")
        .unwrap();
    let c = CustomerId::new(Provider::Stripe, "cus_1");
    let first = apply(&p, &CustomerState::new(c.clone()), &pay(&c, "e1", 5_000)).unwrap();
    // A new customer landing in the lowest tier has not changed tier.
    assert!(first.rewards.is_empty());
    let mut state = first.state;
    state.version = 1;
    let second = apply(&p, &state, &pay(&c, "e2", 5_000)).unwrap();
    assert_eq!(second.rewards.len(), 1);
    let row = &second.rewards[0];
    assert_eq!(row.kind, RewardKind::Notification);
    assert_eq!(row.id, "stripe:cus_1/v2/tier.changed");
    assert_eq!(row.url.as_deref(), Some("https://a.example/n"));
    assert_eq!(row.secret.as_deref(), Some("N"));
    assert_eq!(
        row.notice.as_ref().map(|n| &n.data),
        Some(&Notification::TierChanged {
            from: Some("Member".into()),
            to: Some("Gold".into())
        })
    );
    // Staying in Gold writes nothing more; without the kind nothing at all.
    let mut state = second.state;
    state.version = 2;
    assert!(
        apply(&p, &state, &pay(&c, "e3", 5_000))
            .unwrap()
            .rewards
            .is_empty()
    );
    let quiet =
        with("url = \"https://a.example/n\"\nkinds = [\"reward.failed\"]\nsecret = \"N\"\n")
            .unwrap();
    let mut state = CustomerState::new(c.clone());
    state = apply(&quiet, &state, &pay(&c, "e1", 5_000)).unwrap().state;
    assert!(
        apply(&quiet, &state, &pay(&c, "e2", 5_000))
            .unwrap()
            .rewards
            .is_empty()
    );
}
