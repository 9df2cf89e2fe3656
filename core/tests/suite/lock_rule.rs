//! A reference reading of docs/semantics.md §2, one test per rule, on a pinned clock.

use crate::common;

use autolock_core::directory::Timed;
use autolock_core::ids::PrincipalId;
use autolock_core::lock::{DenyReason, EventOutcome, Right, RightState, UnlockKind, Usage};
use autolock_core::policy::{ApprovalMode, PolicyOverride};
use autolock_core::request::CancelReason;
use common::*;

fn admin() -> PrincipalId {
    PrincipalId::parse("ada").unwrap()
}

fn used_at(at: autolock_core::Timestamp) -> Usage {
    Usage {
        last_access: Some(at),
        ..Usage::default()
    }
}

fn locked(locked_at: autolock_core::Timestamp, approval: ApprovalMode) -> RightState {
    RightState::Locked {
        locked_at,
        approval,
    }
}

// §2.4 — at the boundary second the path is closed.
#[test]
fn the_lock_happens_exactly_at_the_boundary_second_and_not_one_second_before() {
    let f = facts(manual("7d")).simple_path("g", h(0)).build();
    let right = Right::new(f.clone());
    let usage = used_at(h(10));
    let boundary = h(10) + chrono::Duration::days(7);
    assert_eq!(
        right.state(&usage, boundary - SECOND),
        RightState::Active {
            next_lock: Some(boundary)
        }
    );
    assert_eq!(
        right.state(&usage, boundary),
        locked(boundary, ApprovalMode::Manual)
    );
}

// §2.2 + §2.3 — with no activity at all, the path's start is `since`.
#[test]
fn a_right_never_used_locks_its_duration_after_the_path_began() {
    let f = facts(manual("1d")).simple_path("g", h(5)).build();
    let right = Right::new(f.clone());
    assert_eq!(
        right.state(&Usage::default(), h(28)),
        RightState::Active {
            next_lock: Some(h(29))
        }
    );
    assert_eq!(
        right.state(&Usage::default(), h(29)),
        locked(h(29), ApprovalMode::Manual)
    );
}

// §2.4 — "never" does not lock.
#[test]
fn a_never_policy_never_locks() {
    let f = facts(manual("never")).simple_path("g", h(0)).build();
    let right = Right::new(f.clone());
    assert_eq!(
        right.state(&Usage::default(), d(3000)),
        RightState::Active { next_lock: None }
    );
}

// §2.5 — locked only when every path is closed; §2.6 — approval of the current paths.
#[test]
fn a_user_in_two_groups_is_locked_only_when_both_paths_are_closed() {
    let mut b = facts(manual("7d"))
        .simple_path("short", h(0))
        .simple_path("long", h(0));
    b.facts.paths[1].grants[0].overrides[0].value = PolicyOverride {
        auto_lock_after: Some(dur("30d")),
        approval: Some(ApprovalMode::Automatic),
    };
    let f = b.build();
    let right = Right::new(f.clone());
    let usage = used_at(h(0));
    assert!(
        matches!(right.state(&usage, d(8)), RightState::Active { .. }),
        "the 30-day path is still open"
    );
    assert_eq!(
        right.state(&usage, d(30) - SECOND),
        RightState::Active {
            next_lock: Some(d(30))
        }
    );
    assert_eq!(
        right.state(&usage, d(30)),
        locked(d(30), ApprovalMode::Automatic)
    );
}

#[test]
fn the_approval_is_manual_when_every_current_path_is_manual() {
    let f = facts(automatic("7d"))
        .simple_path("a", h(0))
        .simple_path("b", h(0))
        .build();
    let mut f2 = f.clone();
    for p in &mut f2.paths {
        p.grants[0].overrides[0].value.approval = Some(ApprovalMode::Manual);
    }
    assert_eq!(
        Right::new(f.clone()).state(&used_at(h(0)), d(7)),
        locked(d(7), ApprovalMode::Automatic)
    );
    assert_eq!(
        Right::new(f2.clone()).state(&used_at(h(0)), d(7)),
        locked(d(7), ApprovalMode::Manual)
    );
}

// §2.1 + §2.6 — an expired grant gives `expired`, a removed one `no_access`.
#[test]
fn an_expired_grant_gives_expired_not_locked() {
    let mut g = grant("g1", h(0));
    g.expiry[0].value = Some(d(3));
    let f = facts(manual("7d"))
        .path("g", vec![span(h(0), None)], vec![g])
        .build();
    let right = Right::new(f.clone());
    assert!(matches!(
        right.state(&Usage::default(), d(3) - SECOND),
        RightState::Active { .. }
    ));
    assert_eq!(right.state(&Usage::default(), d(3)), RightState::Expired);
    assert_eq!(
        right.state(&Usage::default(), d(30)),
        RightState::Expired,
        "never locked: no path to close"
    );
}

#[test]
fn a_removed_grant_or_membership_gives_no_access() {
    let mut g = grant("g1", h(0));
    g.span.end = Some(d(2));
    let f = facts(manual("7d"))
        .path("g", vec![span(h(0), None)], vec![g])
        .build();
    assert_eq!(
        Right::new(f.clone()).state(&Usage::default(), d(2)),
        RightState::NoAccess
    );
    let f = facts(manual("7d"))
        .path("g", vec![span(h(0), Some(d(2)))], vec![grant("g1", h(0))])
        .build();
    assert_eq!(
        Right::new(f.clone()).state(&Usage::default(), d(2)),
        RightState::NoAccess
    );
    let f = facts(manual("7d")).build();
    assert_eq!(
        Right::new(f.clone()).state(&Usage::default(), d(2)),
        RightState::NoAccess
    );
}

// §2.2 — the grace rule: a shorter duration locks no sooner than the new duration after the change.
#[test]
fn a_shorter_duration_never_locks_sooner_than_the_new_duration_after_the_change() {
    let f = facts(manual("30d"))
        .simple_path("g", h(0))
        .default_changes(d(20), manual("7d"))
        .build();
    let right = Right::new(f.clone());
    let usage = used_at(h(0));
    assert!(
        matches!(right.state(&usage, d(20)), RightState::Active { .. }),
        "not locked at the change"
    );
    assert_eq!(
        right.state(&usage, d(27) - SECOND),
        RightState::Active {
            next_lock: Some(d(27))
        }
    );
    assert_eq!(
        right.state(&usage, d(27)),
        locked(d(27), ApprovalMode::Manual)
    );
}

#[test]
fn a_grant_override_change_starts_its_own_grace() {
    let mut g = grant("g1", h(0));
    g.overrides.push(Timed {
        at: d(10),
        value: override_duration("2d"),
    });
    let f = facts(manual("30d"))
        .path("g", vec![span(h(0), None)], vec![g])
        .build();
    let right = Right::new(f.clone());
    assert_eq!(
        right.state(&used_at(h(0)), d(12)),
        locked(d(12), ApprovalMode::Manual)
    );
    // Activity after the change counts from itself.
    assert_eq!(
        right.state(&used_at(d(11)), d(13)),
        locked(d(13), ApprovalMode::Manual)
    );
}

// §2.2 — approval-only, no-op and overridden-default edits do not move `since`.
#[test]
fn approval_only_no_op_and_overridden_default_edits_do_not_move_since() {
    // Approval-only edit of the default at day 5: the lock stays at day 7.
    let f = facts(manual("7d"))
        .simple_path("g", h(0))
        .default_changes(d(5), automatic("7d"))
        .build();
    assert_eq!(
        Right::new(f.clone()).state(&Usage::default(), d(7)),
        locked(d(7), ApprovalMode::Automatic)
    );
    // A no-op edit (same policy again).
    let f = facts(manual("7d"))
        .simple_path("g", h(0))
        .default_changes(d(5), manual("7d"))
        .build();
    assert_eq!(
        Right::new(f.clone()).state(&Usage::default(), d(7)),
        locked(d(7), ApprovalMode::Manual)
    );
    // A default edit that the grant overrides.
    let mut g = grant("g1", h(0));
    g.overrides[0].value = override_duration("7d");
    let f = facts(manual("30d"))
        .path("g", vec![span(h(0), None)], vec![g])
        .default_changes(d(5), manual("60d"))
        .build();
    assert_eq!(
        Right::new(f.clone()).state(&Usage::default(), d(7)),
        locked(d(7), ApprovalMode::Manual)
    );
}

// §2.2 — a change to or from "never" moves `since`.
#[test]
fn a_change_from_never_to_a_duration_counts_from_the_change() {
    let f = facts(manual("never"))
        .simple_path("g", h(0))
        .default_changes(d(100), manual("7d"))
        .build();
    let right = Right::new(f.clone());
    assert!(matches!(
        right.state(&used_at(h(0)), d(106)),
        RightState::Active { .. }
    ));
    assert_eq!(
        right.state(&used_at(h(0)), d(107)),
        locked(d(107), ApprovalMode::Manual)
    );
}

#[test]
fn a_change_to_never_and_back_counts_from_the_return() {
    let f = facts(manual("7d"))
        .simple_path("g", h(0))
        .default_changes(d(3), manual("never"))
        .default_changes(d(20), manual("7d"))
        .build();
    assert_eq!(
        Right::new(f.clone()).state(&used_at(h(0)), d(27)),
        locked(d(27), ApprovalMode::Manual)
    );
}

// §2.2 — a path that ends and later returns starts a new span.
#[test]
fn a_membership_that_returns_starts_a_new_span() {
    let f = facts(manual("7d"))
        .path(
            "g",
            vec![span(h(0), Some(d(5))), span(d(10), None)],
            vec![grant("g1", h(0))],
        )
        .build();
    let right = Right::new(f.clone());
    assert_eq!(right.state(&used_at(h(0)), d(8)), RightState::NoAccess);
    assert_eq!(
        right.state(&used_at(h(0)), d(16)),
        RightState::Active {
            next_lock: Some(d(17))
        }
    );
    assert_eq!(
        right.state(&used_at(h(0)), d(17)),
        locked(d(17), ApprovalMode::Manual)
    );
}

#[test]
fn an_expired_grant_renewed_later_starts_a_new_span_and_one_renewed_in_time_does_not() {
    let mut late = grant("g1", h(0));
    late.expiry[0].value = Some(d(5));
    late.expiry.push(Timed {
        at: d(9),
        value: Some(d(100)),
    });
    let f = facts(manual("7d"))
        .path("g", vec![span(h(0), None)], vec![late])
        .build();
    assert_eq!(
        Right::new(f.clone()).state(&used_at(h(0)), d(15)),
        RightState::Active {
            next_lock: Some(d(16))
        }
    );

    let mut in_time = grant("g1", h(0));
    in_time.expiry[0].value = Some(d(5));
    in_time.expiry.push(Timed {
        at: d(4),
        value: Some(d(100)),
    });
    let f = facts(manual("7d"))
        .path("g", vec![span(h(0), None)], vec![in_time])
        .build();
    assert_eq!(
        Right::new(f.clone()).state(&used_at(h(0)), d(7)),
        locked(d(7), ApprovalMode::Manual)
    );
}

#[test]
fn a_grant_recreated_after_removal_starts_a_new_span() {
    let mut first = grant("g1", h(0));
    first.span.end = Some(d(2));
    let second = grant("g2", d(6));
    let f = facts(manual("7d"))
        .path("g", vec![span(h(0), None)], vec![first, second])
        .build();
    assert_eq!(
        Right::new(f.clone()).state(&used_at(h(0)), d(12)),
        RightState::Active {
            next_lock: Some(d(13))
        }
    );
}

// §2.5 — policy edits, new paths and periods with no path never lift a lock.
#[test]
fn policy_edits_and_new_paths_never_lift_a_lock() {
    let f = facts(manual("7d"))
        .simple_path("g", h(0))
        .default_changes(d(8), manual("never"))
        .simple_path("late", d(9))
        .build();
    let right = Right::new(f.clone());
    assert_eq!(
        right.state(&used_at(h(0)), d(10)),
        locked(d(7), ApprovalMode::Manual)
    );
}

#[test]
fn a_lock_survives_a_period_with_no_path() {
    let f = facts(manual("7d"))
        .path(
            "g",
            vec![span(h(0), Some(d(8))), span(d(12), None)],
            vec![grant("g1", h(0))],
        )
        .build();
    let right = Right::new(f.clone());
    assert_eq!(
        right.state(&used_at(h(0)), d(7)),
        locked(d(7), ApprovalMode::Manual)
    );
    assert_eq!(right.state(&used_at(h(0)), d(9)), RightState::NoAccess);
    assert_eq!(
        right.state(&used_at(h(0)), d(12)),
        locked(d(7), ApprovalMode::Manual)
    );
}

// §2.5 — recording the lock later never moves it.
#[test]
fn the_sweep_records_the_lock_at_its_instant_whenever_it_runs() {
    let f = facts(manual("1d")).simple_path("g", h(0)).build();
    let right = Right::new(f.clone());
    let usage = used_at(h(1));
    let early = right.settle(&usage, h(20));
    assert_eq!(early.locked, None);
    assert_eq!(early.usage.unwrap().next_due, Some(h(25)));
    let late = right.settle(&usage, h(90));
    assert_eq!(late.locked, Some(h(25)));
    let recorded = late.usage.unwrap();
    assert_eq!(recorded.lock, Some(h(25)));
    assert_eq!(
        right.settle(&recorded, h(95)).usage,
        None,
        "settling again changes nothing"
    );
}

// §2.6 — `inactive` is a deny reason, never a state: the right keeps its own state.
#[test]
fn an_inactive_user_is_denied_as_inactive_while_the_right_keeps_its_state() {
    let f = facts(manual("1d"))
        .simple_path("g", h(0))
        .deactivated(h(10))
        .build();
    let right = Right::new(f.clone());
    let active = right.state(&Usage::default(), h(11));
    assert_eq!(
        active,
        RightState::Active {
            next_lock: Some(h(24))
        }
    );
    assert_eq!(
        right.deny_reason(&active, h(11)),
        Some(DenyReason::Inactive)
    );
    assert_eq!(right.deny_reason(&active, h(9)), None);
    let locked_state = right.state(&Usage::default(), h(30));
    assert_eq!(locked_state, locked(h(24), ApprovalMode::Manual));
    assert_eq!(
        right.deny_reason(&locked_state, h(30)),
        Some(DenyReason::Inactive)
    );
}

// §2.7 — the active flag is temporal: an event is judged by the flag at its own instant,
// whenever it arrives.
#[test]
fn an_event_is_judged_by_the_active_flag_at_its_instant_not_at_its_arrival() {
    let f = facts(manual("7d"))
        .simple_path("g", h(0))
        .deactivated(h(20))
        .reactivated(h(30))
        .build();
    let right = Right::new(f.clone());
    // Stamped while active, delivered after the deactivation: it counts.
    let (outcome, effect) = right.apply_event(&Usage::default(), &event("a", h(19)), h(25));
    assert_eq!(outcome, EventOutcome::Counted);
    let usage = effect.usage.expect("the access is written");
    assert_eq!(usage.last_access, Some(h(19)));
    // Stamped while inactive, delivered after the reactivation: denied.
    let (outcome, effect) = right.apply_event(&usage, &event("b", h(21)), h(31));
    assert_eq!(outcome, EventOutcome::Denied(DenyReason::Inactive));
    assert_eq!(effect.usage, None);
    // The first, delivered again after the reactivation: a duplicate, not a denial.
    let (outcome, effect) = right.apply_event(&usage, &event("a", h(19)), h(31));
    assert_eq!(outcome, EventOutcome::Duplicate);
    assert_eq!(effect.usage, None);
}

// §2.7 — a duplicate of a denied attempt changes nothing either.
#[test]
fn a_denied_attempt_delivered_again_is_a_duplicate() {
    let f = facts(manual("1d")).simple_path("g", h(0)).build();
    let right = Right::new(f.clone());
    let (outcome, effect) = right.apply_event(&Usage::default(), &event("x", h(30)), h(30));
    assert_eq!(outcome, EventOutcome::Denied(DenyReason::Locked));
    let usage = effect.usage.unwrap();
    let (outcome, effect) = right.apply_event(&usage, &event("x", h(30)), h(31));
    assert_eq!(outcome, EventOutcome::Duplicate);
    assert_eq!(effect.usage, None);
}

// §2.8 — a lock kept while the user has no path is in force: an unlock lifts it, and it does
// not come back with the path.
#[test]
fn an_unlock_lifts_a_lock_kept_while_the_user_has_no_path() {
    let f = facts(manual("1d"))
        .path(
            "g",
            vec![span(h(0), Some(h(30))), span(h(50), None)],
            vec![grant("g-grant", h(0))],
        )
        .build();
    let right = Right::new(f.clone());
    let usage = Usage::default();
    assert_eq!(right.state(&usage, h(40)), RightState::NoAccess);
    assert_eq!(right.lock_in_force(&usage, h(40)), Some(h(24)));
    let effect = right
        .unlock(&usage, h(40), admin(), UnlockKind::AdminUnlock)
        .expect("the lock kept without a path is lifted");
    let usage = effect.usage.unwrap();
    assert_eq!(
        usage.last_unlock.as_ref().map(|u| u.lifted_lock),
        Some(h(24))
    );
    // Back in the group at 50h: a new span, active, the old lock gone.
    assert_eq!(
        right.state(&usage, h(51)),
        RightState::Active {
            next_lock: Some(h(74))
        }
    );
}

// §3 — an open request is cancelled at the instant that causes it, whenever that is noticed.
#[test]
fn an_open_request_is_cancelled_at_the_instant_its_last_path_ends_or_the_user_is_deactivated() {
    let mut g = grant("g-grant", h(0));
    g.expiry.push(Timed {
        at: h(1),
        value: Some(h(40)),
    });
    let f = facts(manual("1d"))
        .path("g", vec![span(h(0), None)], vec![g])
        .build();
    let right = Right::new(f.clone());
    assert_eq!(right.cancellation(h(30), h(39)), None);
    assert_eq!(
        right.cancellation(h(30), h(100)),
        Some((CancelReason::NoPath, h(40)))
    );
    let f = facts(manual("1d"))
        .simple_path("g", h(0))
        .deactivated(h(35))
        .build();
    let right = Right::new(f.clone());
    assert_eq!(right.cancellation(h(30), h(34)), None);
    assert_eq!(
        right.cancellation(h(30), h(36)),
        Some((CancelReason::Deactivated, h(35)))
    );
}

// §2.7 — `last_access` is the latest counted access, also when an unlock came after it.
#[test]
fn a_late_access_older_than_the_last_unlock_still_becomes_the_last_access() {
    let f = facts(manual("1d")).simple_path("g", h(0)).build();
    let right = Right::new(f.clone());
    let usage = used_at(h(1));
    let unlocked = right
        .unlock(&usage, h(30), admin(), UnlockKind::AdminUnlock)
        .unwrap()
        .usage
        .unwrap();
    // Stamped at 20h (before the lock at 25h), delivered at 31h.
    let (outcome, effect) = right.apply_event(&unlocked, &event("late", h(20)), h(31));
    assert_eq!(outcome, EventOutcome::Counted);
    let after = effect.usage.expect("the last access moves");
    assert_eq!(after.last_access, Some(h(20)));
    assert_eq!(
        after.last_activity(),
        Some(h(30)),
        "the unlock is still the last activity"
    );
}

// §2.7 — nothing before its instant: an event stamped ahead meets a lock that has not happened
// yet; the lock is recorded at its own instant, not when the event arrives.
#[test]
fn an_event_stamped_ahead_never_records_a_lock_before_its_instant() {
    let f = facts(manual("1d")).simple_path("g", h(0)).build();
    let right = Right::new(f.clone());
    let usage = used_at(h(0));
    let now = h(24) - chrono::Duration::minutes(2);
    let ahead = event("ahead", h(24) + chrono::Duration::minutes(2));
    let (outcome, effect) = right.apply_event(&usage, &ahead, now);
    assert_eq!(outcome, EventOutcome::Denied(DenyReason::Locked));
    assert_eq!(effect.locked, None, "not recorded before 24h");
    let usage = effect.usage.unwrap();
    assert_eq!(usage.lock, None);
    assert_eq!(
        usage.next_due,
        Some(h(24)),
        "the sweep records it at its instant"
    );
    let settled = right.settle(&usage, h(24));
    assert_eq!(settled.locked, Some(h(24)));
}

// §2.7 — events.
#[test]
fn a_counted_event_moves_the_last_access_and_postpones_the_lock() {
    let f = facts(manual("1d")).simple_path("g", h(0)).build();
    let right = Right::new(f.clone());
    let (outcome, effect) = right.apply_event(&Usage::default(), &event("e1", h(20)), h(20));
    assert_eq!(outcome, EventOutcome::Counted);
    let usage = effect.usage.unwrap();
    assert_eq!(usage.last_access, Some(h(20)));
    assert_eq!(usage.next_due, Some(h(44)));
    assert_eq!(
        right.state(&usage, h(43)),
        RightState::Active {
            next_lock: Some(h(44))
        }
    );
}

// The sweep's index: an access keeps an earlier instant still ahead; a change that brings the
// lock forward, and the sweep once that instant comes, put the exact one.
#[test]
fn an_access_keeps_the_sweeps_earlier_instant_until_the_sweep_comes() {
    let f = facts(manual("1d")).simple_path("g", h(0)).build();
    let right = Right::new(f);
    let (_, first) = right.apply_event(&Usage::default(), &event("e1", h(1)), h(1));
    let first = first.usage.unwrap();
    assert_eq!(first.next_due, Some(h(25)));
    let (outcome, second) = right.apply_event(&first, &event("e2", h(10)), h(10));
    assert_eq!(outcome, EventOutcome::Counted);
    let second = second.usage.unwrap();
    assert_eq!(second.last_access, Some(h(10)));
    assert_eq!(second.next_due, Some(h(25)), "the earlier instant kept");
    assert_eq!(
        right.state(&second, h(25)),
        RightState::Active {
            next_lock: Some(h(34))
        }
    );
    assert_eq!(
        right.settle(&second, h(20)).usage,
        None,
        "a decision before it writes nothing"
    );
    let swept = right.settle(&second, h(25));
    assert_eq!(swept.locked, None);
    assert_eq!(swept.usage.unwrap().next_due, Some(h(34)));
    // A later instant kept is never kept: the lock it would pass is sooner.
    let later = Usage {
        next_due: Some(h(40)),
        ..second.clone()
    };
    assert_eq!(right.reschedule(&later, &second, h(20)), Some(h(34)));
}

#[test]
fn an_event_after_the_lock_instant_does_not_count() {
    let f = facts(manual("1d")).simple_path("g", h(0)).build();
    let right = Right::new(f.clone());
    let (outcome, effect) = right.apply_event(&used_at(h(0)), &event("e1", h(24)), h(24));
    assert_eq!(outcome, EventOutcome::Denied(DenyReason::Locked));
    let usage = effect.usage.unwrap();
    assert_eq!(usage.last_access, Some(h(0)));
    assert_eq!(
        usage.lock,
        Some(h(24)),
        "the event found the lock and recorded it"
    );
    assert_eq!(effect.locked, Some(h(24)));
    assert_eq!(usage.denied.len(), 1, "kept as a denied attempt");
}

#[test]
fn duplicates_change_nothing() {
    let f = facts(manual("1d")).simple_path("g", h(0)).build();
    let right = Right::new(f.clone());
    let (_, first) = right.apply_event(&Usage::default(), &event("e1", h(5)), h(5));
    let usage = first.usage.unwrap();
    let (outcome, again) = right.apply_event(&usage, &event("e1", h(5)), h(6));
    assert_eq!(outcome, EventOutcome::Duplicate);
    assert_eq!(again.usage, None);
    // A denied attempt repeated is kept once.
    let (_, denied) = right.apply_event(&usage, &event("late", h(30)), h(30));
    let usage = denied.usage.unwrap();
    let (_, again) = right.apply_event(&usage, &event("late", h(30)), h(31));
    assert_eq!(again.usage, None);
}

#[test]
fn an_event_more_than_24_hours_late_is_ignored_and_one_from_the_future_rejected() {
    let f = facts(manual("7d")).simple_path("g", h(0)).build();
    let right = Right::new(f.clone());
    let now = d(3);
    let (outcome, effect) = right.apply_event(
        &Usage::default(),
        &event("old", now - chrono::Duration::hours(24) - SECOND),
        now,
    );
    assert_eq!(outcome, EventOutcome::LateIgnored);
    assert_eq!(effect.usage, None);
    let (outcome, _) = right.apply_event(
        &Usage::default(),
        &event("edge", now - chrono::Duration::hours(24)),
        now,
    );
    assert_eq!(
        outcome,
        EventOutcome::Counted,
        "exactly 24 h late still applies"
    );
    let (outcome, effect) = right.apply_event(
        &Usage::default(),
        &event("soon", now + chrono::Duration::minutes(5) + SECOND),
        now,
    );
    assert_eq!(outcome, EventOutcome::Future);
    assert_eq!(effect.usage, None);
    let (outcome, _) = right.apply_event(
        &Usage::default(),
        &event("skew", now + chrono::Duration::minutes(5)),
        now,
    );
    assert_eq!(
        outcome,
        EventOutcome::Counted,
        "5 minutes of clock skew is tolerated"
    );
}

#[test]
fn a_late_event_that_proves_a_lock_wrong_reverts_it_and_recounts_the_denied_attempts() {
    let f = facts(manual("1d")).simple_path("g", h(0)).build();
    let right = Right::new(f.clone());
    // Used at 0; locked at 24; attempts at 25 and 26 denied and kept.
    let (outcomes, usage) = apply_all(
        &right,
        used_at(h(0)),
        &[(event("a25", h(25)), h(25)), (event("a26", h(26)), h(26))],
    );
    assert_eq!(outcomes, [EventOutcome::Denied(DenyReason::Locked); 2]);
    assert_eq!(usage.lock, Some(h(24)));
    // An access at 23 arrives at 27: it counts, proves the lock at 24 wrong, and the attempts
    // at 25 and 26 count again.
    let (outcome, effect) = right.apply_event(&usage, &event("a23", h(23)), h(27));
    assert_eq!(outcome, EventOutcome::Counted);
    assert_eq!(effect.reverted, Some(h(24)));
    assert_eq!(effect.recounted.len(), 2);
    let usage = effect.usage.unwrap();
    assert_eq!(usage.lock, None);
    assert_eq!(usage.last_access, Some(h(26)));
    assert!(usage.denied.is_empty());
    assert_eq!(
        right.state(&usage, h(27)),
        RightState::Active {
            next_lock: Some(h(50))
        }
    );
}

#[test]
fn a_revert_computes_the_new_lock_from_then_on() {
    let f = facts(manual("1d")).simple_path("g", h(0)).build();
    let right = Right::new(f.clone());
    let usage = Usage {
        last_access: Some(h(0)),
        lock: Some(h(24)),
        ..Usage::default()
    };
    // An access at 1 arrives 24 hours late, at 25: the lock moves from 24 to 25, which is now.
    let (outcome, effect) = right.apply_event(&usage, &event("a1", h(1)), h(25));
    assert_eq!(outcome, EventOutcome::Counted);
    assert_eq!(effect.reverted, Some(h(24)));
    assert_eq!(effect.locked, Some(h(25)));
    assert_eq!(effect.usage.unwrap().lock, Some(h(25)));
}

#[test]
fn an_event_older_than_the_last_activity_changes_nothing() {
    let f = facts(manual("1d")).simple_path("g", h(0)).build();
    let right = Right::new(f.clone());
    let (outcome, effect) = right.apply_event(&used_at(h(10)), &event("old", h(5)), h(11));
    assert_eq!(outcome, EventOutcome::Counted);
    assert_eq!(effect.usage, None, "an older counted access costs no write");
}

#[test]
fn an_event_with_no_path_is_denied_with_the_reason() {
    let mut g = grant("g1", h(0));
    g.expiry[0].value = Some(h(10));
    let f = facts(manual("7d"))
        .path("g", vec![span(h(0), None)], vec![g])
        .build();
    let right = Right::new(f.clone());
    let (outcome, effect) = right.apply_event(&Usage::default(), &event("e", h(11)), h(11));
    assert_eq!(outcome, EventOutcome::Denied(DenyReason::Expired));
    assert_eq!(effect.usage, None);
}

// §2.8 — unlock.
#[test]
fn an_unlock_lifts_the_lock_and_counts_as_activity() {
    let f = facts(manual("1d")).simple_path("g", h(0)).build();
    let right = Right::new(f.clone());
    let usage = Usage {
        last_access: Some(h(0)),
        lock: Some(h(24)),
        ..Usage::default()
    };
    let effect = right
        .unlock(&usage, h(30), admin(), UnlockKind::AdminUnlock)
        .unwrap();
    let usage = effect.usage.unwrap();
    assert_eq!(usage.lock, None);
    assert_eq!(usage.last_activity(), Some(h(30)));
    assert_eq!(
        usage.last_person_unlock.as_ref().unwrap().lifted_lock,
        h(24)
    );
    assert_eq!(
        right.state(&usage, h(53)),
        RightState::Active {
            next_lock: Some(h(54))
        }
    );
    assert_eq!(
        right.state(&usage, h(54)),
        locked(h(54), ApprovalMode::Manual)
    );
    // An event during the lifted lock, arriving late, stays denied and moves nothing.
    let (outcome, effect) = right.apply_event(&usage, &event("during", h(26)), h(31));
    assert_eq!(outcome, EventOutcome::Denied(DenyReason::Locked));
    assert_eq!(effect.usage, None);
}

#[test]
fn unlocking_a_right_that_is_not_locked_is_refused() {
    let f = facts(manual("1d")).simple_path("g", h(0)).build();
    assert!(
        Right::new(f.clone())
            .unlock(&used_at(h(0)), h(10), admin(), UnlockKind::AdminUnlock)
            .is_none()
    );
}

#[test]
fn an_unlock_records_a_lock_nobody_had_recorded_yet() {
    let f = facts(manual("1d")).simple_path("g", h(0)).build();
    let effect = Right::new(f.clone())
        .unlock(&used_at(h(0)), h(30), admin(), UnlockKind::AdminUnlock)
        .unwrap();
    assert_eq!(effect.locked, Some(h(24)));
}

#[test]
fn an_automatic_request_unlock_is_not_a_person_unlock() {
    let f = facts(automatic("1d")).simple_path("g", h(0)).build();
    let effect = Right::new(f.clone())
        .unlock(
            &used_at(h(0)),
            h(30),
            PrincipalId::parse("u").unwrap(),
            UnlockKind::AutomaticRequest,
        )
        .unwrap();
    let usage = effect.usage.unwrap();
    assert_eq!(
        usage.last_unlock.unwrap().kind,
        UnlockKind::AutomaticRequest
    );
    assert_eq!(usage.last_person_unlock, None);
}

// §2.9 — exemptions.
#[test]
fn an_exempt_right_stays_open_past_its_duration_and_the_grace_rule_runs_from_the_end() {
    // 1-day duration, last used at h(0): locks at h(24) without the exemption.
    let f = facts(manual("1d"))
        .simple_path("g", h(0))
        .exempt_right(h(10), d(5))
        .build();
    let right = Right::new(f);
    let usage = used_at(h(0));
    assert_eq!(
        right.state(&usage, d(5) - SECOND),
        RightState::Active {
            next_lock: Some(d(6))
        },
        "open the whole exemption long, then a full duration from its end"
    );
    assert!(right.timeline.paths_at(d(2))[0].exempt_until == Some(d(5)));
    assert_eq!(right.state(&usage, d(6) - SECOND).name(), "active");
    assert_eq!(
        right.state(&usage, d(6)),
        locked(d(6), ApprovalMode::Manual)
    );
}

#[test]
fn an_exemption_never_lifts_a_lock_in_force() {
    let f = facts(manual("1d"))
        .simple_path("g", h(0))
        .exempt_right(h(30), d(10))
        .build();
    let right = Right::new(f);
    assert_eq!(
        right.state(&used_at(h(0)), d(3)),
        locked(h(24), ApprovalMode::Manual),
        "locked at h(24), before the exemption began"
    );
}

#[test]
fn an_exemption_ended_early_ends_at_that_instant() {
    let mut f = facts(manual("1d"))
        .simple_path("g", h(0))
        .exempt_right(h(10), d(30))
        .build();
    f.exemptions[0].ended_at = Some(d(2));
    let right = Right::new(f);
    assert_eq!(
        right.state(&used_at(h(0)), d(2)),
        RightState::Active {
            next_lock: Some(d(3))
        }
    );
    assert_eq!(
        right.state(&used_at(h(0)), d(3)),
        locked(d(3), ApprovalMode::Manual)
    );
}

#[test]
fn a_grant_exemption_covers_only_the_paths_through_that_grant() {
    // Two paths of one day each; only the first grant is exempt.
    let both = facts(manual("1d"))
        .simple_path("a", h(0))
        .simple_path("b", h(0));
    let one = Right::new(both.exempt_grant("a-grant", h(1), d(4)).build());
    assert_eq!(
        one.state(&used_at(h(0)), d(2)).name(),
        "active",
        "the exempt path keeps the right open"
    );
    assert_eq!(one.timeline.paths_at(d(2))[1].exempt_until, None);
    assert_eq!(
        one.state(&used_at(h(0)), d(5)),
        locked(d(5), ApprovalMode::Manual),
        "both closed one day after the exemption's end"
    );
    let other = facts(manual("1d"))
        .simple_path("a", h(0))
        .exempt_grant("another-grant", h(1), d(4))
        .build();
    assert_eq!(
        Right::new(other).state(&used_at(h(0)), h(24)),
        locked(h(24), ApprovalMode::Manual),
        "an exemption of another grant covers nothing here"
    );
}

#[test]
fn a_late_event_is_judged_with_the_exemptions_in_force_at_its_instant() {
    // Exempt from h(20) to h(40): an access at h(30) arrives late at h(44) and counts, though
    // without the exemption the right locked at h(24).
    let f = facts(manual("1d"))
        .simple_path("g", h(0))
        .exempt_right(h(20), h(40))
        .build();
    let right = Right::new(f);
    let (outcomes, usage) = apply_all(&right, used_at(h(0)), &[(event("late", h(30)), h(44))]);
    assert_eq!(outcomes, vec![EventOutcome::Counted]);
    assert_eq!(usage.last_access, Some(h(30)));
    assert_eq!(
        right.state(&usage, h(44)),
        RightState::Active {
            next_lock: Some(h(64))
        },
        "a day from the exemption's end, the later of it and the access"
    );
}

// §2.10 — the feed guard.
#[test]
fn time_inside_a_silence_does_not_count_and_the_path_keeps_the_time_it_had_left() {
    // 7 days from h(0); the feed is silent from day 3 to day 5: two days do not count.
    let f = facts(manual("7d"))
        .simple_path("g", h(0))
        .silence(d(3), Some(d(5)))
        .build();
    let right = Right::new(f);
    let usage = used_at(h(0));
    assert_eq!(
        right.state(&usage, d(8)),
        RightState::Active {
            next_lock: Some(d(9))
        },
        "the four days left when it began are left after it"
    );
    assert_eq!(
        right.state(&usage, d(9)),
        locked(d(9), ApprovalMode::Manual)
    );
}

#[test]
fn nobody_locks_while_a_silence_goes_on_and_locks_from_before_it_stay() {
    let f = facts(manual("1d"))
        .simple_path("g", h(0))
        .silence(h(30), None)
        .build();
    let right = Right::new(f);
    // Used at h(10): it would lock at h(34), inside the silence going on.
    let recent = used_at(h(10));
    assert_eq!(
        right.state(&recent, d(40)),
        RightState::Active { next_lock: None }
    );
    assert_eq!(
        right.next_due(&recent, d(40)),
        Some(h(34)),
        "the sweep looks again as if the feed were back"
    );
    // Used at h(0): locked at h(24), before the silence began; it stays.
    assert_eq!(
        right.state(&used_at(h(0)), d(40)),
        locked(h(24), ApprovalMode::Manual)
    );
}

#[test]
fn when_the_silence_ends_the_time_left_runs_again() {
    // Used at h(10) with one day: 20 hours had passed at h(30), four are left from h(50).
    let f = facts(manual("1d"))
        .simple_path("g", h(0))
        .silence(h(30), Some(h(50)))
        .build();
    let right = Right::new(f);
    assert_eq!(
        right.state(&used_at(h(10)), h(53)),
        RightState::Active {
            next_lock: Some(h(54))
        }
    );
}

#[test]
fn a_path_that_ends_inside_a_silence_still_leaves_a_closed_path_closed() {
    // Two paths of a day from h(0); the second is given 35 hours at h(15), and its membership
    // ends at h(50), inside a silence from h(40) to h(51). The first closed at h(24), before
    // the silence: losing the open path locks at h(50), as it would without the silence — time
    // inside the silence counted for nobody.
    let mut b = facts(manual("1d")).simple_path("a", h(0)).path(
        "b",
        vec![span(h(0), Some(h(50))), span(h(51), None)],
        vec![grant("b-grant", h(0))],
    );
    b.facts.paths[1].grants[0]
        .overrides
        .push(autolock_core::directory::Timed {
            at: h(15),
            value: override_duration("35h"),
        });
    let f = b.silence(h(40), Some(h(51))).build();
    assert_eq!(
        Right::new(f).timeline.next_lock(None),
        Some(h(50)),
        "the second path had time left when the silence began; losing it locks"
    );
}

// §2.7 — the outcome depends on the set of events, not on the order they arrive in: a late
// event that proves a lock wrong counts the attempts that lock denied again, also when an unlock
// lifted the lock before the late event arrived.
#[test]
fn a_late_event_recounts_the_attempts_of_a_lock_that_an_unlock_lifted_already() {
    let f = facts(manual("1d")).simple_path("g", h(0)).build();
    let right = Right::new(f.clone());
    // Used at 0 (and at 7, but that event is late); locked at 24; an attempt at 26 denied;
    // an admin unlocks at 27; the access at 7 arrives at 28.
    let (outcomes, usage) = apply_all(&right, used_at(h(0)), &[(event("a26", h(26)), h(26))]);
    assert_eq!(outcomes, [EventOutcome::Denied(DenyReason::Locked)]);
    let unlocked = right
        .unlock(&usage, h(27), admin(), UnlockKind::AdminUnlock)
        .unwrap()
        .usage
        .unwrap();
    let (outcome, effect) = right.apply_event(&unlocked, &event("a7", h(7)), h(28));
    assert_eq!(outcome, EventOutcome::Counted);
    assert_eq!(
        effect.reverted_lifted,
        Some(h(24)),
        "the lock at 24 was wrong"
    );
    assert_eq!(effect.reverted, None, "nothing is locked now to lift");
    assert_eq!(effect.recounted.len(), 1);
    let late = effect.usage.unwrap();
    // In arrival order the attempt at 26 counted: the last access is 26, as if in order.
    assert_eq!(late.last_access, Some(h(26)));
    assert!(late.denied.is_empty());

    // The same events in timestamp order give the same last access.
    let (_, in_order) = apply_all(
        &right,
        used_at(h(0)),
        &[(event("a7", h(7)), h(7)), (event("a26", h(26)), h(26))],
    );
    assert_eq!(in_order.last_access, late.last_access);

    // An attempt inside the span the unlock was thought to lift now counts too.
    let (outcome, _) = right.apply_event(&late, &event("a25", h(25)), h(28));
    assert_eq!(outcome, EventOutcome::Counted);
}

// §2 — facts recorded within one instant apply in the order they were recorded.
#[test]
fn a_user_deactivated_and_reactivated_in_one_instant_is_active_then_and_keeps_a_later_request() {
    let f = facts(manual("1d"))
        .simple_path("g", h(0))
        .deactivated(h(30))
        .reactivated(h(30))
        .build();
    let right = Right::new(f.clone());
    assert!(right.facts.active_at(h(30)));
    // A request filed at 30, after both, is not cancelled by the deactivation before it.
    assert_eq!(right.cancellation(h(30), h(30)), None);
    assert_eq!(right.cancellation(h(30), h(40)), None);
    // One filed before (at 29) was: the user was deactivated at 30 after it.
    assert_eq!(
        right.cancellation(h(29), h(40)),
        None,
        "active again at the same instant: the deactivation never held"
    );
    // Deactivated, reactivated and deactivated again at 30: deactivated at 30.
    let f = facts(manual("1d"))
        .simple_path("g", h(0))
        .deactivated(h(30))
        .reactivated(h(30))
        .deactivated(h(30))
        .build();
    assert_eq!(
        Right::new(f).cancellation(h(29), h(40)),
        Some((CancelReason::Deactivated, h(30)))
    );
}

#[test]
fn a_membership_removed_and_added_again_in_one_instant_starts_a_new_span_there() {
    let f = facts(manual("7d"))
        .path(
            "g",
            vec![span(h(0), Some(d(5))), span(d(5), None)],
            vec![grant("g1", h(0))],
        )
        .build();
    let right = Right::new(f);
    // Never used: without the break it would lock at 7 days; the span that began again at 5
    // days runs its full 7 days from there.
    assert_eq!(
        right.state(&Usage::default(), d(7)),
        RightState::Active {
            next_lock: Some(d(12))
        }
    );
    assert_eq!(
        right.cancellation(d(5), d(20)),
        None,
        "a path at every instant"
    );
}

#[test]
fn a_grant_removed_and_created_again_in_one_instant_starts_a_new_span_there() {
    let mut first = grant("g1", h(0));
    first.span.end = Some(d(5));
    let f = facts(manual("7d"))
        .path("g", vec![span(h(0), None)], vec![first, grant("g2", d(5))])
        .build();
    assert_eq!(
        Right::new(f).state(&Usage::default(), d(7)),
        RightState::Active {
            next_lock: Some(d(12))
        }
    );
}

#[test]
fn an_exemption_set_and_ended_in_one_instant_moves_since_there() {
    let mut e = exemption(d(5), d(30));
    e.ended_at = Some(d(5));
    let mut f = facts(manual("7d")).simple_path("g", h(0)).build();
    e.user = Some(f.user.clone());
    f.exemptions.push(e);
    assert_eq!(
        Right::new(f).state(&Usage::default(), d(7)),
        RightState::Active {
            next_lock: Some(d(12))
        }
    );
}

#[test]
fn a_duration_changed_and_changed_back_in_one_instant_starts_its_grace_there() {
    let f = facts(manual("7d"))
        .simple_path("g", h(0))
        .default_changes(d(5), manual("30d"))
        .default_changes(d(5), manual("7d"))
        .build();
    assert_eq!(
        Right::new(f).state(&Usage::default(), d(7)),
        RightState::Active {
            next_lock: Some(d(12))
        }
    );
}
