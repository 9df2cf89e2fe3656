//! The use cases. Each one checks who may do it, computes the change with the pure lock rule
//! and request state machine, and commits the state change together with its audit entries and
//! domain events, so that no caller can forget either. A commit that meets a concurrent change
//! is recomputed from a fresh read.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::Timestamp;
use crate::ValidationError;
use crate::audit::{AuditAction, AuditEntry};
use crate::directory::{
    Grant, Group, Principal, Resource, RightFacts, ServicePrincipal, Span, Timed, User,
};
use crate::error::{Conflict, Error, Result, StoreError};
use crate::events::{DomainEvent, OutboxEntry};
use crate::ids::{EventId, GrantId, GroupId, PrincipalId, RequestId, ResourceId, UserId};
use crate::lock::{
    AccessEvent, ActivePath, DenyReason, Effect, EventOutcome, Right, RightState, UnlockKind, Usage,
};
use crate::policy::{ApprovalMode, OverridePatch, Policy, PolicyOverride};
use crate::ports::{
    Changeset, ConsumedLink, DirectoryChange, RequestWrite, Store, UsageWrite, Versioned,
};
use crate::request::{
    AccessRequest, CancelReason, RequestStatus, Resolution, ResolveError, Verdict,
};
use crate::values::{Email, Name, Reason, Role};

const MAX_ATTEMPTS: usize = 8;

/// What an actor needs for a use case (DESIGN §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// Decisions and access events: gateways.
    Gateway,
    /// Own rights and requests: any user.
    OwnRights,
    /// All requests, the directory, rights of anyone, reports: approvers.
    Review,
    /// Policies, preview, unlock, audit log: admins and DevOps admins.
    Operate,
    /// Directory edits, settings, webhook deliveries: admins.
    Administer,
}

/// Checks that `actor` is active and holds `capability`.
pub fn require(actor: &Principal, capability: Capability) -> Result<()> {
    let allowed = actor.active
        && match capability {
            Capability::Gateway => actor.role == Role::Gateway,
            Capability::OwnRights => actor.role != Role::Gateway,
            Capability::Review => actor.role.is_approver(),
            Capability::Operate => actor.role.can_unlock(),
            Capability::Administer => actor.role.is_admin(),
        };
    if allowed {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "role {} may not do this",
            actor.role
        )))
    }
}

/// A proposed policy to preview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviewTarget {
    /// A new default for a resource.
    Resource(ResourceId, PolicyPatch),
    /// A new override for a grant.
    Grant(GrantId, OverridePatch),
}

/// One user's lock under a proposed policy.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviewLock {
    /// The user.
    pub user: UserId,
    /// When the right would lock under the proposal (without further use).
    pub lock_at: chrono::DateTime<chrono::Utc>,
    /// When it locks under the current policy.
    pub today: Option<chrono::DateTime<chrono::Utc>>,
}

/// What a proposed policy would do.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preview {
    /// The resource.
    pub resource: ResourceId,
    /// Who would lock at once: nobody, by the grace rule.
    pub lock_at_once: Vec<PreviewLock>,
    /// Why nobody locks at once.
    pub grace: &'static str,
    /// Who would lock within a day (without further use).
    pub within_1_day: Vec<PreviewLock>,
    /// Within 7 days.
    pub within_7_days: Vec<PreviewLock>,
    /// Within 30 days.
    pub within_30_days: Vec<PreviewLock>,
}

/// An auto-approved request, with its reason.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutoApproved {
    /// The request.
    pub request: RequestId,
    /// The requester.
    pub user: UserId,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Why.
    pub reason: String,
}

/// Analytics of a resource over a window.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Analytics {
    /// The resource.
    pub resource: ResourceId,
    /// The window's start.
    pub from: chrono::DateTime<chrono::Utc>,
    /// The window's end (excluded).
    pub to: chrono::DateTime<chrono::Utc>,
    /// Locks recorded in the window.
    pub locks: usize,
    /// Requests filed in the window, by status.
    pub requests_by_outcome: std::collections::BTreeMap<&'static str, usize>,
    /// The auto-approved ones, with reasons.
    pub auto_approved: Vec<AutoApproved>,
    /// Median seconds from filing to a person's approval or denial.
    pub median_seconds_to_resolution: Option<i64>,
}

/// What a report is taken from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportScope {
    /// Every right on a resource.
    Resource(ResourceId),
    /// Every right through a group.
    Group(GroupId),
    /// Every right of a user.
    User(UserId),
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The id; generated when absent.
    pub id: Option<UserId>,
    /// The address.
    pub email: Email,
    /// The name.
    pub display_name: Name,
    /// A user role (not `gateway`).
    pub role: Role,
}

/// A resource to create.
#[derive(Debug, Clone)]
pub struct NewResource {
    /// The id; generated when absent.
    pub id: Option<ResourceId>,
    /// The name.
    pub name: Name,
    /// Where it is reached.
    pub address: String,
    /// The default policy.
    pub policy: Policy,
}

/// A grant to create.
#[derive(Debug, Clone)]
pub struct NewGrant {
    /// The group.
    pub group: GroupId,
    /// The resource.
    pub resource: ResourceId,
    /// When it expires, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// Its override.
    pub policy_override: PolicyOverride,
}

pub use crate::policy::PolicyPatch;

/// One access event of a batch.
#[derive(Debug, Clone)]
pub struct EventInput {
    /// Who accessed.
    pub user: UserId,
    /// What.
    pub resource: ResourceId,
    /// The event.
    pub event: AccessEvent,
}

/// What became of one event, as a gateway reads it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventResultKind {
    /// The access counted.
    Counted,
    /// The access was denied (see the reason).
    Denied,
    /// The event was applied already: nothing changed.
    Duplicate,
    /// More than 24 hours late: not applied.
    LateIgnored,
    /// Stamped more than 5 minutes ahead: rejected.
    Future,
    /// The user or the resource does not exist.
    Unknown,
}

impl EventResultKind {
    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counted => "counted",
            Self::Denied => "denied",
            Self::Duplicate => "duplicate",
            Self::LateIgnored => "late_ignored",
            Self::Future => "future",
            Self::Unknown => "unknown",
        }
    }
}

/// What became of one event of a batch.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventResult {
    /// The event.
    pub event_id: EventId,
    /// What became of it.
    pub outcome: EventResultKind,
    /// Why it was denied or not applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// The recorded lock (its instant) that this event proved wrong and lifted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverted_lock: Option<DateTime<Utc>>,
}

impl EventResult {
    fn new(event_id: EventId, outcome: EventOutcome, reverted_lock: Option<Timestamp>) -> Self {
        let (outcome, reason) = match outcome {
            EventOutcome::Counted => (EventResultKind::Counted, None),
            EventOutcome::Denied(r) => (EventResultKind::Denied, Some(r.as_str())),
            EventOutcome::Duplicate => (EventResultKind::Duplicate, None),
            EventOutcome::LateIgnored => (
                EventResultKind::LateIgnored,
                Some("more than 24 hours late"),
            ),
            EventOutcome::Future => (
                EventResultKind::Future,
                Some("stamped more than 5 minutes in the future"),
            ),
        };
        Self {
            event_id,
            outcome,
            reason,
            reverted_lock,
        }
    }
}

/// A gateway's answer.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Whether the user may reach the resource now.
    pub allow: bool,
    /// The state of the right.
    pub state: RightState,
    /// Why not, when denied.
    pub reason: Option<DenyReason>,
}

/// One right as a user or an approver sees it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RightView {
    /// The user.
    pub user: UserId,
    /// The resource.
    pub resource: ResourceId,
    /// The state now.
    pub state: RightState,
    /// The paths in force now.
    pub paths: Vec<ActivePath>,
    /// The latest counted access.
    pub last_access: Option<DateTime<Utc>>,
    /// The open request, if any.
    pub open_request: Option<RequestId>,
}

/// What a sweep run did.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Rights looked at.
    pub examined: usize,
    /// Locks recorded.
    pub locked: usize,
    /// Requests cancelled (no path left, user deactivated).
    pub cancelled: usize,
}

/// A lifted lock: the right as it is now, and the lock instant lifted.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unlocked {
    /// The right after the unlock.
    #[serde(flatten)]
    pub right: RightView,
    /// The instant of the lock that was lifted.
    pub lifted_lock: DateTime<Utc>,
}

/// A user's membership of a group.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Membership {
    /// The group.
    pub group_id: GroupId,
    /// The member.
    pub user_id: UserId,
    /// When the current membership began.
    pub joined_at: DateTime<Utc>,
}

/// A filed request and whether it is new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filed {
    /// The request as stored.
    pub request: AccessRequest,
    /// False when a repeated submission returned the open request.
    pub created: bool,
}

/// The use cases over a store.
#[derive(Clone)]
pub struct Autolock {
    store: Arc<dyn Store>,
    coalesce: Option<chrono::Duration>,
    warn_before: Option<chrono::Duration>,
}

impl std::fmt::Debug for Autolock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Autolock").finish_non_exhaustive()
    }
}

/// The state of one right read for a change, and the changes that go with it.
struct Work {
    facts: RightFacts,
    version: u64,
    before: Usage,
    usage: Usage,
    changes: Changeset,
}

impl Work {
    fn right(&self) -> Right<'_> {
        Right::new(&self.facts)
    }

    fn finish(mut self) -> Changeset {
        if self.usage != self.before {
            self.changes.usage.push(UsageWrite {
                user: self.facts.user.clone(),
                resource: self.facts.resource.clone(),
                expected_version: self.version,
                usage: self.usage,
            });
        }
        self.changes
    }

    fn audit(
        &mut self,
        action: AuditAction,
        at: Timestamp,
        actor: Option<PrincipalId>,
        details: serde_json::Value,
    ) -> &mut AuditEntry {
        let mut entry = AuditEntry::new(action, at, actor);
        entry.user = Some(self.facts.user.clone());
        entry.resource = Some(self.facts.resource.clone());
        entry.details = details;
        self.changes.audit.push(entry);
        self.changes.audit.last_mut().expect("just pushed")
    }

    fn publish(&mut self, event: DomainEvent, at: Timestamp) {
        self.changes.outbox.push(OutboxEntry::new(event, at));
    }
}

fn check_address(address: &str) -> Result<String> {
    let trimmed = address.trim();
    if trimmed.is_empty() || trimmed.len() > 2048 || trimmed.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "address",
            "must be 1 to 2048 printable characters (a URL or a host)",
        )
        .into());
    }
    Ok(trimmed.to_owned())
}

impl Autolock {
    /// The use cases over `store`.
    #[must_use]
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            coalesce: None,
            warn_before: None,
        }
    }

    /// Warns users `days` days before a lock (DESIGN §4; off by default): a `lock.warning`
    /// event, at most one per user, resource and lock instant, and none when the warning period
    /// is not shorter than the duration that locks or when every path ends first.
    pub fn with_lock_warnings(mut self, days: u32) -> Result<Self> {
        if days > 365 {
            return Err(ValidationError::new("lock_warning_days", "must be 0 (off) to 365").into());
        }
        self.warn_before = (days > 0).then(|| chrono::Duration::days(i64::from(days)));
        Ok(self)
    }

    /// Applies the lock-warning rule to a right about to be written: emits the warning when
    /// it is due and moves `next_due` to the next warning instant when that comes first.
    fn schedule_warning(&self, work: &mut Work, now: Timestamp) {
        let Some(before) = self.warn_before else {
            return;
        };
        let (lock, base_due) = {
            let right = work.right();
            let RightState::Active {
                next_lock: Some(lock),
            } = right.state(&work.usage, now)
            else {
                return;
            };
            let binding = right
                .timeline
                .paths_at(now)
                .iter()
                .filter_map(|p| p.policy.auto_lock_after.duration())
                .max();
            let ends_first = right
                .timeline
                .all_paths_end_after(now)
                .is_some_and(|end| end <= lock);
            if work.usage.warned_for == Some(lock)
                || binding.is_none_or(|d| before >= d)
                || ends_first
            {
                return;
            }
            (lock, right.next_due(&work.usage, now))
        };
        let warn_at = lock - before;
        if now >= warn_at {
            work.usage.warned_for = Some(lock);
            work.usage.next_due = base_due;
            let event = DomainEvent::LockWarning {
                user: work.facts.user.clone(),
                resource: work.facts.resource.clone(),
                lock_at: lock,
            };
            work.publish(event, now);
        } else {
            work.usage.next_due = Some(base_due.map_or(warn_at, |d| d.min(warn_at)));
        }
    }

    /// The changes of a right's work, with the warning rule applied.
    fn finish(&self, mut work: Work, now: Timestamp) -> Changeset {
        self.schedule_warning(&mut work, now);
        work.finish()
    }

    /// The longest coalescing window allowed.
    pub const MAX_COALESCE: chrono::Duration = chrono::Duration::hours(1);

    /// Coalesces usage writes (DESIGN §9; off by default): a counted access less than `window`
    /// after the stored last access, that changes nothing else, is not written. Locks may then
    /// come up to `window` early — the price of fewer writes. At most one hour.
    pub fn with_coalescing(mut self, window: chrono::Duration) -> Result<Self> {
        if window < chrono::Duration::zero() || window > Self::MAX_COALESCE {
            return Err(ValidationError::new("coalesce", "must be from 0 to 1 hour").into());
        }
        self.coalesce = (window > chrono::Duration::zero()).then_some(window);
        Ok(self)
    }

    /// The store, for reads the surfaces make directly.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The principal behind an authenticated id, active or not; `Forbidden` when unknown.
    pub async fn principal(&self, id: &PrincipalId) -> Result<Principal> {
        self.store
            .principal(id)
            .await?
            .ok_or_else(|| Error::Forbidden(format!("{id} is not in the directory")))
    }

    async fn retry<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut tries = 0;
        loop {
            tries += 1;
            match attempt().await {
                Err(Error::Store(StoreError::Conflict(_))) if tries < MAX_ATTEMPTS => {}
                other => return other,
            }
        }
    }

    async fn load(&self, user: &UserId, resource: &ResourceId) -> Result<Work> {
        let facts = self.store.right_facts(user, resource).await?;
        let Versioned { value, version } = self.store.usage(user, resource).await?;
        Ok(Work {
            facts,
            version,
            before: value.clone(),
            usage: value,
            changes: Changeset::default(),
        })
    }

    /// Takes an effect of the lock rule into the work: its usage, and the audit entries and
    /// events of a recorded lock or a revert (which cancels the open request).
    async fn take_effect(&self, work: &mut Work, effect: Effect, now: Timestamp) -> Result<()> {
        if let Some(usage) = effect.usage {
            work.usage = usage;
        }
        if let Some(reverted) = effect.reverted {
            work.audit(
                AuditAction::Reverted,
                now,
                None,
                serde_json::json!({"reverted_lock": reverted, "recounted_events": effect.recounted}),
            );
            self.cancel_open(work, CancelReason::Reverted, now, now)
                .await?;
        }
        if let Some(locked_at) = effect.locked {
            let approval = work.right().approval_at(locked_at);
            work.audit(
                AuditAction::Locked,
                now,
                None,
                serde_json::json!({"locked_at": locked_at, "approval": approval}),
            );
            work.publish(
                DomainEvent::AccessLocked {
                    user: work.facts.user.clone(),
                    resource: work.facts.resource.clone(),
                    locked_at,
                    approval,
                },
                now,
            );
        }
        Ok(())
    }

    /// Cancels the open request of the right, as of `at` (the instant that caused it).
    async fn cancel_open(
        &self,
        work: &mut Work,
        reason: CancelReason,
        at: Timestamp,
        now: Timestamp,
    ) -> Result<()> {
        let Some(id) = work.usage.open_request.clone() else {
            return Ok(());
        };
        match self
            .store
            .request(&id)
            .await?
            .filter(AccessRequest::is_open)
        {
            Some(request) => Self::cancel_request(work, &request, reason, at, now),
            None => {
                work.usage.open_request = None;
                work.usage.next_due = work.right().next_due(&work.usage, now);
            }
        }
        Ok(())
    }

    /// Cancels an open request of the right as of `at`, with its audit entry and event; the
    /// requester is not emailed.
    fn cancel_request(
        work: &mut Work,
        request: &AccessRequest,
        reason: CancelReason,
        at: Timestamp,
        now: Timestamp,
    ) {
        let cancelled = request.cancelled(reason, at);
        work.audit(
            AuditAction::RequestResolved,
            at,
            None,
            serde_json::json!({"status": "cancelled", "cancel_reason": reason}),
        )
        .request = Some(request.id.clone());
        work.publish(
            DomainEvent::RequestResolved {
                request: cancelled.clone(),
            },
            now,
        );
        work.changes.requests.push(RequestWrite::Update {
            request: cancelled,
            expected: RequestStatus::Open,
        });
        if work.usage.open_request.as_ref() == Some(&request.id) {
            work.usage.open_request = None;
        }
        work.usage.next_due = work.right().next_due(&work.usage, now);
    }

    /// Brings a right read for a change up to date at `now`: records a lock that has occurred
    /// and cancels, as of the instant that caused it, an open request whose user has lost every
    /// path or was deactivated since filing it. Returns (locks recorded, requests cancelled).
    async fn settle(&self, work: &mut Work, now: Timestamp) -> Result<(usize, usize)> {
        let effect = work.right().settle(&work.usage, now);
        let locked = usize::from(effect.locked.is_some());
        self.take_effect(work, effect, now).await?;
        let Some(id) = work.usage.open_request.clone() else {
            return Ok((locked, 0));
        };
        let Some(request) = self.store.request(&id).await? else {
            return Ok((locked, 0));
        };
        if !request.is_open() {
            work.usage.open_request = None;
            return Ok((locked, 0));
        }
        match work.right().cancellation(request.requested_at, now) {
            Some((reason, at)) => {
                Self::cancel_request(work, &request, reason, at, now);
                Ok((locked, 1))
            }
            None => Ok((locked, 0)),
        }
    }

    /// Brings one right up to date at `now`: records a lock that has occurred, cancels an open
    /// request whose user has no path left or is deactivated, reschedules the sweep. Returns
    /// (locks recorded, requests cancelled).
    pub async fn refresh_right(
        &self,
        user: &UserId,
        resource: &ResourceId,
        now: Timestamp,
    ) -> Result<(usize, usize)> {
        self.retry(|| async {
            let mut work = self.load(user, resource).await?;
            let (locked, cancelled) = self.settle(&mut work, now).await?;
            let changes = self.finish(work, now);
            if !changes.is_empty() {
                self.store.commit(changes).await?;
            }
            Ok((locked, cancelled))
        })
        .await
    }

    async fn refresh_rights(
        &self,
        rights: impl IntoIterator<Item = (UserId, ResourceId)>,
        now: Timestamp,
    ) -> Result<()> {
        for (user, resource) in rights {
            self.refresh_right(&user, &resource, now).await?;
        }
        Ok(())
    }

    /// The sweep: records the locks due by `now`, in a bounded batch. Rights left over stay due
    /// for the next run; two overlapping runs are safe.
    pub async fn sweep(&self, now: Timestamp, limit: usize) -> Result<SweepReport> {
        let mut report = SweepReport::default();
        for (user, resource) in self.store.due(now, limit).await? {
            let (locked, cancelled) = self.refresh_right(&user, &resource, now).await?;
            report.examined += 1;
            report.locked += locked;
            report.cancelled += cancelled;
        }
        Ok(report)
    }

    /// The outbox relay: publishes up to `limit` pending domain events and marks those
    /// published delivered. Returns how many were published; the rest stay pending.
    pub async fn relay(
        &self,
        publisher: &dyn crate::ports::EventPublisher,
        limit: usize,
    ) -> Result<usize> {
        let pending = self.store.pending(limit).await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let published = publisher.publish(&pending).await?;
        let delivered: Vec<_> = pending
            .into_iter()
            .filter(|e| published.contains(&e.id))
            .collect();
        self.store.mark_delivered(&delivered).await?;
        Ok(delivered.len())
    }

    // ---- directory -------------------------------------------------------------------------

    /// Creates the first admin of an empty directory; refused once any user exists.
    pub async fn bootstrap_admin(
        &self,
        id: UserId,
        email: Email,
        display_name: Name,
        now: Timestamp,
    ) -> Result<User> {
        if !self
            .store
            .users(&crate::ports::PageRequest::first(1))
            .await?
            .items
            .is_empty()
        {
            return Err(Error::Conflict(
                Conflict::State,
                "the directory has users already: admins create users".into(),
            ));
        }
        let user = User {
            id,
            email,
            display_name,
            role: Role::Admin,
            active: true,
            created_at: now,
        };
        self.commit_directory(DirectoryChange::CreateUser(user.clone()))
            .await?;
        Ok(user)
    }

    /// Creates a user (admin).
    pub async fn create_user(
        &self,
        actor: &Principal,
        new: NewUser,
        now: Timestamp,
    ) -> Result<User> {
        require(actor, Capability::Administer)?;
        if new.role == Role::Gateway {
            return Err(ValidationError::new("role", "\"gateway\" is for service principals; allowed are \"member\", \"admin\", \"devops_admin\", \"access_reviewer\"").into());
        }
        let user = User {
            id: new.id.unwrap_or_else(UserId::generate),
            email: new.email,
            display_name: new.display_name,
            role: new.role,
            active: true,
            created_at: now,
        };
        self.commit_directory(DirectoryChange::CreateUser(user.clone()))
            .await?;
        Ok(user)
    }

    /// Changes a user's role, name or email (admin).
    pub async fn update_user(&self, actor: &Principal, user: User) -> Result<User> {
        require(actor, Capability::Administer)?;
        if user.role == Role::Gateway {
            return Err(
                ValidationError::new("role", "\"gateway\" is for service principals").into(),
            );
        }
        self.commit_directory(DirectoryChange::UpdateUser(user.clone()))
            .await?;
        Ok(user)
    }

    /// Activates or deactivates a user (admin); deactivation cancels their open requests.
    pub async fn set_user_active(
        &self,
        actor: &Principal,
        id: &UserId,
        active: bool,
        now: Timestamp,
    ) -> Result<User> {
        require(actor, Capability::Administer)?;
        let mut user = self
            .store
            .user(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("user {id}")))?;
        if user.active != active {
            user.active = active;
            self.commit_directory(DirectoryChange::SetUserActive {
                user: id.clone(),
                at: now,
                active,
            })
            .await?;
            let resources = self.store.resources_of_user(id).await?;
            self.refresh_rights(resources.into_iter().map(|r| (id.clone(), r)), now)
                .await?;
        }
        Ok(user)
    }

    /// Creates a gateway's service principal (admin).
    pub async fn create_service_principal(
        &self,
        actor: &Principal,
        id: Option<PrincipalId>,
        name: Name,
        now: Timestamp,
    ) -> Result<ServicePrincipal> {
        require(actor, Capability::Administer)?;
        let sp = ServicePrincipal {
            id: id.unwrap_or_else(PrincipalId::generate),
            name,
            created_at: now,
        };
        self.commit_directory(DirectoryChange::CreateServicePrincipal(sp.clone()))
            .await?;
        Ok(sp)
    }

    /// Creates a group (admin).
    pub async fn create_group(
        &self,
        actor: &Principal,
        id: Option<GroupId>,
        name: Name,
        now: Timestamp,
    ) -> Result<Group> {
        require(actor, Capability::Administer)?;
        let group = Group {
            id: id.unwrap_or_else(GroupId::generate),
            name,
            created_at: now,
        };
        self.commit_directory(DirectoryChange::CreateGroup(group.clone()))
            .await?;
        Ok(group)
    }

    /// Creates a resource with its default policy (admin).
    pub async fn create_resource(
        &self,
        actor: &Principal,
        new: NewResource,
        now: Timestamp,
    ) -> Result<Resource> {
        require(actor, Capability::Administer)?;
        let resource = Resource {
            id: new.id.unwrap_or_else(ResourceId::generate),
            name: new.name,
            address: check_address(&new.address)?,
            policy: new.policy,
            created_at: now,
        };
        // The policy a resource is created with is a policy change like an edit.
        let mut changes = Changeset {
            directory: vec![DirectoryChange::CreateResource(resource.clone())],
            ..Changeset::default()
        };
        let p = resource.policy;
        policy_audit(
            &mut changes,
            actor,
            now,
            Some(serde_json::json!({"before": null, "after": p.auto_lock_after})),
            Some(serde_json::json!({"before": null, "after": p.approval})),
            |e| e.resource = Some(resource.id.clone()),
        );
        self.commit_changes(changes).await?;
        Ok(resource)
    }

    async fn commit_directory(&self, change: DirectoryChange) -> Result<()> {
        self.commit_changes(Changeset {
            directory: vec![change],
            ..Changeset::default()
        })
        .await
    }

    async fn commit_changes(&self, changes: Changeset) -> Result<()> {
        match self.store.commit(changes).await {
            Err(StoreError::AlreadyExists(what)) => Err(Error::Conflict(
                Conflict::AlreadyExists,
                format!("{what} already exists"),
            )),
            Err(StoreError::Conflict(what)) => Err(Error::Conflict(Conflict::State, what)),
            other => Ok(other?),
        }
    }

    async fn existing_user(&self, id: &UserId) -> Result<User> {
        self.store
            .user(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("user {id}")))
    }

    async fn existing_group(&self, id: &GroupId) -> Result<Group> {
        self.store
            .group(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("group {id}")))
    }

    async fn existing_resource(&self, id: &ResourceId) -> Result<Resource> {
        self.store
            .resource(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("resource {id}")))
    }

    /// The current grant of `group` on `resource` (approvers).
    pub async fn grant_of(
        &self,
        actor: &Principal,
        resource: &ResourceId,
        group: &GroupId,
    ) -> Result<Grant> {
        require(actor, Capability::Review)?;
        self.store
            .current_grant(group, resource)
            .await?
            .ok_or_else(|| Error::NotFound(format!("grant of {group} on {resource}")))
    }

    async fn current_grant_by_id(&self, id: &GrantId) -> Result<Grant> {
        self.store
            .grant(id)
            .await?
            .filter(|g| g.span.end.is_none())
            .ok_or_else(|| Error::NotFound(format!("grant {id}")))
    }

    async fn rights_through_group(
        &self,
        user: &UserId,
        group: &GroupId,
    ) -> Result<Vec<(UserId, ResourceId)>> {
        let grants = self.store.grants_of_group(group).await?;
        Ok(grants
            .into_iter()
            .map(|g| (user.clone(), g.resource))
            .collect())
    }

    /// Adds a user to a group (admin). Adding a current member changes nothing: the answer is
    /// the membership as it is, `joined_at` kept, and `false` (not created).
    pub async fn add_member(
        &self,
        actor: &Principal,
        group: &GroupId,
        user: &UserId,
        now: Timestamp,
    ) -> Result<(Membership, bool)> {
        require(actor, Capability::Administer)?;
        self.existing_group(group).await?;
        self.existing_user(user).await?;
        let membership = |joined_at| Membership {
            group_id: group.clone(),
            user_id: user.clone(),
            joined_at,
        };
        if let Some(span) = self.store.membership(user, group).await? {
            return Ok((membership(span.start), false));
        }
        let added = self
            .store
            .commit(Changeset {
                directory: vec![DirectoryChange::AddMembership {
                    user: user.clone(),
                    group: group.clone(),
                    at: now,
                }],
                ..Changeset::default()
            })
            .await;
        if let Err(StoreError::Conflict(_)) = added {
            // Added concurrently: answer the membership that won.
            if let Some(span) = self.store.membership(user, group).await? {
                return Ok((membership(span.start), false));
            }
        }
        added?;
        let rights = self.rights_through_group(user, group).await?;
        self.refresh_rights(rights, now).await?;
        Ok((membership(now), true))
    }

    /// Removes a user from a group (admin); their open requests on rights left with no path are
    /// cancelled. `NotFound` when the user is not a member.
    pub async fn remove_member(
        &self,
        actor: &Principal,
        group: &GroupId,
        user: &UserId,
        now: Timestamp,
    ) -> Result<()> {
        require(actor, Capability::Administer)?;
        self.existing_group(group).await?;
        let not_member = || Error::NotFound(format!("membership of {user} in {group}"));
        if self.store.membership(user, group).await?.is_none() {
            return Err(not_member());
        }
        let removed = self
            .store
            .commit(Changeset {
                directory: vec![DirectoryChange::EndMembership {
                    user: user.clone(),
                    group: group.clone(),
                    at: now,
                }],
                ..Changeset::default()
            })
            .await;
        match removed {
            Err(StoreError::Conflict(_)) => return Err(not_member()),
            other => other?,
        }
        let rights = self.rights_through_group(user, group).await?;
        self.refresh_rights(rights, now).await
    }

    /// Grants a group access to a resource (admin).
    pub async fn create_grant(
        &self,
        actor: &Principal,
        new: NewGrant,
        now: Timestamp,
    ) -> Result<Grant> {
        require(actor, Capability::Administer)?;
        self.existing_group(&new.group).await?;
        self.existing_resource(&new.resource).await?;
        check_expiry(new.expires_at, now)?;
        let grant = Grant {
            id: GrantId::generate(),
            group: new.group.clone(),
            resource: new.resource.clone(),
            span: Span::from(now),
            expiry: vec![Timed {
                at: now,
                value: new.expires_at,
            }],
            overrides: vec![Timed {
                at: now,
                value: new.policy_override,
            }],
        };
        // Each field the grant overrides from its creation is audited like an edit.
        let mut changes = Changeset {
            directory: vec![DirectoryChange::CreateGrant(grant.clone())],
            ..Changeset::default()
        };
        let o = new.policy_override;
        policy_audit(
            &mut changes,
            actor,
            now,
            o.auto_lock_after.map(|d| {
                serde_json::json!({"before": null, "after": d, "effective_before": null, "effective_after": d})
            }),
            o.approval.map(|a| {
                serde_json::json!({"before": null, "after": a, "effective_before": null, "effective_after": a})
            }),
            |e| {
                e.resource = Some(grant.resource.clone());
                e.group = Some(grant.group.clone());
                e.grant = Some(grant.id.clone());
            },
        );
        self.commit_changes(changes).await?;
        self.refresh_grant_rights(&grant, now).await?;
        Ok(grant)
    }

    async fn refresh_grant_rights(&self, grant: &Grant, now: Timestamp) -> Result<()> {
        let members = self.store.members(&grant.group).await?;
        self.refresh_rights(
            members.into_iter().map(|u| (u, grant.resource.clone())),
            now,
        )
        .await
    }

    /// Removes a grant (admin).
    pub async fn remove_grant(
        &self,
        actor: &Principal,
        id: &GrantId,
        now: Timestamp,
    ) -> Result<()> {
        require(actor, Capability::Administer)?;
        let grant = self.current_grant_by_id(id).await?;
        self.commit_directory(DirectoryChange::EndGrant {
            grant: id.clone(),
            at: now,
        })
        .await?;
        self.refresh_grant_rights(&grant, now).await
    }

    /// Sets or clears a grant's expiry (admin). An expiry must lie in the future.
    pub async fn set_grant_expiry(
        &self,
        actor: &Principal,
        id: &GrantId,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<Grant> {
        require(actor, Capability::Administer)?;
        check_expiry(expires_at, now)?;
        let grant = self.current_grant_by_id(id).await?;
        self.commit_directory(DirectoryChange::SetGrantExpiry {
            grant: id.clone(),
            at: now,
            expires_at,
        })
        .await?;
        self.refresh_grant_rights(&grant, now).await?;
        self.current_grant_by_id(id).await
    }

    /// Edits a resource's default policy (admin, DevOps admin). A no-op edit records nothing.
    pub async fn set_resource_policy(
        &self,
        actor: &Principal,
        id: &ResourceId,
        patch: PolicyPatch,
        now: Timestamp,
    ) -> Result<Resource> {
        require(actor, Capability::Operate)?;
        let resource = self.existing_resource(id).await?;
        let before = resource.policy;
        let after = patch.apply(before);
        if before == after {
            return Ok(resource);
        }
        let mut changes = Changeset {
            directory: vec![DirectoryChange::SetResourcePolicy {
                resource: id.clone(),
                at: now,
                policy: after,
            }],
            ..Changeset::default()
        };
        let duration = (before.auto_lock_after != after.auto_lock_after)
            .then(|| serde_json::json!({"before": before.auto_lock_after, "after": after.auto_lock_after}));
        let approval = (before.approval != after.approval)
            .then(|| serde_json::json!({"before": before.approval, "after": after.approval}));
        policy_audit(&mut changes, actor, now, duration, approval, |e| {
            e.resource = Some(id.clone());
        });
        changes.outbox.push(OutboxEntry::new(
            DomainEvent::PolicyChanged {
                resource: id.clone(),
                grant: None,
                before,
                after,
                by: actor.id.clone(),
                at: now,
            },
            now,
        ));
        self.store.commit(changes).await?;
        let users = self.store.users_of_resource(id).await?;
        self.refresh_rights(users.into_iter().map(|u| (u, id.clone())), now)
            .await?;
        self.existing_resource(id).await
    }

    /// Edits a grant's override field by field (admin, DevOps admin). A no-op edit records
    /// nothing.
    pub async fn set_grant_override(
        &self,
        actor: &Principal,
        id: &GrantId,
        patch: OverridePatch,
        now: Timestamp,
    ) -> Result<Grant> {
        require(actor, Capability::Operate)?;
        let grant = self.current_grant_by_id(id).await?;
        let resource = self.existing_resource(&grant.resource).await?;
        let current = grant.current_override();
        let next = patch.apply(current);
        if next == current {
            return Ok(grant);
        }
        let (before, after) = (current.over(resource.policy), next.over(resource.policy));
        let mut changes = Changeset {
            directory: vec![DirectoryChange::SetGrantOverride {
                grant: id.clone(),
                at: now,
                value: next,
            }],
            ..Changeset::default()
        };
        let duration = (current.auto_lock_after != next.auto_lock_after).then(|| {
            serde_json::json!({
                "before": current.auto_lock_after, "after": next.auto_lock_after,
                "effective_before": before.auto_lock_after, "effective_after": after.auto_lock_after,
            })
        });
        let approval = (current.approval != next.approval).then(|| {
            serde_json::json!({
                "before": current.approval, "after": next.approval,
                "effective_before": before.approval, "effective_after": after.approval,
            })
        });
        policy_audit(&mut changes, actor, now, duration, approval, |e| {
            e.resource = Some(grant.resource.clone());
            e.group = Some(grant.group.clone());
            e.grant = Some(id.clone());
        });
        changes.outbox.push(OutboxEntry::new(
            DomainEvent::PolicyChanged {
                resource: grant.resource.clone(),
                grant: Some(id.clone()),
                before,
                after,
                by: actor.id.clone(),
                at: now,
            },
            now,
        ));
        self.store.commit(changes).await?;
        self.refresh_grant_rights(&grant, now).await?;
        self.current_grant_by_id(id).await
    }

    // ---- gateways --------------------------------------------------------------------------

    /// Applies a batch of access events (gateways). Each right is written once, with the latest
    /// access; an event that changes nothing costs no write.
    pub async fn record_events(
        &self,
        actor: &Principal,
        batch: Vec<EventInput>,
        now: Timestamp,
    ) -> Result<Vec<EventResult>> {
        require(actor, Capability::Gateway)?;
        let mut results: Vec<Option<EventResult>> = vec![None; batch.len()];
        let mut by_right: BTreeMap<(UserId, ResourceId), Vec<(usize, AccessEvent)>> =
            BTreeMap::new();
        for (i, input) in batch.into_iter().enumerate() {
            by_right
                .entry((input.user, input.resource))
                .or_default()
                .push((i, input.event));
        }
        for ((user, resource), mut events) in by_right {
            events.sort_by(|a, b| {
                a.1.accessed_at
                    .cmp(&b.1.accessed_at)
                    .then_with(|| a.1.event_id.cmp(&b.1.event_id))
            });
            if !self.right_exists(&user, &resource).await? {
                for (i, event) in events {
                    results[i] = Some(EventResult {
                        event_id: event.event_id,
                        outcome: EventResultKind::Unknown,
                        reason: Some("unknown user or resource"),
                        reverted_lock: None,
                    });
                }
                continue;
            }
            let outcomes = self
                .retry(|| async {
                    let mut work = self.load(&user, &resource).await?;
                    let mut outcomes = Vec::with_capacity(events.len());
                    for (i, event) in &events {
                        let (outcome, effect) = work.right().apply_event(&work.usage, event, now);
                        if outcome == EventOutcome::LateIgnored {
                            let entry = work.audit(
                                AuditAction::LateIgnored,
                                now,
                                Some(actor.id.clone()),
                                serde_json::json!({
                                    "event_id": event.event_id, "accessed_at": event.accessed_at,
                                }),
                            );
                            entry.id =
                                format!("late_ignored:{}:{}:{}", user, resource, event.event_id);
                        }
                        let reverted = effect.reverted;
                        self.take_effect(&mut work, effect, now).await?;
                        outcomes.push((
                            *i,
                            EventResult::new(event.event_id.clone(), outcome, reverted),
                        ));
                    }
                    self.coalesce_usage(&mut work);
                    let changes = self.finish(work, now);
                    if !changes.is_empty() {
                        self.store.commit(changes).await?;
                    }
                    Ok(outcomes)
                })
                .await?;
            for (i, result) in outcomes {
                results[i] = Some(result);
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.expect("every event has a result"))
            .collect())
    }

    /// Drops a usage write that only moves the last access forward by less than the coalescing
    /// window (and records nothing else).
    fn coalesce_usage(&self, work: &mut Work) {
        let (Some(window), Some(previous)) = (self.coalesce, work.before.last_access) else {
            return;
        };
        let only_access_moved = Usage {
            last_access: work.before.last_access,
            next_due: work.before.next_due,
            seen: work.before.seen.clone(),
            ..work.usage.clone()
        } == work.before;
        let close = work
            .usage
            .last_access
            .is_some_and(|a| a - previous < window);
        if only_access_moved
            && close
            && work.changes.audit.is_empty()
            && work.changes.outbox.is_empty()
        {
            work.usage = work.before.clone();
        }
    }

    /// Whether both the user and the resource of a right exist.
    async fn right_exists(&self, user: &UserId, resource: &ResourceId) -> Result<bool> {
        Ok(
            self.store.user(user).await?.is_some()
                && self.store.resource(resource).await?.is_some(),
        )
    }

    /// The gateway's question: may `user` reach `resource` now? With `record`, the access is
    /// also counted (when allowed). A lock found here is recorded.
    pub async fn decide(
        &self,
        actor: &Principal,
        user: &UserId,
        resource: &ResourceId,
        record: bool,
        now: Timestamp,
    ) -> Result<Decision> {
        require(actor, Capability::Gateway)?;
        if !self.right_exists(user, resource).await? {
            return Ok(Decision {
                allow: false,
                state: RightState::NoAccess,
                reason: Some(DenyReason::NoAccess),
            });
        }
        if record {
            let event = AccessEvent {
                event_id: EventId::parse(format!("check:{}", uuid::Uuid::new_v4().simple()))?,
                accessed_at: now,
            };
            self.record_events(
                actor,
                vec![EventInput {
                    user: user.clone(),
                    resource: resource.clone(),
                    event,
                }],
                now,
            )
            .await?;
        } else {
            self.refresh_right(user, resource, now).await?;
        }
        let work = self.load(user, resource).await?;
        let right = work.right();
        let state = right.state(&work.usage, now);
        let reason = right.deny_reason(&state, now);
        Ok(Decision {
            allow: reason.is_none(),
            state,
            reason,
        })
    }

    // ---- rights ----------------------------------------------------------------------------

    /// A right as seen now. Members see only their own: another's is `NotFound`.
    pub async fn right(
        &self,
        actor: &Principal,
        user: &UserId,
        resource: &ResourceId,
        now: Timestamp,
    ) -> Result<RightView> {
        self.check_sees_user(actor, user)?;
        let work = self.load(user, resource).await?;
        Ok(view(&work, now))
    }

    /// Every right a user holds or held. Members see only their own.
    pub async fn rights_of_user(
        &self,
        actor: &Principal,
        user: &UserId,
        now: Timestamp,
    ) -> Result<Vec<RightView>> {
        self.check_sees_user(actor, user)?;
        self.existing_user(user).await?;
        let mut views = Vec::new();
        for resource in self.store.resources_of_user(user).await? {
            views.push(view(&self.load(user, &resource).await?, now));
        }
        Ok(views)
    }

    /// One page of the rights on a resource, by user id (approvers).
    pub async fn rights_of_resource(
        &self,
        actor: &Principal,
        resource: &ResourceId,
        page: &crate::ports::PageRequest,
        now: Timestamp,
    ) -> Result<crate::ports::Page<RightView>> {
        require(actor, Capability::Review)?;
        self.existing_resource(resource).await?;
        let users = self.store.users_of_resource_page(resource, page).await?;
        let mut views = Vec::with_capacity(users.items.len());
        for user in users.items {
            views.push(view(&self.load(&user, resource).await?, now));
        }
        Ok(crate::ports::Page {
            items: views,
            next: users.next,
        })
    }

    fn check_sees_user(&self, actor: &Principal, user: &UserId) -> Result<()> {
        if actor.active
            && (actor.id == *user && actor.role != Role::Gateway || actor.role.is_approver())
        {
            Ok(())
        } else {
            Err(Error::NotFound(format!("user {user}")))
        }
    }

    // ---- reports ---------------------------------------------------------------------------

    /// One page of the rights a report covers, as (user, resource) pairs (approvers); pages
    /// keep a report's memory flat. `NotFound` when the object does not exist.
    pub async fn report_rights(
        &self,
        actor: &Principal,
        scope: &ReportScope,
        page: &crate::ports::PageRequest,
    ) -> Result<crate::ports::Page<(UserId, ResourceId)>> {
        require(actor, Capability::Review)?;
        let all: Vec<(UserId, ResourceId)> = match scope {
            ReportScope::Resource(r) => {
                if page.after.is_none() {
                    self.existing_resource(r).await?;
                }
                let users = self.store.users_of_resource_page(r, page).await?;
                return Ok(crate::ports::Page {
                    items: users.items.into_iter().map(|u| (u, r.clone())).collect(),
                    next: users.next,
                });
            }
            ReportScope::Group(g) => {
                self.existing_group(g).await?;
                let resources: Vec<ResourceId> = self
                    .store
                    .grants_of_group(g)
                    .await?
                    .into_iter()
                    .map(|gr| gr.resource)
                    .collect();
                let members = self.store.members(g).await?;
                members
                    .iter()
                    .flat_map(|u| resources.iter().map(move |r| (u.clone(), r.clone())))
                    .collect()
            }
            ReportScope::User(u) => {
                self.existing_user(u).await?;
                self.store
                    .resources_of_user(u)
                    .await?
                    .into_iter()
                    .map(|r| (u.clone(), r))
                    .collect()
            }
        };
        // Small scopes: one page holds them all.
        Ok(crate::ports::Page {
            items: all,
            next: None,
        })
    }

    /// The report rows of one right at `now` (one per path in force), restricted to the
    /// scope's group for a group report.
    pub async fn report_rows(
        &self,
        scope: &ReportScope,
        user: &User,
        resource: &Resource,
        now: Timestamp,
    ) -> Result<Vec<crate::report::ReportRow>> {
        let work = self.load(&user.id, &resource.id).await?;
        let mut rows = crate::report::rows(&work.facts, &work.usage, user, resource, now);
        if let ReportScope::Group(g) = scope {
            rows.retain(|r| r.group_id == g.as_str());
        }
        Ok(rows)
    }

    /// The report rows of the groups in scope that have access and no members (approvers): their
    /// access and policy, without a user, so that every group with access shows in a report.
    pub async fn report_memberless_groups(
        &self,
        actor: &Principal,
        scope: &ReportScope,
        now: Timestamp,
    ) -> Result<Vec<crate::report::ReportRow>> {
        require(actor, Capability::Review)?;
        let grants = match scope {
            ReportScope::Resource(r) => self.store.grants_of_resource(r).await?,
            ReportScope::Group(g) => self.store.grants_of_group(g).await?,
            ReportScope::User(_) => return Ok(Vec::new()),
        };
        let mut rows = Vec::new();
        for grant in grants {
            if !grant.gives_access_at(now) || !self.store.members(&grant.group).await?.is_empty() {
                continue;
            }
            if let Some(resource) = self.store.resource(&grant.resource).await? {
                rows.push(crate::report::group_row(&grant, &resource, now));
            }
        }
        Ok(rows)
    }

    /// What a proposed policy would do, nothing changed (admin, DevOps admin): who would lock
    /// at once (nobody, by the grace rule) and who within 1, 7 and 30 days.
    pub async fn preview(
        &self,
        actor: &Principal,
        target: &PreviewTarget,
        now: Timestamp,
    ) -> Result<Preview> {
        require(actor, Capability::Operate)?;
        let (resource, users) = match target {
            PreviewTarget::Resource(r, _) => {
                self.existing_resource(r).await?;
                (r.clone(), self.store.users_of_resource(r).await?)
            }
            PreviewTarget::Grant(g, _) => {
                let grant = self.current_grant_by_id(g).await?;
                (
                    grant.resource.clone(),
                    self.store.members(&grant.group).await?,
                )
            }
        };
        let mut preview = Preview {
            resource: resource.clone(),
            lock_at_once: Vec::new(),
            grace: "a policy change never locks anyone sooner than the new duration after the change",
            within_1_day: Vec::new(),
            within_7_days: Vec::new(),
            within_30_days: Vec::new(),
        };
        for user in users {
            let work = self.load(&user, &resource).await?;
            let current = work.right();
            if !matches!(current.state(&work.usage, now), RightState::Active { .. }) {
                continue;
            }
            let mut proposed = work.facts.clone();
            match target {
                PreviewTarget::Resource(_, patch) => {
                    let Some(before) = crate::directory::value_at(&proposed.resource_policy, now)
                    else {
                        continue;
                    };
                    let after = patch.apply(before);
                    proposed.resource_policy.push(Timed {
                        at: now,
                        value: after,
                    });
                }
                PreviewTarget::Grant(id, patch) => {
                    for g in proposed
                        .paths
                        .iter_mut()
                        .flat_map(|p| p.grants.iter_mut())
                        .filter(|g| g.id == *id)
                    {
                        let next = patch.apply(g.current_override());
                        g.overrides.push(Timed {
                            at: now,
                            value: next,
                        });
                    }
                }
            }
            let Some(lock_at) = Right::new(&proposed)
                .timeline
                .next_lock(work.usage.last_activity())
            else {
                continue;
            };
            let entry = PreviewLock {
                user: user.clone(),
                lock_at,
                today: current.timeline.next_lock(work.usage.last_activity()),
            };
            let ahead = lock_at - now;
            if lock_at <= now {
                preview.lock_at_once.push(entry.clone());
            }
            if ahead <= chrono::Duration::days(1) {
                preview.within_1_day.push(entry.clone());
            }
            if ahead <= chrono::Duration::days(7) {
                preview.within_7_days.push(entry.clone());
            }
            if ahead <= chrono::Duration::days(30) {
                preview.within_30_days.push(entry);
            }
        }
        Ok(preview)
    }

    /// Analytics of a resource over `[from, to)`, at most 90 days (approvers): locks, requests by
    /// outcome, auto-approved requests with their reasons, median time to a person's
    /// resolution.
    pub async fn analytics(
        &self,
        actor: &Principal,
        resource: &ResourceId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Analytics> {
        require(actor, Capability::Review)?;
        self.existing_resource(resource).await?;
        if to <= from || to - from > chrono::Duration::days(90) {
            return Err(ValidationError::new(
                "from",
                "the window must be longer than zero and at most 90 days",
            )
            .into());
        }
        let mut locks = 0;
        let filter = crate::audit::AuditFilter {
            from: Some(from),
            to: Some(to),
            actor: None,
            target: Some(resource.to_string()),
            action: Some(AuditAction::Locked),
        };
        let mut page = crate::ports::PageRequest::first(1000);
        loop {
            let p = self.store.audit(&filter, &page).await?;
            locks += p
                .items
                .iter()
                .filter(|e| e.resource.as_ref() == Some(resource))
                .count();
            match p.next {
                Some(n) => page.after = Some(n),
                None => break,
            }
        }
        let rf = crate::ports::RequestFilter {
            user: None,
            resource: Some(resource.clone()),
        };
        let mut requests = Vec::new();
        for open in [true, false] {
            let mut page = crate::ports::PageRequest::first(1000);
            loop {
                let p = if open {
                    self.store.open_requests(&rf, &page).await?
                } else {
                    self.store.resolved_requests(from, &rf, &page).await?
                };
                requests.extend(
                    p.items
                        .into_iter()
                        .filter(|r| r.requested_at >= from && r.requested_at < to),
                );
                match p.next {
                    Some(n) => page.after = Some(n),
                    None => break,
                }
            }
        }
        let mut by_outcome = std::collections::BTreeMap::new();
        for r in &requests {
            *by_outcome.entry(r.status.as_str()).or_insert(0usize) += 1;
        }
        let auto_approved = requests
            .iter()
            .filter(|r| r.status == RequestStatus::AutoApproved)
            .map(|r| AutoApproved {
                request: r.id.clone(),
                user: r.user.clone(),
                at: r.requested_at,
                reason: r.reason.as_str().to_owned(),
            })
            .collect();
        let mut durations: Vec<i64> = requests
            .iter()
            .filter(|r| matches!(r.status, RequestStatus::Approved | RequestStatus::Denied))
            .filter_map(|r| r.resolved_at.map(|at| (at - r.requested_at).num_seconds()))
            .collect();
        durations.sort_unstable();
        let median = match durations.len() {
            0 => None,
            n if n % 2 == 1 => Some(durations[n / 2]),
            n => Some((durations[n / 2 - 1] + durations[n / 2]) / 2),
        };
        Ok(Analytics {
            resource: resource.clone(),
            from,
            to,
            locks,
            requests_by_outcome: by_outcome,
            auto_approved,
            median_seconds_to_resolution: median,
        })
    }

    // ---- unlock and requests ---------------------------------------------------------------

    /// Lifts a user's lock on a resource (admin, DevOps admin; never oneself), also a lock kept
    /// while the user has no path. 409 when the right is not locked. Resolves the user's open
    /// request on it as approved.
    pub async fn unlock(
        &self,
        actor: &Principal,
        user: &UserId,
        resource: &ResourceId,
        now: Timestamp,
    ) -> Result<Unlocked> {
        require(actor, Capability::Operate)?;
        if actor.id == *user {
            return Err(Error::ForbiddenSelf("nobody unlocks themselves".into()));
        }
        self.existing_user(user).await?;
        self.existing_resource(resource).await?;
        self.retry(|| async {
            let mut work = self.load(user, resource).await?;
            let (_, cancelled) = self.settle(&mut work, now).await?;
            let Some(effect) =
                work.right()
                    .unlock(&work.usage, now, actor.id.clone(), UnlockKind::AdminUnlock)
            else {
                if cancelled > 0 {
                    self.store.commit(self.finish(work, now)).await?;
                }
                return Err(Error::Conflict(
                    Conflict::NotLocked,
                    format!("{user} is not locked out of {resource}"),
                ));
            };
            let lifted_lock = self
                .lift(&mut work, effect, actor, UnlockKind::AdminUnlock, now)
                .await?;
            if let Some(id) = work.usage.open_request.take() {
                if let Some(request) = self
                    .store
                    .request(&id)
                    .await?
                    .filter(AccessRequest::is_open)
                {
                    let approved = request.closed(RequestStatus::Approved, actor.id.clone(), now);
                    self.resolution_records(&mut work, &approved, actor, now);
                    work.changes.requests.push(RequestWrite::Update {
                        request: approved,
                        expected: RequestStatus::Open,
                    });
                }
            }
            let result = Unlocked {
                right: view(&work, now),
                lifted_lock,
            };
            self.store.commit(self.finish(work, now)).await?;
            Ok(result)
        })
        .await
    }

    /// Takes an unlock's effect into the work with its audit entry and event; answers the
    /// instant of the lock lifted.
    async fn lift(
        &self,
        work: &mut Work,
        effect: Effect,
        actor: &Principal,
        kind: UnlockKind,
        now: Timestamp,
    ) -> Result<Timestamp> {
        let lifted = work
            .right()
            .lock_in_force(&work.usage, now)
            .ok_or_else(|| Error::Conflict(Conflict::NotLocked, "not locked".into()))?;
        self.take_effect(work, effect, now).await?;
        work.audit(
            AuditAction::Unlocked,
            now,
            Some(actor.id.clone()),
            serde_json::json!({"kind": kind, "lifted_lock": lifted}),
        );
        work.publish(
            DomainEvent::AccessUnlocked {
                user: work.facts.user.clone(),
                resource: work.facts.resource.clone(),
                at: now,
                by: actor.id.clone(),
                kind,
            },
            now,
        );
        Ok(lifted)
    }

    fn resolution_records(
        &self,
        work: &mut Work,
        request: &AccessRequest,
        actor: &Principal,
        now: Timestamp,
    ) {
        work.audit(
            AuditAction::RequestResolved,
            now,
            Some(actor.id.clone()),
            serde_json::json!({"status": request.status}),
        )
        .request = Some(request.id.clone());
        work.publish(
            DomainEvent::RequestResolved {
                request: request.clone(),
            },
            now,
        );
    }

    /// Files a request for a locked right (the locked user). Automatic approval stores it
    /// resolved and unlocks at once; manual approval opens it, or updates the reason of the
    /// open one and returns it.
    pub async fn file_request(
        &self,
        actor: &Principal,
        resource: &ResourceId,
        reason: Reason,
        now: Timestamp,
    ) -> Result<Filed> {
        self.file_request_via(actor, resource, reason, None, now)
            .await
    }

    /// Files a request through a single-use link (the block page), consuming the link in the
    /// same commit: a second submission through it is a conflict.
    pub async fn file_request_via(
        &self,
        actor: &Principal,
        resource: &ResourceId,
        reason: Reason,
        link: Option<ConsumedLink>,
        now: Timestamp,
    ) -> Result<Filed> {
        require(actor, Capability::OwnRights)?;
        let user = actor.id.clone();
        self.existing_resource(resource).await?;
        self.retry(|| async {
            let mut work = self.load(&user, resource).await?;
            let RightState::Locked {
                locked_at,
                approval,
            } = work.right().state(&work.usage, now)
            else {
                return Err(Error::Conflict(
                    Conflict::NotLocked,
                    format!("{user} is not locked out of {resource}"),
                ));
            };
            self.settle(&mut work, now).await?;
            let open = match &work.usage.open_request {
                Some(id) => self.store.request(id).await?.filter(AccessRequest::is_open),
                None => None,
            };
            let filed = match approval {
                ApprovalMode::Automatic => {
                    let request = AccessRequest {
                        id: RequestId::generate(),
                        user: user.clone(),
                        resource: resource.clone(),
                        reason: reason.clone(),
                        approval,
                        locked_at,
                        status: RequestStatus::AutoApproved,
                        requested_at: now,
                        resolved_at: Some(now),
                        resolved_by: Some(user.clone()),
                        cancel_reason: None,
                    };
                    let effect = work
                        .right()
                        .unlock(&work.usage, now, user.clone(), UnlockKind::AutomaticRequest)
                        .ok_or_else(|| Error::Conflict(Conflict::NotLocked, "not locked".into()))?;
                    self.lift(&mut work, effect, actor, UnlockKind::AutomaticRequest, now)
                        .await?;
                    work.audit(
                        AuditAction::RequestCreated,
                        now,
                        Some(user.clone()),
                        serde_json::json!({"status": "auto_approved"}),
                    )
                    .request = Some(request.id.clone());
                    work.publish(
                        DomainEvent::RequestCreated {
                            request: request.clone(),
                        },
                        now,
                    );
                    self.resolution_records(&mut work, &request, actor, now);
                    if let Some(open) = open {
                        let resolved = open.closed(RequestStatus::AutoApproved, user.clone(), now);
                        self.resolution_records(&mut work, &resolved, actor, now);
                        work.changes.requests.push(RequestWrite::Update {
                            request: resolved,
                            expected: RequestStatus::Open,
                        });
                    }
                    work.usage.open_request = None;
                    work.changes
                        .requests
                        .push(RequestWrite::Create(request.clone()));
                    Filed {
                        request,
                        created: true,
                    }
                }
                ApprovalMode::Manual => match open {
                    Some(open) => {
                        if open.reason != reason {
                            let updated = AccessRequest {
                                reason: reason.clone(),
                                ..open.clone()
                            };
                            work.audit(
                                AuditAction::RequestReasonUpdated,
                                now,
                                Some(user.clone()),
                                serde_json::json!({}),
                            )
                            .request = Some(open.id.clone());
                            work.changes.requests.push(RequestWrite::Update {
                                request: updated.clone(),
                                expected: RequestStatus::Open,
                            });
                            Filed {
                                request: updated,
                                created: false,
                            }
                        } else {
                            Filed {
                                request: open,
                                created: false,
                            }
                        }
                    }
                    None => {
                        let request = AccessRequest {
                            id: RequestId::generate(),
                            user: user.clone(),
                            resource: resource.clone(),
                            reason: reason.clone(),
                            approval,
                            locked_at,
                            status: RequestStatus::Open,
                            requested_at: now,
                            resolved_at: None,
                            resolved_by: None,
                            cancel_reason: None,
                        };
                        work.usage.open_request = Some(request.id.clone());
                        work.usage.next_due = work.right().next_due(&work.usage, now);
                        work.audit(
                            AuditAction::RequestCreated,
                            now,
                            Some(user.clone()),
                            serde_json::json!({"status": "open"}),
                        )
                        .request = Some(request.id.clone());
                        work.publish(
                            DomainEvent::RequestCreated {
                                request: request.clone(),
                            },
                            now,
                        );
                        work.changes
                            .requests
                            .push(RequestWrite::Create(request.clone()));
                        Filed {
                            request,
                            created: true,
                        }
                    }
                },
            };
            let mut changes = self.finish(work, now);
            changes.consumed_links.extend(link.clone());
            match self.store.commit(changes).await {
                Err(StoreError::AlreadyExists(_)) if link.is_some() => {
                    return Err(Error::Conflict(
                        Conflict::LinkUsed,
                        "this link was used already".into(),
                    ));
                }
                other => other?,
            }
            Ok(filed)
        })
        .await
    }

    /// Approves or denies a request (approvers, never their own). A second approver gets a
    /// conflict; the same actor repeating the same verdict gets the stored result.
    pub async fn resolve(
        &self,
        actor: &Principal,
        id: &RequestId,
        verdict: Verdict,
        now: Timestamp,
    ) -> Result<AccessRequest> {
        require(actor, Capability::Review)?;
        self.retry(|| async {
            let request = self
                .store
                .request(id)
                .await?
                .ok_or_else(|| Error::NotFound(format!("request {id}")))?;
            let resolved = match request.resolve(actor, verdict, now) {
                Ok(Resolution::Repeated) => return Ok(request),
                Ok(Resolution::Resolved(resolved)) => resolved,
                Err(ResolveError::Forbidden(why)) => return Err(Error::Forbidden(why.into())),
                Err(ResolveError::OwnRequest(why)) => {
                    return Err(Error::ForbiddenSelf(why.into()));
                }
                Err(e @ ResolveError::AlreadyResolved(_)) => {
                    return Err(Error::Conflict(Conflict::AlreadyResolved, e.to_string()));
                }
            };
            let mut work = self.load(&request.user, &request.resource).await?;
            // Cancelled by the facts (every path ended, the user deactivated) before this
            // verdict, whether or not anything noticed it then.
            if let Some((reason, at)) = work.right().cancellation(request.requested_at, now) {
                Self::cancel_request(&mut work, &request, reason, at, now);
                self.store.commit(self.finish(work, now)).await?;
                return Err(Error::Conflict(
                    Conflict::AlreadyResolved,
                    "request is already cancelled".into(),
                ));
            }
            if work.usage.open_request.as_ref() == Some(id) {
                work.usage.open_request = None;
            }
            if verdict == Verdict::Approve {
                if let Some(effect) = work.right().unlock(
                    &work.usage,
                    now,
                    actor.id.clone(),
                    UnlockKind::ApprovedRequest,
                ) {
                    self.lift(&mut work, effect, actor, UnlockKind::ApprovedRequest, now)
                        .await?;
                }
            }
            work.usage.next_due = work.right().next_due(&work.usage, now);
            self.resolution_records(&mut work, &resolved, actor, now);
            work.changes.requests.push(RequestWrite::Update {
                request: resolved.clone(),
                expected: RequestStatus::Open,
            });
            self.store.commit(self.finish(work, now)).await?;
            Ok(resolved)
        })
        .await
    }

    /// A request, as its requester or an approver sees it; anyone else gets `NotFound`.
    pub async fn request(&self, actor: &Principal, id: &RequestId) -> Result<AccessRequest> {
        let request = self
            .store
            .request(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("request {id}")))?;
        self.check_sees_user(actor, &request.user)
            .map_err(|_| Error::NotFound(format!("request {id}")))?;
        Ok(request)
    }
}

fn check_expiry(expires_at: Option<Timestamp>, now: Timestamp) -> Result<()> {
    match expires_at {
        Some(e) if e <= now => {
            Err(ValidationError::new("expires_at", "must lie in the future").into())
        }
        _ => Ok(()),
    }
}

/// The audit entries of a policy edit: one per field whose value changed (`None`: unchanged),
/// each with its details, its actor and its targets.
fn policy_audit(
    changes: &mut Changeset,
    actor: &Principal,
    now: DateTime<Utc>,
    duration: Option<serde_json::Value>,
    approval: Option<serde_json::Value>,
    target: impl Fn(&mut AuditEntry),
) {
    for (action, details) in [
        (AuditAction::PolicyDurationChanged, duration),
        (AuditAction::PolicyApprovalChanged, approval),
    ] {
        if let Some(details) = details {
            let mut entry = AuditEntry::new(action, now, Some(actor.id.clone()));
            entry.details = details;
            target(&mut entry);
            changes.audit.push(entry);
        }
    }
}

fn view(work: &Work, now: Timestamp) -> RightView {
    let right = work.right();
    RightView {
        user: work.facts.user.clone(),
        resource: work.facts.resource.clone(),
        state: right.state(&work.usage, now),
        paths: right.timeline.paths_at(now).to_vec(),
        last_access: work.usage.last_access,
        open_request: work.usage.open_request.clone(),
    }
}

/// What one tick did.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TickReport {
    /// Rights the sweep looked at.
    pub examined: usize,
    /// Locks recorded.
    pub locked: usize,
    /// Requests cancelled.
    pub cancelled: usize,
    /// Domain events published from the outbox.
    pub published: usize,
    /// Deliveries retried.
    pub retried: usize,
    /// Whether it stopped for time with work left (the rest stays due for the next tick).
    pub stopped_for_time: bool,
}

/// The periodic work, the same wherever it runs (the sweep function, `autolock serve`,
/// `autolock sweep`, a move of the manual clock): the sweep in bounded batches (locks due, lock
/// warnings, cancellations), the outbox relay, and the retries of deliveries that are due.
#[derive(Clone)]
pub struct Ticker {
    app: Autolock,
    publisher: Arc<dyn crate::ports::EventPublisher>,
    retries: Option<crate::notify::Notifier>,
    batch: usize,
}

impl std::fmt::Debug for Ticker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticker")
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl Ticker {
    /// A tick over `app` that relays the outbox to `publisher`, `batch` rights at a time.
    #[must_use]
    pub fn new(
        app: Autolock,
        publisher: Arc<dyn crate::ports::EventPublisher>,
        batch: usize,
    ) -> Self {
        Self {
            app,
            publisher,
            retries: None,
            batch: batch.max(1),
        }
    }

    /// Also retries the deliveries of `notifier` that are due.
    #[must_use]
    pub fn with_retries(mut self, notifier: crate::notify::Notifier) -> Self {
        self.retries = Some(notifier);
        self
    }

    /// Runs one tick at `now`. `more_time` is asked between batches; when it answers false the
    /// tick stops, and what is left stays due for the next one.
    pub async fn tick(
        &self,
        now: Timestamp,
        more_time: &(dyn Fn() -> bool + Send + Sync),
    ) -> Result<TickReport> {
        let mut report = TickReport::default();
        loop {
            let r = self.app.sweep(now, self.batch).await?;
            report.examined += r.examined;
            report.locked += r.locked;
            report.cancelled += r.cancelled;
            if r.examined < self.batch {
                break;
            }
            if !more_time() {
                report.stopped_for_time = true;
                return Ok(report);
            }
        }
        loop {
            let published = self.app.relay(self.publisher.as_ref(), 100).await?;
            report.published += published;
            if published < 100 || !more_time() {
                break;
            }
        }
        if let Some(notifier) = &self.retries {
            report.retried = notifier.retry_due(now, 100).await?;
        }
        Ok(report)
    }
}
