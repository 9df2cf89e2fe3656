//! The lock rule (DESIGN §2) as pure functions of the facts with their history, the usage of a
//! right (counted accesses, unlocks, recent denied attempts) and `now`.
//!
//! The state of a right at an instant depends only on the latest counted activity (access or
//! unlock) at or before it: from that instant on, the right is locked at the first instant `L`
//! at which the user holds at least one path and none of them is open, and stays locked until
//! the next unlock. Every function here computes `L` afresh from the facts, so a lock exists
//! from `L` whether or not anything has recorded it, and recording it never moves it.

use chrono::Duration;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::directory::{RightFacts, value_at};
use crate::ids::{EventId, GrantId, GroupId, PrincipalId, RequestId};
use crate::policy::{ApprovalMode, AutoLockAfter, Policy};
use crate::request::CancelReason;

/// How late an access event may arrive and still be applied.
pub const LATENESS_WINDOW: Duration = Duration::hours(24);
/// How far in the future an event may be stamped before it is rejected.
pub const FUTURE_TOLERANCE: Duration = Duration::minutes(5);
/// How long denied attempts are kept so a revert can count them again.
pub const DENIED_RETENTION: Duration = Duration::hours(48);

/// One path of a right during a segment of time: the grant it goes through, its effective
/// policy and its `since`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivePath {
    /// The group the user holds the right through.
    pub group: GroupId,
    /// The grant in force.
    pub grant: GrantId,
    /// The later of the start of the path's unbroken span and the last change of its
    /// effective duration.
    pub since: DateTime<Utc>,
    /// The effective policy.
    pub policy: Policy,
}

impl ActivePath {
    /// The instant this path closes given the last activity, or `None` when it never does.
    #[must_use]
    pub fn closes_at(&self, last_activity: Option<Timestamp>) -> Option<Timestamp> {
        let start = last_activity.map_or(self.since, |la| la.max(self.since));
        self.policy.auto_lock_after.duration().map(|d| start + d)
    }
}

#[derive(Debug, Clone)]
struct Segment {
    start: DateTime<Utc>,
    paths: Vec<ActivePath>,
    last_end_by_expiry: bool,
}

/// The paths of one right over time: piecewise constant between the instants at which a fact
/// changed. Built once from the facts, then queried.
#[derive(Debug, Clone)]
pub struct Timeline {
    segments: Vec<Segment>,
}

impl Timeline {
    /// Builds the timeline of a right from its facts.
    #[must_use]
    pub fn build(facts: &RightFacts) -> Self {
        let mut points: Vec<Timestamp> = facts.resource_policy.iter().map(|p| p.at).collect();
        for path in &facts.paths {
            for m in &path.memberships {
                points.push(m.start);
                points.extend(m.end);
            }
            for g in &path.grants {
                points.push(g.span.start);
                points.extend(g.span.end);
                for e in &g.expiry {
                    points.push(e.at);
                    points.extend(e.value);
                }
                points.extend(g.overrides.iter().map(|o| o.at));
            }
        }
        points.sort_unstable();
        points.dedup();

        // Per path: the `since` and duration of the previous segment while it was in force.
        let mut previous: Vec<Option<(Timestamp, AutoLockAfter)>> = vec![None; facts.paths.len()];
        let mut last_end_by_expiry = false;
        let mut segments = Vec::with_capacity(points.len());
        for at in points {
            let default = value_at(&facts.resource_policy, at);
            let mut paths = Vec::new();
            let mut ended = false;
            let mut ended_by_expiry = false;
            for (i, path) in facts.paths.iter().enumerate() {
                let member = path.memberships.iter().any(|m| m.contains(at));
                let grant = path.grants.iter().rev().find(|g| g.span.contains(at));
                let in_force = match (member, grant, default) {
                    (true, Some(g), Some(default)) if g.gives_access_at(at) => Some((g, default)),
                    _ => None,
                };
                if let Some((grant, default)) = in_force {
                    let policy = grant.override_at(at).over(default);
                    let since = match previous[i] {
                        Some((since, duration)) if duration == policy.auto_lock_after => since,
                        _ => at,
                    };
                    previous[i] = Some((since, policy.auto_lock_after));
                    paths.push(ActivePath {
                        group: path.group.clone(),
                        grant: grant.id.clone(),
                        since,
                        policy,
                    });
                } else if previous[i].take().is_some() {
                    ended = true;
                    ended_by_expiry |= member && grant.is_some();
                }
            }
            if ended {
                last_end_by_expiry = ended_by_expiry;
            }
            segments.push(Segment {
                start: at,
                paths,
                last_end_by_expiry,
            });
        }
        Self { segments }
    }

    fn segment_index(&self, t: Timestamp) -> Option<usize> {
        self.segments
            .partition_point(|s| s.start <= t)
            .checked_sub(1)
    }

    /// The paths in force at `t`.
    #[must_use]
    pub fn paths_at(&self, t: Timestamp) -> &[ActivePath] {
        self.segment_index(t)
            .map_or(&[], |i| &self.segments[i].paths)
    }

    /// Why there is no path at `t` (meaningful only when [`Self::paths_at`] is empty).
    fn no_path_reason(&self, t: Timestamp) -> DenyReason {
        match self.segment_index(t) {
            Some(i) if self.segments[i].last_end_by_expiry => DenyReason::Expired,
            _ => DenyReason::NoAccess,
        }
    }

    /// The first instant after `last_activity` (or ever, without one) at which the user holds
    /// at least one path and none of them is open: the lock instant. `None` when no lock ever
    /// occurs under the facts known.
    #[must_use]
    pub fn next_lock(&self, last_activity: Option<Timestamp>) -> Option<Timestamp> {
        for (i, segment) in self.segments.iter().enumerate() {
            let end = self.segments.get(i + 1).map(|s| s.start);
            if let (Some(la), Some(end)) = (last_activity, end) {
                if end <= la {
                    continue;
                }
            }
            if segment.paths.is_empty() {
                continue;
            }
            let mut candidate = segment.start;
            let mut never = false;
            for path in &segment.paths {
                match path.closes_at(last_activity) {
                    Some(close) => candidate = candidate.max(close),
                    None => never = true,
                }
            }
            if never {
                continue;
            }
            if end.is_none_or(|e| candidate < e) {
                return Some(candidate);
            }
        }
        None
    }

    /// The first instant after `t` at which the user holds no path, if the facts known end
    /// every path.
    #[must_use]
    pub fn all_paths_end_after(&self, t: Timestamp) -> Option<Timestamp> {
        let from = self.segment_index(t).unwrap_or(0);
        self.segments[from..]
            .iter()
            .find(|s| s.start > t && s.paths.is_empty())
            .map(|s| s.start)
    }
}

/// Why an access is denied.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DenyReason {
    /// The right is locked.
    Locked,
    /// The user holds no path to the resource.
    NoAccess,
    /// The user's last path ended by its grant's expiry.
    Expired,
    /// The user is deactivated.
    Inactive,
}

impl DenyReason {
    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Locked => "locked",
            Self::NoAccess => "no_access",
            Self::Expired => "expired",
            Self::Inactive => "inactive",
        }
    }
}

/// The state of a right at an instant (DESIGN §2.6). A deactivated user is denied with the reason
/// [`DenyReason::Inactive`], but that is never a state: the right keeps its own.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RightState {
    /// The user may reach the resource. `next_lock` is when it locks without further use.
    Active {
        /// The lock instant if nothing happens in between.
        next_lock: Option<DateTime<Utc>>,
    },
    /// Locked since `locked_at`; getting back in goes by `approval`.
    Locked {
        /// The lock instant.
        locked_at: DateTime<Utc>,
        /// `automatic` if any current path is automatic, else `manual`.
        approval: ApprovalMode,
    },
    /// No path.
    NoAccess,
    /// No path, the last one having ended by its expiry.
    Expired,
}

impl RightState {
    /// The wire name of the state.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Active { .. } => "active",
            Self::Locked { .. } => "locked",
            Self::NoAccess => "no_access",
            Self::Expired => "expired",
        }
    }

    /// The lock instant when locked.
    #[must_use]
    pub fn locked_at(&self) -> Option<Timestamp> {
        match self {
            Self::Locked { locked_at, .. } => Some(*locked_at),
            _ => None,
        }
    }
}

/// How a lock was lifted by a person or a request.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnlockKind {
    /// An admin or DevOps admin unlocked the user.
    AdminUnlock,
    /// An approver approved the user's request.
    ApprovedRequest,
    /// The user stated a reason under automatic approval.
    AutomaticRequest,
}

impl UnlockKind {
    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AdminUnlock => "admin_unlock",
            Self::ApprovedRequest => "approved_request",
            Self::AutomaticRequest => "automatic_request",
        }
    }

    /// Whether a person (not the requester's own statement) lifted the lock.
    #[must_use]
    pub fn by_a_person(self) -> bool {
        !matches!(self, Self::AutomaticRequest)
    }
}

/// An unlock that happened.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlockRecord {
    /// When.
    pub at: DateTime<Utc>,
    /// Who: the admin, the approver, or the requester for an automatic request.
    pub by: PrincipalId,
    /// How.
    pub kind: UnlockKind,
    /// The lock instant of the lock it lifted.
    pub lifted_lock: DateTime<Utc>,
}

/// An access that was denied because the right was locked, kept for [`DENIED_RETENTION`] so that
/// a revert can count it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeniedAttempt {
    /// The event's id.
    pub event_id: EventId,
    /// When the access happened.
    pub at: DateTime<Utc>,
}

/// What autolock remembers of the use of one right.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// The latest counted access.
    pub last_access: Option<DateTime<Utc>>,
    /// The latest unlock.
    pub last_unlock: Option<UnlockRecord>,
    /// The latest unlock by a person (admin unlock or approved request), for reports.
    pub last_person_unlock: Option<UnlockRecord>,
    /// The lock in force as recorded (by the sweep, a decision, an event or a request).
    pub lock: Option<DateTime<Utc>>,
    /// Recent attempts denied by the lock in force.
    pub denied: Vec<DeniedAttempt>,
    /// When the sweep should look at this right next (a lock to record, a request to cancel).
    pub next_due: Option<DateTime<Utc>>,
    /// The open access request on this right, if any (at most one).
    pub open_request: Option<RequestId>,
    /// The lock instant the user was last warned of (at most one warning per lock instant).
    #[serde(default)]
    pub warned_for: Option<DateTime<Utc>>,
    /// Recent events that moved the last access, so that a re-delivery answers `duplicate`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<SeenEvent>,
}

/// An access event that counted and was written, remembered for [`LATENESS_WINDOW`] (at most
/// [`MAX_SEEN`] of them) so that a re-delivery answers `duplicate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenEvent {
    /// The event's id.
    pub event_id: EventId,
    /// When the access happened.
    pub at: DateTime<Utc>,
}

/// How many counted events a right remembers for duplicate detection.
pub const MAX_SEEN: usize = 256;
/// How many denied attempts a right keeps for a revert to count again.
pub const MAX_DENIED: usize = 256;

impl Usage {
    /// The latest counted activity: access or unlock.
    #[must_use]
    pub fn last_activity(&self) -> Option<Timestamp> {
        let unlock = self.last_unlock.as_ref().map(|u| u.at);
        self.last_access.max(unlock)
    }

    /// Whether an event with this id was applied already (counted, or kept as a denied
    /// attempt).
    #[must_use]
    pub fn has_seen(&self, id: &EventId) -> bool {
        self.seen.iter().any(|e| e.event_id == *id) || self.denied.iter().any(|d| d.event_id == *id)
    }

    fn remember(&mut self, event: &AccessEvent) {
        if !self.seen.iter().any(|e| e.event_id == event.event_id) {
            self.seen.push(SeenEvent {
                event_id: event.event_id.clone(),
                at: event.accessed_at,
            });
        }
    }

    /// Drops what is too old to matter at `now`, and keeps the lists bounded.
    fn prune(&mut self, now: Timestamp) {
        self.denied.retain(|d| d.at >= now - DENIED_RETENTION);
        if self.denied.len() > MAX_DENIED {
            self.denied.sort_by_key(|d| std::cmp::Reverse(d.at));
            self.denied.truncate(MAX_DENIED);
        }
        self.seen.retain(|e| e.at >= now - LATENESS_WINDOW);
        if self.seen.len() > MAX_SEEN {
            self.seen.sort_by_key(|e| std::cmp::Reverse(e.at));
            self.seen.truncate(MAX_SEEN);
        }
    }
}

/// An access reported by a gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessEvent {
    /// The gateway's id for the event; duplicates change nothing.
    pub event_id: EventId,
    /// When the access happened.
    pub accessed_at: DateTime<Utc>,
}

/// What an access event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "snake_case")]
pub enum EventOutcome {
    /// The access counted.
    Counted,
    /// The access was denied (and, when locked, kept as a denied attempt).
    Denied(DenyReason),
    /// An event with this id was applied already: nothing changes.
    Duplicate,
    /// More than 24 h late: not applied.
    LateIgnored,
    /// Stamped more than 5 minutes in the future: rejected.
    Future,
}

/// The effect of a change on one right: the new usage and what happened to its lock, for the
/// caller to write, audit and publish together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effect {
    /// The usage to write, or `None` when nothing changed.
    pub usage: Option<Usage>,
    /// A recorded lock (its instant) that a late counted event proved wrong and lifted.
    pub reverted: Option<DateTime<Utc>>,
    /// A lock recorded now (its instant), not recorded before.
    pub locked: Option<DateTime<Utc>>,
    /// Denied attempts that the revert made valid and that now count.
    pub recounted: Vec<EventId>,
}

/// One right, its facts and its timeline: the lock rule's entry point.
#[derive(Debug, Clone)]
pub struct Right<'a> {
    /// The facts it was built from.
    pub facts: &'a RightFacts,
    /// The paths over time.
    pub timeline: Timeline,
}

impl<'a> Right<'a> {
    /// Builds the timeline of the right.
    #[must_use]
    pub fn new(facts: &'a RightFacts) -> Self {
        Self {
            facts,
            timeline: Timeline::build(facts),
        }
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

    /// Why a gateway must refuse the user at `t` (DESIGN §2.6): `inactive` whatever the state
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
    /// while the user has no path is in force too (DESIGN §2.5, §2.8).
    #[must_use]
    pub fn lock_in_force(&self, usage: &Usage, t: Timestamp) -> Option<Timestamp> {
        self.timeline
            .next_lock(usage.last_activity())
            .filter(|l| *l <= t)
    }

    /// When an open request filed at `filed` is cancelled by the facts, at or before `now`: the
    /// first instant after it at which the user holds no path, or is deactivated (DESIGN §3).
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
        self.timeline.next_lock(usage.last_activity())
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
        next.next_due = self.next_due(&next, now);
        if next != *usage {
            next.prune(now);
        }
        Effect {
            usage: (next != *usage).then_some(next),
            reverted: None,
            locked,
            recounted: Vec::new(),
        }
    }

    /// Applies one access event (DESIGN §2.7). The outcome depends only on the set of events
    /// applied, never on their arrival order; nothing (a lock, its audit entry) is recorded
    /// before its instant, even for an event stamped ahead of `now`.
    #[must_use]
    pub fn apply_event(
        &self,
        usage: &Usage,
        event: &AccessEvent,
        now: Timestamp,
    ) -> (EventOutcome, Effect) {
        let unchanged = |outcome| {
            (
                outcome,
                Effect {
                    usage: None,
                    reverted: None,
                    locked: None,
                    recounted: Vec::new(),
                },
            )
        };
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
            // Older than the last activity: it cannot move the lock. It was denied if it fell
            // inside a lock that a later unlock lifted; otherwise it counts, and is the last
            // access when it is later than the one recorded (an unlock came after it).
            let in_lifted_lock = usage
                .last_unlock
                .as_ref()
                .is_some_and(|u| u.lifted_lock <= e && e < u.at);
            if in_lifted_lock {
                return unchanged(EventOutcome::Denied(DenyReason::Locked));
            }
            if usage.last_access.is_some_and(|a| a >= e) {
                return unchanged(EventOutcome::Counted);
            }
            let mut next = usage.clone();
            next.last_access = Some(e);
            next.remember(event);
            next.prune(now);
            return (
                EventOutcome::Counted,
                Effect {
                    usage: Some(next),
                    reverted: None,
                    locked: None,
                    recounted: Vec::new(),
                },
            );
        }
        if let Some(lock) = self.timeline.next_lock(la).filter(|l| *l <= e) {
            let mut next = usage.clone();
            let mut locked = None;
            if next.lock.is_none() && lock <= now {
                next.lock = Some(lock);
                locked = Some(lock);
            }
            next.denied.push(DeniedAttempt {
                event_id: event.event_id.clone(),
                at: e,
            });
            next.prune(now);
            next.next_due = self.next_due(&next, now);
            let usage = (next != *usage).then_some(next);
            return (
                EventOutcome::Denied(DenyReason::Locked),
                Effect {
                    usage,
                    reverted: None,
                    locked,
                    recounted: Vec::new(),
                },
            );
        }

        // It counts: move the last activity, then count again the denied attempts that the
        // lock they met no longer covers.
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
        next.next_due = self.next_due(&next, now);
        (
            EventOutcome::Counted,
            Effect {
                usage: Some(next),
                reverted,
                locked,
                recounted,
            },
        )
    }

    /// Lifts the lock in force at `at` (DESIGN §2.8), with or without a path at `at`. `None`
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
        next.denied.clear();
        if kind.by_a_person() {
            next.last_person_unlock = Some(record.clone());
        }
        next.last_unlock = Some(record);
        next.next_due = self.next_due(&next, at);
        Some(Effect {
            usage: Some(next),
            reverted: None,
            locked: usage.lock.is_none().then_some(locked_at),
            recounted: Vec::new(),
        })
    }
}
