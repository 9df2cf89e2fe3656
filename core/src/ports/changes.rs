//! Writes: every change goes through [`Committer::commit`] as one [`Changeset`], applied
//! atomically with its conditions checked.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::audit::AuditEntry;
use crate::directory::{Grant, Group, Resource, ServicePrincipal, User};
use crate::events::OutboxEntry;
use crate::ids::{GrantId, GroupId, PrincipalId, ResourceId, UserId};
use crate::lock::Usage;
use crate::policy::{Policy, PolicyOverride};
use crate::request::{AccessRequest, RequestStatus};

/// A change of the directory. Each is checked against the current state: creating what exists
/// or ending what is not current fails with [`StoreError::AlreadyExists`](crate::error::StoreError::AlreadyExists) /
/// [`StoreError::Conflict`](crate::error::StoreError::Conflict).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryChange {
    /// Creates a user; fails when a user or service principal has the id.
    CreateUser(User),
    /// Replaces a user's email, name and role (the id and the active flag stay), over the
    /// user's revision `user.revision` (else a conflict).
    UpdateUser(User),
    /// Ends every console session of a user opened before `at` (real time); fails when the
    /// user does not exist. Not an edit of the user: it moves no revision.
    EndSessions {
        user: UserId,
        /// From when on sessions count (real time).
        at: DateTime<Utc>,
    },
    /// Sets a user's active flag and records the change in the flag's history, over the user's
    /// revision `revision`.
    SetUserActive {
        user: UserId,
        /// When.
        at: DateTime<Utc>,
        /// The new flag.
        active: bool,
        /// The revision the change was computed from.
        revision: u64,
    },
    /// Writes an identity provider's record of a user or group, over its version
    /// `record.version - 1` (0: none yet; else a conflict); fails with
    /// [`StoreError::AlreadyExists`](crate::error::StoreError::AlreadyExists) when another live
    /// record has its `user_name` (without regard to case).
    PutProvisioned {
        /// The record as it is to be.
        record: crate::directory::ProvisionedRecord,
        /// Its `user_name` key before (that key is freed).
        previous_user_name: Option<String>,
    },
    /// Creates a service principal; fails when a user or service principal has the id.
    CreateServicePrincipal(ServicePrincipal),
    /// Enables or disables a service principal; fails when it does not exist.
    SetServicePrincipalActive { id: PrincipalId, active: bool },
    /// Creates a group.
    CreateGroup(Group),
    /// Remembers that the identity provider `issuer` knows `user` as `subject` (the ID token's
    /// `sub`), so that their next single sign-on finds them by it: the user's previous subject
    /// at that issuer, if any, no longer finds them. Fails when the user does not exist. Not an
    /// edit of the user: it moves no revision.
    LinkSignInIdentity {
        user: UserId,
        issuer: String,
        subject: String,
    },
    /// Renames a group; fails when it does not exist.
    RenameGroup {
        group: GroupId,
        name: crate::values::Name,
    },
    /// Creates a resource; its policy history starts at its creation.
    CreateResource(Resource),
    /// Records a new default policy of a resource at an instant, over the resource's revision
    /// `revision` (else a conflict).
    SetResourcePolicy {
        resource: ResourceId,
        /// When.
        at: DateTime<Utc>,
        /// The new default.
        policy: Policy,
        /// The revision the change was computed from.
        revision: u64,
    },
    /// Makes a user a member of a group; fails with [`StoreError::Conflict`](crate::error::StoreError::Conflict) when already a
    /// member.
    AddMembership {
        user: UserId,
        group: GroupId,
        /// When.
        at: DateTime<Utc>,
    },
    /// Ends a membership; fails with [`StoreError::Conflict`](crate::error::StoreError::Conflict) when not a member.
    EndMembership {
        user: UserId,
        group: GroupId,
        /// When.
        at: DateTime<Utc>,
    },
    /// Creates a grant (its first expiry and override entries at its start); fails when the
    /// group already has a grant on the resource.
    CreateGrant(Grant),
    /// Removes a grant, over its revision `revision`; fails when already removed.
    EndGrant {
        grant: GrantId,
        /// When.
        at: DateTime<Utc>,
        /// The revision the change was computed from.
        revision: u64,
    },
    /// Records a new override, a new expiry, or both, of a grant not removed, at one instant:
    /// one edit over its revision `revision` (which it moves by one).
    EditGrant {
        grant: GrantId,
        /// When.
        at: DateTime<Utc>,
        /// The new override, when it changes.
        policy_override: Option<PolicyOverride>,
        /// The new expiry (or none), when it changes.
        expires_at: Option<Option<DateTime<Utc>>>,
        /// The revision the change was computed from.
        revision: u64,
    },
    /// Stores a new exemption; fails when the id exists.
    CreateExemption(crate::exemption::Exemption),
    /// Replaces an exemption over its revision `exemption.revision` (else a conflict).
    UpdateExemption(crate::exemption::Exemption),
}

/// A conditional write of one right's usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageWrite {
    pub user: UserId,
    pub resource: ResourceId,
    /// The version the new value was computed from (0: nothing stored yet).
    pub expected_version: u64,
    /// The new value.
    pub usage: Usage,
    /// The right's facts the value was computed with (without the feed's silences), when the
    /// store keeps them with the usage ([`super::UsageReader::keeps_facts`]); else `None`.
    pub facts: Option<crate::directory::RightFacts>,
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
    /// with [`StoreError::AlreadyExists`](crate::error::StoreError::AlreadyExists).
    pub consumed_links: Vec<ConsumedLink>,
    /// Settings replaced.
    pub settings: Vec<super::SettingsWrite>,
    /// Sign-in links issued (stored by their digest).
    pub sign_in_links: Vec<super::IssuedLink>,
    /// Intents to refresh the rights this change affects (kept until carried out).
    pub refreshes: Vec<super::RefreshIntent>,
    /// Intents carried out (by id): removed.
    pub refreshed: Vec<String>,
    /// The recent uses of limited actions, each written over the version read.
    pub throttles: Vec<ThrottleWrite>,
}

/// A conditional write of the recent uses of one limited action (sign-in emails per address,
/// per client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleWrite {
    /// What is limited, e.g. `sign-in:address:<digest>`.
    pub key: String,
    /// The version the uses were read at (0: none stored).
    pub expected_version: u64,
    /// The uses that still count, the new one included.
    pub hits: Vec<DateTime<Utc>>,
    /// When the record may be dropped: its last use no longer counts then.
    pub expires_at: DateTime<Utc>,
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
            && self.settings.is_empty()
            && self.sign_in_links.is_empty()
            && self.refreshes.is_empty()
            && self.refreshed.is_empty()
            && self.throttles.is_empty()
    }

    /// Adds the writes of `other` after these.
    pub fn append(&mut self, other: Changeset) {
        let Changeset {
            directory,
            usage,
            requests,
            audit,
            outbox,
            consumed_links,
            settings,
            sign_in_links,
            refreshes,
            refreshed,
            throttles,
        } = other;
        self.directory.extend(directory);
        self.usage.extend(usage);
        self.requests.extend(requests);
        self.audit.extend(audit);
        self.outbox.extend(outbox);
        self.consumed_links.extend(consumed_links);
        self.settings.extend(settings);
        self.sign_in_links.extend(sign_in_links);
        self.refreshes.extend(refreshes);
        self.refreshed.extend(refreshed);
        self.throttles.extend(throttles);
    }
}

/// Applies changesets atomically.
#[async_trait]
pub trait Committer: Send + Sync {
    /// Applies every write of `changes` or none; a failed condition gives
    /// [`StoreError::Conflict`](crate::error::StoreError::Conflict) or [`StoreError::AlreadyExists`](crate::error::StoreError::AlreadyExists).
    async fn commit(&self, changes: Changeset) -> StoreResult<()>;

    /// How many rights' changes one commit carries well: the sweep commits the locks of that
    /// many rights together (and each alone when one of them fails). One by default; a store
    /// whose transactions are cheap and unbounded (SQLite) takes hundreds.
    fn rights_per_commit(&self) -> usize {
        1
    }
}

impl Changeset {
    /// Records a domain event recorded at `now`: its audit entries (one mapping:
    /// [`crate::audit::entries_of`]), and its outbox entry when others act on it.
    pub fn record(&mut self, event: crate::events::DomainEvent, now: chrono::DateTime<Utc>) {
        self.audit.extend(crate::audit::entries_of(&event, now));
        if event.is_published() {
            self.outbox.push(OutboxEntry::new(event, now));
        }
    }
}
