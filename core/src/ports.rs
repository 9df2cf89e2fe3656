//! Ports: what the core needs from the outside, split by capability. Every store implements
//! all of them; a use case asks for the narrowest it needs.
//!
//! Reads go through the reader traits. Every write goes through [`Committer::commit`] as one
//! [`Changeset`] that the store applies atomically, with its conditions checked: a usage write
//! names the version it was computed from, a request update names the status it expects, so
//! that a write computed from a stale read fails with [`StoreError::Conflict`] and changes
//! nothing.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::audit::{AuditEntry, AuditFilter};
use crate::directory::{
    Grant, Group, Principal, Resource, RightFacts, ServicePrincipal, Span, User,
};
use crate::error::StoreError;
use crate::events::OutboxEntry;
use crate::ids::{GrantId, GroupId, PrincipalId, RequestId, ResourceId, UserId};
use crate::lock::Usage;
use crate::policy::{Policy, PolicyOverride};
use crate::request::{AccessRequest, RequestStatus};
use crate::values::Role;

/// Store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// A page request: the cursor of the previous page (opaque) and a size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// The cursor returned with the previous page.
    pub after: Option<String>,
    /// At most this many items (stores cap it at 1000; 0 means 100).
    pub limit: u32,
}

impl PageRequest {
    /// The limit to apply: 1..=1000, 100 when unset.
    #[must_use]
    pub fn effective_limit(&self) -> usize {
        match self.limit {
            0 => 100,
            n => n.min(1000) as usize,
        }
    }

    /// The first page of `limit` items.
    #[must_use]
    pub fn first(limit: u32) -> Self {
        Self { after: None, limit }
    }
}

/// One page of a list, and the cursor of the next when there is more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `after` to get the next page.
    pub next: Option<String>,
}

/// A value with the version it was read at, for a conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    /// The value.
    pub value: T,
    /// 0 when nothing is stored yet.
    pub version: u64,
}

/// The directory, read.
#[async_trait]
pub trait DirectoryReader: Send + Sync {
    /// A user or a service principal, with the role the directory gives it.
    async fn principal(&self, id: &PrincipalId) -> StoreResult<Option<Principal>>;
    /// A user.
    async fn user(&self, id: &UserId) -> StoreResult<Option<User>>;
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
    /// The current members of a group.
    async fn members(&self, group: &GroupId) -> StoreResult<Vec<UserId>>;
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

/// The usage of rights, read.
#[async_trait]
pub trait UsageReader: Send + Sync {
    /// The usage of (user, resource) and its version; the default at version 0 when none.
    async fn usage(&self, user: &UserId, resource: &ResourceId) -> StoreResult<Versioned<Usage>>;
}

/// The sweep's index: rights due for a look.
#[async_trait]
pub trait LockIndex: Send + Sync {
    /// Up to `limit` rights whose `next_due` is at or before `now`, earliest first.
    async fn due(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<(UserId, ResourceId)>>;
}

/// Which requests to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFilter {
    /// Of this requester.
    pub user: Option<UserId>,
    /// On this resource.
    pub resource: Option<ResourceId>,
}

/// Access requests, read.
#[async_trait]
pub trait RequestReader: Send + Sync {
    /// A request.
    async fn request(&self, id: &RequestId) -> StoreResult<Option<AccessRequest>>;
    /// Open requests, oldest first.
    async fn open_requests(
        &self,
        filter: &RequestFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<AccessRequest>>;
    /// Requests resolved at or after `since`, newest first.
    async fn resolved_requests(
        &self,
        since: DateTime<Utc>,
        filter: &RequestFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<AccessRequest>>;
    /// How many requests are open.
    async fn count_open(&self) -> StoreResult<u64>;
}

/// The audit log, read.
#[async_trait]
pub trait AuditReader: Send + Sync {
    /// Entries passing `filter`, oldest first.
    async fn audit(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<AuditEntry>>;
}

/// The outbox, read and acknowledged by the notifier.
#[async_trait]
pub trait OutboxReader: Send + Sync {
    /// Up to `limit` entries not yet marked delivered, oldest first.
    async fn pending(&self, limit: usize) -> StoreResult<Vec<OutboxEntry>>;
    /// Marks entries delivered; marking twice is harmless.
    async fn mark_delivered(&self, entries: &[OutboxEntry]) -> StoreResult<()>;
}

/// Notification settings (DESIGN §4).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Whether approvers are emailed about new open requests.
    pub emails_enabled: bool,
    /// Which roles are emailed.
    pub email_roles: Vec<Role>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            emails_enabled: true,
            email_roles: vec![Role::Admin],
        }
    }
}

/// The settings, read and written (admin only, not part of any other change).
#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// The settings, or the defaults.
    async fn settings(&self) -> StoreResult<Settings>;
    /// Replaces the settings.
    async fn put_settings(&self, settings: &Settings) -> StoreResult<()>;
    /// The webhook, if one is set.
    async fn webhook(&self) -> StoreResult<Option<crate::notify::WebhookSettings>>;
    /// Sets or removes the webhook.
    async fn put_webhook(
        &self,
        webhook: Option<&crate::notify::WebhookSettings>,
    ) -> StoreResult<()>;
}

/// A change of the directory. Each is checked against the current state: creating what exists
/// or ending what is not current fails with [`StoreError::AlreadyExists`] /
/// [`StoreError::Conflict`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryChange {
    /// Creates a user; fails when a user or service principal has the id.
    CreateUser(User),
    /// Replaces a user's email, name and role (the id and the active flag stay).
    UpdateUser(User),
    /// Sets a user's active flag and records the change in the flag's history.
    SetUserActive {
        /// The user.
        user: UserId,
        /// When.
        at: DateTime<Utc>,
        /// The new flag.
        active: bool,
    },
    /// Creates a service principal; fails when a user or service principal has the id.
    CreateServicePrincipal(ServicePrincipal),
    /// Creates a group.
    CreateGroup(Group),
    /// Creates a resource; its policy history starts at its creation.
    CreateResource(Resource),
    /// Records a new default policy of a resource at an instant.
    SetResourcePolicy {
        /// The resource.
        resource: ResourceId,
        /// When.
        at: DateTime<Utc>,
        /// The new default.
        policy: Policy,
    },
    /// Makes a user a member of a group; fails with [`StoreError::Conflict`] when already a
    /// member.
    AddMembership {
        /// The user.
        user: UserId,
        /// The group.
        group: GroupId,
        /// When.
        at: DateTime<Utc>,
    },
    /// Ends a membership; fails with [`StoreError::Conflict`] when not a member.
    EndMembership {
        /// The user.
        user: UserId,
        /// The group.
        group: GroupId,
        /// When.
        at: DateTime<Utc>,
    },
    /// Creates a grant (its first expiry and override entries at its start); fails when the
    /// group already has a grant on the resource.
    CreateGrant(Grant),
    /// Removes a grant; fails when already removed.
    EndGrant {
        /// The grant.
        grant: GrantId,
        /// When.
        at: DateTime<Utc>,
    },
    /// Records a new expiry of a grant not removed.
    SetGrantExpiry {
        /// The grant.
        grant: GrantId,
        /// When.
        at: DateTime<Utc>,
        /// The new expiry, or none.
        expires_at: Option<DateTime<Utc>>,
    },
    /// Records a new override of a grant not removed.
    SetGrantOverride {
        /// The grant.
        grant: GrantId,
        /// When.
        at: DateTime<Utc>,
        /// The new override.
        value: PolicyOverride,
    },
}

/// A conditional write of one right's usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageWrite {
    /// The user.
    pub user: UserId,
    /// The resource.
    pub resource: ResourceId,
    /// The version the new value was computed from (0: nothing stored yet).
    pub expected_version: u64,
    /// The new value.
    pub usage: Usage,
}

/// A write of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestWrite {
    /// Stores a new request; fails when the id exists.
    Create(AccessRequest),
    /// Replaces a request whose stored status is `expected`.
    Update {
        /// The new value.
        request: AccessRequest,
        /// The status it must have now.
        expected: RequestStatus,
    },
}

/// Writes that must agree, applied all or nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changeset {
    /// Directory changes, in order.
    pub directory: Vec<DirectoryChange>,
    /// Usage writes, each conditioned on its version.
    pub usage: Vec<UsageWrite>,
    /// Request writes, each conditioned.
    pub requests: Vec<RequestWrite>,
    /// Audit entries; one whose id is stored already is skipped.
    pub audit: Vec<AuditEntry>,
    /// Outbox entries; one whose id is stored already is skipped.
    pub outbox: Vec<OutboxEntry>,
    /// Single-use links consumed by this change; one consumed before fails the whole change
    /// with [`StoreError::AlreadyExists`].
    pub consumed_links: Vec<ConsumedLink>,
}

/// A single-use link (the block page's) marked used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedLink {
    /// The link's id (a digest of it).
    pub id: String,
    /// When the link expires: the record may be dropped after that.
    pub expires_at: DateTime<Utc>,
}

impl Changeset {
    /// Whether there is nothing to write.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.directory.is_empty()
            && self.usage.is_empty()
            && self.requests.is_empty()
            && self.audit.is_empty()
            && self.outbox.is_empty()
            && self.consumed_links.is_empty()
    }
}

/// Applies changesets atomically.
#[async_trait]
pub trait Committer: Send + Sync {
    /// Applies every write of `changes` or none; a failed condition gives
    /// [`StoreError::Conflict`] or [`StoreError::AlreadyExists`].
    async fn commit(&self, changes: Changeset) -> StoreResult<()>;
}

/// Every port a store offers.
pub trait Store:
    DirectoryReader
    + UsageReader
    + LockIndex
    + RequestReader
    + AuditReader
    + OutboxReader
    + SettingsStore
    + crate::notify::DeliveryStore
    + Committer
{
}

impl<T> Store for T where
    T: DirectoryReader
        + UsageReader
        + LockIndex
        + RequestReader
        + AuditReader
        + OutboxReader
        + SettingsStore
        + crate::notify::DeliveryStore
        + Committer
{
}

/// Publishes domain events (to an event bus). Used by the outbox relay.
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes the entries; answers the ids of those published (others are retried later).
    async fn publish(&self, entries: &[OutboxEntry]) -> StoreResult<Vec<String>>;
}

/// The time. The core never reads the clock itself.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;

    /// The clock as a manual one, when it is.
    fn as_manual(&self) -> Option<&ManualClock> {
        None
    }
}

/// A clock that moves only when told to, and only forward: for demos and black-box tests.
#[derive(Debug)]
pub struct ManualClock {
    now: std::sync::Mutex<Timestamp>,
}

impl ManualClock {
    /// A clock showing `start`.
    #[must_use]
    pub fn new(start: Timestamp) -> Self {
        Self {
            now: std::sync::Mutex::new(start),
        }
    }

    /// Moves the clock to `to`; refuses to move it backward.
    pub fn set(&self, to: Timestamp) -> Result<Timestamp, crate::ValidationError> {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if to < *now {
            return Err(crate::ValidationError::new(
                "to",
                format!("{to} is before the clock's {now}; time only moves forward"),
            ));
        }
        *now = to;
        Ok(to)
    }

    /// Moves the clock forward by `by` (not negative).
    pub fn advance(&self, by: chrono::Duration) -> Result<Timestamp, crate::ValidationError> {
        if by < chrono::Duration::zero() {
            return Err(crate::ValidationError::new("by", "time only moves forward"));
        }
        let to = self.now() + by;
        self.set(to)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn as_manual(&self) -> Option<&ManualClock> {
        Some(self)
    }
}
