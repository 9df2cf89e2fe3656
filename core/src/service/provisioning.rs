//! Provisioning: the directory as an identity provider keeps it (SCIM, docs/semantics.md §6).
//! A provisioner creates, replaces and deletes users and groups; each is an autolock user or
//! group of the same id, with the provider's record beside it (its document, whole). Every
//! change goes through the directory's own use cases, so it is audited with the provisioner as
//! the actor, deactivation cancels open requests, and memberships keep their instants.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::Timestamp;
use crate::authz::{Capability, require};
use crate::directory::{Group, Principal, ProvisionedKind, ProvisionedRecord, User};
use crate::error::{Error, Result};
use crate::ids::{GroupId, UserId};
use crate::ports::{Changeset, DirectoryChange};
use crate::values::{Email, Name, Role};

use super::directory::{Directory, UserPatch, user_created};
use super::engine::Engine;

/// A user as the provider writes it.
#[derive(Debug, Clone)]
pub struct ProvisionedUser {
    /// Its `userName`: unique among the provider's users, without regard to case.
    pub user_name: String,
    /// The provider's own id for it.
    pub external_id: Option<String>,
    /// Where autolock emails the user; none: an address in the reserved `.invalid` domain,
    /// where autolock sends nothing (`Email::unknown_for`).
    pub email: Option<Email>,
    /// How autolock shows the user.
    pub display_name: Name,
    /// False deactivates, true reactivates; none: active when created, as it was when replaced.
    pub active: Option<bool>,
    /// The whole document, as written.
    pub doc: Value,
}

/// A group as the provider writes it.
#[derive(Debug, Clone)]
pub struct ProvisionedGroup {
    /// Its `displayName`.
    pub display_name: Name,
    /// The provider's own id for it.
    pub external_id: Option<String>,
    /// Its members, each an autolock user.
    pub members: Vec<UserId>,
    /// The whole document, as written.
    pub doc: Value,
}

/// A provisioned group: the autolock group, its current members and the provider's record.
#[derive(Debug, Clone)]
pub struct GroupRecord {
    pub group: Group,
    pub members: Vec<UserId>,
    pub record: ProvisionedRecord,
}

/// The provisioner's use cases.
#[derive(Clone)]
pub struct Provisioning {
    pub(crate) engine: Engine,
    pub(crate) directory: Directory,
}

impl std::fmt::Debug for Provisioning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provisioning").finish_non_exhaustive()
    }
}

/// A group document's `displayName`.
fn display_name_of(doc: &Value) -> Option<&str> {
    doc.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("displayName"))
        .and_then(|(_, v)| v.as_str())
}

fn record(
    kind: ProvisionedKind,
    id: &str,
    user_name: Option<String>,
    external_id: Option<String>,
    doc: Value,
    before: Option<&ProvisionedRecord>,
    now: Timestamp,
) -> ProvisionedRecord {
    ProvisionedRecord {
        kind,
        id: id.to_owned(),
        user_name,
        external_id,
        deleted: false,
        created_at: before.map_or(now, |b| b.created_at),
        updated_at: now,
        version: before.map_or(1, |b| b.version + 1),
        doc,
    }
}

impl Provisioning {
    pub(crate) fn new(engine: &Engine, directory: Directory) -> Self {
        Self {
            engine: engine.clone(),
            directory,
        }
    }

    async fn live(&self, kind: ProvisionedKind, id: &str) -> Result<ProvisionedRecord> {
        self.engine
            .directory
            .provisioned(kind, id)
            .await?
            .filter(|r| !r.deleted)
            .ok_or_else(|| Error::NotFound(format!("{} {id}", kind.as_str())))
    }

    async fn put(
        &self,
        record: ProvisionedRecord,
        before: Option<&ProvisionedRecord>,
    ) -> Result<()> {
        let changes = Changeset {
            directory: vec![DirectoryChange::PutProvisioned {
                previous_user_name: before.and_then(ProvisionedRecord::user_name_key),
                record,
            }],
            ..Changeset::default()
        };
        self.engine.commit_changes(changes).await
    }

    /// Marks a record deleted: the provider sees it no more, and a user's name is free again.
    async fn hide(&self, before: &ProvisionedRecord, now: Timestamp) -> Result<()> {
        let gone = ProvisionedRecord {
            deleted: true,
            version: before.version + 1,
            updated_at: now,
            ..before.clone()
        };
        self.put(gone, Some(before)).await
    }

    /// Every user the provider provisioned and has not deleted, with its record.
    pub async fn users(&self, actor: &Principal) -> Result<Vec<(User, ProvisionedRecord)>> {
        require(actor, Capability::Provision)?;
        let records = self.all_live(ProvisionedKind::User).await?;
        self.with_users(records).await
    }

    /// One page of [`Self::users`], by id: at most `count` from the `skip`th (0-based), with
    /// how many there are in all. Only the page's records and users are read (where the store
    /// reads a page: [`crate::ports::DirectoryReader::provisioned_live_page`]).
    pub async fn users_page(
        &self,
        actor: &Principal,
        skip: usize,
        count: usize,
    ) -> Result<(Vec<(User, ProvisionedRecord)>, usize)> {
        require(actor, Capability::Provision)?;
        let page = self
            .engine
            .directory
            .provisioned_live_page(ProvisionedKind::User, skip, count)
            .await?;
        Ok((self.with_users(page.records).await?, page.total))
    }

    /// Every record of a kind not deleted.
    async fn all_live(&self, kind: ProvisionedKind) -> Result<Vec<ProvisionedRecord>> {
        let mut records = self.engine.directory.provisioned_all(kind).await?;
        records.retain(|r| !r.deleted);
        Ok(records)
    }

    /// Users' records with their users, read in one go.
    async fn with_users(
        &self,
        records: Vec<ProvisionedRecord>,
    ) -> Result<Vec<(User, ProvisionedRecord)>> {
        let (ids, records): (Vec<UserId>, Vec<ProvisionedRecord>) = records
            .into_iter()
            .filter_map(|r| Some((UserId::parse(&r.id).ok()?, r)))
            .unzip();
        let users = self.engine.directory.users_by_id(&ids).await?;
        Ok(users
            .into_iter()
            .zip(records)
            .filter_map(|(u, r)| u.map(|u| (u, r)))
            .collect())
    }

    /// The provisioned user whose `userName` is `user_name` (whatever its case) and its record,
    /// if there is one: what an identity provider asks before it creates a user, read by the
    /// name's key rather than from every user.
    pub async fn user_named(
        &self,
        actor: &Principal,
        user_name: &str,
    ) -> Result<Option<(User, ProvisionedRecord)>> {
        require(actor, Capability::Provision)?;
        let directory = &self.engine.directory;
        let Some(record) = directory
            .provisioned_user_named(&ProvisionedRecord::name_key(user_name))
            .await?
        else {
            return Ok(None);
        };
        let Ok(id) = UserId::parse(&record.id) else {
            return Ok(None);
        };
        Ok(directory.user(&id).await?.map(|u| (u, record)))
    }

    /// A provisioned user and its record.
    pub async fn user(&self, actor: &Principal, id: &UserId) -> Result<(User, ProvisionedRecord)> {
        require(actor, Capability::Provision)?;
        let record = self.live(ProvisionedKind::User, id.as_str()).await?;
        Ok((self.engine.existing_user(id).await?, record))
    }

    /// Creates a user (a member: roles are an admin's) with the provider's record, in one
    /// change; a `userName` another user has is a conflict (`already_exists`).
    pub async fn create_user(
        &self,
        actor: &Principal,
        new: ProvisionedUser,
        now: Timestamp,
    ) -> Result<(User, ProvisionedRecord)> {
        require(actor, Capability::Provision)?;
        let id = UserId::generate();
        let user = User {
            email: new.email.unwrap_or_else(|| Email::unknown_for(id.as_str())),
            id,
            display_name: new.display_name,
            role: Role::Member,
            active: true,
            created_at: now,
            revision: 0,
            sessions_after: None,
        };
        let record = record(
            ProvisionedKind::User,
            user.id.as_str(),
            Some(new.user_name),
            new.external_id,
            new.doc,
            None,
            now,
        );
        let mut changes = user_created(Some(actor), &user, now);
        changes.directory.push(DirectoryChange::PutProvisioned {
            record: record.clone(),
            previous_user_name: None,
        });
        self.engine.commit_changes(changes).await?;
        let user = if new.active.unwrap_or(true) {
            user
        } else {
            self.directory
                .set_user_active(actor, &user.id, false, now)
                .await?
        };
        Ok((user, record))
    }

    /// Replaces a provisioned user: its email, name and active flag as the directory's edits
    /// (audited, deactivation cancelling open requests), then its record.
    pub async fn replace_user(
        &self,
        actor: &Principal,
        id: &UserId,
        new: ProvisionedUser,
        now: Timestamp,
    ) -> Result<(User, ProvisionedRecord)> {
        require(actor, Capability::Provision)?;
        let before = self.live(ProvisionedKind::User, id.as_str()).await?;
        let patch = UserPatch {
            email: Some(new.email.unwrap_or_else(|| Email::unknown_for(id.as_str()))),
            display_name: Some(new.display_name),
            role: None,
            active: new.active,
        };
        let user = self.directory.patch_user(actor, id, patch, now).await?;
        let record = record(
            ProvisionedKind::User,
            id.as_str(),
            Some(new.user_name),
            new.external_id,
            new.doc,
            Some(&before),
            now,
        );
        self.put(record.clone(), Some(&before)).await?;
        Ok((user, record))
    }

    /// Deletes a provisioned user: deactivated (open requests cancelled) and detached from
    /// every group, kept in autolock for the record; the provider sees it no more.
    pub async fn delete_user(&self, actor: &Principal, id: &UserId, now: Timestamp) -> Result<()> {
        require(actor, Capability::Provision)?;
        let before = self.live(ProvisionedKind::User, id.as_str()).await?;
        self.directory
            .set_user_active(actor, id, false, now)
            .await?;
        for group in self.engine.directory.groups_of_user(id).await? {
            self.directory.remove_member(actor, &group, id, now).await?;
        }
        self.hide(&before, now).await
    }

    /// Every group the provider provisioned and has not deleted.
    /// With `members` false, their members are not read (each group's list left empty).
    pub async fn groups(&self, actor: &Principal, members: bool) -> Result<Vec<GroupRecord>> {
        require(actor, Capability::Provision)?;
        let records = self.all_live(ProvisionedKind::Group).await?;
        self.with_groups(records, members).await
    }

    /// One page of [`Self::groups`], by id, as [`Self::users_page`] reads users: only the
    /// page's groups (and their members, with `members`) are read.
    pub async fn groups_page(
        &self,
        actor: &Principal,
        skip: usize,
        count: usize,
        members: bool,
    ) -> Result<(Vec<GroupRecord>, usize)> {
        require(actor, Capability::Provision)?;
        let page = self
            .engine
            .directory
            .provisioned_live_page(ProvisionedKind::Group, skip, count)
            .await?;
        Ok((self.with_groups(page.records, members).await?, page.total))
    }

    /// Groups' records with their groups, and their members with `members`.
    async fn with_groups(
        &self,
        records: Vec<ProvisionedRecord>,
        members: bool,
    ) -> Result<Vec<GroupRecord>> {
        let mut out = Vec::new();
        for record in records {
            let Ok(id) = GroupId::parse(&record.id) else {
                continue;
            };
            if let Some(group) = self.engine.directory.group(&id).await? {
                let members = if members {
                    self.engine.directory.members(&id).await?
                } else {
                    Vec::new()
                };
                out.push(GroupRecord {
                    group,
                    members,
                    record,
                });
            }
        }
        Ok(out)
    }

    /// A provisioned group.
    pub async fn group(&self, actor: &Principal, id: &GroupId) -> Result<GroupRecord> {
        require(actor, Capability::Provision)?;
        let record = self.live(ProvisionedKind::Group, id.as_str()).await?;
        Ok(GroupRecord {
            group: self.engine.existing_group(id).await?,
            members: self.engine.directory.members(id).await?,
            record,
        })
    }

    /// Creates a group with its members (each joining now) and the provider's record.
    pub async fn create_group(
        &self,
        actor: &Principal,
        new: ProvisionedGroup,
        now: Timestamp,
    ) -> Result<GroupRecord> {
        require(actor, Capability::Provision)?;
        self.existing_users(&new.members).await?;
        let group = self
            .directory
            .create_group(actor, Some(GroupId::generate()), new.display_name, now)
            .await?;
        let record = record(
            ProvisionedKind::Group,
            group.id.as_str(),
            None,
            new.external_id,
            new.doc,
            None,
            now,
        );
        self.put(record.clone(), None).await?;
        let change = Members {
            current: Vec::new(),
            joining: new.members,
            leaving: Vec::new(),
        };
        self.set_members(actor, &group.id, change, false, now)
            .await?;
        Ok(GroupRecord {
            members: self.engine.directory.members(&group.id).await?,
            group,
            record,
        })
    }

    /// Replaces a provisioned group's members (who joins or leaves does so now) and record.
    pub async fn replace_group(
        &self,
        actor: &Principal,
        id: &GroupId,
        new: ProvisionedGroup,
        now: Timestamp,
    ) -> Result<GroupRecord> {
        require(actor, Capability::Provision)?;
        let before = self.live(ProvisionedKind::Group, id.as_str()).await?;
        let change = self.members_to(id, &new.members).await?;
        self.existing_users(&change.joining).await?;
        // A new name may give its members another role (`Options::group_roles`).
        let roles = &self.engine.options.group_roles;
        let role_changed = display_name_of(&before.doc).and_then(|n| roles.role_of(n))
            != roles.role_of(new.display_name.as_str());
        let record = record(
            ProvisionedKind::Group,
            id.as_str(),
            None,
            new.external_id,
            new.doc,
            Some(&before),
            now,
        );
        // The record first, so that the roles its name gives are read from it.
        self.put(record.clone(), Some(&before)).await?;
        self.directory
            .rename_group(actor, id, new.display_name, now)
            .await?;
        self.set_members(actor, id, change, role_changed, now)
            .await?;
        Ok(GroupRecord {
            group: self.engine.existing_group(id).await?,
            members: self.engine.directory.members(id).await?,
            record,
        })
    }

    /// Adds and removes the members named, each `(user, whether a member after)` in order, the
    /// last word on a user holding; the group's record is written again (its version and
    /// instant move). Only the users named are read, not the group's other members: a large
    /// group's membership changes cost what they change.
    pub async fn change_members(
        &self,
        actor: &Principal,
        id: &GroupId,
        named: &[(UserId, bool)],
        now: Timestamp,
    ) -> Result<()> {
        require(actor, Capability::Provision)?;
        let before = self.live(ProvisionedKind::Group, id.as_str()).await?;
        let mut last: HashMap<&UserId, bool> = HashMap::new();
        let mut order = Vec::new();
        for (user, member) in named {
            if last.insert(user, *member).is_none() {
                order.push(user);
            }
        }
        let mut change = Members::default();
        for user in order {
            let is = self.engine.directory.membership(user, id).await?.is_some();
            match (last[user], is) {
                (true, false) => change.joining.push(user.clone()),
                (false, true) => change.leaving.push(user.clone()),
                _ => {}
            }
        }
        self.existing_users(&change.joining).await?;
        let record = record(
            ProvisionedKind::Group,
            id.as_str(),
            None,
            before.external_id.clone(),
            before.doc.clone(),
            Some(&before),
            now,
        );
        self.put(record, Some(&before)).await?;
        self.set_members(actor, id, change, false, now).await
    }

    /// Deletes a provisioned group: every member leaves it now (their paths through it end),
    /// and the provider sees it no more; the group stays in autolock, empty, for the record.
    pub async fn delete_group(
        &self,
        actor: &Principal,
        id: &GroupId,
        now: Timestamp,
    ) -> Result<()> {
        require(actor, Capability::Provision)?;
        let before = self.live(ProvisionedKind::Group, id.as_str()).await?;
        let change = self.members_to(id, &[]).await?;
        self.set_members(actor, id, change, false, now).await?;
        self.hide(&before, now).await
    }

    async fn existing_users(&self, ids: &[UserId]) -> Result<()> {
        let found = self.engine.directory.users_by_id(ids).await?;
        if let Some((id, _)) = ids.iter().zip(&found).find(|(_, u)| u.is_none()) {
            return Err(crate::ValidationError::new("members", format!("no user {id}")).into());
        }
        Ok(())
    }

    /// Who joins and who leaves `group` for its members to be `members` (no id twice).
    async fn members_to(&self, group: &GroupId, members: &[UserId]) -> Result<Members> {
        let current = self.engine.directory.members(group).await?;
        let (now_in, wanted): (HashSet<&UserId>, HashSet<&UserId>) =
            (current.iter().collect(), members.iter().collect());
        let joining = (members.iter())
            .filter(|u| !now_in.contains(u))
            .cloned()
            .collect();
        let leaving = (current.iter())
            .filter(|u| !wanted.contains(u))
            .cloned()
            .collect();
        Ok(Members {
            current,
            joining,
            leaving,
        })
    }

    /// Applies a change of a group's members: who joins does so now, who leaves too; then the
    /// roles the provider's groups give are brought up to date for each of them, and for every
    /// member with `role_changed` (the group's name gives another role now).
    async fn set_members(
        &self,
        actor: &Principal,
        group: &GroupId,
        change: Members,
        role_changed: bool,
        now: Timestamp,
    ) -> Result<()> {
        for user in &change.joining {
            self.directory.add_member(actor, group, user, now).await?;
        }
        for user in &change.leaving {
            self.directory
                .remove_member(actor, group, user, now)
                .await?;
        }
        let mut touched = change.joining;
        touched.extend(change.leaving);
        if role_changed {
            touched.extend(change.current);
        }
        touched.sort();
        touched.dedup();
        self.map_roles(actor, &touched, now).await
    }

    /// While a group-to-role map is set (`Options::group_roles`), each of `users` that the
    /// provider provisioned holds the highest role its provisioned groups give, `member` when
    /// none gives one. Each user's own groups are read, each group's role once.
    async fn map_roles(&self, actor: &Principal, users: &[UserId], now: Timestamp) -> Result<()> {
        let map = &self.engine.options.group_roles;
        if map.is_empty() || users.is_empty() {
            return Ok(());
        }
        let rank = |r: Role| match r {
            Role::Admin => 3,
            Role::DevopsAdmin => 2,
            Role::AccessReviewer => 1,
            _ => 0,
        };
        let mut given: HashMap<GroupId, Option<Role>> = HashMap::new();
        for id in users {
            if self
                .engine
                .directory
                .provisioned(ProvisionedKind::User, id.as_str())
                .await?
                .is_none_or(|r| r.deleted)
            {
                continue;
            }
            let mut role = Role::Member;
            for group in self.engine.directory.groups_of_user(id).await? {
                let gives = match given.get(&group) {
                    Some(gives) => *gives,
                    None => {
                        let gives = self.role_given(&group).await?;
                        given.insert(group, gives);
                        gives
                    }
                };
                if let Some(gives) = gives.filter(|g| rank(*g) > rank(role)) {
                    role = gives;
                }
            }
            if self.engine.existing_user(id).await?.role != role {
                self.directory.set_mapped_role(actor, id, role, now).await?;
            }
        }
        Ok(())
    }

    /// The role a group gives its members: its name's in the map, if the provider provisioned
    /// it and has not deleted it.
    async fn role_given(&self, group: &GroupId) -> Result<Option<Role>> {
        let map = &self.engine.options.group_roles;
        let Some(record) = (self.engine.directory)
            .provisioned(ProvisionedKind::Group, group.as_str())
            .await?
            .filter(|r| !r.deleted)
        else {
            return Ok(None);
        };
        Ok(match display_name_of(&record.doc) {
            Some(name) => map.role_of(name),
            None => (self.engine.directory.group(group).await?)
                .and_then(|g| map.role_of(g.name.as_str())),
        })
    }
}

/// A change of a group's members.
#[derive(Default)]
struct Members {
    /// The members before it, whose roles are brought up to date too when the group's new
    /// name gives another role (empty where the name does not change).
    current: Vec<UserId>,
    joining: Vec<UserId>,
    leaving: Vec<UserId>,
}
