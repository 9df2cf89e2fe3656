//! Domain events: what happened, one type per kind with a dotted name. Every change a use case
//! commits records its events; from each event come its audit entries (one mapping,
//! [`crate::audit::entries_of`]) and, for the kinds others act on, an outbox entry that the
//! relay publishes to the event bus (docs/architecture.md, "Data flow").

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::ids::{EventId, GrantId, GroupId, PrincipalId, RequestId, ResourceId, UserId};
use crate::lock::UnlockKind;
use crate::policy::{ApprovalMode, Policy, PolicyOverride};
use crate::request::AccessRequest;

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "detail")]
pub enum DomainEvent {
    /// A right locked.
    #[serde(rename = "access.locked")]
    AccessLocked {
        user: UserId,
        resource: ResourceId,
        /// The lock instant.
        locked_at: DateTime<Utc>,
        /// How the user gets back in.
        approval: ApprovalMode,
    },
    /// A lock was lifted by a person or a request.
    #[serde(rename = "access.unlocked")]
    AccessUnlocked {
        user: UserId,
        resource: ResourceId,
        /// When.
        at: DateTime<Utc>,
        /// Who: the admin, the approver, or the requester for an automatic request.
        by: PrincipalId,
        /// How.
        kind: UnlockKind,
        /// The instant of the lock lifted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lifted_lock: Option<DateTime<Utc>>,
    },
    /// A late access event proved a recorded lock wrong and lifted it (not published).
    #[serde(rename = "access.reverted")]
    AccessReverted {
        user: UserId,
        resource: ResourceId,
        /// The instant of the lock proved wrong.
        reverted_lock: DateTime<Utc>,
        /// The denied attempts that now count.
        recounted: Vec<EventId>,
    },
    /// An access event more than 24 hours late was not applied (not published).
    #[serde(rename = "event.late_ignored")]
    LateIgnored {
        user: UserId,
        resource: ResourceId,
        event_id: EventId,
        /// Its instant.
        accessed_at: DateTime<Utc>,
        /// The gateway that reported it.
        by: PrincipalId,
    },
    /// A request was filed (open or auto-approved).
    #[serde(rename = "request.created")]
    RequestCreated {
        /// The request as filed.
        request: AccessRequest,
    },
    /// A repeated submission changed an open request's reason (not published).
    #[serde(rename = "request.reason_updated")]
    RequestReasonUpdated {
        request: RequestId,
        /// Its requester.
        user: UserId,
        /// Its resource.
        resource: ResourceId,
    },
    /// A request was approved, denied, auto-approved or cancelled.
    #[serde(rename = "request.resolved")]
    RequestResolved {
        /// The request as resolved.
        request: AccessRequest,
    },
    /// A resource's default or a grant's override was set (at creation) or changed.
    #[serde(rename = "policy.changed")]
    PolicyChanged(Box<PolicyChange>),
    /// A right will lock soon unless used.
    #[serde(rename = "lock.warning")]
    LockWarning {
        user: UserId,
        resource: ResourceId,
        /// The lock instant.
        lock_at: DateTime<Utc>,
    },
    /// The webhook was set, replaced or removed (not published).
    #[serde(rename = "settings.webhook_changed")]
    WebhookChanged {
        /// The new URL, or `None` when removed.
        url: Option<String>,
        /// The admin.
        by: PrincipalId,
    },
    /// The usage feed fell silent: no access event arrived for the feed guard's window. Nothing
    /// locks until it is heard again; admins are alerted.
    #[serde(rename = "feed.silent")]
    FeedSilent {
        /// When the silence began (the window after the last arrival).
        since: DateTime<Utc>,
        /// The last arrival.
        last_heard: DateTime<Utc>,
    },
    /// The usage feed was heard again: the silence ended (not published).
    #[serde(rename = "feed.resumed")]
    FeedResumed {
        /// When the silence began.
        since: DateTime<Utc>,
        /// When it ended: the arrival that ended it.
        until: DateTime<Utc>,
    },
    /// An exemption was set, changed, ended early or ran out (not published).
    #[serde(rename = "exemption.changed")]
    ExemptionChanged {
        /// What happened to it.
        change: crate::exemption::ExemptionChange,
        /// The exemption after the change.
        exemption: Box<crate::exemption::Exemption>,
        /// Its end before a change of it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until_before: Option<DateTime<Utc>>,
        /// Who, unless it ran out.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<PrincipalId>,
    },
    /// A change of who may do what (not published): the directory — users, service principals,
    /// groups, memberships, resources, grants and their expiry — and sign-ins and sessions,
    /// with who made it and the values before and after.
    #[serde(rename = "directory.edited")]
    DirectoryEdited(Box<DirectoryEdit>),
    /// Someone asked for a sign-in link to this address (published, not audited): the
    /// notifier emails a link if the address is an active user's. The request is answered
    /// before anyone looks the address up, the same way and in the same time for any address.
    #[serde(rename = "signin.requested")]
    SignInRequested {
        /// The address as given.
        email: crate::values::Email,
        /// The console path to open after signing in.
        next: String,
    },
    /// The notification settings were replaced (not published).
    #[serde(rename = "settings.notifications_changed")]
    NotificationsChanged {
        /// Whether approvers are emailed.
        emails_enabled: bool,
        /// Which roles.
        email_roles: Vec<crate::values::Role>,
        /// The admin.
        by: PrincipalId,
    },
}

/// A policy set or changed: on a resource (its default) or on a grant (its override).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyChange {
    pub resource: ResourceId,
    /// The group, for a grant's override.
    pub group: Option<GroupId>,
    /// The grant, for a grant's override.
    pub grant: Option<GrantId>,
    /// The policy in effect before (`None` at creation).
    pub before: Option<Policy>,
    /// The policy in effect after.
    pub after: Policy,
    /// For a grant: the override before (`None` at creation).
    pub override_before: Option<PolicyOverride>,
    /// For a grant: the override after.
    pub override_after: Option<PolicyOverride>,
    /// Who.
    pub by: PrincipalId,
    /// When.
    pub at: DateTime<Utc>,
}

/// One change of who may do what, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryEdit {
    /// What happened.
    pub action: crate::audit::AuditAction,
    /// Who did it (`None`: autolock itself, or the first admin's bootstrap).
    pub by: Option<PrincipalId>,
    /// The user or service principal concerned.
    pub principal: Option<PrincipalId>,
    /// The resource concerned.
    pub resource: Option<ResourceId>,
    /// The group concerned.
    pub group: Option<GroupId>,
    /// The grant concerned.
    pub grant: Option<GrantId>,
    /// Before and after, and what else the action needs said.
    pub details: serde_json::Value,
}

impl DirectoryEdit {
    /// An edit of `action` by `by`, concerning nothing yet, with `details`.
    #[must_use]
    pub fn new(
        action: crate::audit::AuditAction,
        by: Option<&PrincipalId>,
        details: serde_json::Value,
    ) -> Self {
        Self {
            action,
            by: by.cloned(),
            principal: None,
            resource: None,
            group: None,
            grant: None,
            details,
        }
    }

    /// The same edit concerning the user or service principal `id`.
    #[must_use]
    pub fn principal(mut self, id: &PrincipalId) -> Self {
        self.principal = Some(id.clone());
        self
    }

    /// The same edit concerning the resource `id`.
    #[must_use]
    pub fn resource(mut self, id: &ResourceId) -> Self {
        self.resource = Some(id.clone());
        self
    }

    /// The same edit concerning the group `id`.
    #[must_use]
    pub fn group(mut self, id: &GroupId) -> Self {
        self.group = Some(id.clone());
        self
    }

    /// The same edit concerning the grant `id`.
    #[must_use]
    pub fn grant(mut self, id: &GrantId) -> Self {
        self.grant = Some(id.clone());
        self
    }

    /// As a domain event.
    #[must_use]
    pub fn event(self) -> DomainEvent {
        DomainEvent::DirectoryEdited(Box::new(self))
    }
}

impl DomainEvent {
    /// The dotted name, as `detail-type` on the bus and the audit action.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::AccessLocked { .. } => "access.locked",
            Self::AccessUnlocked { .. } => "access.unlocked",
            Self::AccessReverted { .. } => "access.reverted",
            Self::LateIgnored { .. } => "event.late_ignored",
            Self::RequestCreated { .. } => "request.created",
            Self::RequestReasonUpdated { .. } => "request.reason_updated",
            Self::RequestResolved { .. } => "request.resolved",
            Self::PolicyChanged(_) => "policy.changed",
            Self::LockWarning { .. } => "lock.warning",
            Self::WebhookChanged { .. } => "settings.webhook_changed",
            Self::NotificationsChanged { .. } => "settings.notifications_changed",
            Self::ExemptionChanged { .. } => "exemption.changed",
            Self::FeedSilent { .. } => "feed.silent",
            Self::FeedResumed { .. } => "feed.resumed",
            Self::DirectoryEdited(_) => "directory.edited",
            Self::SignInRequested { .. } => "signin.requested",
        }
    }

    /// Whether others act on it: then it goes to the outbox and the bus (docs/semantics.md,
    /// "Surfaces"); the others are recorded in the audit log only.
    #[must_use]
    pub fn is_published(&self) -> bool {
        matches!(
            self,
            Self::AccessLocked { .. }
                | Self::AccessUnlocked { .. }
                | Self::RequestCreated { .. }
                | Self::RequestResolved { .. }
                | Self::PolicyChanged(_)
                | Self::LockWarning { .. }
                | Self::FeedSilent { .. }
                | Self::SignInRequested { .. }
        )
    }
}

/// A domain event waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The id; an entry written twice with one id is kept once.
    pub id: String,
    /// When it was written.
    pub at: DateTime<Utc>,
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
