//! The directory, read: principals, groups, resources, grants, memberships, and the facts of a
//! right with their history.

use async_trait::async_trait;

use super::{Page, PageRequest, StoreResult};
use crate::directory::{
    Grant, Group, Principal, Resource, RightFacts, ServicePrincipal, Span, User,
};
use crate::ids::{GrantId, GroupId, PrincipalId, ResourceId, UserId};
use crate::values::{Email, Role};

/// A page of provisioned records not deleted ([`DirectoryReader::provisioned_live_page`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProvisionedPage {
    /// The page's records, by id.
    pub records: Vec<crate::directory::ProvisionedRecord>,
    /// How many records of the kind are not deleted, on this page or another.
    pub total: usize,
}

/// The directory, read.
#[async_trait]
pub trait DirectoryReader: Send + Sync {
    /// An identity provider's record of a user or group, deleted or not.
    async fn provisioned(
        &self,
        kind: crate::directory::ProvisionedKind,
        id: &str,
    ) -> StoreResult<Option<crate::directory::ProvisionedRecord>>;
    /// The provisioned user, not deleted, whose `userName` has this key (lower case:
    /// [`crate::directory::ProvisionedRecord::user_name_key`]); an identity provider looks a
    /// user up by name before it creates one.
    async fn provisioned_user_named(
        &self,
        key: &str,
    ) -> StoreResult<Option<crate::directory::ProvisionedRecord>>;
    /// Every record of a kind, deleted ones too, ordered by id.
    async fn provisioned_all(
        &self,
        kind: crate::directory::ProvisionedKind,
    ) -> StoreResult<Vec<crate::directory::ProvisionedRecord>>;
    /// One page of the records of a kind not deleted, by id: at most `count` of them from the
    /// `skip`th (0-based), with how many there are in all (an identity provider lists users a
    /// page at a time). The provided method reads every record and keeps the page; a store may
    /// read only the page.
    async fn provisioned_live_page(
        &self,
        kind: crate::directory::ProvisionedKind,
        skip: usize,
        count: usize,
    ) -> StoreResult<ProvisionedPage> {
        let live: Vec<_> = self
            .provisioned_all(kind)
            .await?
            .into_iter()
            .filter(|r| !r.deleted)
            .collect();
        Ok(ProvisionedPage {
            total: live.len(),
            records: live.into_iter().skip(skip).take(count).collect(),
        })
    }
    /// A user or a service principal, with the role the directory gives it.
    async fn principal(&self, id: &PrincipalId) -> StoreResult<Option<Principal>>;
    /// A user.
    async fn user(&self, id: &UserId) -> StoreResult<Option<User>>;
    /// Several users as [`Self::user`] reads each, in order; a store may read them in one go
    /// (a report reads a page's users this way).
    async fn users_by_id(&self, ids: &[UserId]) -> StoreResult<Vec<Option<User>>> {
        let mut read = Vec::with_capacity(ids.len());
        for id in ids {
            read.push(self.user(id).await?);
        }
        Ok(read)
    }
    /// The user with this email address (the first by id when several share it).
    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>>;
    /// The user the identity provider `issuer` knows as `subject`, remembered at an earlier
    /// single sign-on (`DirectoryChange::LinkSignInIdentity`).
    async fn user_of_sign_in_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> StoreResult<Option<UserId>>;
    /// Users by id.
    async fn users(&self, page: &PageRequest) -> StoreResult<Page<User>>;
    /// Active users holding any of `roles`.
    async fn active_users_with_roles(&self, roles: &[Role]) -> StoreResult<Vec<User>>;
    /// A service principal.
    async fn service_principal(&self, id: &PrincipalId) -> StoreResult<Option<ServicePrincipal>>;
    /// A group.
    async fn group(&self, id: &GroupId) -> StoreResult<Option<Group>>;
    /// Groups by id.
    async fn groups(&self, page: &PageRequest) -> StoreResult<Page<Group>>;
    /// A resource, with its current default policy.
    async fn resource(&self, id: &ResourceId) -> StoreResult<Option<Resource>>;
    /// Resources by id.
    async fn resources(&self, page: &PageRequest) -> StoreResult<Page<Resource>>;
    /// A grant with its history, current or ended.
    async fn grant(&self, id: &GrantId) -> StoreResult<Option<Grant>>;
    /// The grants not removed of a group on a resource (at most one).
    async fn current_grant(
        &self,
        group: &GroupId,
        resource: &ResourceId,
    ) -> StoreResult<Option<Grant>>;
    /// The grants not removed on a resource.
    async fn grants_of_resource(&self, resource: &ResourceId) -> StoreResult<Vec<Grant>>;
    /// The grants not removed of a group.
    async fn grants_of_group(&self, group: &GroupId) -> StoreResult<Vec<Grant>>;
    /// The current members of a group, by id.
    async fn members(&self, group: &GroupId) -> StoreResult<Vec<UserId>>;
    /// One page of a group's current members, by id (a group's report reads them so). The
    /// provided method reads them all and keeps the page; a store may read only the page.
    async fn members_page(&self, group: &GroupId, page: &PageRequest) -> StoreResult<Page<UserId>> {
        Ok(Page::of_sorted(
            self.members(group).await?,
            page,
            UserId::as_str,
        ))
    }
    /// Whether the group has a current member (a store may answer without reading them all).
    async fn has_members(&self, group: &GroupId) -> StoreResult<bool> {
        Ok(!self.members(group).await?.is_empty())
    }
    /// The user's current membership of the group, if they are a member.
    async fn membership(&self, user: &UserId, group: &GroupId) -> StoreResult<Option<Span>>;
    /// The groups a user is a member of now.
    async fn groups_of_user(&self, user: &UserId) -> StoreResult<Vec<GroupId>>;
    /// Everything the lock rule needs about (user, resource), history included.
    async fn right_facts(&self, user: &UserId, resource: &ResourceId) -> StoreResult<RightFacts>;
    /// The resources the user ever held a path to.
    async fn resources_of_user(&self, user: &UserId) -> StoreResult<Vec<ResourceId>>;
    /// The users who ever held a path to the resource.
    async fn users_of_resource(&self, resource: &ResourceId) -> StoreResult<Vec<UserId>>;
    /// One page of the users who ever held a path to the resource, by id (for streaming).
    async fn users_of_resource_page(
        &self,
        resource: &ResourceId,
        page: &PageRequest,
    ) -> StoreResult<Page<UserId>>;
}
