//! The directory, read: principals, groups, resources, grants, memberships, and the facts of a
//! right with their history.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use autolock_core::directory::{
    GateIdentity, Grant, Group, Principal, ProvisionedKind, ProvisionedRecord, Resource,
    RightFacts, ServicePrincipal, Span, User,
};
use autolock_core::ids::{GrantId, GroupId, PrincipalId, ResourceId, UserId};
use autolock_core::ports::{DirectoryReader, Page, PageRequest, ProvisionedPage, StoreResult};
use autolock_core::values::{Email, Name, Role};

use crate::SqliteStore;
use crate::rows::backend;
use crate::rows::{
    GRANT_COLUMNS, USER_COLUMNS, decode, group_row, instant, limit_plus_one, load_grant_rows,
    load_resource, parse, user_row,
};

/// The rows of `select` (which ends with the column of their id) whose id is one of `ids`, in
/// one query, each in the place of its id (`None` where none is).
fn by_ids<T: Clone>(
    c: &rusqlite::Connection,
    select: &str,
    ids: &[String],
    row: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    id_of: fn(&T) -> &str,
) -> rusqlite::Result<Vec<Option<T>>> {
    let list = super::facts::ids(ids.iter().map(String::as_str));
    let mut found: std::collections::HashMap<String, T> = c
        .prepare_cached(&format!("{select} IN (SELECT value FROM json_each(?1))"))?
        .query_map([list], row)?
        .map(|t| t.map(|t| (id_of(&t).to_owned(), t)))
        .collect::<rusqlite::Result<_>>()?;
    let mut out: Vec<Option<T>> = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        // Moved out; an id named again is given as the first time.
        let t = found.remove(id).or_else(|| {
            let first = ids[..i].iter().position(|earlier| earlier == id)?;
            out[first].clone()
        });
        out.push(t);
    }
    Ok(out)
}

#[async_trait]
impl DirectoryReader for SqliteStore {
    async fn provisioned(
        &self,
        kind: ProvisionedKind,
        id: &str,
    ) -> StoreResult<Option<ProvisionedRecord>> {
        let id = id.to_owned();
        self.read(move |c| {
            c.prepare_cached("SELECT data FROM provisioned WHERE kind = ?1 AND id = ?2")?
                .query_row(params![kind.as_str(), id], |r| {
                    decode(r.get_ref(0)?.as_str()?)
                })
                .optional()
        })
        .await
    }

    async fn provisioned_user_named(&self, key: &str) -> StoreResult<Option<ProvisionedRecord>> {
        let key = key.to_owned();
        self.read(move |c| {
            // `user_name_key` is set on live users' records only, and unique among them.
            c.prepare_cached("SELECT data FROM provisioned WHERE user_name_key = ?1")?
                .query_row([key], |r| decode(r.get_ref(0)?.as_str()?))
                .optional()
        })
        .await
    }

    async fn provisioned_all(&self, kind: ProvisionedKind) -> StoreResult<Vec<ProvisionedRecord>> {
        self.read(move |c| {
            c.prepare_cached("SELECT data FROM provisioned WHERE kind = ?1 ORDER BY id")?
                .query_map([kind.as_str()], |r| decode(r.get_ref(0)?.as_str()?))?
                .collect()
        })
        .await
    }

    async fn provisioned_live_page(
        &self,
        kind: ProvisionedKind,
        skip: usize,
        count: usize,
    ) -> StoreResult<ProvisionedPage> {
        let as_sql = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let (skip, count) = (as_sql(skip), as_sql(count));
        self.read(move |c| {
            // One snapshot, both through the index on (kind, deleted, id): the records
            // skipped and counted are not read.
            let tx = c.unchecked_transaction()?;
            let records = tx
                .prepare_cached(
                    "SELECT data FROM provisioned WHERE kind = ?1 AND deleted = 0 \
                     ORDER BY id LIMIT ?2 OFFSET ?3",
                )?
                .query_map(params![kind.as_str(), count, skip], |r| {
                    decode(r.get_ref(0)?.as_str()?)
                })?
                .collect::<rusqlite::Result<_>>()?;
            let total: i64 = tx
                .prepare_cached("SELECT COUNT(*) FROM provisioned WHERE kind = ?1 AND deleted = 0")?
                .query_row([kind.as_str()], |r| r.get(0))?;
            tx.commit()?;
            Ok(ProvisionedPage {
                records,
                total: usize::try_from(total).unwrap_or(0),
            })
        })
        .await
    }

    async fn principal(&self, id: &PrincipalId) -> StoreResult<Option<Principal>> {
        let id = id.clone();
        self.with_inner_brief(move |i| {
            i.cache.fresh(&i.conn).map_err(backend)?;
            cached_principal(i, &id).map_err(backend)
        })
        .await
    }

    async fn user(&self, id: &UserId) -> StoreResult<Option<User>> {
        let id = id.clone();
        self.read(move |c| user_by_id(c, &id)).await
    }

    async fn users_by_id(&self, ids: &[UserId]) -> StoreResult<Vec<Option<User>>> {
        // One query for them all (a page of a report names up to 1 000 users).
        let ids: Vec<String> = ids.iter().map(|id| id.as_str().to_owned()).collect();
        self.read(move |c| {
            by_ids(
                c,
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id"),
                &ids,
                user_row,
                |u| u.id.as_str(),
            )
        })
        .await
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let email = email.to_string();
        self.read(move |c| {
            c.query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1 ORDER BY id LIMIT 1"),
                [email],
                user_row,
            )
            .optional()
        })
        .await
    }

    async fn user_of_sign_in_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> StoreResult<Option<UserId>> {
        let (issuer, subject) = (issuer.to_owned(), subject.to_owned());
        self.read(move |c| {
            c.prepare_cached(
                "SELECT user_id FROM sign_in_identities WHERE issuer = ?1 AND subject = ?2",
            )?
            .query_row(params![issuer, subject], |r| {
                parse(UserId::parse(r.get::<_, String>(0)?))
            })
            .optional()
        })
        .await
    }

    async fn users(&self, page: &PageRequest) -> StoreResult<Page<User>> {
        let (after, limit) = (
            page.after.clone().unwrap_or_default(),
            page.effective_limit(),
        );
        let n = limit_plus_one(page);
        let items = self
            .read(move |c| {
                let mut s = c.prepare(&format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE id > ?1 ORDER BY id LIMIT ?2"
                ))?;
                s.query_map(params![after, n], user_row)?.collect()
            })
            .await?;
        Ok(Page::from_overfetch(items, limit, |u| u.id.to_string()))
    }

    async fn active_users_with_roles(&self, roles: &[Role]) -> StoreResult<Vec<User>> {
        let roles: Vec<Role> = roles.to_vec();
        let users: Vec<User> = self
            .read(move |c| {
                let mut s = c.prepare(&format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE active = 1 ORDER BY id"
                ))?;
                s.query_map([], user_row)?.collect()
            })
            .await?;
        Ok(users
            .into_iter()
            .filter(|u| roles.contains(&u.role))
            .collect())
    }

    async fn service_principal(&self, id: &PrincipalId) -> StoreResult<Option<ServicePrincipal>> {
        let id = id.clone();
        self.read(move |c| {
            c.query_row(
                "SELECT id, name, created_at, active, identity, role FROM service_principals WHERE id = ?1",
                [id.as_str()],
                |r| {
                    let identity = match r.get::<_, Option<String>>(4)? {
                        Some(json) => decode(&json)?,
                        None => GateIdentity::default(),
                    };
                    Ok(ServicePrincipal {
                        id: parse(PrincipalId::parse(r.get::<_, String>(0)?))?,
                        name: parse(Name::parse(&r.get::<_, String>(1)?))?,
                        active: r.get(3)?,
                        created_at: instant(r.get(2)?)?,
                        role: parse(Role::parse(r.get_ref(5)?.as_str()?))?,
                        identity,
                    })
                },
            )
            .optional()
        })
        .await
    }

    async fn group(&self, id: &GroupId) -> StoreResult<Option<Group>> {
        let id = id.clone();
        self.read(move |c| {
            c.query_row(
                "SELECT id, name, created_at FROM groups WHERE id = ?1",
                [id.as_str()],
                group_row,
            )
            .optional()
        })
        .await
    }

    async fn groups(&self, page: &PageRequest) -> StoreResult<Page<Group>> {
        let (after, limit) = (
            page.after.clone().unwrap_or_default(),
            page.effective_limit(),
        );
        let n = limit_plus_one(page);
        let items = self
            .read(move |c| {
                let mut s = c.prepare(
                    "SELECT id, name, created_at FROM groups WHERE id > ?1 ORDER BY id LIMIT ?2",
                )?;
                s.query_map(params![after, n], group_row)?.collect()
            })
            .await?;
        Ok(Page::from_overfetch(items, limit, |g| g.id.to_string()))
    }

    async fn resource(&self, id: &ResourceId) -> StoreResult<Option<Resource>> {
        let id = id.clone();
        self.read(move |c| load_resource(c, id.as_str())).await
    }

    async fn resources(&self, page: &PageRequest) -> StoreResult<Page<Resource>> {
        let (after, limit) = (
            page.after.clone().unwrap_or_default(),
            page.effective_limit(),
        );
        let n = limit_plus_one(page);
        let items = self
            .read(move |c| {
                let mut s =
                    c.prepare("SELECT id FROM resources WHERE id > ?1 ORDER BY id LIMIT ?2")?;
                let ids = s
                    .query_map(params![after, n], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    out.extend(load_resource(c, &id)?);
                }
                Ok(out)
            })
            .await?;
        Ok(Page::from_overfetch(items, limit, |r| r.id.to_string()))
    }

    async fn grant(&self, id: &GrantId) -> StoreResult<Option<Grant>> {
        let id = id.clone();
        self.read(move |c| {
            Ok(load_grant_rows(
                c,
                &format!("{GRANT_COLUMNS} WHERE id = ?1"),
                &[&id.as_str()],
            )?
            .pop())
        })
        .await
    }

    async fn current_grant(
        &self,
        group: &GroupId,
        resource: &ResourceId,
    ) -> StoreResult<Option<Grant>> {
        let (g, r) = (group.clone(), resource.clone());
        self.read(move |c| {
            Ok(load_grant_rows(
                c,
                &format!(
                    "{GRANT_COLUMNS} WHERE group_id = ?1 AND resource_id = ?2 AND end_at IS NULL"
                ),
                &[&g.as_str(), &r.as_str()],
            )?
            .pop())
        })
        .await
    }

    async fn grants_of_resource(&self, resource: &ResourceId) -> StoreResult<Vec<Grant>> {
        let r = resource.clone();
        self.read(move |c| {
            load_grant_rows(
                c,
                &format!(
                    "{GRANT_COLUMNS} WHERE resource_id = ?1 AND end_at IS NULL ORDER BY group_id"
                ),
                &[&r.as_str()],
            )
        })
        .await
    }

    async fn grants_of_group(&self, group: &GroupId) -> StoreResult<Vec<Grant>> {
        let g = group.clone();
        self.read(move |c| {
            load_grant_rows(
                c,
                &format!(
                    "{GRANT_COLUMNS} WHERE group_id = ?1 AND end_at IS NULL ORDER BY resource_id"
                ),
                &[&g.as_str()],
            )
        })
        .await
    }

    async fn members(&self, group: &GroupId) -> StoreResult<Vec<UserId>> {
        let g = group.clone();
        self.read(move |c| {
            let mut s = c.prepare("SELECT user_id FROM memberships WHERE group_id = ?1 AND end_at IS NULL ORDER BY user_id")?;
            s.query_map([g.as_str()], |r| parse(UserId::parse(r.get::<_, String>(0)?)))?.collect()
        })
        .await
    }

    async fn members_page(&self, group: &GroupId, page: &PageRequest) -> StoreResult<Page<UserId>> {
        let (g, after, n) = (
            group.clone(),
            page.after.clone().unwrap_or_default(),
            limit_plus_one(page),
        );
        let items = self
            .read(move |c| {
                c.prepare_cached(
                    "SELECT user_id FROM memberships WHERE group_id = ?1 AND end_at IS NULL
                     AND user_id > ?2 ORDER BY user_id LIMIT ?3",
                )?
                .query_map(params![g.as_str(), after, n], |r| {
                    parse(UserId::parse(r.get::<_, String>(0)?))
                })?
                .collect()
            })
            .await?;
        Ok(Page::from_overfetch(
            items,
            page.effective_limit(),
            ToString::to_string,
        ))
    }

    async fn has_members(&self, group: &GroupId) -> StoreResult<bool> {
        let g = group.clone();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM memberships WHERE group_id = ?1 AND end_at IS NULL)",
            )?
            .query_row([g.as_str()], |r| r.get(0))
        })
        .await
    }

    async fn membership(&self, user: &UserId, group: &GroupId) -> StoreResult<Option<Span>> {
        let (u, g) = (user.clone(), group.clone());
        self.read(move |c| {
            c.query_row(
                "SELECT start_at FROM memberships WHERE user_id = ?1 AND group_id = ?2 AND end_at IS NULL",
                [u.as_str(), g.as_str()],
                |r| Ok(Span::from(instant(r.get(0)?)?)),
            )
            .optional()
        })
        .await
    }

    async fn groups_of_user(&self, user: &UserId) -> StoreResult<Vec<GroupId>> {
        let u = user.clone();
        self.read(move |c| {
            let mut s = c.prepare("SELECT group_id FROM memberships WHERE user_id = ?1 AND end_at IS NULL ORDER BY group_id")?;
            s.query_map([u.as_str()], |r| parse(GroupId::parse(r.get::<_, String>(0)?)))?.collect()
        })
        .await
    }

    async fn right_facts(&self, user: &UserId, resource: &ResourceId) -> StoreResult<RightFacts> {
        let (user, resource) = (user.clone(), resource.clone());
        self.with_inner(move |i| super::facts::one(i, user, resource).map_err(backend))
            .await
    }

    async fn resources_of_user(&self, user: &UserId) -> StoreResult<Vec<ResourceId>> {
        let u = user.clone();
        self.read(move |c| {
            let mut s = c.prepare(
                "SELECT DISTINCT g.resource_id FROM grants g JOIN memberships m ON m.group_id = g.group_id
                 WHERE m.user_id = ?1 ORDER BY g.resource_id",
            )?;
            s.query_map([u.as_str()], |r| parse(ResourceId::parse(r.get::<_, String>(0)?)))?.collect()
        })
        .await
    }

    async fn users_of_resource_page(
        &self,
        resource: &ResourceId,
        page: &PageRequest,
    ) -> StoreResult<Page<UserId>> {
        let items = self
            .users_of_resource_after(
                resource,
                page.after.clone().unwrap_or_default(),
                limit_plus_one(page),
            )
            .await?;
        Ok(Page::from_overfetch(
            items,
            page.effective_limit(),
            ToString::to_string,
        ))
    }

    async fn users_of_resource(&self, resource: &ResourceId) -> StoreResult<Vec<UserId>> {
        let r = resource.clone();
        self.read(move |c| {
            let mut s = c.prepare(
                "SELECT DISTINCT m.user_id FROM memberships m JOIN grants g ON g.group_id = m.group_id
                 WHERE g.resource_id = ?1 ORDER BY m.user_id",
            )?;
            s.query_map([r.as_str()], |r| parse(UserId::parse(r.get::<_, String>(0)?)))?.collect()
        })
        .await
    }
}

impl SqliteStore {
    async fn users_of_resource_after(
        &self,
        resource: &ResourceId,
        after: String,
        n: i64,
    ) -> StoreResult<Vec<UserId>> {
        let r = resource.clone();
        self.read(move |c| {
            let groups: Vec<String> = c
                .prepare_cached("SELECT DISTINCT group_id FROM grants WHERE resource_id = ?1")?
                .query_map([r.as_str()], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            users_after(c, r.as_str(), &groups, &after, n)?
                .into_iter()
                .map(|id| parse(UserId::parse(id)))
                .collect()
        })
        .await
    }
}

/// The first `n` users after `after`, in id order, who ever held a path to `resource` through
/// one of `groups` (the groups ever granted it).
pub(crate) fn users_after(
    c: &rusqlite::Connection,
    resource: &str,
    groups: &[String],
    after: &str,
    n: i64,
) -> rusqlite::Result<Vec<String>> {
    if groups.len() <= MERGED_GROUPS {
        return members_merged(c, groups, after, n);
    }
    // Many groups: one walk of the memberships in user order, each kept when its group holds
    // the resource, until the page is full.
    c.prepare_cached(
        "SELECT DISTINCT m.user_id FROM memberships m INDEXED BY memberships_by_user
         WHERE m.group_id IN (SELECT group_id FROM grants WHERE resource_id = ?1) AND m.user_id > ?2
         ORDER BY m.user_id LIMIT ?3",
    )?
    .query_map(params![resource, after, n], |row| row.get(0))?
    .collect()
}

/// Up to how many groups holding a resource its users are read group by group (each group's
/// members in id order, merged), rather than in one walk of all memberships: the cost of a page
/// follows the resource's members, not the directory's.
const MERGED_GROUPS: usize = 32;

/// The first `n` distinct members after `after` of any of `groups`, in id order: each group's
/// first `n` read through its index, merged, the set cut back to `n` after each group.
fn members_merged(
    c: &rusqlite::Connection,
    groups: &[String],
    after: &str,
    n: i64,
) -> rusqlite::Result<Vec<String>> {
    let keep = usize::try_from(n).unwrap_or(usize::MAX);
    let mut s = c.prepare_cached(
        "SELECT DISTINCT user_id FROM memberships WHERE group_id = ?1 AND user_id > ?2
         ORDER BY user_id LIMIT ?3",
    )?;
    if let [group] = groups {
        // One group: its members as its index lists them.
        return s
            .query_map(params![group, after, n], |row| row.get::<_, String>(0))?
            .collect();
    }
    let mut first: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for g in groups {
        for id in s.query_map(params![g, after, n], |row| row.get::<_, String>(0))? {
            first.insert(id?);
        }
        if first.len() > keep {
            let beyond = first.iter().nth(keep).cloned();
            if let Some(beyond) = beyond {
                first.split_off(&beyond);
            }
        }
    }
    Ok(first.into_iter().collect())
}

/// The principal with this id, from the cache (checked fresh by the caller) or read.
pub(crate) fn cached_principal(
    i: &mut crate::Inner,
    id: &PrincipalId,
) -> rusqlite::Result<Option<Principal>> {
    if let Some(p) = i.cache.principals.get(id.as_str()) {
        return Ok(p.clone());
    }
    let p = principal(&i.conn, id.clone())?;
    i.cache.principals.insert(id.as_str().to_owned(), p.clone());
    Ok(p)
}

/// The principal with this id, read on one connection.
fn principal(c: &rusqlite::Connection, id: PrincipalId) -> rusqlite::Result<Option<Principal>> {
    if let Some(user) = c
        .query_row(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
            [id.as_str()],
            user_row,
        )
        .optional()?
    {
        return Ok(Some(Principal {
            id: user.id,
            role: user.role,
            active: user.active,
        }));
    }
    let sp: Option<(bool, Role)> = c
        .query_row(
            "SELECT active, role FROM service_principals WHERE id = ?1",
            [id.as_str()],
            |r| Ok((r.get(0)?, parse(Role::parse(r.get_ref(1)?.as_str()?))?)),
        )
        .optional()?;
    Ok(sp.map(|(active, role)| Principal { id, role, active }))
}

/// A user by id, through the statement cache.
fn user_by_id(c: &rusqlite::Connection, id: &UserId) -> rusqlite::Result<Option<User>> {
    c.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))?
        .query_row([id.as_str()], user_row)
        .optional()
}
