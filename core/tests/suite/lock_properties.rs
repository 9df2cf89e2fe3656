//! Property tests of the lock rule (docs/semantics.md §2), on whole-hour timelines.

use crate::common;

use autolock_core::Timestamp;
use autolock_core::directory::{RightFacts, Timed, value_at};
use autolock_core::lock::{DenyReason, EventOutcome, Right, RightState, Usage};
use autolock_core::policy::{AutoLockAfter, Policy, PolicyOverride};
use common::*;
use proptest::prelude::*;

fn duration() -> impl Strategy<Value = AutoLockAfter> {
    prop_oneof![
        4 => (24u32..=40).prop_map(AutoLockAfter::Hours),
        1 => Just(AutoLockAfter::Never),
    ]
}

fn approval() -> impl Strategy<Value = autolock_core::policy::ApprovalMode> {
    prop_oneof![
        Just(autolock_core::policy::ApprovalMode::Manual),
        Just(autolock_core::policy::ApprovalMode::Automatic)
    ]
}

/// One or two paths with whole-hour memberships (possibly broken), grant overrides changing
/// over time, and resource default changes: the whole of the temporal model.
fn scenario() -> impl Strategy<Value = RightFacts> {
    let path = (
        0i64..10,                                    // membership start
        proptest::option::of((10i64..60, 0i64..20)), // a break: (end, gap)
        proptest::collection::vec((0i64..70, proptest::option::of(duration())), 0..3), // override changes
    );
    (
        duration(),
        approval(),
        proptest::collection::vec((1i64..70, duration()), 0..3), // default changes
        proptest::collection::vec(path, 1..3),
        proptest::collection::vec((0i64..60, 1i64..20), 0..3), // deactivation periods
        // exemptions: (start, length, early end after, the right or grant N)
        proptest::collection::vec(
            (
                0i64..70,
                1i64..50,
                proptest::option::of(0i64..50),
                0usize..3,
            ),
            0..3,
        ),
        // feed silences: (start, length), the last one possibly going on
        proptest::collection::vec((0i64..90, 1i64..30), 0..3),
        any::<bool>(),
    )
        .prop_map(
            |(d0, a0, default_changes, paths, inactive, exemptions, silences, last_open)| {
                let mut b = facts(Policy {
                    auto_lock_after: d0,
                    approval: a0,
                });
                let mut inactive = inactive;
                inactive.sort_by_key(|p| p.0);
                let mut until = i64::MIN;
                for (from, len) in inactive {
                    if from > until {
                        b = b.deactivated(h(from)).reactivated(h(from + len));
                        until = from + len;
                    }
                }
                let mut changes = default_changes;
                changes.sort_by_key(|c| c.0);
                for (at, dur) in changes {
                    b = b.default_changes(
                        h(at),
                        Policy {
                            auto_lock_after: dur,
                            approval: a0,
                        },
                    );
                }
                for (i, (start, brk, mut overrides)) in paths.into_iter().enumerate() {
                    let memberships = match brk {
                        Some((end, gap)) if end > start => {
                            vec![span(h(start), Some(h(end))), span(h(end + gap), None)]
                        }
                        _ => vec![span(h(start), None)],
                    };
                    let mut g = grant(&format!("grant{i}"), h(0));
                    overrides.sort_by_key(|o| o.0);
                    for (at, value) in overrides {
                        g.overrides.push(Timed {
                            at: h(at),
                            value: PolicyOverride {
                                auto_lock_after: value,
                                approval: None,
                            },
                        });
                    }
                    b = b.path(&format!("g{i}"), memberships, vec![g]);
                }
                for (start, len, early, scope) in exemptions {
                    b = if scope == 2 {
                        b.exempt_right(h(start), h(start + len))
                    } else {
                        b.exempt_grant(&format!("grant{scope}"), h(start), h(start + len))
                    };
                    if let Some(early) = early {
                        b.facts.exemptions.last_mut().unwrap().ended_at = Some(h(start + early));
                    }
                }
                let mut silences = silences;
                silences.sort_by_key(|s| s.0);
                let mut free_from = i64::MIN;
                let n = silences.len();
                for (i, (start, len)) in silences.into_iter().enumerate() {
                    if start <= free_from {
                        continue;
                    }
                    let end = (!(last_open && i + 1 == n)).then(|| h(start + len));
                    b = b.silence(h(start), end);
                    free_from = start + len;
                    if end.is_none() {
                        break;
                    }
                }
                b.build()
            },
        )
}

/// An independent reading of docs/semantics.md §2.1-§2.5 and §2.9 by scanning hour by hour: the
/// first whole hour after `la` at which the user has a path and none is open.
fn brute_force_next_lock(f: &RightFacts, la: Option<Timestamp>, horizon: i64) -> Option<Timestamp> {
    let mut since: Vec<Option<(Timestamp, AutoLockAfter)>> = vec![None; f.paths.len()];
    let exempt = |grant: &autolock_core::ids::GrantId, t: Timestamp| {
        f.exemptions.iter().any(|e| {
            let end = e.ended_at.unwrap_or(e.until).min(e.until);
            (e.user.is_some() || e.grant.as_ref() == Some(grant)) && e.start <= t && t < end
        })
    };
    for hour in 0..=horizon {
        let t = h(hour);
        let default = value_at(&f.resource_policy, t).unwrap();
        let mut any = false;
        let mut all_closed = true;
        for (i, p) in f.paths.iter().enumerate() {
            let grant = &p.grants[0];
            let in_force = p.memberships.iter().any(|m| m.contains(t)) && grant.gives_access_at(t);
            if !in_force {
                since[i] = None;
                continue;
            }
            let d = grant.override_at(t).over(default).auto_lock_after;
            // Facts recorded at `t` itself apply in the order they were recorded: a span that
            // ended at `t` and came back at `t`, an exemption that ended at `t`, or a duration
            // that took another value on the way, all start a new `since` at `t`.
            let ended_exemption = f.exemptions.iter().any(|e| {
                let end = e.ended_at.unwrap_or(e.until).min(e.until);
                (e.user.is_some() || e.grant.as_ref() == Some(&grant.id))
                    && e.start <= t
                    && end == t
            });
            let broken = p
                .memberships
                .iter()
                .any(|m| m.end == Some(t) && m.start < t);
            let durations_at_t: Vec<AutoLockAfter> = grant
                .overrides
                .iter()
                .filter(|o| o.at == t)
                .map(|o| o.value.over(default).auto_lock_after)
                .chain(
                    f.resource_policy
                        .iter()
                        .filter(|x| x.at == t)
                        .map(|x| grant.override_at(t).over(x.value).auto_lock_after),
                )
                .collect();
            let s = match since[i] {
                Some((s, prev))
                    if prev == d
                        && !ended_exemption
                        && !broken
                        && durations_at_t.iter().all(|x| *x == prev) =>
                {
                    s
                }
                _ => t,
            };
            since[i] = Some((s, d));
            any = true;
            let start = la.map_or(s, |la| la.max(s));
            // Counted time: the wall time since `start` less the silences within it.
            let silent: chrono::Duration = f
                .silences
                .iter()
                .map(|x| {
                    let from = x.start.max(start);
                    let to = x.end.map_or(t, |e| e.min(t));
                    (to - from).max(chrono::Duration::zero())
                })
                .sum();
            if exempt(&grant.id, t) || d.duration().is_none_or(|dd| (t - start) - silent < dd) {
                all_closed = false;
            }
        }
        if any && all_closed && la.is_none_or(|la| t > la) {
            return Some(t);
        }
    }
    None
}

fn right_exemption(start: Timestamp, until: Timestamp) -> autolock_core::exemption::Exemption {
    let mut e = exemption(start, until);
    e.user = Some(autolock_core::ids::UserId::parse("u").unwrap());
    e
}

fn lock_instant(right: &Right, usage: &Usage) -> Option<Timestamp> {
    right.timeline.next_lock(usage.last_activity())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn the_lock_instant_matches_an_hour_by_hour_reading(f in scenario(), la in proptest::option::of(0i64..60)) {
        let right = Right::new(f.clone());
        let la = la.map(h);
        let expected = brute_force_next_lock(&f, la, 200);
        let got = right.timeline.next_lock(la).filter(|l| *l <= h(200));
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn the_lock_happens_at_the_boundary_second_and_not_one_second_before(f in scenario(), la in 0i64..60) {
        let right = Right::new(f.clone());
        let usage = Usage { last_access: Some(h(la)), ..Usage::default() };
        if let Some(l) = lock_instant(&right, &usage) {
            let at = right.state(&usage, l);
            prop_assert_eq!(at.locked_at(), Some(l));
            let before = right.state(&usage, l - SECOND);
            prop_assert!(!matches!(before, RightState::Locked { .. }), "locked one second early: {:?}", before);
        }
    }

    #[test]
    fn any_permutation_and_duplication_of_events_gives_the_same_final_state(
        f in scenario(),
        hours in proptest::collection::vec(17i64..=40, 1..8),
        order in any::<proptest::sample::Index>(),
        dupes in proptest::collection::vec(any::<proptest::sample::Index>(), 0..4),
        delays in proptest::collection::vec(0i64..=50, 12),
    ) {
        let right = Right::new(f.clone());
        let end = h(40) + chrono::Duration::minutes(60);
        let events: Vec<_> = hours.iter().enumerate().map(|(i, x)| event(&format!("e{i}"), h(*x))).collect();
        let start = Usage { last_access: Some(h(0)), ..Usage::default() };

        let mut sorted = events.clone();
        sorted.sort_by_key(|e| e.accessed_at);
        let mut shuffled = events.clone();
        let n = shuffled.len();
        shuffled.rotate_left(order.index(n));
        shuffled.reverse();
        for d in &dupes {
            let e = events[d.index(n)].clone();
            shuffled.insert(d.index(shuffled.len() + 1), e);
        }
        // In timestamp order, each event applied at its own instant; shuffled, each arrives
        // late (never more than 24 hours), at an arrival clock that only moves forward.
        let on_time: Vec<_> = sorted.iter().map(|e| (e.clone(), e.accessed_at)).collect();
        let mut clock = h(40);
        let late: Vec<_> = shuffled
            .iter()
            .zip(delays.iter().cycle())
            .map(|(e, d)| {
                clock = clock.max(e.accessed_at) + chrono::Duration::seconds(*d);
                (e.clone(), clock.min(end))
            })
            .collect();
        let (_, a) = apply_all(&right, start.clone(), &on_time);
        let (outcomes, b) = apply_all(&right, start, &late);
        let a = right.settle(&a, end).usage.unwrap_or(a);
        let b = right.settle(&b, end).usage.unwrap_or(b);
        prop_assert_eq!(a.last_access, b.last_access);
        prop_assert_eq!(a.lock, b.lock);
        prop_assert_eq!(right.state(&a, end), right.state(&b, end));

        // A re-delivery never contradicts the first answer: a counted event stays counted (or
        // answers duplicate), an attempt kept as denied answers duplicate.
        let mut first = std::collections::HashMap::new();
        for ((e, _), outcome) in late.iter().zip(&outcomes) {
            match first.get(&e.event_id) {
                None => {
                    first.insert(e.event_id.clone(), *outcome);
                }
                Some(EventOutcome::Counted) => prop_assert!(
                    matches!(outcome, EventOutcome::Counted | EventOutcome::Duplicate),
                    "{:?} counted, then answered {:?}", e, outcome
                ),
                Some(EventOutcome::Denied(DenyReason::Locked)) => {
                    prop_assert_eq!(*outcome, EventOutcome::Duplicate);
                }
                Some(other) => prop_assert_eq!(outcome, other),
            }
        }

        // And the result is the definition's: fold the events in timestamp order; an event
        // counts iff the user is active and holds an open path at its instant.
        let mut la = Some(h(0));
        for e in &sorted {
            let t = e.accessed_at;
            let lock = right.timeline.next_lock(la);
            if f.active_at(t) && !right.timeline.paths_at(t).is_empty() && lock.is_none_or(|l| t < l) {
                la = la.max(Some(t));
            }
        }
        prop_assert_eq!(a.last_activity(), la);
    }

    #[test]
    fn an_event_stamped_while_inactive_never_counts_and_one_stamped_while_active_always_can(
        f in scenario(), at in 0i64..60, now in 60i64..=60,
    ) {
        let right = Right::new(f.clone());
        let usage = Usage::default();
        let (outcome, effect) = right.apply_event(&usage, &event("e", h(at)), h(now).min(h(at) + chrono::Duration::hours(23)));
        if !f.active_at(h(at)) {
            prop_assert_eq!(outcome, EventOutcome::Denied(DenyReason::Inactive));
            prop_assert_eq!(effect.usage, None);
        } else {
            prop_assert_ne!(outcome, EventOutcome::Denied(DenyReason::Inactive));
        }
    }

    #[test]
    fn nothing_is_recorded_before_its_instant(
        f in scenario(), la in 0i64..40, ahead in 0i64..=300, now in 0i64..60,
    ) {
        let right = Right::new(f.clone());
        let now = h(now);
        let usage = Usage { last_access: Some(h(la).min(now)), ..Usage::default() };
        let (_, effect) = right.apply_event(&usage, &event("ahead", now + chrono::Duration::seconds(ahead)), now);
        if let Some(l) = effect.locked {
            prop_assert!(l <= now, "a lock at {} recorded at {}", l, now);
        }
        if let Some(u) = effect.usage {
            prop_assert!(u.lock.is_none_or(|l| l <= now));
        }
    }

    #[test]
    fn more_usage_never_makes_a_lock_come_sooner(
        f in scenario(),
        base in proptest::collection::vec(16i64..=40, 0..5),
        extra in proptest::collection::vec(16i64..=40, 1..5),
    ) {
        let right = Right::new(f.clone());
        let now = h(40);
        let start = Usage { last_access: Some(h(0)), ..Usage::default() };
        let evs = |hs: &[i64], tag: &str| hs.iter().enumerate().map(|(i, x)| (event(&format!("{tag}{i}"), h(*x)), now)).collect::<Vec<_>>();
        let (_, less) = apply_all(&right, start.clone(), &evs(&base, "b"));
        let mut all = evs(&base, "b");
        all.extend(evs(&extra, "x"));
        let (_, more) = apply_all(&right, start, &all);
        let l_less = lock_instant(&right, &less);
        let l_more = lock_instant(&right, &more);
        match (l_less, l_more) {
            (Some(a), Some(b)) => prop_assert!(b >= a, "lock {} came sooner than {}", b, a),
            (None, Some(b)) => prop_assert!(false, "more usage created a lock at {}", b),
            _ => {}
        }
    }

    #[test]
    fn policy_edits_and_new_paths_never_lift_a_lock(
        d0 in 24u32..=40,
        edits in proptest::collection::vec((1i64..50, duration()), 1..4),
        new_paths in proptest::collection::vec(1i64..50, 0..3),
    ) {
        let base = facts(manual("1d")).default_changes(h(0), Policy { auto_lock_after: AutoLockAfter::Hours(d0), approval: autolock_core::policy::ApprovalMode::Manual });
        let mut b = base.simple_path("g", h(0));
        let lock = h(i64::from(d0));
        let mut edits = edits;
        edits.sort_by_key(|e| e.0);
        for (after, dur) in edits {
            b = b.default_changes(lock + chrono::Duration::hours(after), Policy { auto_lock_after: dur, approval: autolock_core::policy::ApprovalMode::Manual });
        }
        for (i, after) in new_paths.into_iter().enumerate() {
            b = b.simple_path(&format!("new{i}"), lock + chrono::Duration::hours(after));
        }
        let f = b.build();
        let right = Right::new(f.clone());
        let usage = Usage::default();
        for hour in 0..120 {
            let t = lock + chrono::Duration::hours(hour);
            prop_assert_eq!(right.state(&usage, t).locked_at(), Some(lock), "at +{}h", hour);
        }
    }

    #[test]
    fn an_exemption_never_lifts_a_lock_in_force_and_no_lock_occurs_inside_one(
        f in scenario(), la in 0i64..40, start_after in 0i64..30, len in 1i64..60,
    ) {
        let usage = Usage { last_access: Some(h(la)), ..Usage::default() };
        // A lock in force before the exemption begins (one second or more) stays, at its instant.
        if let Some(lock) = lock_instant(&Right::new(f.clone()), &usage) {
            let mut later = f.clone();
            let start = lock + SECOND + chrono::Duration::hours(start_after);
            later.exemptions.push(right_exemption(start, start + chrono::Duration::hours(len)));
            let right = Right::new(later);
            for hour in [0, start_after, start_after + len / 2, start_after + len + 1] {
                let t = lock + chrono::Duration::hours(hour);
                prop_assert_eq!(right.lock_in_force(&usage, t), Some(lock), "at +{}h", hour);
            }
        }
        // An exemption of the right from before the last activity: no lock inside it, and none
        // sooner than the shortest duration after its end.
        let mut covered = f.clone();
        let (start, end) = (h(la), h(la + len));
        covered.exemptions.push(right_exemption(start, end));
        let right = Right::new(covered);
        if let Some(lock) = lock_instant(&right, &usage) {
            prop_assert!(lock >= end, "locked at {} inside the exemption ending {}", lock, end);
            // Every path then has a full duration from the end (or from a later change of it, or
            // a later start of the path): the scenarios' durations are a day at least.
            let day = chrono::Duration::hours(24);
            prop_assert!(lock >= end + day, "locked at {}, sooner than a day after {}", lock, end);
        }
    }

    #[test]
    fn no_lock_occurs_inside_a_silence_and_a_silence_never_brings_a_lock_sooner(
        f in scenario(), la in proptest::option::of(0i64..60),
    ) {
        let la = la.map(h);
        let right = Right::new(f.clone());
        let Some(lock) = right.timeline.next_lock(la) else { return Ok(()); };
        // Time passing inside a silence never locks: a lock inside one comes only with a path
        // that ends at that instant (a membership, grant or expiry), leaving paths already
        // closed before the silence.
        let path_ended = right
            .timeline
            .paths_at(lock - SECOND)
            .iter()
            .any(|p| !right.timeline.paths_at(lock).iter().any(|q| q.grant == p.grant));
        for s in &f.silences {
            prop_assert!(
                path_ended || !(s.start < lock && s.end.is_none_or(|e| lock < e)),
                "locked at {} inside the silence {:?}", lock, s
            );
        }
        let mut heard = f.clone();
        heard.silences.clear();
        if let Some(without) = Right::new(heard).timeline.next_lock(la) {
            prop_assert!(lock >= without, "a silence brought the lock from {} to {}", without, lock);
        }
    }

    #[test]
    fn a_shorter_duration_never_locks_anyone_sooner_than_the_new_duration_after_the_change(
        old in 48u32..=200, new in 24u32..=47, la in 0i64..40, change in 0i64..47,
    ) {
        let f = facts(Policy { auto_lock_after: AutoLockAfter::Hours(old), approval: autolock_core::policy::ApprovalMode::Manual })
            .simple_path("g", h(0))
            .default_changes(h(change), Policy { auto_lock_after: AutoLockAfter::Hours(new), approval: autolock_core::policy::ApprovalMode::Manual })
            .build();
        let right = Right::new(f.clone());
        let usage = Usage { last_access: Some(h(la)), ..Usage::default() };
        let l = lock_instant(&right, &usage).expect("a finite policy locks");
        let grace_end = h(change) + chrono::Duration::hours(i64::from(new));
        prop_assert!(l >= grace_end, "locked at {} before {}", l, grace_end);
    }

    #[test]
    fn a_late_counted_event_never_leaves_a_recorded_lock_that_it_disproved(
        f in scenario(), la in 0i64..16, late in 16i64..40, now in 40i64..=40,
    ) {
        let right = Right::new(f.clone());
        let start = Usage { last_access: Some(h(la)), ..Usage::default() };
        let settled = right.settle(&start, h(now)).usage.unwrap_or(start);
        let (outcome, effect) = right.apply_event(&settled, &event("late", h(late)), h(now));
        let after = effect.usage.unwrap_or_else(|| settled.clone());
        if outcome == EventOutcome::Counted {
            let expected = right.timeline.next_lock(after.last_activity()).filter(|l| *l <= h(now));
            prop_assert_eq!(after.lock, expected);
        }
    }
}
