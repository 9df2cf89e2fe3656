//! The lock rule's decisions on one right (docs/semantics.md §2.3-§2.8): its state
//! at an instant, why a gateway must deny, the lock in force, what an access event does, what
//! an unlock does, and when an open request is cancelled by the facts.

use super::{
    AccessEvent, DeniedAttempt, DenyReason, Effect, EventOutcome, FUTURE_TOLERANCE,
    LATENESS_WINDOW, RightState, SeenEvent, Timeline, UnlockKind, UnlockRecord, Usage,
};
use crate::Timestamp;
use crate::directory::RightFacts;
use crate::ids::PrincipalId;
use crate::policy::ApprovalMode;
use crate::request::CancelReason;

/// One right, its facts and its timeline, built once: the lock rule's entry point.
#[derive(Debug, Clone)]
pub struct Right {
    /// The facts it was built from.
    pub facts: RightFacts,
    /// The paths over time.
    pub timeline: Timeline,
}

impl Right {
    /// Builds the timeline of the right.
    #[must_use]
    pub fn new(facts: RightFacts) -> Self {
        let timeline = Timeline::build(&facts);
        Self { facts, timeline }
    }

    /// The state at `t`, for `t` at or after the usage's last activity (now, typically).
    /// Whether the user is active does not change it (see [`Self::deny_reason`]).
    #[must_use]
    pub fn state(&self, usage: &Usage, t: Timestamp) -> RightState {
        let paths = self.timeline.paths_at(t);
        if paths.is_empty() {
            return match self.timeline.no_path_reason(t) {
                DenyReason::Expired => RightState::Expired,
                _ => RightState::NoAccess,
            };
        }
        match self.lock_in_force(usage, t) {
            Some(locked_at) => RightState::Locked {
                locked_at,
                approval: self.approval_at(t),
            },
            None => RightState::Active {
                next_lock: self.timeline.next_lock(usage.last_activity()),
            },
        }
    }

    /// Why a gateway must refuse the user at `t` (docs/semantics.md §2.6): `inactive` whatever the state
    /// when the user is deactivated, else the state's reason; `None` when access is allowed.
    #[must_use]
    pub fn deny_reason(&self, state: &RightState, t: Timestamp) -> Option<DenyReason> {
        if !self.facts.active_at(t) {
            return Some(DenyReason::Inactive);
        }
        match state {
            RightState::Active { .. } => None,
            RightState::Locked { .. } => Some(DenyReason::Locked),
            RightState::NoAccess => Some(DenyReason::NoAccess),
            RightState::Expired => Some(DenyReason::Expired),
        }
    }

    /// How a locked user gets back in at `t`: `automatic` if any path in force is automatic,
    /// else `manual`.
    #[must_use]
    pub fn approval_at(&self, t: Timestamp) -> ApprovalMode {
        if self
            .timeline
            .paths_at(t)
            .iter()
            .any(|p| p.policy.approval == ApprovalMode::Automatic)
        {
            ApprovalMode::Automatic
        } else {
            ApprovalMode::Manual
        }
    }

    /// The lock in force at `t` (its instant), with or without a path at `t`: a lock kept
    /// while the user has no path is in force too (docs/semantics.md §2.5, §2.8).
    #[must_use]
    pub fn lock_in_force(&self, usage: &Usage, t: Timestamp) -> Option<Timestamp> {
        self.timeline
            .next_lock(usage.last_activity())
            .filter(|l| *l <= t)
    }

    /// When an open request filed at `filed` is cancelled by the facts, at or before `now`: the
    /// first instant after it at which the user holds no path, or is deactivated (docs/semantics.md §3).
    /// The cancellation takes that instant whether or not anything noticed it then.
    #[must_use]
    pub fn cancellation(
        &self,
        filed: Timestamp,
        now: Timestamp,
    ) -> Option<(CancelReason, Timestamp)> {
        let no_path = if self.timeline.paths_at(filed).is_empty() {
            Some(filed)
        } else {
            self.timeline.all_paths_end_after(filed)
        }
        .filter(|t| *t <= now)
        .map(|t| (CancelReason::NoPath, t));
        let deactivated = self
            .facts
            .deactivated_between(filed, now)
            .map(|t| (CancelReason::Deactivated, t));
        match (no_path, deactivated) {
            (Some(a), Some(b)) => Some(if a.1 < b.1 { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    /// When the sweep should look at this right next, given its usage after a change.
    #[must_use]
    pub fn next_due(&self, usage: &Usage, now: Timestamp) -> Option<Timestamp> {
        if usage.lock.is_some() {
            // Locked: only an open request needs watching, to cancel it when every path ends.
            return usage.open_request.as_ref().and_then(|_| {
                if self.timeline.paths_at(now).is_empty() {
                    Some(now)
                } else {
                    self.timeline.all_paths_end_after(now)
                }
            });
        }
        // In a silence going on nothing locks; the sweep looks again as if the feed were back.
        self.timeline.next_lock_if_heard(usage.last_activity())
    }

    /// When the sweep should look at this right next after a change from `before` to `next`:
    /// [`Self::next_due`], or the instant `before` kept when that is earlier and still ahead. A
    /// sweep that comes early finds nothing to do and reschedules the right then (its `now` is
    /// past the instant kept); an access that moved the instant later each time would move the
    /// right in the sweep's index each time (docs/architecture.md, "The sweep's index").
    #[must_use]
    pub fn reschedule(&self, before: &Usage, next: &Usage, now: Timestamp) -> Option<Timestamp> {
        let exact = self.next_due(next, now);
        match (before.next_due, exact) {
            (Some(kept), Some(exact)) if kept > now && kept <= exact => Some(kept),
            _ => exact,
        }
    }

    /// Records the lock if it has occurred by `now` and is not recorded, and reschedules: what
    /// the sweep and a decision do. Changes nothing when there is nothing to record.
    #[must_use]
    pub fn settle(&self, usage: &Usage, now: Timestamp) -> Effect {
        let mut next = usage.clone();
        let mut locked = None;
        if next.lock.is_none() {
            if let Some(l) = self.lock_in_force(&next, now) {
                next.lock = Some(l);
                locked = Some(l);
            }
        }
        next.next_due = self.reschedule(usage, &next, now);
        if next != *usage {
            next.prune(now);
        }
        Effect {
            usage: (next != *usage).then_some(next),
            reverted: None,
            locked,
            recounted: Vec::new(),
            reverted_lifted: None,
        }
    }

    /// Applies one access event (docs/semantics.md §2.7). The outcome depends only on the set of events
    /// applied, never on their arrival order; nothing (a lock, its audit entry) is recorded
    /// before its instant, even for an event stamped ahead of `now`.
    #[must_use]
    pub fn apply_event(
        &self,
        usage: &Usage,
        event: &AccessEvent,
        now: Timestamp,
    ) -> (EventOutcome, Effect) {
        let unchanged = |outcome| (outcome, Effect::default());
        let e = event.accessed_at;
        if e > now + FUTURE_TOLERANCE {
            return unchanged(EventOutcome::Future);
        }
        if e < now - LATENESS_WINDOW {
            return unchanged(EventOutcome::LateIgnored);
        }
        if usage.has_seen(&event.event_id) {
            return unchanged(EventOutcome::Duplicate);
        }
        if !self.facts.active_at(e) {
            return unchanged(EventOutcome::Denied(DenyReason::Inactive));
        }
        if self.timeline.paths_at(e).is_empty() {
            return unchanged(EventOutcome::Denied(self.timeline.no_path_reason(e)));
        }
        let la = usage.last_activity();
        if la.is_some_and(|la| e <= la) {
            return self.apply_older(usage, event, now);
        }
        if let Some(lock) = self.timeline.next_lock(la).filter(|l| *l <= e) {
            return self.apply_in_lock(usage, event, lock, now);
        }
        self.apply_counted(usage, event, now)
    }

    /// An event older than the last activity: it cannot move the lock. It was denied if it fell
    /// inside a lock that a later unlock lifted; otherwise it counts, and is the last access
    /// when it is later than the one recorded (an unlock came after it).
    fn apply_older(
        &self,
        usage: &Usage,
        event: &AccessEvent,
        now: Timestamp,
    ) -> (EventOutcome, Effect) {
        let e = event.accessed_at;
        let in_lifted_lock = usage
            .last_unlock
            .as_ref()
            .is_some_and(|u| u.lifted_lock <= e && e < u.at);
        if in_lifted_lock {
            return (EventOutcome::Denied(DenyReason::Locked), Effect::default());
        }
        if usage.last_access.is_some_and(|a| a >= e) {
            return (EventOutcome::Counted, Effect::default());
        }
        let mut next = usage.clone();
        next.last_access = Some(e);
        next.remember(event);
        let effect = self.revert_lifted(&mut next, e);
        next.prune(now);
        (
            EventOutcome::Counted,
            Effect {
                usage: Some(next),
                ..effect
            },
        )
    }

    /// An event at or after the lock that the last activity leads to: denied, kept as a denied
    /// attempt (a late event may prove the lock wrong and count it again), and the lock recorded
    /// when it is due and was not.
    fn apply_in_lock(
        &self,
        usage: &Usage,
        event: &AccessEvent,
        lock: Timestamp,
        now: Timestamp,
    ) -> (EventOutcome, Effect) {
        let mut next = usage.clone();
        let mut locked = None;
        if next.lock.is_none() && lock <= now {
            next.lock = Some(lock);
            locked = Some(lock);
        }
        next.denied.push(DeniedAttempt {
            event_id: event.event_id.clone(),
            at: event.accessed_at,
        });
        next.prune(now);
        next.next_due = self.reschedule(usage, &next, now);
        let usage = (next != *usage).then_some(next);
        (
            EventOutcome::Denied(DenyReason::Locked),
            Effect {
                usage,
                locked,
                ..Effect::default()
            },
        )
    }

    /// An event that counts: it moves the last activity, then the denied attempts that the lock
    /// they met no longer covers count again; a recorded lock it proves wrong is reverted.
    fn apply_counted(
        &self,
        usage: &Usage,
        event: &AccessEvent,
        now: Timestamp,
    ) -> (EventOutcome, Effect) {
        let e = event.accessed_at;
        let mut next = usage.clone();
        let mut la = e;
        let mut recounted = Vec::new();
        next.denied
            .sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.event_id.cmp(&b.event_id)));
        let mut still_denied = Vec::new();
        for attempt in std::mem::take(&mut next.denied) {
            let counts = attempt.at <= la || {
                let lock = self.timeline.next_lock(Some(la));
                lock.is_none_or(|l| attempt.at < l)
                    && !self.timeline.paths_at(attempt.at).is_empty()
                    && self.facts.active_at(attempt.at)
            };
            if !counts {
                still_denied.push(attempt);
                continue;
            }
            // At or before the new last activity it counts and changes nothing more; after it,
            // it moves the last activity on.
            if attempt.at < e {
                continue;
            }
            la = la.max(attempt.at);
            recounted.push(attempt.event_id.clone());
            next.seen.push(SeenEvent {
                event_id: attempt.event_id,
                at: attempt.at,
            });
        }
        next.denied = still_denied;
        next.remember(event);
        next.last_access = Some(la);
        next.prune(now);

        let new_lock = self.lock_in_force(&next, now);
        let mut reverted = None;
        let mut locked = None;
        match (usage.lock, new_lock) {
            (Some(old), Some(new)) if old == new => {}
            (Some(old), new) => {
                reverted = Some(old);
                locked = new;
            }
            (None, new) => locked = new,
        }
        next.lock = new_lock;
        next.next_due = self.reschedule(usage, &next, now);
        (
            EventOutcome::Counted,
            Effect {
                usage: Some(next),
                reverted,
                locked,
                recounted,
                reverted_lifted: None,
            },
        )
    }

    /// A late access at `e`, before the lock that the last unlock lifted and later than every
    /// access counted before it, may prove that lock wrong, although it is lifted already
    /// (docs/semantics.md §2.7: the outcome depends on the set of events, never on the order
    /// they arrive in). Then the attempts it denied before the unlock are counted again, as if
    /// the events had arrived in order, the last access moves to the latest of them, and the
    /// unlock's record says what the facts known say it lifted: the lock from the new last
    /// activity if it came before the unlock, else nothing (an empty span at the unlock).
    fn revert_lifted(&self, next: &mut Usage, e: Timestamp) -> Effect {
        let Some(unlock) = next.last_unlock.clone() else {
            return Effect::default();
        };
        if e >= unlock.lifted_lock
            || self
                .timeline
                .next_lock(Some(e))
                .is_some_and(|l| l <= unlock.lifted_lock)
        {
            return Effect::default();
        }
        let mut la = e;
        let mut recounted = Vec::new();
        next.denied
            .sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.event_id.cmp(&b.event_id)));
        let mut still_denied = Vec::new();
        for attempt in std::mem::take(&mut next.denied) {
            let counts = attempt.at < unlock.at
                && (attempt.at <= la || {
                    let lock = self.timeline.next_lock(Some(la));
                    lock.is_none_or(|l| attempt.at < l)
                        && !self.timeline.paths_at(attempt.at).is_empty()
                        && self.facts.active_at(attempt.at)
                });
            if !counts {
                still_denied.push(attempt);
                continue;
            }
            if attempt.at > la {
                la = attempt.at;
            }
            recounted.push(attempt.event_id.clone());
            next.seen.push(SeenEvent {
                event_id: attempt.event_id,
                at: attempt.at,
            });
        }
        next.denied = still_denied;
        next.last_access = next.last_access.max(Some(la));
        let lifted = self
            .timeline
            .next_lock(Some(la))
            .filter(|l| *l < unlock.at)
            .unwrap_or(unlock.at);
        for record in [&mut next.last_unlock, &mut next.last_person_unlock]
            .into_iter()
            .flatten()
        {
            if record.at == unlock.at && record.lifted_lock == unlock.lifted_lock {
                record.lifted_lock = lifted;
            }
        }
        Effect {
            recounted,
            reverted_lifted: Some(unlock.lifted_lock),
            ..Effect::default()
        }
    }

    /// Lifts the lock in force at `at` (docs/semantics.md §2.8), with or without a path at `at`. `None`
    /// when the right is not locked then.
    #[must_use]
    pub fn unlock(
        &self,
        usage: &Usage,
        at: Timestamp,
        by: PrincipalId,
        kind: UnlockKind,
    ) -> Option<Effect> {
        let locked_at = self.lock_in_force(usage, at)?;
        let record = UnlockRecord {
            at,
            by,
            kind,
            lifted_lock: locked_at,
        };
        let mut next = usage.clone();
        next.lock = None;
        // The attempts the lock denied are kept (48 hours): a late event may still prove the
        // lock wrong and count them (`revert_lifted`).
        if kind.by_a_person() {
            next.last_person_unlock = Some(record.clone());
        }
        next.last_unlock = Some(record);
        next.next_due = self.reschedule(usage, &next, at);
        Some(Effect {
            usage: Some(next),
            reverted: None,
            locked: usage.lock.is_none().then_some(locked_at),
            recounted: Vec::new(),
            reverted_lifted: None,
        })
    }
}
