//! The audit log, category `access` (DESIGN §5): who did what to whom, and when.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::ids::{GrantId, GroupId, PrincipalId, RequestId, ResourceId, UserId};

/// What happened.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuditAction {
    /// A policy's auto-lock duration changed (resource default or grant override).
    #[serde(rename = "policy.duration_changed")]
    PolicyDurationChanged,
    /// A policy's approval method changed.
    #[serde(rename = "policy.approval_changed")]
    PolicyApprovalChanged,
    /// A right locked.
    #[serde(rename = "access.locked")]
    Locked,
    /// A lock was lifted by a person or a request.
    #[serde(rename = "access.unlocked")]
    Unlocked,
    /// A late access event proved a recorded lock wrong and lifted it.
    #[serde(rename = "access.reverted")]
    Reverted,
    /// An access event more than 24 h late was not applied.
    #[serde(rename = "event.late_ignored")]
    LateIgnored,
    /// A request was filed.
    #[serde(rename = "request.created")]
    RequestCreated,
    /// A repeated submission changed an open request's reason.
    #[serde(rename = "request.reason_updated")]
    RequestReasonUpdated,
    /// A request was approved, denied, auto-approved or cancelled.
    #[serde(rename = "request.resolved")]
    RequestResolved,
}

impl AuditAction {
    /// Every action.
    pub const ALL: [AuditAction; 9] = [
        Self::PolicyDurationChanged,
        Self::PolicyApprovalChanged,
        Self::Locked,
        Self::Unlocked,
        Self::Reverted,
        Self::LateIgnored,
        Self::RequestCreated,
        Self::RequestReasonUpdated,
        Self::RequestResolved,
    ];

    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PolicyDurationChanged => "policy.duration_changed",
            Self::PolicyApprovalChanged => "policy.approval_changed",
            Self::Locked => "access.locked",
            Self::Unlocked => "access.unlocked",
            Self::Reverted => "access.reverted",
            Self::LateIgnored => "event.late_ignored",
            Self::RequestCreated => "request.created",
            Self::RequestReasonUpdated => "request.reason_updated",
            Self::RequestResolved => "request.resolved",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// One audit entry. Entries keep who, what and when for good; they never hold a request's
/// reason text.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The id; an entry written twice with one id is kept once.
    pub id: String,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The category: always `access` here.
    pub category: String,
    /// What happened.
    pub action: AuditAction,
    /// Who did it; `None` for autolock itself (a lock, a revert).
    pub actor: Option<PrincipalId>,
    /// The user concerned.
    pub user: Option<UserId>,
    /// The resource concerned.
    pub resource: Option<ResourceId>,
    /// The group concerned.
    pub group: Option<GroupId>,
    /// The grant concerned.
    pub grant: Option<GrantId>,
    /// The request concerned.
    pub request: Option<RequestId>,
    /// Before and after, kinds, instants: what the action needs said.
    pub details: serde_json::Value,
}

impl AuditEntry {
    /// An entry of category `access` with a fresh id and no target yet.
    #[must_use]
    pub fn new(action: AuditAction, at: Timestamp, actor: Option<PrincipalId>) -> Self {
        Self {
            id: uuid::Uuid::new_v4().simple().to_string(),
            at,
            category: "access".to_owned(),
            action,
            actor,
            user: None,
            resource: None,
            group: None,
            grant: None,
            request: None,
            details: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    /// Whether any target of the entry has the id `target`.
    #[must_use]
    pub fn concerns(&self, target: &str) -> bool {
        self.user.as_ref().is_some_and(|x| x.as_str() == target)
            || self.resource.as_ref().is_some_and(|x| x.as_str() == target)
            || self.group.as_ref().is_some_and(|x| x.as_str() == target)
            || self.grant.as_ref().is_some_and(|x| x.as_str() == target)
            || self.request.as_ref().is_some_and(|x| x.as_str() == target)
    }
}

/// Which entries to list: every given criterion must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
    /// Done by.
    pub actor: Option<PrincipalId>,
    /// Concerning this id (user, resource, group, grant or request).
    pub target: Option<String>,
    /// Of this action.
    pub action: Option<AuditAction>,
}

impl AuditFilter {
    /// Whether `entry` passes the filter.
    #[must_use]
    pub fn matches(&self, entry: &AuditEntry) -> bool {
        self.from.is_none_or(|f| entry.at >= f)
            && self.to.is_none_or(|t| entry.at < t)
            && self
                .actor
                .as_ref()
                .is_none_or(|a| entry.actor.as_ref() == Some(a))
            && self.target.as_deref().is_none_or(|t| entry.concerns(t))
            && self.action.is_none_or(|a| entry.action == a)
    }
}
