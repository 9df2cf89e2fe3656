//! The directory's use cases: users (and their active flag), service principals, groups and
//! memberships, resources and grants. Every change that can alter a right refreshes the rights
//! it touches, so their due instants and open requests follow at once.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Timestamp;
use crate::ValidationError;
use crate::audit::AuditAction;
use crate::authz::{Capability, may, require, require_any, require_sees_user};
use crate::directory::{
    GateIdentity, Grant, Group, Principal, Resource, ServicePrincipal, Span, Timed, User,
};
use crate::error::{Conflict, Error, Result, StoreError};
use crate::events::{DirectoryEdit, DomainEvent, PolicyChange};
use crate::ids::{GrantId, GroupId, PrincipalId, ResourceId, UserId};
use crate::policy::{Policy, PolicyOverride};
use crate::ports::{Changeset, DirectoryChange, Page, PageRequest, RefreshIntent, RefreshScope};
use crate::values::{Email, Name, Role};

use super::check_expiry;
use super::engine::Engine;
use super::views::{GrantView, GroupView};

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The id; generated when absent.
    pub id: Option<UserId>,
    /// Where notifications go.
    pub email: Email,
    /// How the person is shown.
    pub display_name: Name,
    /// A user role (not `gateway`).
    pub role: Role,
}

/// A service principal to create.
#[derive(Debug, Clone)]
pub struct NewServicePrincipal {
    /// The id (its tokens' `sub`); generated when absent.
    pub id: Option<PrincipalId>,
    /// A label for people.
    pub name: Name,
    /// `gateway` or `provisioner`.
    pub role: Role,
    /// For a gateway: the header of a gate check that names the user.
    pub identity: GateIdentity,
}

/// An edit of a user: each field given replaces, each omitted keeps.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// A new address.
    pub email: Option<Email>,
    /// A new name.
    pub display_name: Option<Name>,
    /// A new role.
    pub role: Option<Role>,
    /// Deactivate (`false`) or reactivate (`true`).
    pub active: Option<bool>,
}

/// A resource to create.
#[derive(Debug, Clone)]
pub struct NewResource {
    /// The id; generated when absent.
    pub id: Option<ResourceId>,
    pub name: Name,
    /// Where it is reached: a URL (the block page continues there) or a host.
    pub address: String,
    /// The default policy.
    pub policy: Policy,
}

/// A grant to create.
#[derive(Debug, Clone)]
pub struct NewGrant {
    /// The group to give access.
    pub group: GroupId,
    pub resource: ResourceId,
    /// When it expires, if ever.
    pub expires_at: Option<Timestamp>,
    /// The fields that override the resource default.
    pub policy_override: PolicyOverride,
}

/// A user's membership of a group.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Membership {
    pub group_id: GroupId,
    /// The member.
    pub user_id: UserId,
    /// When the current membership began.
    pub joined_at: chrono::DateTime<chrono::Utc>,
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

/// The rights a change of `grant` affects.
pub(crate) fn grant_scope(grant: &Grant) -> RefreshScope {
    RefreshScope::Grant {
        group: grant.group.clone(),
        resource: grant.resource.clone(),
    }
}

fn user_role(role: Role) -> Result<Role> {
    if role.is_service() {
        return Err(ValidationError::new(
            "role",
            format!("\"{role}\" is for service principals; allowed are \"member\", \"admin\", \"devops_admin\", \"access_reviewer\""),
        )
        .into());
    }
    Ok(role)
}

/// Roles are given by admins alone: a provisioner's users are members (docs/semantics.md §6).
fn require_role_giver(actor: &Principal) -> Result<()> {
    if may(actor, Capability::Administer) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only an admin gives a user a role other than member".into(),
        ))
    }
}

/// The directory's use cases: users, service principals, groups, memberships, resources and
/// grants, their edits (each audited) and reads.
#[derive(Clone)]
pub struct Directory {
    pub(crate) engine: Engine,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory").finish_non_exhaustive()
    }
}

impl Directory {
    pub(crate) fn new(engine: &Engine) -> Self {
        Self {
            engine: engine.clone(),
        }
    }
}

impl Directory {
    /// Whether the directory has no user yet (the first admin is bootstrapped only then).
    pub async fn directory_is_empty(&self) -> Result<bool> {
        Ok(self
            .engine
            .directory
            .users(&PageRequest::first(1))
            .await?
            .items
            .is_empty())
    }

    /// Creates the first admin of an empty directory; refused once any user exists.
    pub async fn bootstrap_admin(
        &self,
        id: UserId,
        email: Email,
        display_name: Name,
        now: Timestamp,
    ) -> Result<User> {
        if !self.directory_is_empty().await? {
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
            revision: 0,
            sessions_after: None,
        };
        self.engine
            .commit_changes(user_created(None, &user, now))
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
        require(actor, Capability::Provision)?;
        if new.role != Role::Member {
            require_role_giver(actor)?;
        }
        let user = User {
            id: new.id.unwrap_or_else(UserId::generate),
            email: new.email,
            display_name: new.display_name,
            role: user_role(new.role)?,
            active: true,
            created_at: now,
            revision: 0,
            sessions_after: None,
        };
        self.engine
            .commit_changes(user_created(Some(actor), &user, now))
            .await?;
        Ok(user)
    }

    /// Edits a user (admin; a provisioner, but for the role): email, name and role replace what
    /// they were; `active` deactivates
    /// (cancelling their open requests) or reactivates them. Each edit is written over the
    /// revision it was computed from, so that concurrent edits of other fields are all kept.
    pub async fn patch_user(
        &self,
        actor: &Principal,
        id: &UserId,
        patch: UserPatch,
        now: Timestamp,
    ) -> Result<User> {
        require(actor, Capability::Provision)?;
        let role = patch.role.map(user_role).transpose()?;
        if role.is_some() {
            require_role_giver(actor)?;
        }
        self.edit_user(actor, id, patch, role, now).await
    }

    /// A provisioned user's role as the identity provider's groups give it
    /// (`Options::group_roles`; a provisioner): audited as the provisioner's edit.
    pub(crate) async fn set_mapped_role(
        &self,
        actor: &Principal,
        id: &UserId,
        role: Role,
        now: Timestamp,
    ) -> Result<User> {
        require(actor, Capability::Provision)?;
        self.edit_user(actor, id, UserPatch::default(), Some(user_role(role)?), now)
            .await
    }

    /// [`Self::patch_user`], its checks made.
    async fn edit_user(
        &self,
        actor: &Principal,
        id: &UserId,
        patch: UserPatch,
        role: Option<Role>,
        now: Timestamp,
    ) -> Result<User> {
        let mut user = self.engine.existing_user(id).await?;
        if patch.email.is_some() || patch.display_name.is_some() || role.is_some() {
            user = self
                .engine
                .retry(|| async {
                    let before = self.engine.existing_user(id).await?;
                    let mut user = before.clone();
                    user.email = patch.email.clone().unwrap_or(user.email);
                    user.display_name = patch.display_name.clone().unwrap_or(user.display_name);
                    user.role = role.unwrap_or(user.role);
                    if user == before {
                        return Ok(user);
                    }
                    let mut changes = Changeset {
                        directory: vec![DirectoryChange::UpdateUser(user.clone())],
                        ..Changeset::default()
                    };
                    for event in user_edits(actor, &before, &user) {
                        changes.record(event, now);
                    }
                    self.engine.commit.commit(changes).await?;
                    user.revision += 1;
                    Ok(user)
                })
                .await?;
        }
        if let Some(active) = patch.active {
            user = self.set_user_active(actor, id, active, now).await?;
        }
        Ok(user)
    }

    /// Activates or deactivates a user (admin, provisioner); deactivation cancels their open requests.
    pub async fn set_user_active(
        &self,
        actor: &Principal,
        id: &UserId,
        active: bool,
        now: Timestamp,
    ) -> Result<User> {
        require(actor, Capability::Provision)?;
        let (user, intent) = self
            .engine
            .retry(|| async {
                let mut user = self.engine.existing_user(id).await?;
                if user.active == active {
                    return Ok((user, None));
                }
                let change = DirectoryChange::SetUserActive {
                    user: id.clone(),
                    at: now,
                    active,
                    revision: user.revision,
                };
                let scope = RefreshScope::User { user: id.clone() };
                let action = if active {
                    AuditAction::UserReactivated
                } else {
                    AuditAction::UserDeactivated
                };
                let event = DirectoryEdit::new(action, Some(&actor.id), json!({}))
                    .principal(id)
                    .event();
                let intent = self
                    .engine
                    .commit_refreshing(change, vec![event], scope, now)
                    .await?;
                user.active = active;
                user.revision += 1;
                Ok((user, Some(intent)))
            })
            .await?;
        if let Some(intent) = intent {
            self.engine.settle_after(&intent, now).await;
        }
        Ok(user)
    }

    /// Creates a service principal (admin): a gateway's, or an identity provider's
    /// (`provisioner`).
    pub async fn create_service_principal(
        &self,
        actor: &Principal,
        new: NewServicePrincipal,
        now: Timestamp,
    ) -> Result<ServicePrincipal> {
        require(actor, Capability::Administer)?;
        if !new.role.is_service() {
            return Err(ValidationError::new(
                "role",
                format!(
                    "\"{}\" is a user's role; a service principal is a \"gateway\" or a \"provisioner\"",
                    new.role
                ),
            )
            .into());
        }
        let sp = ServicePrincipal {
            id: new.id.unwrap_or_else(PrincipalId::generate),
            name: new.name,
            active: true,
            created_at: now,
            role: new.role,
            identity: new.identity,
        };
        let mut changes = Changeset {
            directory: vec![DirectoryChange::CreateServicePrincipal(sp.clone())],
            ..Changeset::default()
        };
        changes.record(
            DirectoryEdit::new(
                AuditAction::ServicePrincipalCreated,
                Some(&actor.id),
                json!({"name": sp.name, "role": sp.role, "identity": sp.identity}),
            )
            .principal(&sp.id)
            .event(),
            now,
        );
        self.engine.commit_changes(changes).await?;
        Ok(sp)
    }

    /// Enables or disables a gateway's service principal (admin): a disabled one is refused
    /// everything, at once.
    pub async fn set_service_principal_active(
        &self,
        actor: &Principal,
        id: &PrincipalId,
        active: bool,
        now: Timestamp,
    ) -> Result<ServicePrincipal> {
        require(actor, Capability::Administer)?;
        let mut sp = self
            .engine
            .directory
            .service_principal(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("service principal {id}")))?;
        if sp.active != active {
            let mut changes = Changeset {
                directory: vec![DirectoryChange::SetServicePrincipalActive {
                    id: id.clone(),
                    active,
                }],
                ..Changeset::default()
            };
            let action = if active {
                AuditAction::ServicePrincipalEnabled
            } else {
                AuditAction::ServicePrincipalDisabled
            };
            changes.record(
                DirectoryEdit::new(action, Some(&actor.id), json!({}))
                    .principal(id)
                    .event(),
                now,
            );
            self.engine.commit_changes(changes).await?;
            sp.active = active;
        }
        Ok(sp)
    }

    /// Creates a group (admin, provisioner).
    pub async fn create_group(
        &self,
        actor: &Principal,
        id: Option<GroupId>,
        name: Name,
        now: Timestamp,
    ) -> Result<Group> {
        require(actor, Capability::Provision)?;
        let group = Group {
            id: id.unwrap_or_else(GroupId::generate),
            name,
            created_at: now,
        };
        let mut changes = Changeset {
            directory: vec![DirectoryChange::CreateGroup(group.clone())],
            ..Changeset::default()
        };
        changes.record(
            DirectoryEdit::new(
                AuditAction::GroupCreated,
                Some(&actor.id),
                json!({"name": group.name}),
            )
            .group(&group.id)
            .event(),
            now,
        );
        self.engine.commit_changes(changes).await?;
        Ok(group)
    }

    /// Renames a group (admin, provisioner). Audited with the name before and after.
    pub async fn rename_group(
        &self,
        actor: &Principal,
        id: &GroupId,
        name: Name,
        now: Timestamp,
    ) -> Result<Group> {
        require(actor, Capability::Provision)?;
        let mut group = self.engine.existing_group(id).await?;
        if group.name == name {
            return Ok(group);
        }
        let mut changes = Changeset {
            directory: vec![DirectoryChange::RenameGroup {
                group: id.clone(),
                name: name.clone(),
            }],
            ..Changeset::default()
        };
        changes.record(
            DirectoryEdit::new(
                AuditAction::GroupRenamed,
                Some(&actor.id),
                json!({"before": group.name, "after": name}),
            )
            .group(id)
            .event(),
            now,
        );
        self.engine.commit_changes(changes).await?;
        group.name = name;
        Ok(group)
    }

    /// Creates a resource with its default policy (admin). The policy it is created with is a
    /// policy change like an edit: audited and published.
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
            revision: 0,
        };
        let mut changes = Changeset {
            directory: vec![DirectoryChange::CreateResource(resource.clone())],
            ..Changeset::default()
        };
        changes.record(
            DirectoryEdit::new(
                AuditAction::ResourceCreated,
                Some(&actor.id),
                json!({"name": resource.name, "address": resource.address}),
            )
            .resource(&resource.id)
            .event(),
            now,
        );
        changes.record(
            DomainEvent::PolicyChanged(Box::new(PolicyChange {
                resource: resource.id.clone(),
                group: None,
                grant: None,
                before: None,
                after: resource.policy,
                override_before: None,
                override_after: None,
                by: actor.id.clone(),
                at: now,
            })),
            now,
        );
        self.engine.commit_changes(changes).await?;
        Ok(resource)
    }

    /// The current grant of `group` on `resource` (approvers).
    pub async fn grant_of(
        &self,
        actor: &Principal,
        resource: &ResourceId,
        group: &GroupId,
    ) -> Result<Grant> {
        require(actor, Capability::Review)?;
        self.engine
            .directory
            .current_grant(group, resource)
            .await?
            .ok_or_else(|| Error::NotFound(format!("grant of {group} on {resource}")))
    }

    /// Adds a user to a group (admin, provisioner). Adding a current member changes nothing: the answer is
    /// the membership as it is, `joined_at` kept, and `false` (not created).
    pub async fn add_member(
        &self,
        actor: &Principal,
        group: &GroupId,
        user: &UserId,
        now: Timestamp,
    ) -> Result<(Membership, bool)> {
        require(actor, Capability::Provision)?;
        self.engine.existing_group(group).await?;
        self.engine.existing_user(user).await?;
        let membership = |joined_at| Membership {
            group_id: group.clone(),
            user_id: user.clone(),
            joined_at,
        };
        if let Some(span) = self.engine.directory.membership(user, group).await? {
            return Ok((membership(span.start), false));
        }
        let change = DirectoryChange::AddMembership {
            user: user.clone(),
            group: group.clone(),
            at: now,
        };
        let event = DirectoryEdit::new(AuditAction::MembershipAdded, Some(&actor.id), json!({}))
            .principal(user)
            .group(group)
            .event();
        let added = self
            .engine
            .commit_refreshing(change, vec![event], membership_scope(user, group), now)
            .await;
        if let Err(Error::Store(StoreError::Conflict(_))) = added {
            // Added concurrently: answer the membership that won.
            if let Some(span) = self.engine.directory.membership(user, group).await? {
                return Ok((membership(span.start), false));
            }
        }
        self.engine.settle_after(&added?, now).await;
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
        require(actor, Capability::Provision)?;
        self.engine.existing_group(group).await?;
        let not_member = || Error::NotFound(format!("membership of {user} in {group}"));
        if self
            .engine
            .directory
            .membership(user, group)
            .await?
            .is_none()
        {
            return Err(not_member());
        }
        let change = DirectoryChange::EndMembership {
            user: user.clone(),
            group: group.clone(),
            at: now,
        };
        let scope = membership_scope(user, group);
        let event = DirectoryEdit::new(AuditAction::MembershipRemoved, Some(&actor.id), json!({}))
            .principal(user)
            .group(group)
            .event();
        let intent = match self
            .engine
            .commit_refreshing(change, vec![event], scope, now)
            .await
        {
            Err(Error::Store(StoreError::Conflict(_))) => return Err(not_member()),
            other => other?,
        };
        self.engine.settle_after(&intent, now).await;
        Ok(())
    }

    /// Grants a group access to a resource (admin). Each field the grant overrides from its
    /// creation is a policy change like an edit.
    pub async fn create_grant(
        &self,
        actor: &Principal,
        new: NewGrant,
        now: Timestamp,
    ) -> Result<Grant> {
        require(actor, Capability::Administer)?;
        self.engine.existing_group(&new.group).await?;
        let resource = self.engine.existing_resource(&new.resource).await?;
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
            revision: 0,
        };
        let intent = RefreshIntent::new(grant_scope(&grant), now);
        let mut changes = Changeset {
            directory: vec![DirectoryChange::CreateGrant(grant.clone())],
            refreshes: vec![intent.clone()],
            ..Changeset::default()
        };
        changes.record(
            DirectoryEdit::new(
                AuditAction::GrantCreated,
                Some(&actor.id),
                json!({"expires_at": new.expires_at}),
            )
            .resource(&grant.resource)
            .group(&grant.group)
            .grant(&grant.id)
            .event(),
            now,
        );
        if new.policy_override != PolicyOverride::default() {
            changes.record(
                DomainEvent::PolicyChanged(Box::new(PolicyChange {
                    resource: grant.resource.clone(),
                    group: Some(grant.group.clone()),
                    grant: Some(grant.id.clone()),
                    before: None,
                    after: new.policy_override.over(resource.policy),
                    override_before: None,
                    override_after: Some(new.policy_override),
                    by: actor.id.clone(),
                    at: now,
                })),
                now,
            );
        }
        self.engine.commit_changes(changes).await?;
        self.engine.settle_after(&intent, now).await;
        Ok(grant)
    }

    /// Removes a grant (admin).
    pub async fn remove_grant(
        &self,
        actor: &Principal,
        id: &GrantId,
        now: Timestamp,
    ) -> Result<()> {
        require(actor, Capability::Administer)?;
        let intent = self
            .engine
            .retry(|| async {
                let grant = self.engine.current_grant_by_id(id).await?;
                let change = DirectoryChange::EndGrant {
                    grant: id.clone(),
                    at: now,
                    revision: grant.revision,
                };
                let event =
                    DirectoryEdit::new(AuditAction::GrantRemoved, Some(&actor.id), json!({}))
                        .resource(&grant.resource)
                        .group(&grant.group)
                        .grant(id)
                        .event();
                self.engine
                    .commit_refreshing(change, vec![event], grant_scope(&grant), now)
                    .await
            })
            .await?;
        self.engine.settle_after(&intent, now).await;
        Ok(())
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
        self.engine
            .edit_grant(actor, id, None, Some(expires_at), now)
            .await
    }
}

/// The changes of creating `user`, audited as `by` (none: the first admin's bootstrap).
pub(crate) fn user_created(by: Option<&Principal>, user: &User, now: Timestamp) -> Changeset {
    let mut changes = Changeset {
        directory: vec![DirectoryChange::CreateUser(user.clone())],
        ..Changeset::default()
    };
    changes.record(
        DirectoryEdit::new(
            AuditAction::UserCreated,
            by.map(|p| &p.id),
            json!({"email": user.email, "display_name": user.display_name, "role": user.role}),
        )
        .principal(&user.id)
        .event(),
        now,
    );
    changes
}

/// The audited edits between a user `before` and `after`: one per field that changed.
fn user_edits(actor: &Principal, before: &User, after: &User) -> Vec<DomainEvent> {
    let fields = [
        (
            AuditAction::UserEmailChanged,
            json!(before.email),
            json!(after.email),
        ),
        (
            AuditAction::UserNameChanged,
            json!(before.display_name),
            json!(after.display_name),
        ),
        (
            AuditAction::UserRoleChanged,
            json!(before.role),
            json!(after.role),
        ),
    ];
    fields
        .into_iter()
        .filter(|(_, b, a)| b != a)
        .map(|(action, b, a)| {
            DirectoryEdit::new(action, Some(&actor.id), json!({"before": b, "after": a}))
                .principal(&after.id)
                .event()
        })
        .collect()
}

/// The rights a change of `user`'s membership in `group` affects.
fn membership_scope(user: &UserId, group: &GroupId) -> RefreshScope {
    RefreshScope::Membership {
        user: user.clone(),
        group: group.clone(),
    }
}

/// The directory's reads: users, service principals, groups, resources and grants, as their
/// readers may see them.
impl Directory {
    /// The principal behind an authenticated id, with its role from the directory, active or
    /// not; `None` when the directory does not know it.
    pub async fn principal(&self, id: &PrincipalId) -> Result<Option<Principal>> {
        Ok(self.engine.directory.principal(id).await?)
    }

    /// The caller behind an authenticated id, admitted (`authz::admit`).
    pub async fn caller(&self, id: &PrincipalId) -> Result<Principal> {
        crate::authz::admit(id, self.engine.directory.principal(id).await?)
    }

    /// A page of users (approvers, provisioners).
    pub async fn users(&self, actor: &Principal, page: &PageRequest) -> Result<Page<User>> {
        require_any(actor, &[Capability::Review, Capability::Provision])?;
        Ok(self.engine.directory.users(page).await?)
    }

    /// A user (the user themselves, an approver or a provisioner).
    pub async fn user(&self, actor: &Principal, id: &UserId) -> Result<User> {
        if !may(actor, Capability::Provision) {
            require_sees_user(actor, id)?;
        }
        self.engine.existing_user(id).await
    }

    /// A service principal (approvers).
    pub async fn service_principal(
        &self,
        actor: &Principal,
        id: &PrincipalId,
    ) -> Result<ServicePrincipal> {
        require(actor, Capability::Review)?;
        self.engine
            .directory
            .service_principal(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("service principal {id}")))
    }

    /// A page of groups (approvers, provisioners).
    pub async fn groups(&self, actor: &Principal, page: &PageRequest) -> Result<Page<Group>> {
        require_any(actor, &[Capability::Review, Capability::Provision])?;
        Ok(self.engine.directory.groups(page).await?)
    }

    /// A group with its members and grants (approvers, provisioners).
    pub async fn group(&self, actor: &Principal, id: &GroupId) -> Result<GroupView> {
        require_any(actor, &[Capability::Review, Capability::Provision])?;
        let group = self.engine.existing_group(id).await?;
        let members = self.engine.directory.members(id).await?;
        let mut grants = Vec::new();
        for g in self.engine.directory.grants_of_group(id).await? {
            grants.push(self.grant_view(g).await?);
        }
        Ok(GroupView {
            group,
            members,
            grants,
        })
    }

    /// A page of resources (approvers).
    pub async fn resources(&self, actor: &Principal, page: &PageRequest) -> Result<Page<Resource>> {
        require(actor, Capability::Review)?;
        Ok(self.engine.directory.resources(page).await?)
    }

    /// A resource with its default policy (approvers).
    pub async fn resource(&self, actor: &Principal, id: &ResourceId) -> Result<Resource> {
        require(actor, Capability::Review)?;
        self.engine.existing_resource(id).await
    }

    /// The grants not removed on a resource (approvers).
    pub async fn grants_of_resource(
        &self,
        actor: &Principal,
        id: &ResourceId,
    ) -> Result<Vec<GrantView>> {
        require(actor, Capability::Review)?;
        let resource = self.engine.existing_resource(id).await?;
        Ok(self
            .engine
            .directory
            .grants_of_resource(id)
            .await?
            .into_iter()
            .map(|g| GrantView::of(g, resource.policy))
            .collect())
    }

    /// A grant, current or removed (approvers).
    pub async fn grant(&self, actor: &Principal, id: &GrantId) -> Result<GrantView> {
        require(actor, Capability::Review)?;
        let grant = self
            .engine
            .directory
            .grant(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("grant {id}")))?;
        self.grant_view(grant).await
    }

    /// The view of a grant over its resource's default.
    pub(crate) async fn grant_view(&self, grant: Grant) -> Result<GrantView> {
        let resource = self.engine.existing_resource(&grant.resource).await?;
        Ok(GrantView::of(grant, resource.policy))
    }
}
