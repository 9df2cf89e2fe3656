//! Builders for the facts of one right, on a pinned timeline measured in hours from `T0`.
#![allow(dead_code)]

use autolock_core::Timestamp;
use autolock_core::directory::{Grant, PathFacts, RightFacts, Span, Timed};
use autolock_core::exemption::Exemption;
use autolock_core::ids::{EventId, ExemptionId, GrantId, GroupId, ResourceId, UserId};
use autolock_core::lock::{AccessEvent, EventOutcome, Right, Usage};
use autolock_core::policy::{ApprovalMode, AutoLockAfter, Policy, PolicyOverride};
use autolock_core::values::Reason;
use chrono::{DateTime, Duration};

/// The instant `hours` hours after 2026-01-01T00:00:00Z.
pub fn h(hours: i64) -> Timestamp {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap() + Duration::hours(hours)
}

/// `days` days after T0.
pub fn d(days: i64) -> Timestamp {
    h(days * 24)
}

pub const SECOND: Duration = Duration::seconds(1);

pub fn dur(text: &str) -> AutoLockAfter {
    AutoLockAfter::parse(text).unwrap()
}

pub fn policy(duration: &str, approval: ApprovalMode) -> Policy {
    Policy {
        auto_lock_after: dur(duration),
        approval,
    }
}

pub fn manual(duration: &str) -> Policy {
    policy(duration, ApprovalMode::Manual)
}

pub fn automatic(duration: &str) -> Policy {
    policy(duration, ApprovalMode::Automatic)
}

pub fn no_override() -> PolicyOverride {
    PolicyOverride::default()
}

pub fn override_duration(text: &str) -> PolicyOverride {
    PolicyOverride {
        auto_lock_after: Some(dur(text)),
        approval: None,
    }
}

/// A grant from `start`, never expiring, with no override.
pub fn grant(id: &str, start: Timestamp) -> Grant {
    Grant {
        id: GrantId::parse(id).unwrap(),
        group: GroupId::parse("g").unwrap(),
        resource: ResourceId::parse("r").unwrap(),
        span: Span::from(start),
        expiry: vec![Timed {
            at: start,
            value: None,
        }],
        overrides: vec![Timed {
            at: start,
            value: no_override(),
        }],
        revision: 0,
    }
}

pub struct FactsBuilder {
    pub facts: RightFacts,
}

/// Facts of user `u` on resource `r` whose default policy is `default` from T0.
pub fn facts(default: Policy) -> FactsBuilder {
    FactsBuilder {
        facts: RightFacts {
            user: UserId::parse("u").unwrap(),
            resource: ResourceId::parse("r").unwrap(),
            activity: vec![Timed {
                at: h(-100_000),
                value: true,
            }],
            resource_policy: vec![Timed {
                at: h(0),
                value: default,
            }],
            paths: Vec::new(),
            exemptions: Vec::new(),
            silences: Vec::new(),
        },
    }
}

impl FactsBuilder {
    /// A path through group `group`: memberships and grants as given.
    pub fn path(mut self, group: &str, memberships: Vec<Span>, grants: Vec<Grant>) -> Self {
        let group = GroupId::parse(group).unwrap();
        let grants = grants
            .into_iter()
            .map(|g| Grant {
                group: group.clone(),
                ..g
            })
            .collect();
        self.facts.paths.push(PathFacts {
            group,
            memberships,
            grants,
        });
        self
    }

    /// A path through `group`, member and granted from `start`, nothing else.
    pub fn simple_path(self, group: &str, start: Timestamp) -> Self {
        let id = format!("{group}-grant");
        self.path(group, vec![Span::from(start)], vec![grant(&id, start)])
    }

    /// The resource default changes at `at`.
    pub fn default_changes(mut self, at: Timestamp, to: Policy) -> Self {
        self.facts.resource_policy.push(Timed { at, value: to });
        self
    }

    /// The user is deactivated from before T0 on.
    pub fn inactive(self) -> Self {
        self.deactivated(h(-1))
    }

    /// The user is deactivated at `at`.
    pub fn deactivated(mut self, at: Timestamp) -> Self {
        self.facts.activity.push(Timed { at, value: false });
        self
    }

    /// The user is reactivated at `at`.
    pub fn reactivated(mut self, at: Timestamp) -> Self {
        self.facts.activity.push(Timed { at, value: true });
        self
    }

    /// An exemption of the right from `start` until `until`.
    pub fn exempt_right(mut self, start: Timestamp, until: Timestamp) -> Self {
        let mut e = exemption(start, until);
        e.user = Some(self.facts.user.clone());
        self.facts.exemptions.push(e);
        self
    }

    /// An exemption of the grant `grant` from `start` until `until`.
    pub fn exempt_grant(mut self, grant: &str, start: Timestamp, until: Timestamp) -> Self {
        let mut e = exemption(start, until);
        e.grant = Some(GrantId::parse(grant).unwrap());
        self.facts.exemptions.push(e);
        self
    }

    /// The feed is silent from `start` until `end` (or on, without one).
    pub fn silence(mut self, start: Timestamp, end: Option<Timestamp>) -> Self {
        self.facts.silences.push(Span { start, end });
        self
    }

    pub fn build(self) -> RightFacts {
        self.facts
    }
}

/// An exemption of nothing yet from `start` until `until`.
pub fn exemption(start: Timestamp, until: Timestamp) -> Exemption {
    Exemption {
        id: ExemptionId::generate(),
        resource: ResourceId::parse("r").unwrap(),
        user: None,
        grant: None,
        group: None,
        start,
        until,
        reason: Reason::parse("on call").unwrap(),
        created_by: UserId::parse("ada").unwrap(),
        ended_at: None,
        ended_by: None,
        closed: false,
        revision: 0,
    }
}

pub fn event(id: &str, at: Timestamp) -> AccessEvent {
    AccessEvent {
        event_id: EventId::parse(id).unwrap(),
        accessed_at: at,
    }
}

/// Applies events one after the other (each at its `now`), returning the outcomes and the final
/// usage.
pub fn apply_all(
    right: &Right,
    start: Usage,
    events: &[(AccessEvent, Timestamp)],
) -> (Vec<EventOutcome>, Usage) {
    let mut usage = start;
    let mut outcomes = Vec::new();
    for (e, now) in events {
        let (outcome, effect) = right.apply_event(&usage, e, *now);
        outcomes.push(outcome);
        if let Some(u) = effect.usage {
            usage = u;
        }
    }
    (outcomes, usage)
}

pub fn span(start: Timestamp, end: Option<Timestamp>) -> Span {
    Span { start, end }
}
