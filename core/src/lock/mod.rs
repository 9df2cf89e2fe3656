//! The lock rule (docs/semantics.md §2) as pure functions of the facts with their history, the usage of a
//! right (counted accesses, unlocks, recent denied attempts) and `now`.
//!
//! The state of a right at an instant depends only on the latest counted activity (access or
//! unlock) at or before it: from that instant on, the right is locked at the first instant `L`
//! at which the user holds at least one path and none of them is open, and stays locked until
//! the next unlock. Every function here computes `L` afresh from the facts, so a lock exists
//! from `L` whether or not anything has recorded it, and recording it never moves it.

mod right;
mod rules;
mod timeline;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::ids::{EventId, PrincipalId, RequestId};
use crate::policy::ApprovalMode;

pub use right::Right;
pub use rules::{Warning, coalesces, warning};
pub use timeline::{ActivePath, Timeline};

/// How late an access event may arrive and still be applied.
pub const LATENESS_WINDOW: Duration = Duration::hours(24);
/// How far in the future an event may be stamped before it is rejected.
pub const FUTURE_TOLERANCE: Duration = Duration::minutes(5);
/// How long denied attempts are kept so a revert can count them again.
pub const DENIED_RETENTION: Duration = Duration::hours(48);

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

/// The state of a right at an instant (docs/semantics.md §2.6). A deactivated user is denied with the reason
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DeniedAttempt {
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effect {
    /// The usage to write, or `None` when nothing changed.
    pub usage: Option<Usage>,
    /// A recorded lock (its instant) that a late counted event proved wrong and lifted.
    pub reverted: Option<DateTime<Utc>>,
    /// A lock recorded now (its instant), not recorded before.
    pub locked: Option<DateTime<Utc>>,
    /// Denied attempts that the revert made valid and that now count.
    pub recounted: Vec<EventId>,
    /// A lock (its instant) that an unlock had lifted already and that a late counted event
    /// proved wrong: audited as a revert, with the attempts it denied counted again; nothing
    /// else of the right changes (its open request, if any, waits on a later lock).
    pub reverted_lifted: Option<DateTime<Utc>>,
}
