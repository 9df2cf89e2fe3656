//! Directory changes: each checked against the current state (an id taken, a membership or
//! grant that is or is not current), each written with its history.

use rusqlite::{OptionalExtension, Transaction, params};

use autolock_core::Timestamp;
use autolock_core::directory::{Grant, Group, ProvisionedRecord, Resource, ServicePrincipal, User};
use autolock_core::error::StoreError;
use autolock_core::exemption::Exemption;
use autolock_core::ids::{GrantId, GroupId, PrincipalId, ResourceId, UserId};
use autolock_core::policy::{ApprovalMode, Policy, PolicyOverride};
use autolock_core::ports::{DirectoryChange, StoreResult};

use super::exists;
use crate::rows::{backend, encode, micros};

fn insert_override(
    tx: &Transaction<'_>,
    grant: &GrantId,
    at: Timestamp,
    value: PolicyOverride,
) -> StoreResult<()> {
    super::exec(tx,
        "INSERT INTO grant_overrides (grant_id, at, auto_lock_after, approval) VALUES (?1, ?2, ?3, ?4)",
        params![grant.as_str(), micros(at), value.auto_lock_after.map(|d| d.to_string()), value.approval.map(ApprovalMode::as_str)],
    )
    .map_err(backend)?;
    Ok(())
}

fn insert_policy(
    tx: &Transaction<'_>,
    resource: &ResourceId,
    at: Timestamp,
    policy: Policy,
) -> StoreResult<()> {
    super::exec(tx,
        "INSERT INTO resource_policies (resource_id, at, auto_lock_after, approval) VALUES (?1, ?2, ?3, ?4)",
        params![resource.as_str(), micros(at), policy.auto_lock_after.to_string(), policy.approval.as_str()],
    )
    .map_err(backend)?;
    Ok(())
}

fn principal_exists(tx: &Transaction<'_>, id: &str) -> StoreResult<bool> {
    Ok(exists(tx, "SELECT 1 FROM users WHERE id = ?1", &[&id])?
        || exists(tx, "SELECT 1 FROM service_principals WHERE id = ?1", &[&id])?)
}

/// A revision as SQLite stores it.
fn rev(revision: u64) -> i64 {
    i64::try_from(revision).unwrap_or(i64::MAX)
}

/// Counts an edit of a grant not removed, over its revision `revision`.
fn bump_grant(tx: &Transaction<'_>, grant: &GrantId, revision: u64) -> StoreResult<()> {
    let n = super::exec(
        tx,
        "UPDATE grants SET rev = rev + 1 WHERE id = ?1 AND end_at IS NULL AND rev = ?2",
        params![grant.as_str(), rev(revision)],
    )
    .map_err(backend)?;
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "grant {grant} changed meanwhile, or is removed or unknown"
        )));
    }
    Ok(())
}

pub(super) fn apply_directory(tx: &Transaction<'_>, change: &DirectoryChange) -> StoreResult<()> {
    match change {
        DirectoryChange::CreateUser(u) => create_user(tx, u),
        DirectoryChange::UpdateUser(u) => update_user(tx, u),
        DirectoryChange::EndSessions { user, at } => end_sessions(tx, user, at),
        DirectoryChange::LinkSignInIdentity {
            user,
            issuer,
            subject,
        } => link_sign_in_identity(tx, user, issuer, subject),
        DirectoryChange::SetUserActive {
            user,
            at,
            active,
            revision,
        } => set_user_active(tx, user, at, active, revision),
        DirectoryChange::PutProvisioned {
            record,
            previous_user_name: _,
        } => put_provisioned(tx, record),
        DirectoryChange::CreateServicePrincipal(sp) => create_service_principal(tx, sp),
        DirectoryChange::SetServicePrincipalActive { id, active } => {
            set_service_principal_active(tx, id, active)
        }
        DirectoryChange::CreateGroup(g) => create_group(tx, g),
        DirectoryChange::RenameGroup { group, name } => rename_group(tx, group, name),
        DirectoryChange::CreateResource(r) => create_resource(tx, r),
        DirectoryChange::SetResourcePolicy {
            resource,
            at,
            policy,
            revision,
        } => set_resource_policy(tx, resource, at, policy, revision),
        DirectoryChange::AddMembership { user, group, at } => add_membership(tx, user, group, at),
        DirectoryChange::EndMembership { user, group, at } => end_membership(tx, user, group, at),
        DirectoryChange::CreateGrant(g) => create_grant(tx, g),
        DirectoryChange::EndGrant {
            grant,
            at,
            revision,
        } => end_grant(tx, grant, at, revision),
        DirectoryChange::EditGrant {
            grant,
            at,
            policy_override,
            expires_at,
            revision,
        } => edit_grant(tx, grant, at, policy_override, expires_at, revision),
        DirectoryChange::CreateExemption(e) => create_exemption(tx, e),
        DirectoryChange::UpdateExemption(e) => update_exemption(tx, e),
    }
}

/// The writes of `DirectoryChange::CreateUser`.
fn create_user(tx: &Transaction<'_>, u: &User) -> StoreResult<()> {
    if principal_exists(tx, u.id.as_str())? {
        return Err(StoreError::AlreadyExists(format!("principal {}", u.id)));
    }
    super::exec(tx,
        "INSERT INTO users (id, email, display_name, role, active, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![u.id.as_str(), u.email.as_str(), u.display_name.as_str(), u.role.as_str(), u.active, micros(u.created_at)],
    )
    .map_err(backend)?;
    super::exec(
        tx,
        "INSERT INTO user_activity (user_id, at, active) VALUES (?1, ?2, ?3)",
        params![u.id.as_str(), micros(u.created_at), u.active],
    )
    .map_err(backend)?;
    Ok(())
}

/// The writes of `DirectoryChange::UpdateUser`.
fn update_user(tx: &Transaction<'_>, u: &User) -> StoreResult<()> {
    let n = super::exec(tx,
            "UPDATE users SET email = ?2, display_name = ?3, role = ?4, rev = rev + 1 WHERE id = ?1 AND rev = ?5",
            params![
                u.id.as_str(),
                u.email.as_str(),
                u.display_name.as_str(),
                u.role.as_str(),
                rev(u.revision)
            ],
        )
        .map_err(backend)?;
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "user {} changed meanwhile, or does not exist",
            u.id
        )));
    }
    Ok(())
}

/// The writes of `DirectoryChange::EndSessions`.
fn end_sessions(tx: &Transaction<'_>, user: &UserId, at: &Timestamp) -> StoreResult<()> {
    let n = super::exec(
        tx,
        "UPDATE users SET sessions_after = ?2 WHERE id = ?1",
        params![user.as_str(), micros(*at)],
    )
    .map_err(backend)?;
    if n == 0 {
        return Err(StoreError::Conflict(format!("user {user} does not exist")));
    }
    Ok(())
}

/// The writes of `DirectoryChange::LinkSignInIdentity`: the user's previous subject at the
/// issuer, if any, is replaced.
fn link_sign_in_identity(
    tx: &Transaction<'_>,
    user: &UserId,
    issuer: &str,
    subject: &str,
) -> StoreResult<()> {
    if !exists(tx, "SELECT 1 FROM users WHERE id = ?1", &[&user.as_str()])? {
        return Err(StoreError::Conflict(format!("user {user} does not exist")));
    }
    super::exec(
        tx,
        "DELETE FROM sign_in_identities WHERE user_id = ?1 AND issuer = ?2",
        params![user.as_str(), issuer],
    )
    .map_err(backend)?;
    super::exec(
        tx,
        "INSERT OR REPLACE INTO sign_in_identities (issuer, subject, user_id) VALUES (?1, ?2, ?3)",
        params![issuer, subject, user.as_str()],
    )
    .map_err(backend)?;
    Ok(())
}

/// The writes of `DirectoryChange::SetUserActive`.
fn set_user_active(
    tx: &Transaction<'_>,
    user: &UserId,
    at: &Timestamp,
    active: &bool,
    revision: &u64,
) -> StoreResult<()> {
    let n = super::exec(
        tx,
        "UPDATE users SET active = ?2, rev = rev + 1 WHERE id = ?1 AND rev = ?3",
        params![user.as_str(), active, rev(*revision)],
    )
    .map_err(backend)?;
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "user {user} changed meanwhile, or does not exist"
        )));
    }
    super::exec(
        tx,
        "INSERT INTO user_activity (user_id, at, active) VALUES (?1, ?2, ?3)",
        params![user.as_str(), micros(*at), active],
    )
    .map_err(backend)?;
    Ok(())
}

/// The writes of `DirectoryChange::PutProvisioned`: over the version before, the user name
/// free (the unique index frees the previous one with the row it replaces).
fn put_provisioned(tx: &Transaction<'_>, r: &ProvisionedRecord) -> StoreResult<()> {
    let version: Option<i64> = tx
        .prepare_cached("SELECT version FROM provisioned WHERE kind = ?1 AND id = ?2")
        .and_then(|mut s| {
            s.query_row(params![r.kind.as_str(), r.id], |row| row.get(0))
                .optional()
        })
        .map_err(backend)?;
    let expected = i64::try_from(r.version.saturating_sub(1)).unwrap_or(i64::MAX);
    if version.unwrap_or(0) != expected {
        return Err(StoreError::Conflict(format!(
            "the provisioned {} {} changed meanwhile",
            r.kind.as_str(),
            r.id
        )));
    }
    let key = r.user_name_key();
    if let Some(k) = &key {
        if exists(
            tx,
            "SELECT 1 FROM provisioned WHERE user_name_key = ?1 AND NOT (kind = ?2 AND id = ?3)",
            &[k, &r.kind.as_str(), &r.id],
        )? {
            return Err(StoreError::AlreadyExists(format!(
                "a user with userName {:?}",
                r.user_name.as_deref().unwrap_or_default()
            )));
        }
    }
    super::exec(
        tx,
        "INSERT INTO provisioned (kind, id, user_name_key, version, data, deleted) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (kind, id) DO UPDATE SET user_name_key = excluded.user_name_key, \
         version = excluded.version, data = excluded.data, deleted = excluded.deleted",
        params![
            r.kind.as_str(),
            r.id,
            key,
            i64::try_from(r.version).unwrap_or(i64::MAX),
            encode(r)?,
            r.deleted
        ],
    )
    .map_err(backend)?;
    Ok(())
}

/// The writes of `DirectoryChange::CreateServicePrincipal`.
fn create_service_principal(tx: &Transaction<'_>, sp: &ServicePrincipal) -> StoreResult<()> {
    if principal_exists(tx, sp.id.as_str())? {
        return Err(StoreError::AlreadyExists(format!("principal {}", sp.id)));
    }
    super::exec(
        tx,
        "INSERT INTO service_principals (id, name, created_at, role, identity) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            sp.id.as_str(),
            sp.name.as_str(),
            micros(sp.created_at),
            sp.role.as_str(),
            encode(&sp.identity)?
        ],
    )
    .map_err(backend)?;
    Ok(())
}

/// The writes of `DirectoryChange::SetServicePrincipalActive`.
fn set_service_principal_active(
    tx: &Transaction<'_>,
    id: &PrincipalId,
    active: &bool,
) -> StoreResult<()> {
    let n = super::exec(
        tx,
        "UPDATE service_principals SET active = ?2 WHERE id = ?1",
        params![id.as_str(), active],
    )
    .map_err(backend)?;
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "service principal {id} does not exist"
        )));
    }
    Ok(())
}

/// The writes of `DirectoryChange::CreateGroup`.
fn create_group(tx: &Transaction<'_>, g: &Group) -> StoreResult<()> {
    if exists(tx, "SELECT 1 FROM groups WHERE id = ?1", &[&g.id.as_str()])? {
        return Err(StoreError::AlreadyExists(format!("group {}", g.id)));
    }
    super::exec(
        tx,
        "INSERT INTO groups (id, name, created_at) VALUES (?1, ?2, ?3)",
        params![g.id.as_str(), g.name.as_str(), micros(g.created_at)],
    )
    .map_err(backend)?;
    Ok(())
}

/// The writes of `DirectoryChange::RenameGroup`.
fn rename_group(
    tx: &Transaction<'_>,
    group: &GroupId,
    name: &autolock_core::values::Name,
) -> StoreResult<()> {
    let changed = tx
        .execute(
            "UPDATE groups SET name = ?2 WHERE id = ?1",
            params![group.as_str(), name.as_str()],
        )
        .map_err(backend)?;
    if changed == 0 {
        return Err(StoreError::Conflict(format!(
            "group {group} does not exist"
        )));
    }
    Ok(())
}

/// The writes of `DirectoryChange::CreateResource`.
fn create_resource(tx: &Transaction<'_>, r: &Resource) -> StoreResult<()> {
    if exists(
        tx,
        "SELECT 1 FROM resources WHERE id = ?1",
        &[&r.id.as_str()],
    )? {
        return Err(StoreError::AlreadyExists(format!("resource {}", r.id)));
    }
    super::exec(
        tx,
        "INSERT INTO resources (id, name, address, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            r.id.as_str(),
            r.name.as_str(),
            r.address,
            micros(r.created_at)
        ],
    )
    .map_err(backend)?;
    insert_policy(tx, &r.id, r.created_at, r.policy)?;
    Ok(())
}

/// The writes of `DirectoryChange::SetResourcePolicy`.
fn set_resource_policy(
    tx: &Transaction<'_>,
    resource: &ResourceId,
    at: &Timestamp,
    policy: &Policy,
    revision: &u64,
) -> StoreResult<()> {
    let n = super::exec(
        tx,
        "UPDATE resources SET rev = rev + 1 WHERE id = ?1 AND rev = ?2",
        params![resource.as_str(), rev(*revision)],
    )
    .map_err(backend)?;
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "resource {resource} changed meanwhile, or does not exist"
        )));
    }
    insert_policy(tx, resource, *at, *policy)?;
    Ok(())
}

/// The writes of `DirectoryChange::AddMembership`.
fn add_membership(
    tx: &Transaction<'_>,
    user: &UserId,
    group: &GroupId,
    at: &Timestamp,
) -> StoreResult<()> {
    if exists(
        tx,
        "SELECT 1 FROM memberships WHERE user_id = ?1 AND group_id = ?2 AND end_at IS NULL",
        &[&user.as_str(), &group.as_str()],
    )? {
        return Err(StoreError::Conflict(format!(
            "{user} is already a member of {group}"
        )));
    }
    super::exec(
        tx,
        "INSERT INTO memberships (user_id, group_id, start_at) VALUES (?1, ?2, ?3)",
        params![user.as_str(), group.as_str(), micros(*at)],
    )
    .map_err(backend)?;
    Ok(())
}

/// The writes of `DirectoryChange::EndMembership`.
fn end_membership(
    tx: &Transaction<'_>,
    user: &UserId,
    group: &GroupId,
    at: &Timestamp,
) -> StoreResult<()> {
    let n = super::exec(tx,
            "UPDATE memberships SET end_at = ?3 WHERE user_id = ?1 AND group_id = ?2 AND end_at IS NULL",
            params![user.as_str(), group.as_str(), micros(*at)],
        )
        .map_err(backend)?;
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "{user} is not a member of {group}"
        )));
    }
    Ok(())
}

/// The writes of `DirectoryChange::CreateGrant`.
fn create_grant(tx: &Transaction<'_>, g: &Grant) -> StoreResult<()> {
    if exists(
        tx,
        "SELECT 1 FROM grants WHERE group_id = ?1 AND resource_id = ?2 AND end_at IS NULL",
        &[&g.group.as_str(), &g.resource.as_str()],
    )? {
        return Err(StoreError::AlreadyExists(format!(
            "grant of {} on {}",
            g.group, g.resource
        )));
    }
    super::exec(tx,
        "INSERT INTO grants (id, group_id, resource_id, start_at, end_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![g.id.as_str(), g.group.as_str(), g.resource.as_str(), micros(g.span.start), g.span.end.map(micros)],
    )
    .map_err(backend)?;
    for e in &g.expiry {
        super::exec(
            tx,
            "INSERT INTO grant_expiry (grant_id, at, expires_at) VALUES (?1, ?2, ?3)",
            params![g.id.as_str(), micros(e.at), e.value.map(micros)],
        )
        .map_err(backend)?;
    }
    for o in &g.overrides {
        insert_override(tx, &g.id, o.at, o.value)?;
    }
    Ok(())
}

/// The writes of `DirectoryChange::EndGrant`.
fn end_grant(
    tx: &Transaction<'_>,
    grant: &GrantId,
    at: &Timestamp,
    revision: &u64,
) -> StoreResult<()> {
    let n = super::exec(tx,
            "UPDATE grants SET end_at = ?2, rev = rev + 1 WHERE id = ?1 AND end_at IS NULL AND rev = ?3",
            params![grant.as_str(), micros(*at), rev(*revision)],
        )
        .map_err(backend)?;
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "grant {grant} changed meanwhile, or is removed or unknown"
        )));
    }
    Ok(())
}

/// The writes of `DirectoryChange::EditGrant`.
fn edit_grant(
    tx: &Transaction<'_>,
    grant: &GrantId,
    at: &Timestamp,
    policy_override: &Option<PolicyOverride>,
    expires_at: &Option<Option<Timestamp>>,
    revision: &u64,
) -> StoreResult<()> {
    bump_grant(tx, grant, *revision)?;
    if let Some(value) = policy_override {
        insert_override(tx, grant, *at, *value)?;
    }
    if let Some(expires_at) = expires_at {
        super::exec(
            tx,
            "INSERT INTO grant_expiry (grant_id, at, expires_at) VALUES (?1, ?2, ?3)",
            params![grant.as_str(), micros(*at), expires_at.map(micros)],
        )
        .map_err(backend)?;
    }
    Ok(())
}

/// The writes of `DirectoryChange::CreateExemption`.
fn create_exemption(tx: &Transaction<'_>, e: &Exemption) -> StoreResult<()> {
    if exists(
        tx,
        "SELECT 1 FROM exemptions WHERE id = ?1",
        &[&e.id.as_str()],
    )? {
        return Err(StoreError::AlreadyExists(format!("exemption {}", e.id)));
    }
    super::exec(tx,
        "INSERT INTO exemptions (id, resource_id, user_id, group_id, grant_id, start_at, end_at, closed, rev, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9)",
        params![
            e.id.as_str(),
            e.resource.as_str(),
            e.user.as_ref().map(ToString::to_string),
            e.group.as_ref().map(ToString::to_string),
            e.grant.as_ref().map(ToString::to_string),
            micros(e.start),
            micros(e.end()),
            e.closed,
            encode(e)?,
        ],
    )
    .map_err(backend)?;
    Ok(())
}

/// The writes of `DirectoryChange::UpdateExemption`.
fn update_exemption(tx: &Transaction<'_>, e: &Exemption) -> StoreResult<()> {
    let n = super::exec(tx,
        "UPDATE exemptions SET end_at = ?2, closed = ?3, data = ?4, rev = rev + 1 WHERE id = ?1 AND rev = ?5",
        params![e.id.as_str(), micros(e.end()), e.closed, encode(e)?, rev(e.revision)],
    )
    .map_err(backend)?;
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "exemption {} changed meanwhile, or is unknown",
            e.id
        )));
    }
    Ok(())
}
