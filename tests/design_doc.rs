//! The examples in `docs/design.md` are what the code accepts and produces: the program file
//! of §4.2 parses, the body of §8.1 is a valid `POST /events` body, and the queue message of
//! §3 is exactly what the Chargebee adapter makes of the public fixture it was taken from.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use saguaro_domain::Program;
use saguaro_providers::chargebee;
use serde_json::Value;

fn design() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/design.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The first fenced block of `lang` after the heading that starts with `heading`.
fn block(doc: &str, heading: &str, lang: &str) -> String {
    let section = doc
        .lines()
        .position(|l| l.starts_with(heading))
        .unwrap_or_else(|| panic!("docs/design.md has no heading `{heading}`"));
    let mut lines = doc.lines().skip(section + 1);
    let fence = format!("```{lang}");
    lines
        .by_ref()
        .find(|l| l.trim() == fence)
        .unwrap_or_else(|| panic!("no ```{lang} block after `{heading}`"));
    lines
        .take_while(|l| l.trim() != "```")
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn when_the_program_example_is_parsed_then_it_is_valid_and_uses_every_section() {
    // given
    let example = block(&design(), "### 4.2", "toml");
    // when
    let program = Program::parse(&example).unwrap_or_else(|e| panic!("§4.2: {e}"));
    // then
    assert_eq!(program.tiers.len(), 2);
    assert_eq!(program.promotions[0].grant, Some(250));
    assert_eq!(program.rewards.len(), 4);
    assert_eq!(program.expiry.map(|e| e.after_days), Some(365));
}

#[test]
fn when_the_events_example_is_posted_then_it_is_accepted() {
    // given
    let body = block(&design(), "### 8.1", "json");
    // when
    let event = saguaro_app::incoming::parse_event(body.as_bytes());
    // then
    let event = event.unwrap_or_else(|e| panic!("§8.1: {e}"));
    assert_eq!(event.id.as_str(), "evt-1001");
}

#[test]
fn when_the_fixture_is_normalised_then_it_is_the_queue_message_of_section_3() {
    // given the public fixture the example was made from
    let body = saguaro_testkit::fixture("chargebee/pc1/payment_succeeded.json");
    // when
    let chargebee::Normalised::Event(event) =
        chargebee::normalise(&body, Some("referred_by")).unwrap()
    else {
        panic!("expected an event");
    };
    // then
    let documented: Value = serde_json::from_str(&block(&design(), "## 3.", "json")).unwrap();
    assert_eq!(serde_json::to_value(&*event).unwrap(), documented);
}
