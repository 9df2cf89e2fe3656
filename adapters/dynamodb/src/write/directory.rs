//! Directory changes: each a put or update conditioned on the state it expects (an id free, a
//! membership or grant current or not, via marker items), with its history items.

use aws_sdk_dynamodb::types::AttributeValue;

use autolock_core::Timestamp;
use autolock_core::directory::{Grant, Group, ProvisionedRecord, Resource, ServicePrincipal, User};
use autolock_core::exemption::Exemption;
use autolock_core::ids::{GrantId, GroupId, PrincipalId, ResourceId, UserId};
use autolock_core::policy::Policy;
use autolock_core::ports::{DirectoryChange, DirectoryReader, StoreResult};

use super::{Seq, conflict, exists_err};
use crate::item::*;
use crate::tx::Tx;
use crate::{DynamoStore, keys};

/// The sort-key part that orders the history entries of an object: the revision that wrote
/// them, so that two edits at one instant read back in the order they were made.
fn history_key(revision: u64) -> String {
    format!("{revision:020}")
}

/// Puts one entry of a history into `tx`: `value` as it became at `at`, under the partition
/// `pk`, sorted by `<kind>#<at>#<order>` (`order`: see [`history_key`]).
fn put_history<T: serde::Serialize>(
    tx: &mut Tx,
    table: &str,
    pk: String,
    kind: &str,
    at: autolock_core::Timestamp,
    order: &str,
    value: &T,
) -> StoreResult<()> {
    let entry = item(
        pk,
        format!("{kind}#{}#{order}", keys::at(at)),
        [("doc", encode(value)?), ("at_us", n(micros(at)))],
    );
    tx.put(table, entry, None, conflict(format!("{kind} history")))
}

/// The item that finds a user by email address.
fn email_item(user: &autolock_core::directory::User) -> crate::item::Item {
    item(
        keys::email(user.email.as_str()),
        user.id.as_str(),
        [("user", s(user.id.as_str()))],
    )
}

/// An edit of a grant's override history, expiry history or both over its revision
/// `revision`: the grant's count of edits (one item, once), and each entry ordered by the
/// revision it makes.
fn edit_grant(
    tx: &mut Tx,
    table: &str,
    grant: &autolock_core::ids::GrantId,
    revision: u64,
    at: autolock_core::Timestamp,
    policy_override: Option<&autolock_core::policy::PolicyOverride>,
    expires_at: Option<&Option<autolock_core::Timestamp>>,
) -> StoreResult<()> {
    bump_grant(tx, table, grant, revision)?;
    let order = history_key(revision + 1);
    let pk = || keys::grant(grant.as_str());
    if let Some(value) = policy_override {
        put_history(tx, table, pk(), "OVR", at, &order, value)?;
    }
    if let Some(value) = expires_at {
        put_history(tx, table, pk(), "EXP", at, &order, value)?;
    }
    Ok(())
}

/// Counts an edit of a grant not removed, over its revision `revision`.
fn bump_grant(
    tx: &mut Tx,
    table: &str,
    grant: &autolock_core::ids::GrantId,
    revision: u64,
) -> StoreResult<()> {
    let update = Cond::default().name("#pk", "pk").name("#e", "end_us");
    tx.update(
        table,
        key(keys::grant(grant.as_str()), "GR"),
        counted(update, revision),
        Some(&format!(
            "attribute_exists(#pk) AND attribute_not_exists(#e) AND {}",
            at_revision(revision)
        )),
        conflict(format!(
            "grant {grant} changed meanwhile, or is removed or unknown"
        )),
    )
}

/// The two items of an exemption at revision `revision`: its head (`EX#<id>`, listed by user or
/// group on `gsi1`) and its copy in the resource's partition (read with a right's facts; listed
/// on `gsi1` by end while its end is not recorded).
fn exemption_items(
    e: &autolock_core::exemption::Exemption,
    revision: u64,
) -> StoreResult<(crate::item::Item, crate::item::Item)> {
    let rev = n(i64::try_from(revision).unwrap_or(i64::MAX));
    let listed = match (&e.user, &e.group) {
        (Some(user), _) => Some(format!("EXU#{user}")),
        (None, Some(group)) => Some(format!("EXG#{group}")),
        (None, None) => None,
    };
    let mut head = item(
        keys::exemption(e.id.as_str()),
        "EX",
        [("doc", encode(e)?), ("rev", rev.clone())],
    );
    if let Some(pk) = listed {
        head.insert("gsi1pk".to_owned(), s(pk));
        head.insert(
            "gsi1sk".to_owned(),
            s(format!("{}#{}", keys::at(e.start), e.id)),
        );
    }
    let mut copy = item(
        keys::resource(e.resource.as_str()),
        format!("EX#{}", e.id),
        [("doc", encode(e)?), ("rev", rev)],
    );
    if !e.closed {
        copy.insert("gsi1pk".to_owned(), s("EXOPEN"));
        copy.insert(
            "gsi1sk".to_owned(),
            s(format!("{}#{}", keys::at(e.end()), e.id)),
        );
    }
    Ok((head, copy))
}

/// Adds the writes of one directory change to `tx`.
pub(super) async fn write(
    store: &DynamoStore,
    tx: &mut Tx,
    change: &DirectoryChange,
    seq: &mut Seq,
) -> StoreResult<()> {
    let p = &store.tables.policies;
    match change {
        DirectoryChange::CreateUser(u) => create_user(tx, p, u),
        DirectoryChange::UpdateUser(u) => update_user(store, tx, p, u).await,
        DirectoryChange::EndSessions { user, at } => end_sessions(tx, p, user, at),
        DirectoryChange::LinkSignInIdentity {
            user,
            issuer,
            subject,
        } => link_sign_in_identity(store, tx, p, user, issuer, subject).await,
        DirectoryChange::SetUserActive {
            user,
            at,
            active,
            revision,
        } => set_user_active(tx, p, user, at, active, revision),
        DirectoryChange::PutProvisioned {
            record,
            previous_user_name,
        } => put_provisioned(tx, p, record, previous_user_name.as_deref()),
        DirectoryChange::CreateServicePrincipal(sp) => create_service_principal(tx, p, sp),
        DirectoryChange::SetServicePrincipalActive { id, active } => {
            set_service_principal_active(tx, p, id, active)
        }
        DirectoryChange::CreateExemption(e) => create_exemption(tx, p, e),
        DirectoryChange::UpdateExemption(e) => update_exemption(tx, p, e),
        DirectoryChange::CreateGroup(g) => create_group(tx, p, g),
        DirectoryChange::RenameGroup { group, name } => {
            rename_group(store, tx, p, group, name).await
        }
        DirectoryChange::CreateResource(r) => create_resource(tx, p, r),
        DirectoryChange::SetResourcePolicy {
            resource,
            at,
            policy,
            revision,
        } => set_resource_policy(store, tx, p, resource, at, policy, revision).await,
        DirectoryChange::AddMembership { user, group, at } => {
            add_membership(tx, p, user, group, at)
        }
        DirectoryChange::EndMembership { user, group, at } => {
            end_membership(store, tx, p, user, group, at).await
        }
        DirectoryChange::CreateGrant(g) => create_grant(tx, p, seq, g),
        DirectoryChange::EndGrant {
            grant,
            at,
            revision,
        } => end_grant(store, tx, p, grant, at, revision).await,
        DirectoryChange::EditGrant {
            grant,
            at,
            policy_override,
            expires_at,
            revision,
        } => {
            edit_grant(
                tx,
                p,
                grant,
                *revision,
                *at,
                policy_override.as_ref(),
                expires_at.as_ref(),
            )?;
            Ok(())
        }
    }
}

/// The writes of `DirectoryChange::CreateUser`.
fn create_user(tx: &mut Tx, p: &str, u: &User) -> StoreResult<()> {
    let i = item(
        keys::principal(u.id.as_str()),
        "P",
        [
            ("kind", s("user")),
            ("doc", encode(u)?),
            ("gsi1pk", s("USERS")),
            ("gsi1sk", s(u.id.as_str())),
        ],
    );
    tx.put(
        p,
        i.into_iter()
            .chain([("active".to_owned(), AttributeValue::Bool(u.active))])
            .collect(),
        Some(absent()),
        exists_err(format!("principal {}", u.id)),
    )?;
    tx.put(
        p,
        activity_item(&u.id, u.created_at, u.active, &history_key(0)),
        None,
        conflict("activity history"),
    )?;
    tx.put(p, email_item(u), None, conflict("email"))?;
    Ok(())
}

/// The writes of `DirectoryChange::UpdateUser`.
async fn update_user(store: &DynamoStore, tx: &mut Tx, p: &str, u: &User) -> StoreResult<()> {
    // The user's address has an item of its own, moved with it.
    let current = store
        .user(&u.id)
        .await?
        .filter(|c| c.revision == u.revision)
        .ok_or_else(|| {
            conflict(format!(
                "user {} changed meanwhile, or does not exist",
                u.id
            ))
        })?;
    if current.email != u.email {
        tx.delete(
            p,
            key(keys::email(current.email.as_str()), u.id.as_str()),
            Cond::default(),
            conflict("email"),
        )?;
        tx.put(p, email_item(u), None, conflict("email"))?;
    }
    // The document only: the active flag is its own attribute.
    let update = Cond::new("SET #d = :d")
        .name("#d", "doc")
        .name("#k", "kind")
        .value(":d", encode(u)?)
        .value(":user", s("user"));
    tx.update(
        p,
        key(keys::principal(u.id.as_str()), "P"),
        counted(update, u.revision),
        Some(&format!("#k = :user AND {}", at_revision(u.revision))),
        conflict(format!(
            "user {} changed meanwhile, or does not exist",
            u.id
        )),
    )?;
    Ok(())
}

/// The writes of `DirectoryChange::EndSessions`.
fn end_sessions(tx: &mut Tx, p: &str, user: &UserId, at: &Timestamp) -> StoreResult<()> {
    let update = Cond::new("SET #s = :s")
        .name("#s", "sessions_after_us")
        .name("#k", "kind")
        .value(":s", n(micros(*at)))
        .value(":user", s("user"));
    tx.update(
        p,
        key(keys::principal(user.as_str()), "P"),
        update,
        Some("#k = :user"),
        conflict(format!("user {user} does not exist")),
    )?;
    Ok(())
}

/// The writes of `DirectoryChange::LinkSignInIdentity`: the subject kept on the user's item
/// (an attribute per issuer, over the one read), the item that finds the user by it, and the
/// previous subject's item removed.
async fn link_sign_in_identity(
    store: &DynamoStore,
    tx: &mut Tx,
    p: &str,
    user: &UserId,
    issuer: &str,
    subject: &str,
) -> StoreResult<()> {
    let missing = || conflict(format!("user {user} does not exist"));
    let attribute = keys::sign_in_attribute(issuer);
    let current = store
        .get(p, key(keys::principal(user.as_str()), "P"))
        .await?
        .ok_or_else(missing)?;
    let previous = current.get(&attribute).and_then(|v| v.as_s().ok()).cloned();
    if previous.as_deref() == Some(subject) {
        return Ok(());
    }
    let mut update = Cond::new("SET #i = :sub")
        .name("#i", attribute.as_str())
        .name("#k", "kind")
        .value(":sub", s(subject))
        .value(":user", s("user"));
    let condition = match &previous {
        Some(old) => {
            update = update.value(":old", s(old.as_str()));
            "#k = :user AND #i = :old"
        }
        None => "#k = :user AND attribute_not_exists(#i)",
    };
    tx.update(
        p,
        key(keys::principal(user.as_str()), "P"),
        update,
        Some(condition),
        conflict(format!("user {user} changed meanwhile, or does not exist")),
    )?;
    if let Some(old) = &previous {
        tx.delete(
            p,
            key(keys::sign_in_identity(issuer), old.as_str()),
            Cond::default(),
            conflict("a sign-in identity"),
        )?;
    }
    tx.put(
        p,
        item(
            keys::sign_in_identity(issuer),
            subject,
            [("user", s(user.as_str()))],
        ),
        None,
        conflict("a sign-in identity"),
    )?;
    Ok(())
}

/// Sets a principal's `active` attribute, on the condition (`#k = :kind`) that the item is of
/// this kind (`user` or `sp`).
fn set_active(active: bool, kind: &str) -> Cond {
    Cond::new("SET #a = :a")
        .name("#a", "active")
        .name("#k", "kind")
        .value(":a", AttributeValue::Bool(active))
        .value(":kind", s(kind))
}

/// The writes of `DirectoryChange::SetUserActive`.
fn set_user_active(
    tx: &mut Tx,
    p: &str,
    user: &UserId,
    at: &Timestamp,
    active: &bool,
    revision: &u64,
) -> StoreResult<()> {
    tx.update(
        p,
        key(keys::principal(user.as_str()), "P"),
        counted(set_active(*active, "user"), *revision),
        Some(&format!("#k = :kind AND {}", at_revision(*revision))),
        conflict(format!("user {user} changed meanwhile, or does not exist")),
    )?;
    tx.put(
        p,
        activity_item(user, *at, *active, &history_key(revision + 1)),
        None,
        conflict("activity history"),
    )?;
    Ok(())
}

/// The writes of `DirectoryChange::CreateServicePrincipal`.
fn create_service_principal(tx: &mut Tx, p: &str, sp: &ServicePrincipal) -> StoreResult<()> {
    let i = item(
        keys::principal(sp.id.as_str()),
        "P",
        [("kind", s("sp")), ("doc", encode(sp)?)],
    );
    tx.put(
        p,
        i,
        Some(absent()),
        exists_err(format!("principal {}", sp.id)),
    )?;
    Ok(())
}

/// The writes of `DirectoryChange::SetServicePrincipalActive`.
fn set_service_principal_active(
    tx: &mut Tx,
    p: &str,
    id: &PrincipalId,
    active: &bool,
) -> StoreResult<()> {
    tx.update(
        p,
        key(keys::principal(id.as_str()), "P"),
        set_active(*active, "sp"),
        Some("#k = :kind"),
        conflict(format!("service principal {id} does not exist")),
    )?;
    Ok(())
}

/// The writes of `DirectoryChange::CreateExemption`.
fn create_exemption(tx: &mut Tx, p: &str, e: &Exemption) -> StoreResult<()> {
    let (head, copy) = exemption_items(e, 0)?;
    tx.put(
        p,
        head,
        Some(absent()),
        exists_err(format!("exemption {}", e.id)),
    )?;
    tx.put(p, copy, None, conflict("exemption"))?;
    Ok(())
}

/// The writes of `DirectoryChange::UpdateExemption`.
fn update_exemption(tx: &mut Tx, p: &str, e: &Exemption) -> StoreResult<()> {
    let (head, copy) = exemption_items(e, e.revision + 1)?;
    let cond = Cond::new(&format!(
        "attribute_exists(#pk) AND {}",
        at_revision(e.revision)
    ))
    .name("#pk", "pk")
    .name("#rev", "rev")
    .value(":rev", n(i64::try_from(e.revision).unwrap_or(i64::MAX)));
    tx.put(
        p,
        head,
        Some(cond),
        conflict(format!(
            "exemption {} changed meanwhile, or is unknown",
            e.id
        )),
    )?;
    tx.put(p, copy, None, conflict("exemption"))?;
    Ok(())
}

/// The writes of `DirectoryChange::PutProvisioned`: the record over its version, and the item
/// that holds its user name (taken only when no other record holds it; the previous one freed).
fn put_provisioned(
    tx: &mut Tx,
    p: &str,
    r: &ProvisionedRecord,
    previous: Option<&str>,
) -> StoreResult<()> {
    let version = |v: u64| n(i64::try_from(v).unwrap_or(i64::MAX));
    let cond = if r.version <= 1 {
        absent()
    } else {
        Cond::new("#ver = :ver")
            .name("#ver", "ver")
            .value(":ver", version(r.version - 1))
    };
    tx.put(
        p,
        item(
            keys::provisioned(r.kind.as_str()),
            r.id.as_str(),
            [("doc", encode(r)?), ("ver", version(r.version))],
        ),
        Some(cond),
        conflict(format!(
            "the provisioned {} {} changed meanwhile",
            r.kind.as_str(),
            r.id
        )),
    )?;
    let name = r.user_name_key();
    if name.as_deref() != previous {
        if let Some(k) = &name {
            tx.put(
                p,
                item(
                    keys::PROVISIONED_NAMES,
                    k.as_str(),
                    [("id", s(r.id.as_str()))],
                ),
                Some(absent()),
                exists_err(format!(
                    "a user with userName {:?}",
                    r.user_name.as_deref().unwrap_or_default()
                )),
            )?;
        }
        if let Some(old) = previous {
            tx.delete(
                p,
                key(keys::PROVISIONED_NAMES, old),
                Cond::default(),
                conflict("a user name"),
            )?;
        }
    }
    Ok(())
}

/// The writes of `DirectoryChange::CreateGroup`.
fn create_group(tx: &mut Tx, p: &str, g: &Group) -> StoreResult<()> {
    let i = item(
        keys::group(g.id.as_str()),
        "G",
        [
            ("doc", encode(g)?),
            ("gsi1pk", s("GROUPS")),
            ("gsi1sk", s(g.id.as_str())),
        ],
    );
    tx.put(p, i, Some(absent()), exists_err(format!("group {}", g.id)))?;
    Ok(())
}

/// The writes of `DirectoryChange::RenameGroup`: the group's document, rewritten with its new
/// name, over the document read.
async fn rename_group(
    store: &DynamoStore,
    tx: &mut Tx,
    p: &str,
    group: &GroupId,
    name: &autolock_core::values::Name,
) -> StoreResult<()> {
    let mut g = store
        .group(group)
        .await?
        .ok_or_else(|| conflict(format!("group {group} does not exist")))?;
    let before = encode(&g)?;
    g.name = name.clone();
    tx.update(
        p,
        key(keys::group(group.as_str()), "G"),
        Cond::new("SET #d = :d")
            .name("#d", "doc")
            .value(":d", encode(&g)?)
            .value(":before", before),
        Some("#d = :before"),
        conflict(format!("group {group} changed meanwhile")),
    )?;
    Ok(())
}

/// The writes of `DirectoryChange::CreateResource`.
fn create_resource(tx: &mut Tx, p: &str, r: &Resource) -> StoreResult<()> {
    let i = item(
        keys::resource(r.id.as_str()),
        "R",
        [
            ("doc", encode(r)?),
            ("gsi1pk", s("RESOURCES")),
            ("gsi1sk", s(r.id.as_str())),
        ],
    );
    tx.put(
        p,
        i,
        Some(absent()),
        exists_err(format!("resource {}", r.id)),
    )?;
    let pk = keys::resource(r.id.as_str());
    put_history(tx, p, pk, "POL", r.created_at, &history_key(0), &r.policy)?;
    Ok(())
}

/// The writes of `DirectoryChange::SetResourcePolicy`.
async fn set_resource_policy(
    store: &DynamoStore,
    tx: &mut Tx,
    p: &str,
    resource: &ResourceId,
    at: &Timestamp,
    policy: &Policy,
    revision: &u64,
) -> StoreResult<()> {
    let update = Cond::new("SET #d = :d").name("#d", "doc");
    let current = store
        .resource(resource)
        .await?
        .ok_or_else(|| conflict(format!("resource {resource} does not exist")))?;
    let updated = Resource {
        policy: *policy,
        ..current
    };
    tx.update(
        p,
        key(keys::resource(resource.as_str()), "R"),
        counted(update.value(":d", encode(&updated)?), *revision),
        Some(&format!(
            "attribute_exists(pk) AND {}",
            at_revision(*revision)
        )),
        conflict(format!(
            "resource {resource} changed meanwhile, or does not exist"
        )),
    )?;
    let order = history_key(revision + 1);
    put_history(
        tx,
        p,
        keys::resource(resource.as_str()),
        "POL",
        *at,
        &order,
        policy,
    )?;
    Ok(())
}

/// The writes of `DirectoryChange::AddMembership`.
fn add_membership(
    tx: &mut Tx,
    p: &str,
    user: &UserId,
    group: &GroupId,
    at: &Timestamp,
) -> StoreResult<()> {
    let marker = item(
        keys::user(user.as_str()),
        format!("CM#{group}"),
        [("group", s(group.as_str())), ("start_us", n(micros(*at)))],
    );
    tx.put(
        p,
        marker,
        Some(absent()),
        conflict(format!("{user} is already a member of {group}")),
    )?;
    let span = item(
        keys::user(user.as_str()),
        format!("M#{group}#{}", keys::at(*at)),
        [
            ("group", s(group.as_str())),
            ("user", s(user.as_str())),
            ("start_us", n(micros(*at))),
            ("gsi1pk", s(format!("GM#{group}"))),
            ("gsi1sk", s(format!("{user}#{}", keys::at(*at)))),
        ],
    );
    tx.put(p, span, None, conflict("membership span"))?;
    Ok(())
}

/// The writes of `DirectoryChange::EndMembership`.
async fn end_membership(
    store: &DynamoStore,
    tx: &mut Tx,
    p: &str,
    user: &UserId,
    group: &GroupId,
    at: &Timestamp,
) -> StoreResult<()> {
    let marker = store
        .get(p, key(keys::user(user.as_str()), format!("CM#{group}")))
        .await?
        .ok_or_else(|| conflict(format!("{user} is not a member of {group}")))?;
    let start = get_n(&marker, "start_us").unwrap_or_default();
    let cond = Cond::new("#s = :s")
        .name("#s", "start_us")
        .value(":s", n(start));
    tx.delete(
        p,
        key(keys::user(user.as_str()), format!("CM#{group}")),
        cond,
        conflict(format!("{user} is not a member of {group}")),
    )?;
    let update = Cond::new("SET #e = :e")
        .name("#e", "end_us")
        .value(":e", n(micros(*at)));
    tx.update(
        p,
        key(
            keys::user(user.as_str()),
            format!("M#{group}#{}", keys::at(instant(start)?)),
        ),
        update,
        None,
        conflict("membership span"),
    )?;
    Ok(())
}

/// The writes of `DirectoryChange::CreateGrant`.
fn create_grant(tx: &mut Tx, p: &str, seq: &mut Seq, g: &Grant) -> StoreResult<()> {
    let (gid, group, resource) = (g.id.as_str(), g.group.as_str(), g.resource.as_str());
    let marker = item(
        keys::group(group),
        format!("CG#{resource}"),
        [("grant_id", s(gid))],
    );
    tx.put(
        p,
        marker,
        Some(absent()),
        exists_err(format!("grant of {group} on {resource}")),
    )?;
    let head = Grant {
        expiry: Vec::new(),
        overrides: Vec::new(),
        ..g.clone()
    };
    tx.put(
        p,
        item(keys::grant(gid), "GR", [("doc", encode(&head)?)]),
        Some(absent()),
        exists_err(format!("grant {gid}")),
    )?;
    tx.put(
        p,
        item(
            keys::group(group),
            format!("GRANT#{resource}#{gid}"),
            [("other", s(resource)), ("grant_id", s(gid))],
        ),
        None,
        conflict("grant index"),
    )?;
    tx.put(
        p,
        item(
            keys::resource(resource),
            format!("GRANT#{group}#{gid}"),
            [("other", s(group)), ("grant_id", s(gid))],
        ),
        None,
        conflict("grant index"),
    )?;
    for e in &g.expiry {
        let order = format!("{}.{}", history_key(0), seq.next());
        put_history(tx, p, keys::grant(gid), "EXP", e.at, &order, &e.value)?;
    }
    for o in &g.overrides {
        let order = format!("{}.{}", history_key(0), seq.next());
        put_history(tx, p, keys::grant(gid), "OVR", o.at, &order, &o.value)?;
    }
    Ok(())
}

/// The writes of `DirectoryChange::EndGrant`.
async fn end_grant(
    store: &DynamoStore,
    tx: &mut Tx,
    p: &str,
    grant: &GrantId,
    at: &Timestamp,
    revision: &u64,
) -> StoreResult<()> {
    let g = store
        .grant_by_id(grant.as_str())
        .await?
        .filter(|g| g.span.end.is_none())
        .ok_or_else(|| conflict(format!("grant {grant} is removed or unknown")))?;
    let (gid, group, resource) = (grant.as_str(), g.group.as_str(), g.resource.as_str());
    let update = Cond::new("SET #e = :e")
        .name("#e", "end_us")
        .value(":e", n(micros(*at)));
    tx.update(
        p,
        key(keys::grant(gid), "GR"),
        counted(update, *revision),
        Some(&format!(
            "attribute_not_exists(end_us) AND {}",
            at_revision(*revision)
        )),
        conflict(format!(
            "grant {grant} changed meanwhile, or is removed or unknown"
        )),
    )?;
    let cond = Cond::new("#g = :g")
        .name("#g", "grant_id")
        .value(":g", s(gid));
    tx.delete(
        p,
        key(keys::group(group), format!("CG#{resource}")),
        cond,
        conflict(format!("grant {grant} is removed or unknown")),
    )?;
    for k in [
        key(keys::group(group), format!("GRANT#{resource}#{gid}")),
        key(keys::resource(resource), format!("GRANT#{group}#{gid}")),
    ] {
        tx.update(
            p,
            k,
            Cond::new("SET #x = :t")
                .name("#x", "ended")
                .value(":t", AttributeValue::Bool(true)),
            None,
            conflict("grant index"),
        )?;
    }
    Ok(())
}
