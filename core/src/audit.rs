//! The audit log, category `access` (docs/semantics.md §5): who did
//! what to whom, and when. Entries are derived from domain events by one mapping,
//! [`entries_of`], so that no change can be committed without its entries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use serde_json::json;

use crate::Timestamp;
use crate::events::DomainEvent;
use crate::ids::{GrantId, GroupId, PrincipalId, RequestId, ResourceId, UserId};
use crate::request::{AccessRequest, RequestStatus};

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
    /// The webhook was set, replaced or removed.
    #[serde(rename = "settings.webhook_changed")]
    WebhookChanged,
    /// The notification settings were replaced.
    #[serde(rename = "settings.notifications_changed")]
    NotificationsChanged,
    /// The gate's settings were replaced.
    #[serde(rename = "settings.gate_changed")]
    GateSettingsChanged,
    /// How people sign in was changed.
    #[serde(rename = "settings.sign_in_changed")]
    SignInSettingsChanged,
    /// Slack was set, changed or removed.
    #[serde(rename = "settings.slack_changed")]
    SlackChanged,
    /// An exemption was set.
    #[serde(rename = "exemption.created")]
    ExemptionCreated,
    /// An exemption's end moved.
    #[serde(rename = "exemption.changed")]
    ExemptionChanged,
    /// An exemption was ended early.
    #[serde(rename = "exemption.ended")]
    ExemptionEnded,
    /// An exemption ran out.
    #[serde(rename = "exemption.expired")]
    ExemptionExpired,
    /// The usage feed fell silent: nothing locks until it is heard again.
    #[serde(rename = "feed.silence_began")]
    FeedSilenceBegan,
    /// The usage feed was heard again.
    #[serde(rename = "feed.silence_ended")]
    FeedSilenceEnded,
    /// A user was created.
    #[serde(rename = "user.created")]
    UserCreated,
    /// A user's email address changed.
    #[serde(rename = "user.email_changed")]
    UserEmailChanged,
    /// A user's display name changed.
    #[serde(rename = "user.name_changed")]
    UserNameChanged,
    /// A user's role changed.
    #[serde(rename = "user.role_changed")]
    UserRoleChanged,
    /// A user was deactivated.
    #[serde(rename = "user.deactivated")]
    UserDeactivated,
    /// A user was reactivated.
    #[serde(rename = "user.reactivated")]
    UserReactivated,
    /// A gateway's service principal was created.
    #[serde(rename = "service_principal.created")]
    ServicePrincipalCreated,
    /// A service principal was enabled again.
    #[serde(rename = "service_principal.enabled")]
    ServicePrincipalEnabled,
    /// A service principal was disabled.
    #[serde(rename = "service_principal.disabled")]
    ServicePrincipalDisabled,
    /// A group was created.
    #[serde(rename = "group.created")]
    GroupCreated,
    /// A group was renamed.
    #[serde(rename = "group.renamed")]
    GroupRenamed,
    /// A user joined a group.
    #[serde(rename = "membership.added")]
    MembershipAdded,
    /// A user left a group.
    #[serde(rename = "membership.removed")]
    MembershipRemoved,
    /// A group was given access to a resource.
    #[serde(rename = "grant.created")]
    GrantCreated,
    /// A group's access to a resource was removed.
    #[serde(rename = "grant.removed")]
    GrantRemoved,
    /// A grant's expiry was set, moved or cleared.
    #[serde(rename = "grant.expiry_changed")]
    GrantExpiryChanged,
    /// A resource was created.
    #[serde(rename = "resource.created")]
    ResourceCreated,
    /// Someone signed in to the console.
    #[serde(rename = "session.signed_in")]
    SignedIn,
    /// A user's console sessions were ended (signed out everywhere, by an admin).
    #[serde(rename = "session.ended")]
    SessionsEnded,
}

impl AuditAction {
    /// Every action.
    pub const ALL: [AuditAction; 39] = [
        Self::PolicyDurationChanged,
        Self::PolicyApprovalChanged,
        Self::Locked,
        Self::Unlocked,
        Self::Reverted,
        Self::LateIgnored,
        Self::RequestCreated,
        Self::RequestReasonUpdated,
        Self::RequestResolved,
        Self::WebhookChanged,
        Self::NotificationsChanged,
        Self::GateSettingsChanged,
        Self::SignInSettingsChanged,
        Self::SlackChanged,
        Self::ExemptionCreated,
        Self::ExemptionChanged,
        Self::ExemptionEnded,
        Self::ExemptionExpired,
        Self::FeedSilenceBegan,
        Self::FeedSilenceEnded,
        Self::UserCreated,
        Self::UserEmailChanged,
        Self::UserNameChanged,
        Self::UserRoleChanged,
        Self::UserDeactivated,
        Self::UserReactivated,
        Self::ServicePrincipalCreated,
        Self::ServicePrincipalEnabled,
        Self::ServicePrincipalDisabled,
        Self::GroupCreated,
        Self::GroupRenamed,
        Self::MembershipAdded,
        Self::MembershipRemoved,
        Self::GrantCreated,
        Self::GrantRemoved,
        Self::GrantExpiryChanged,
        Self::ResourceCreated,
        Self::SignedIn,
        Self::SessionsEnded,
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
            Self::WebhookChanged => "settings.webhook_changed",
            Self::NotificationsChanged => "settings.notifications_changed",
            Self::GateSettingsChanged => "settings.gate_changed",
            Self::SignInSettingsChanged => "settings.sign_in_changed",
            Self::SlackChanged => "settings.slack_changed",
            Self::ExemptionCreated => "exemption.created",
            Self::ExemptionChanged => "exemption.changed",
            Self::ExemptionEnded => "exemption.ended",
            Self::ExemptionExpired => "exemption.expired",
            Self::FeedSilenceBegan => "feed.silence_began",
            Self::FeedSilenceEnded => "feed.silence_ended",
            Self::UserCreated => "user.created",
            Self::UserEmailChanged => "user.email_changed",
            Self::UserNameChanged => "user.name_changed",
            Self::UserRoleChanged => "user.role_changed",
            Self::UserDeactivated => "user.deactivated",
            Self::UserReactivated => "user.reactivated",
            Self::ServicePrincipalCreated => "service_principal.created",
            Self::ServicePrincipalEnabled => "service_principal.enabled",
            Self::ServicePrincipalDisabled => "service_principal.disabled",
            Self::GroupCreated => "group.created",
            Self::GroupRenamed => "group.renamed",
            Self::MembershipAdded => "membership.added",
            Self::MembershipRemoved => "membership.removed",
            Self::GrantCreated => "grant.created",
            Self::GrantRemoved => "grant.removed",
            Self::GrantExpiryChanged => "grant.expiry_changed",
            Self::ResourceCreated => "resource.created",
            Self::SignedIn => "session.signed_in",
            Self::SessionsEnded => "session.ended",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

impl std::str::FromStr for AuditAction {
    type Err = crate::ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| {
            crate::ValidationError::new("action", format!("{s:?} is not an audit action"))
        })
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
        self.targets().contains(&target)
    }

    /// The ids the entry concerns (user, resource, group, grant, request), each once.
    #[must_use]
    pub fn targets(&self) -> Vec<&str> {
        let mut all: Vec<&str> = [
            self.user.as_ref().map(UserId::as_str),
            self.resource.as_ref().map(ResourceId::as_str),
            self.group.as_ref().map(GroupId::as_str),
            self.grant.as_ref().map(GrantId::as_str),
            self.request.as_ref().map(RequestId::as_str),
        ]
        .into_iter()
        .flatten()
        .collect();
        all.sort_unstable();
        all.dedup();
        all
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

/// The audit entries of a domain event recorded at `at`: the one mapping from what happened to
/// what the log keeps. A lock warning is not audited; a policy change gives one entry per field
/// whose value changed.
#[must_use]
pub fn entries_of(event: &DomainEvent, at: Timestamp) -> Vec<AuditEntry> {
    match event {
        DomainEvent::AccessLocked {
            user,
            resource,
            locked_at,
            approval,
        } => vec![
            entry(
                AuditAction::Locked,
                at,
                None,
                json!({"locked_at": locked_at, "approval": approval}),
            )
            .on_right(user, resource),
        ],
        DomainEvent::AccessUnlocked {
            user,
            resource,
            by,
            kind,
            lifted_lock,
            ..
        } => vec![
            entry(
                AuditAction::Unlocked,
                at,
                Some(by),
                json!({"kind": kind, "lifted_lock": lifted_lock}),
            )
            .on_right(user, resource),
        ],
        DomainEvent::AccessReverted {
            user,
            resource,
            reverted_lock,
            recounted,
        } => vec![
            entry(
                AuditAction::Reverted,
                at,
                None,
                json!({"reverted_lock": reverted_lock, "recounted_events": recounted}),
            )
            .on_right(user, resource),
        ],
        DomainEvent::LateIgnored {
            user,
            resource,
            event_id,
            accessed_at,
            by,
        } => {
            let details = json!({"event_id": event_id, "accessed_at": accessed_at});
            let mut e =
                entry(AuditAction::LateIgnored, at, Some(by), details).on_right(user, resource);
            // One entry per ignored event, however often it is delivered.
            e.id = format!("late_ignored:{user}:{resource}:{event_id}");
            vec![e]
        }
        DomainEvent::RequestCreated { request } => vec![request_created(request, at)],
        DomainEvent::RequestReasonUpdated {
            request,
            user,
            resource,
        } => {
            let mut e = entry(AuditAction::RequestReasonUpdated, at, Some(user), json!({}))
                .on_right(user, resource);
            e.request = Some(request.clone());
            vec![e]
        }
        DomainEvent::RequestResolved { request } => vec![request_resolved(request, at)],
        DomainEvent::PolicyChanged(change) => policy_entries(change, at),
        DomainEvent::FeedSilent { since, last_heard } => {
            let mut e = entry(
                AuditAction::FeedSilenceBegan,
                *since,
                None,
                json!({"since": since, "last_heard": last_heard}),
            );
            // It began at its instant, once, whoever noticed it.
            e.id = format!("feed_silent:{}", since.timestamp_micros());
            vec![e]
        }
        DomainEvent::FeedResumed { since, until } => vec![entry(
            AuditAction::FeedSilenceEnded,
            *until,
            None,
            json!({"since": since, "until": until}),
        )],
        DomainEvent::ExemptionChanged {
            change,
            exemption: x,
            until_before: before,
            by,
        } => vec![exemption_entry(*change, x, *before, by.as_ref(), at)],
        DomainEvent::LockWarning { .. } | DomainEvent::SignInRequested { .. } => Vec::new(),
        DomainEvent::WebhookChanged { url, by } => vec![entry(
            AuditAction::WebhookChanged,
            at,
            Some(by),
            json!({"url": url}),
        )],
        DomainEvent::NotificationsChanged {
            emails_enabled,
            email_roles,
            by,
        } => vec![entry(
            AuditAction::NotificationsChanged,
            at,
            Some(by),
            json!({"emails_enabled": emails_enabled, "email_roles": email_roles}),
        )],
        DomainEvent::DirectoryEdited(edit) => vec![directory_entry(edit, at)],
    }
}

/// A change of the directory, settings or sessions, with its before and after.
fn directory_entry(edit: &crate::events::DirectoryEdit, at: Timestamp) -> AuditEntry {
    let mut e = entry(edit.action, at, edit.by.as_ref(), edit.details.clone());
    e.user.clone_from(&edit.principal);
    e.resource.clone_from(&edit.resource);
    e.group.clone_from(&edit.group);
    e.grant.clone_from(&edit.grant);
    e
}

/// An entry of `action` at `at`, by `actor`, with `details`.
fn entry(
    action: AuditAction,
    at: Timestamp,
    actor: Option<&PrincipalId>,
    details: serde_json::Value,
) -> AuditEntry {
    let mut e = AuditEntry::new(action, at, actor.cloned());
    e.details = details;
    e
}

impl AuditEntry {
    /// The same entry, concerning `user`'s right on `resource`.
    fn on_right(mut self, user: &UserId, resource: &ResourceId) -> Self {
        self.user = Some(user.clone());
        self.resource = Some(resource.clone());
        self
    }
}

/// A request filed.
fn request_created(request: &AccessRequest, at: Timestamp) -> AuditEntry {
    let mut e = entry(
        AuditAction::RequestCreated,
        at,
        Some(&request.user),
        json!({"status": request.status}),
    )
    .on_right(&request.user, &request.resource);
    e.request = Some(request.id.clone());
    e
}

/// A request resolved: approved, denied, automatically approved or cancelled (a cancellation
/// takes the instant that caused it).
fn request_resolved(request: &AccessRequest, at: Timestamp) -> AuditEntry {
    let details = match request.cancel_reason {
        Some(reason) if request.status == RequestStatus::Cancelled => {
            json!({"status": request.status, "cancel_reason": reason})
        }
        _ => json!({"status": request.status}),
    };
    let mut e = entry(
        AuditAction::RequestResolved,
        request.resolved_at.unwrap_or(at),
        request.resolved_by.as_ref(),
        details,
    )
    .on_right(&request.user, &request.resource);
    e.request = Some(request.id.clone());
    e
}

/// An exemption created, moved, ended or run out (at the instant it ran out, once).
fn exemption_entry(
    change: crate::exemption::ExemptionChange,
    x: &crate::exemption::Exemption,
    until_before: Option<Timestamp>,
    by: Option<&PrincipalId>,
    at: Timestamp,
) -> AuditEntry {
    use crate::exemption::ExemptionChange;
    let action = match change {
        ExemptionChange::Created => AuditAction::ExemptionCreated,
        ExemptionChange::Changed => AuditAction::ExemptionChanged,
        ExemptionChange::Ended => AuditAction::ExemptionEnded,
        ExemptionChange::Expired => AuditAction::ExemptionExpired,
    };
    let mut details = json!({
        "exemption_id": x.id,
        "covers": x.scope_name(),
        "until": x.until,
        "reason": x.reason,
    });
    if let Some(before) = until_before {
        details["until_before"] = json!(before);
    }
    let mut e = entry(action, at, by, details);
    e.user.clone_from(&x.user);
    e.resource = Some(x.resource.clone());
    e.group.clone_from(&x.group);
    e.grant.clone_from(&x.grant);
    if change == ExemptionChange::Expired {
        e.at = x.end();
        e.id = format!("exemption_expired:{}", x.id);
    }
    e
}

/// One entry per policy field whose value changed: for a resource its default, for a grant its
/// override (with the effective values beside it).
fn policy_entries(c: &crate::events::PolicyChange, at: Timestamp) -> Vec<AuditEntry> {
    let mut out = Vec::new();
    let fields = [
        (
            AuditAction::PolicyDurationChanged,
            c.before.map(|p| json!(p.auto_lock_after)),
            json!(c.after.auto_lock_after),
            c.override_before.map(|o| json!(o.auto_lock_after)),
            c.override_after.map(|o| json!(o.auto_lock_after)),
        ),
        (
            AuditAction::PolicyApprovalChanged,
            c.before.map(|p| json!(p.approval)),
            json!(c.after.approval),
            c.override_before.map(|o| json!(o.approval)),
            c.override_after.map(|o| json!(o.approval)),
        ),
    ];
    for (action, before, after, o_before, o_after) in fields {
        let before = before.unwrap_or(serde_json::Value::Null);
        let details = match (&c.grant, o_after) {
            // A grant: its override field, set or inherited, and the policy in effect.
            (Some(_), Some(o_after)) => {
                let o_before = o_before.unwrap_or(serde_json::Value::Null);
                if o_before == o_after {
                    continue;
                }
                json!({"before": o_before, "after": o_after,
                       "effective_before": before, "effective_after": after})
            }
            _ => {
                if before == after {
                    continue;
                }
                json!({"before": before, "after": after})
            }
        };
        let mut e = AuditEntry::new(action, at, Some(c.by.clone()));
        e.details = details;
        e.resource = Some(c.resource.clone());
        e.group.clone_from(&c.group);
        e.grant.clone_from(&c.grant);
        out.push(e);
    }
    out
}

/// The columns of the audit log as CSV, in order.
pub const AUDIT_CSV_HEADER: [&str; 11] = [
    "id", "at", "category", "action", "actor", "user", "resource", "group", "grant", "request",
    "details",
];

impl AuditEntry {
    /// The entry as a CSV record (RFC 4180), in [`AUDIT_CSV_HEADER`] order.
    #[must_use]
    pub fn to_csv(&self) -> String {
        let at = self.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let opt = |v: Option<String>| v.unwrap_or_default();
        let (actor, user, resource, group, grant, request) = (
            opt(self.actor.as_ref().map(ToString::to_string)),
            opt(self.user.as_ref().map(ToString::to_string)),
            opt(self.resource.as_ref().map(ToString::to_string)),
            opt(self.group.as_ref().map(ToString::to_string)),
            opt(self.grant.as_ref().map(ToString::to_string)),
            opt(self.request.as_ref().map(ToString::to_string)),
        );
        let details = self.details.to_string();
        crate::report::csv_record([
            self.id.as_str(),
            &at,
            &self.category,
            self.action.as_str(),
            &actor,
            &user,
            &resource,
            &group,
            &grant,
            &request,
            &details,
        ])
    }
}
