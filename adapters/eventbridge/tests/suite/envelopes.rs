//! The EventBridge envelopes of `events/`, mutated and arbitrary: parsing never panics, and an
//! envelope is either read or refused with a reason.

use autolock_eventbridge::{from_envelope, parse_access};
use autolock_tests::fuzz::{json, mutations_of};
use proptest::prelude::*;
use serde_json::Value;

fn sample(name: &str) -> Value {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn access_envelopes_are_read_or_refused_with_a_reason(
        v in prop_oneof![mutations_of(sample("ingest-resource-accessed.json")), json()]
    ) {
        if let Err(e) = parse_access(&v) {
            prop_assert!(!e.reason.is_empty());
        }
    }

    #[test]
    fn domain_event_envelopes_are_read_or_refused_with_a_reason(
        v in prop_oneof![
            mutations_of(sample("notify-request-created.json")),
            mutations_of(sample("notify-access-locked.json")),
            mutations_of(sample("notify-policy-changed.json")),
            json(),
        ]
    ) {
        if let Err(e) = from_envelope(&v) {
            prop_assert!(!e.reason.is_empty());
        }
    }
}

#[test]
fn the_samples_themselves_are_read() {
    assert!(parse_access(&sample("ingest-resource-accessed.json")).is_ok());
    assert!(parse_access(&sample("ingest-resource-accessed-malformed.json")).is_err());
    for name in [
        "notify-request-created.json",
        "notify-access-locked.json",
        "notify-policy-changed.json",
    ] {
        assert!(from_envelope(&sample(name)).is_ok(), "{name}");
    }
}
