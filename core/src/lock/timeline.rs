//! The paths of one right over time, built once from its facts (docs/semantics.md §2.1-§2.2,
//! §2.9): which paths are in force in each segment between instants at which a fact changed,
//! each with its effective policy, its `since` and the exemption that keeps it open, and from
//! them the first instant at which the user holds a path and none is open (the lock instant).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::DenyReason;
use crate::Timestamp;
use crate::directory::{RightFacts, Span, value_at};
use crate::ids::{GrantId, GroupId};
use crate::policy::{AutoLockAfter, Policy};

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
    /// The end of the exemption that keeps the path open, while one is in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exempt_until: Option<DateTime<Utc>>,
}

impl ActivePath {
    /// The instant this path closes given the last activity and the feed's silences, or `None`
    /// when it never does under the facts known (an exempt path does not close while its
    /// exemption lasts: a later segment takes over; nothing closes in a silence going on).
    #[must_use]
    pub fn closes_at(
        &self,
        last_activity: Option<Timestamp>,
        silences: &[Span],
    ) -> Option<Timestamp> {
        if self.exempt_until.is_some() {
            return None;
        }
        let start = last_activity.map_or(self.since, |la| la.max(self.since));
        counted(start, self.policy.auto_lock_after.duration()?, silences)
    }
}

/// The instant at which `duration` of counted time has passed since `start`, the time inside
/// `silences` (ordered, disjoint) not counting (docs/semantics.md §2.10); `None` when a silence
/// going on begins first.
#[must_use]
pub fn counted(
    start: Timestamp,
    duration: chrono::Duration,
    silences: &[Span],
) -> Option<Timestamp> {
    let (mut at, mut left) = (start, duration);
    for s in silences {
        if s.end.is_some_and(|e| e <= at) {
            continue;
        }
        let from = s.start.max(at);
        if from >= at + left {
            break;
        }
        left -= from - at;
        at = s.end?;
    }
    Some(at + left)
}

#[derive(Debug, Clone)]
struct Segment {
    start: DateTime<Utc>,
    paths: Vec<ActivePath>,
    last_end_by_expiry: bool,
}

/// Whether a path in force before `at` and at `at` starts a new `since` at `at` through facts
/// recorded at `at` itself (docs/semantics.md §2.2, in the order they were recorded): its
/// membership or grant ended and came back, its expiry was reached and renewed, an exemption of
/// it ended, or its effective duration took another value than `before` on the way.
fn restarts_at(
    facts: &RightFacts,
    path: &crate::directory::PathFacts,
    grant: &crate::directory::Grant,
    default: Policy,
    before: AutoLockAfter,
    at: Timestamp,
) -> bool {
    let ended_here = |span: &Span| span.end == Some(at) && span.start < at;
    if path.memberships.iter().any(ended_here) || path.grants.iter().any(|g| ended_here(&g.span)) {
        return true;
    }
    if grant.expiry.iter().any(|e| e.at == at)
        && value_at(
            &grant.expiry[..grant.expiry.partition_point(|e| e.at < at)],
            at,
        )
        .flatten()
        .is_some_and(|e| e <= at)
    {
        return true;
    }
    if facts
        .exemptions
        .iter()
        .any(|e| e.covers(&grant.id) && e.start <= at && e.end() == at)
    {
        return true;
    }
    let overridden = grant.override_at(at);
    grant
        .overrides
        .iter()
        .filter(|o| o.at == at)
        .map(|o| o.value.over(default).auto_lock_after)
        .chain(
            facts
                .resource_policy
                .iter()
                .filter(|p| p.at == at)
                .map(|p| overridden.over(p.value).auto_lock_after),
        )
        .any(|d| d != before)
}

/// The paths of one right over time: piecewise constant between the instants at which a fact
/// changed. Built once from the facts, then queried.
#[derive(Debug, Clone)]
pub struct Timeline {
    segments: Vec<Segment>,
    silences: Vec<Span>,
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
        for e in &facts.exemptions {
            points.push(e.start);
            points.push(e.end());
        }
        points.sort_unstable();
        points.dedup();

        // Per path: the `since`, duration and exemption of the previous segment while it was in
        // force.
        let mut previous: Vec<Option<(Timestamp, AutoLockAfter, bool)>> =
            vec![None; facts.paths.len()];
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
                    let exempt_until = facts
                        .exemptions
                        .iter()
                        .filter(|e| e.covers(&grant.id) && e.in_force_at(at))
                        .map(crate::exemption::Exemption::end)
                        .max();
                    // An exemption that ended moves the path's `since` to its end (§2.9); a
                    // span that ended and came back, or a duration that changed, at this very
                    // instant starts it again here (facts of one instant apply in the order they
                    // were recorded).
                    let since = match previous[i] {
                        Some((since, duration, was_exempt))
                            if duration == policy.auto_lock_after
                                && (!was_exempt || exempt_until.is_some())
                                && !restarts_at(facts, path, grant, default, duration, at) =>
                        {
                            since
                        }
                        _ => at,
                    };
                    previous[i] = Some((since, policy.auto_lock_after, exempt_until.is_some()));
                    paths.push(ActivePath {
                        group: path.group.clone(),
                        grant: grant.id.clone(),
                        since,
                        policy,
                        exempt_until,
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
        let mut silences = facts.silences.clone();
        silences.sort_by_key(|s| s.start);
        Self { segments, silences }
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
    pub(crate) fn no_path_reason(&self, t: Timestamp) -> DenyReason {
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
        self.next_lock_under(last_activity, &self.silences)
    }

    /// [`Self::next_lock`] as if the feed were heard again now: the silence going on, if any,
    /// left out. Never later than the lock to come, so the sweep may look at the right then.
    #[must_use]
    pub fn next_lock_if_heard(&self, last_activity: Option<Timestamp>) -> Option<Timestamp> {
        match self.silences.last() {
            Some(open) if open.end.is_none() => {
                self.next_lock_under(last_activity, &self.silences[..self.silences.len() - 1])
            }
            _ => self.next_lock(last_activity),
        }
    }

    fn next_lock_under(
        &self,
        last_activity: Option<Timestamp>,
        silences: &[Span],
    ) -> Option<Timestamp> {
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
                match path.closes_at(last_activity, silences) {
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
