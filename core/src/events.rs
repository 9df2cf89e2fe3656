//! Domain events (DESIGN §7), written to the outbox with the state change that caused them and
//! published to the event bus by the notifier.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::ids::{GrantId, PrincipalId, ResourceId, UserId};
use crate::lock::UnlockKind;
use crate::policy::{ApprovalMode, Policy};
use crate::request::AccessRequest;

/// Something that happened that others may act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "detail")]
pub enum DomainEvent {
    /// A right locked.
    #[serde(rename = "access.locked")]
    AccessLocked {
        /// The user.
        user: UserId,
        /// The resource.
        resource: ResourceId,
        /// The lock instant.
        locked_at: DateTime<Utc>,
        /// How the user gets back in.
        approval: ApprovalMode,
    },
    /// A lock was lifted.
    #[serde(rename = "access.unlocked")]
    AccessUnlocked {
        /// The user.
        user: UserId,
        /// The resource.
        resource: ResourceId,
        /// When.
        at: DateTime<Utc>,
        /// Who.
        by: PrincipalId,
        /// How.
        kind: UnlockKind,
    },
    /// A request was filed (open or auto-approved).
    #[serde(rename = "request.created")]
    RequestCreated {
        /// The request as filed.
        request: AccessRequest,
    },
    /// A request was resolved.
    #[serde(rename = "request.resolved")]
    RequestResolved {
        /// The request as resolved.
        request: AccessRequest,
    },
    /// A resource default or a grant's effective policy changed.
    #[serde(rename = "policy.changed")]
    PolicyChanged {
        /// The resource.
        resource: ResourceId,
        /// The grant, when an override changed.
        grant: Option<GrantId>,
        /// The policy before.
        before: Policy,
        /// The policy after.
        after: Policy,
        /// Who changed it.
        by: PrincipalId,
        /// When.
        at: DateTime<Utc>,
    },
    /// A right will lock soon unless used.
    #[serde(rename = "lock.warning")]
    LockWarning {
        /// The user.
        user: UserId,
        /// The resource.
        resource: ResourceId,
        /// The lock instant.
        lock_at: DateTime<Utc>,
    },
}

impl DomainEvent {
    /// The dotted name, as `detail-type` on the bus.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::AccessLocked { .. } => "access.locked",
            Self::AccessUnlocked { .. } => "access.unlocked",
            Self::RequestCreated { .. } => "request.created",
            Self::RequestResolved { .. } => "request.resolved",
            Self::PolicyChanged { .. } => "policy.changed",
            Self::LockWarning { .. } => "lock.warning",
        }
    }
}

/// A domain event waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The id; an entry written twice with one id is kept once.
    pub id: String,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// The event.
    pub event: DomainEvent,
}

impl OutboxEntry {
    /// An entry with a fresh id.
    #[must_use]
    pub fn new(event: DomainEvent, at: Timestamp) -> Self {
        Self {
            id: uuid::Uuid::new_v4().simple().to_string(),
            at,
            event,
        }
    }
}
