//! The facts of rights, assembled in memory from two parts the store keeps between reads
//! (`DirectoryCache` in lib.rs): each user's — the active flag's history and the spans of each
//! membership, by group — and each resource's — its default policies, its grants by group with
//! their histories, its exemptions. A right's facts are its user's memberships joined with its
//! resource's grants: 10 000 users and 100 resources make 113 000 rights in the benchmark, and
//! their facts come from 10 100 parts, each read once until the directory changes
//! (docs/architecture.md, "SQLite"). Parts not held are read together, each table once for all
//! the users or resources missing: one right (the gateway's decision) and a batch (the sweep,
//! access events, reports) take the same path.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use rusqlite::Connection;

use autolock_core::directory::{Grant, PathFacts, RightFacts, Span, Timed};
use autolock_core::exemption::Exemption;
use autolock_core::ids::{ResourceId, UserId};
use autolock_core::policy::Policy;

use crate::rows::{GRANT_COLUMNS, instant, load_grant_rows, policy_from};

/// What the facts of a user's rights take from the user.
#[derive(Default)]
pub(crate) struct UserPart {
    activity: Vec<Timed<bool>>,
    /// Group id -> the membership's spans, in order.
    memberships: BTreeMap<String, Vec<Span>>,
}

/// What the facts of a resource's rights take from the resource.
#[derive(Default)]
pub(crate) struct ResourcePart {
    policy: Vec<Timed<Policy>>,
    /// Group id -> the grants to it, in order.
    grants: HashMap<String, Vec<Grant>>,
    /// Every exemption on the resource (of one right or of one grant), in order.
    exemptions: Vec<Exemption>,
}

/// Runs `sql` over the list of ids `list` and hands each row to the part its first column
/// names.
fn each_row<P>(
    c: &Connection,
    sql: &str,
    list: &str,
    parts: &mut BTreeMap<String, P>,
    mut take: impl FnMut(&mut P, &rusqlite::Row<'_>) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let mut s = c.prepare_cached(sql)?;
    let mut rows = s.query([list])?;
    while let Some(r) = rows.next()? {
        if let Some(part) = parts.get_mut(&r.get::<_, String>(0)?) {
            take(part, r)?;
        }
    }
    Ok(())
}

/// A list of ids as the JSON array `json_each` reads.
pub(crate) fn ids<'a>(each: impl Iterator<Item = &'a str>) -> String {
    serde_json::to_string(&each.collect::<BTreeSet<_>>()).unwrap_or_else(|_| "[]".to_owned())
}

/// The two parts of a right's facts, shared with the cache.
pub(crate) struct Parts {
    user: Arc<UserPart>,
    resource: Arc<ResourcePart>,
}

impl Parts {
    /// The facts of the right (`user`, `resource`) these are the parts of, as [`facts_of`]
    /// makes them. The store's lock need not be held.
    pub(crate) fn facts(&self, user: &UserId, resource: &ResourceId) -> RightFacts {
        facts_of(&self.user, &self.resource, user, resource)
    }
}

/// The facts of the right (`user`, `resource`) from its user's part and its resource's: a path
/// for each group of the user granted the resource (in group order), the exemptions that
/// concern the right.
pub(crate) fn facts_of(
    u: &UserPart,
    r: &ResourcePart,
    user: &UserId,
    resource: &ResourceId,
) -> RightFacts {
    let mut paths = Vec::new();
    for (group, spans) in &u.memberships {
        // The resource's part holds a group only with its grants.
        if let Some(grants @ [first, ..]) = r.grants.get(group).map(Vec::as_slice) {
            paths.push(PathFacts {
                group: first.group.clone(),
                memberships: spans.clone(),
                grants: grants.to_vec(),
            });
        }
    }
    let exemptions = r
        .exemptions
        .iter()
        .filter(|e| e.concerns(user, &paths))
        .cloned()
        .collect();
    RightFacts {
        user: user.clone(),
        resource: resource.clone(),
        activity: u.activity.clone(),
        resource_policy: r.policy.clone(),
        paths,
        exemptions,
        silences: Vec::new(),
    }
}

/// The parts of a right's facts the cache holds (`None` when it lacks one).
pub(crate) fn held(
    cache: &crate::DirectoryCache,
    user: &UserId,
    resource: &ResourceId,
) -> Option<Parts> {
    held_with(cache, cache.users.get(user.as_str())?, resource)
}

/// The parts of a right's facts: this user's part, the resource's from the cache.
pub(crate) fn held_with(
    cache: &crate::DirectoryCache,
    user: &Arc<UserPart>,
    resource: &ResourceId,
) -> Option<Parts> {
    Some(Parts {
        user: Arc::clone(user),
        resource: Arc::clone(cache.resources.get(resource.as_str())?),
    })
}

/// Reads the parts of the facts of `rights` that the cache lacks: each table once for all the
/// users, or all the resources, missing. The resources' parts go into the cache; the users'
/// into `users` (the cache itself, or a batch's own map that is dropped after it, so that a
/// report over 100 000 users leaves the cache as it found it).
pub(crate) fn fill(
    conn: &Connection,
    cache: &mut crate::DirectoryCache,
    users: Option<&mut HashMap<String, Arc<UserPart>>>,
    rights: &[(UserId, ResourceId)],
) -> rusqlite::Result<()> {
    let missing: BTreeSet<&str> = rights
        .iter()
        .map(|(u, _)| u.as_str())
        .filter(|u| !cache.users.contains_key(*u))
        .collect();
    if !missing.is_empty() {
        let read = read_users(conn, &missing)?;
        match users {
            Some(aside) => aside.extend(read),
            None => cache.users.extend(read),
        }
    }
    let resources: BTreeSet<&str> = rights
        .iter()
        .map(|(_, r)| r.as_str())
        .filter(|r| !cache.resources.contains_key(*r))
        .collect();
    if !resources.is_empty() {
        cache.resources.extend(read_resources(conn, &resources)?);
    }
    Ok(())
}

/// The part of `resource`'s rights' facts: the cache's, or read (and kept).
pub(crate) fn resource_part(
    conn: &Connection,
    cache: &mut crate::DirectoryCache,
    resource: &ResourceId,
) -> rusqlite::Result<Arc<ResourcePart>> {
    if let Some(part) = cache.resources.get(resource.as_str()) {
        return Ok(Arc::clone(part));
    }
    let read = read_resources(conn, &BTreeSet::from([resource.as_str()]))?;
    let part = read.first().map(|(_, p)| Arc::clone(p)).unwrap_or_default();
    cache.resources.extend(read);
    Ok(part)
}

impl ResourcePart {
    /// The groups granted the resource whose part this is, ever (by id).
    pub(crate) fn groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = self.grants.keys().cloned().collect();
        groups.sort_unstable();
        groups
    }
}

/// The facts of one right: the parts the cache holds, the others read (and kept).
pub(crate) fn one(
    i: &mut crate::Inner,
    user: UserId,
    resource: ResourceId,
) -> rusqlite::Result<RightFacts> {
    let crate::Inner { conn, cache } = i;
    let cache = cache.fresh(conn)?;
    let right = [(user, resource)];
    fill(conn, cache, None, &right)?;
    let [(u, r)] = &right;
    Ok(held(cache, u, r)
        .ok_or(rusqlite::Error::QueryReturnedNoRows)?
        .facts(u, r))
}

/// The parts of `keys` (every one of them, empty where nothing is stored), which `read` fills
/// from the keys' list as `json_each` reads it.
fn read_parts<P: Default>(
    keys: &BTreeSet<&str>,
    read: impl FnOnce(&str, &mut BTreeMap<String, P>) -> rusqlite::Result<()>,
) -> rusqlite::Result<Vec<(String, Arc<P>)>> {
    let mut parts: BTreeMap<String, P> = keys
        .iter()
        .map(|k| ((*k).to_owned(), P::default()))
        .collect();
    read(&ids(keys.iter().copied()), &mut parts)?;
    Ok(parts.into_iter().map(|(id, p)| (id, Arc::new(p))).collect())
}

/// The parts of `users` (every one of them, empty for a user who does not exist).
fn read_users(
    c: &Connection,
    users: &BTreeSet<&str>,
) -> rusqlite::Result<Vec<(String, Arc<UserPart>)>> {
    read_parts(users, |list, parts| {
        for (select, order, take) in USER_TABLES {
            each_row(
                c,
                &format!(
                    "{select} WHERE user_id IN (SELECT value FROM json_each(?1)) ORDER BY {order}"
                ),
                list,
                parts,
                take,
            )?;
        }
        Ok(())
    })
}

/// A row of a user's table handed to the user's part.
type TakeRow = fn(&mut UserPart, &rusqlite::Row<'_>) -> rusqlite::Result<()>;

/// The tables of a user's part: what to select from each (the user's id first), in which order
/// its rows come (by user, then as the part keeps them), and what each row adds to the part.
pub(crate) const USER_TABLES: [(&str, &str, TakeRow); 2] = [
    (
        "SELECT user_id, at, active FROM user_activity",
        "user_id, seq",
        |part, r| {
            part.activity.push(Timed {
                at: instant(r.get(1)?)?,
                value: r.get(2)?,
            });
            Ok(())
        },
    ),
    (
        "SELECT user_id, group_id, start_at, end_at FROM memberships",
        "user_id, group_id, seq",
        |part, r| {
            part.memberships.entry(r.get(1)?).or_default().push(Span {
                start: instant(r.get(2)?)?,
                end: r.get::<_, Option<i64>>(3)?.map(instant).transpose()?,
            });
            Ok(())
        },
    ),
];

/// The parts of `resources` (every one of them, empty for a resource that does not exist).
fn read_resources(
    c: &Connection,
    resources: &BTreeSet<&str>,
) -> rusqlite::Result<Vec<(String, Arc<ResourcePart>)>> {
    read_parts(resources, |list, parts| {
        each_row(
            c,
            "SELECT resource_id, at, auto_lock_after, approval FROM resource_policies WHERE resource_id IN (SELECT value FROM json_each(?1)) ORDER BY resource_id, seq",
            list,
            parts,
            |part: &mut ResourcePart, r| {
                part.policy.push(Timed {
                    at: instant(r.get(1)?)?,
                    value: policy_from(&r.get::<_, String>(2)?, &r.get::<_, String>(3)?)?,
                });
                Ok(())
            },
        )?;
        for g in load_grant_rows(
            c,
            &format!(
                "{GRANT_COLUMNS} WHERE resource_id IN (SELECT value FROM json_each(?1)) ORDER BY seq"
            ),
            &[&list],
        )? {
            if let Some(part) = parts.get_mut(g.resource.as_str()) {
                part.grants.entry(g.group.to_string()).or_default().push(g);
            }
        }
        each_row(
            c,
            "SELECT resource_id, data, rev FROM exemptions WHERE resource_id IN (SELECT value FROM json_each(?1)) ORDER BY start_at, id",
            list,
            parts,
            |part, r| {
                part.exemptions.push(super::exemptions::row_from(r, 1)?);
                Ok(())
            },
        )
    })
}
