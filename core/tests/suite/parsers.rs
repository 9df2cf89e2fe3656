//! Every parser of outside input, fed arbitrary text: none panics, each accepts only what it
//! documents, and what it accepts prints back as it was read.

use autolock_core::audit::AuditAction;
use autolock_core::ids::{GroupId, PrincipalId, RequestId, ResourceId, UserId};
use autolock_core::policy::{ApprovalMode, AutoLockAfter};
use autolock_core::request::RequestStatus;
use autolock_core::values::{Email, Name, Reason, Role, parse_duration};
use proptest::prelude::*;

/// Text that looks like input: any characters, and strings built from the pieces parsers look
/// at (digits, units, separators, multi-byte and invisible characters).
fn input() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("7".to_owned()),
        Just("999999999".to_owned()),
        Just("99999999999999999999".to_owned()),
        Just("d".to_owned()),
        Just("h".to_owned()),
        Just("m".to_owned()),
        Just("s".to_owned()),
        Just("é".to_owned()),
        Just("\u{202E}".to_owned()),
        Just("\u{0}".to_owned()),
        Just("\n".to_owned()),
        Just("-".to_owned()),
        Just("@".to_owned()),
        Just(".".to_owned()),
        Just(" ".to_owned()),
        Just("never".to_owned()),
        "\\PC{0,3}",
    ];
    prop_oneof![
        "\\PC{0,40}",
        any::<String>(),
        proptest::collection::vec(piece, 0..6).prop_map(|p| p.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn durations_parse_or_refuse_without_panicking(text in input()) {
        for units in [&['d', 'h', 'm', 's'][..], &['d', 'h'][..]] {
            if let Some(d) = parse_duration(&text, units) {
                prop_assert!(d >= chrono::Duration::zero());
                prop_assert!(text.is_ascii() && text.len() <= 10);
            }
        }
        if let Ok(a) = AutoLockAfter::parse(&text) {
            prop_assert_eq!(AutoLockAfter::parse(&a.to_string()).unwrap(), a);
            if let AutoLockAfter::Hours(h) = a {
                prop_assert!((24..=365 * 24).contains(&h), "{h} hours");
            }
        }
    }

    #[test]
    fn ids_parse_or_refuse_and_print_back(text in input()) {
        if let Ok(id) = UserId::parse(text.clone()) {
            prop_assert_eq!(id.as_str(), text.as_str());
            prop_assert!(text != "." && text != "..", "a dot segment is no id");
        }
        let _ = ResourceId::parse(text.clone());
        let _ = GroupId::parse(text.clone());
        let _ = RequestId::parse(text.clone());
        let _ = PrincipalId::parse(text.clone());
    }

    #[test]
    fn values_parse_or_refuse_and_print_back(text in input()) {
        if let Ok(r) = Reason::parse(&text) {
            prop_assert!(!r.as_str().is_empty() && r.as_str().chars().count() <= 1000);
            prop_assert!(!r.as_str().chars().any(|c| c.is_control() && c != '\n'));
            prop_assert_eq!(Reason::parse(r.as_str()).unwrap(), r.clone());
        }
        if let Ok(e) = Email::parse(&text) {
            prop_assert_eq!(e.as_str(), text.as_str());
        }
        if let Ok(n) = Name::parse(&text) {
            prop_assert_eq!(Name::parse(n.as_str()).unwrap(), n.clone());
        }
        if let Ok(role) = text.parse::<Role>() {
            prop_assert_eq!(role.as_str(), text.as_str());
        }
        if let Ok(a) = ApprovalMode::parse(&text) {
            prop_assert_eq!(a.as_str(), text.as_str());
        }
        if let Some(a) = AuditAction::parse(&text) {
            prop_assert_eq!(a.as_str(), text.as_str());
        }
        if let Some(s) = RequestStatus::parse(&text) {
            prop_assert_eq!(s.as_str(), text.as_str());
        }
    }
}

#[test]
fn dot_segments_are_refused_as_ids_and_other_dots_are_kept() {
    for bad in [".", ".."] {
        let e = UserId::parse(bad).unwrap_err();
        assert_eq!(e.field, "principal_id");
        assert!(ResourceId::parse(bad).is_err() && GroupId::parse(bad).is_err());
    }
    for good in ["...", ".a", "a.", "a..b", "bob.smith"] {
        assert_eq!(UserId::parse(good).unwrap().as_str(), good);
    }
}
