//! Policy edits — a resource's default, a grant's override field by field — and their preview.
//! An edit records the change (audited, published) and refreshes every right it touches; the
//! grace rule keeps anyone from locking sooner than the new duration after the change.

use serde::Serialize;
use serde_json::json;

use crate::Timestamp;
use crate::audit::AuditAction;
use crate::authz::{Capability, require};
use crate::directory::{Grant, Principal, Resource, Timed, value_at};
use crate::error::Result;
use crate::events::{DirectoryEdit, DomainEvent, PolicyChange};
use crate::ids::{GrantId, ResourceId, UserId};
use crate::lock::{Right, RightState};
use crate::policy::{OverridePatch, Policy, PolicyOverride, PolicyPatch};
use crate::ports::{DirectoryChange, RefreshScope};

use super::engine::Engine;

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

/// The change of a resource's default from `resource` as read to `after`, with its event;
/// `None` when it changes nothing.
pub(crate) fn resource_edit(
    actor: &Principal,
    resource: &Resource,
    after: Policy,
    now: Timestamp,
) -> Option<(DirectoryChange, DomainEvent)> {
    let before = resource.policy;
    if before == after {
        return None;
    }
    let change = DirectoryChange::SetResourcePolicy {
        resource: resource.id.clone(),
        at: now,
        policy: after,
        revision: resource.revision,
    };
    let event = DomainEvent::PolicyChanged(Box::new(PolicyChange {
        resource: resource.id.clone(),
        group: None,
        grant: None,
        before: Some(before),
        after,
        override_before: None,
        override_after: None,
        by: actor.id.clone(),
        at: now,
    }));
    Some((change, event))
}

/// The edit of `grant` as read — a new override, a new expiry, or both — as one change over
/// its revision, with its events; the effective policies are under the resource default
/// `default`. `None` when it changes nothing.
pub(crate) fn grant_edit(
    actor: &Principal,
    grant: &Grant,
    default: Policy,
    policy_override: Option<PolicyOverride>,
    expires_at: Option<Option<Timestamp>>,
    now: Timestamp,
) -> Option<(DirectoryChange, Vec<DomainEvent>)> {
    let current = grant.current_override();
    let policy_override = policy_override.filter(|o| *o != current);
    let expiry_before = grant.current_expiry();
    let expires_at = expires_at.filter(|e| *e != expiry_before);
    if policy_override.is_none() && expires_at.is_none() {
        return None;
    }
    let mut events = Vec::new();
    if let Some(next) = policy_override {
        events.push(DomainEvent::PolicyChanged(Box::new(PolicyChange {
            resource: grant.resource.clone(),
            group: Some(grant.group.clone()),
            grant: Some(grant.id.clone()),
            before: Some(current.over(default)),
            after: next.over(default),
            override_before: Some(current),
            override_after: Some(next),
            by: actor.id.clone(),
            at: now,
        })));
    }
    if let Some(after) = expires_at {
        events.push(
            DirectoryEdit::new(
                AuditAction::GrantExpiryChanged,
                Some(&actor.id),
                json!({"before": expiry_before, "after": after}),
            )
            .resource(&grant.resource)
            .group(&grant.group)
            .grant(&grant.id)
            .event(),
        );
    }
    let change = DirectoryChange::EditGrant {
        grant: grant.id.clone(),
        at: now,
        policy_override,
        expires_at,
        revision: grant.revision,
    };
    Some((change, events))
}

/// Policy edits — a resource's default, a grant's override and expiry — their preview, and
/// policies as code.
#[derive(Clone)]
pub struct Policies {
    pub(crate) engine: Engine,
    pub(crate) directory: super::directory::Directory,
}

impl std::fmt::Debug for Policies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policies").finish_non_exhaustive()
    }
}

impl Policies {
    pub(crate) fn new(engine: &Engine, directory: super::directory::Directory) -> Self {
        Self {
            engine: engine.clone(),
            directory,
        }
    }
}

impl Policies {
    /// Edits a resource's default policy (admin, DevOps admin). A no-op edit records nothing.
    /// The edit is written over the revision it was computed from.
    pub async fn set_resource_policy(
        &self,
        actor: &Principal,
        id: &ResourceId,
        patch: PolicyPatch,
        now: Timestamp,
    ) -> Result<Resource> {
        require(actor, Capability::Operate)?;
        let intent = self
            .engine
            .retry(|| async {
                let resource = self.engine.existing_resource(id).await?;
                let Some((change, event)) =
                    resource_edit(actor, &resource, patch.apply(resource.policy), now)
                else {
                    return Ok(None);
                };
                let scope = RefreshScope::Resource {
                    resource: id.clone(),
                };
                let intent = self
                    .engine
                    .commit_refreshing(change, vec![event], scope, now)
                    .await?;
                Ok(Some(intent))
            })
            .await?;
        if let Some(intent) = intent {
            self.engine.settle_after(&intent, now).await;
        }
        self.engine.existing_resource(id).await
    }

    /// Edits a grant's override (admin, DevOps admin) and its expiry (admin) as one change,
    /// committed whole or not at all: the console's grant form. An expiry that changes must lie
    /// in the future and needs an admin; nothing is changed when either is refused.
    pub async fn edit_grant(
        &self,
        actor: &Principal,
        id: &GrantId,
        patch: Option<OverridePatch>,
        expires_at: Option<Option<Timestamp>>,
        now: Timestamp,
    ) -> Result<Grant> {
        self.engine
            .edit_grant(actor, id, patch, expires_at, now)
            .await
    }

    /// Edits a grant's override field by field (admin, DevOps admin). A no-op edit records
    /// nothing. The edit is written over the revision it was computed from, so that concurrent
    /// edits of other fields are all kept.
    pub async fn set_grant_override(
        &self,
        actor: &Principal,
        id: &GrantId,
        patch: OverridePatch,
        now: Timestamp,
    ) -> Result<Grant> {
        require(actor, Capability::Operate)?;
        self.engine
            .edit_grant(actor, id, Some(patch), None, now)
            .await
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
                self.engine.existing_resource(r).await?;
                (r.clone(), self.engine.directory.users_of_resource(r).await?)
            }
            PreviewTarget::Grant(g, _) => {
                let grant = self.engine.current_grant_by_id(g).await?;
                (
                    grant.resource.clone(),
                    self.engine.directory.members(&grant.group).await?,
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
            let tx = self.engine.load(&user, &resource, now).await?;
            let current = &tx.right;
            if !matches!(current.state(&tx.usage, now), RightState::Active { .. }) {
                continue;
            }
            let mut proposed = current.facts.clone();
            match target {
                PreviewTarget::Resource(_, patch) => {
                    let Some(before) = value_at(&proposed.resource_policy, now) else {
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
            let Some(lock_at) = Right::new(proposed)
                .timeline
                .next_lock(tx.usage.last_activity())
            else {
                continue;
            };
            let entry = PreviewLock {
                user: user.clone(),
                lock_at,
                today: current.timeline.next_lock(tx.usage.last_activity()),
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
}

impl Engine {
    /// Edits a grant's override (admin, DevOps admin) and its expiry (admin) as one change,
    /// committed whole or not at all: the console's grant form. An expiry that changes must lie
    /// in the future and needs an admin; nothing is changed when either is refused.
    pub(crate) async fn edit_grant(
        &self,
        actor: &Principal,
        id: &GrantId,
        patch: Option<OverridePatch>,
        expires_at: Option<Option<Timestamp>>,
        now: Timestamp,
    ) -> Result<Grant> {
        require(actor, Capability::Operate)?;
        let intent = self
            .retry(|| async {
                let grant = self.current_grant_by_id(id).await?;
                let resource = self.existing_resource(&grant.resource).await?;
                let expires_at = expires_at.filter(|e| *e != grant.current_expiry());
                if let Some(e) = expires_at {
                    require(actor, Capability::Administer)?;
                    super::check_expiry(e, now)?;
                }
                let policy_override = patch.map(|p| p.apply(grant.current_override()));
                let Some((change, events)) = grant_edit(
                    actor,
                    &grant,
                    resource.policy,
                    policy_override,
                    expires_at,
                    now,
                ) else {
                    return Ok(None);
                };
                let scope = super::directory::grant_scope(&grant);
                let intent = self.commit_refreshing(change, events, scope, now).await?;
                Ok(Some(intent))
            })
            .await?;
        if let Some(intent) = intent {
            self.settle_after(&intent, now).await;
        }
        self.current_grant_by_id(id).await
    }
}
