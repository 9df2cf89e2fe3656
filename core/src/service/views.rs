//! What users and approvers read: rights as they stand now, and the directory — each read with
//! its capability and object-level visibility checked here (`crate::authz`).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Timestamp;
use crate::authz::{Capability, require, require_sees_user};
use crate::directory::{Grant, Group, Principal, Resource};
use crate::error::Result;
use crate::ids::{GrantId, GroupId, RequestId, ResourceId, UserId};
use crate::lock::{ActivePath, RightState};
use crate::policy::{Policy, PolicyOverride};
use crate::ports::{Page, PageRequest};

use super::engine::Engine;
use super::right_tx::RightTx;

/// One right as a user or an approver sees it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RightView {
    pub user: UserId,
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

/// A right as it stands at `now`.
pub(crate) fn view(tx: &RightTx, now: Timestamp) -> RightView {
    RightView {
        user: tx.user().clone(),
        resource: tx.resource().clone(),
        state: tx.right.state(&tx.usage, now),
        paths: tx.right.timeline.paths_at(now).to_vec(),
        last_access: tx.usage.last_access,
        open_request: tx.usage.open_request.clone(),
    }
}

/// A grant as it stands: its override, the policy in effect, which fields are inherited.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantView {
    /// The grant's id.
    pub id: GrantId,
    /// The group with access.
    pub group_id: GroupId,
    pub resource_id: ResourceId,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was removed.
    pub removed_at: Option<DateTime<Utc>>,
    /// When it expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// The override: a field set overrides the resource default, null inherits.
    pub policy_override: PolicyOverride,
    /// The policy in effect: the override over the resource default.
    pub effective_policy: Policy,
    /// Which fields are inherited from the resource default.
    pub inherited: Vec<String>,
}

impl GrantView {
    /// The view of `grant` over its resource's `default`.
    #[must_use]
    pub fn of(grant: Grant, default: Policy) -> Self {
        let o = grant.current_override();
        let mut inherited = Vec::new();
        if o.auto_lock_after.is_none() {
            inherited.push("auto_lock_after".to_owned());
        }
        if o.approval.is_none() {
            inherited.push("approval".to_owned());
        }
        Self {
            expires_at: grant.current_expiry(),
            effective_policy: o.over(default),
            policy_override: o,
            inherited,
            id: grant.id,
            group_id: grant.group,
            resource_id: grant.resource,
            created_at: grant.span.start,
            removed_at: grant.span.end,
        }
    }
}

/// A group with its current members and grants.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupView {
    #[serde(flatten)]
    pub group: Group,
    /// The current members.
    pub members: Vec<UserId>,
    /// The grants not removed.
    pub grants: Vec<GrantView>,
}

/// What the block page shows a user who followed a signed link to a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockView {
    /// The user or the resource does not exist (any more).
    Gone,
    /// The user is deactivated.
    Deactivated,
    /// The right as it stands, and its resource.
    Right(Box<BlockRight>),
}

/// A right a block link leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRight {
    /// The resource.
    pub resource: Resource,
    /// The user, as an actor (the link is a bearer credential for them).
    pub user: Principal,
    /// The right now.
    pub right: RightView,
}

/// Rights as users and approvers see them, and what a block link shows.
#[derive(Clone)]
pub struct Rights {
    pub(crate) engine: Engine,
}

impl std::fmt::Debug for Rights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rights").finish_non_exhaustive()
    }
}

impl Rights {
    pub(crate) fn new(engine: &Engine) -> Self {
        Self {
            engine: engine.clone(),
        }
    }
}

impl Rights {
    /// What a signed block link to (`user`, `resource`) shows now. The link is the credential:
    /// its signature was checked by the surface that serves the page.
    pub async fn block_view(
        &self,
        user: &UserId,
        resource: &ResourceId,
        now: Timestamp,
    ) -> Result<BlockView> {
        let (Some(principal), Some(resource)) = (
            self.engine.directory.principal(user).await?,
            self.engine.directory.resource(resource).await?,
        ) else {
            return Ok(BlockView::Gone);
        };
        if !principal.active {
            return Ok(BlockView::Deactivated);
        }
        let tx = self.engine.load(user, &resource.id, now).await?;
        Ok(BlockView::Right(Box::new(BlockRight {
            right: view(&tx, now),
            user: principal,
            resource,
        })))
    }

    /// A right as seen now. Members see only their own: another's is `NotFound`.
    pub async fn right(
        &self,
        actor: &Principal,
        user: &UserId,
        resource: &ResourceId,
        now: Timestamp,
    ) -> Result<RightView> {
        require_sees_user(actor, user)?;
        self.engine.existing_resource(resource).await?;
        let tx = self.engine.load(user, resource, now).await?;
        Ok(view(&tx, now))
    }

    /// Every right a user holds or held. Members see only their own.
    pub async fn rights_of_user(
        &self,
        actor: &Principal,
        user: &UserId,
        now: Timestamp,
    ) -> Result<Vec<RightView>> {
        require_sees_user(actor, user)?;
        self.engine.existing_user(user).await?;
        let mut views = Vec::new();
        for resource in self.engine.directory.resources_of_user(user).await? {
            views.push(view(&self.engine.load(user, &resource, now).await?, now));
        }
        Ok(views)
    }

    /// One page of the rights on a resource, by user id (approvers).
    pub async fn rights_of_resource(
        &self,
        actor: &Principal,
        resource: &ResourceId,
        page: &PageRequest,
        now: Timestamp,
    ) -> Result<Page<RightView>> {
        require(actor, Capability::Review)?;
        self.engine.existing_resource(resource).await?;
        let users = self
            .engine
            .directory
            .users_of_resource_page(resource, page)
            .await?;
        let mut views = Vec::with_capacity(users.items.len());
        for user in users.items {
            views.push(view(&self.engine.load(&user, resource, now).await?, now));
        }
        Ok(Page {
            items: views,
            next: users.next,
        })
    }
}
