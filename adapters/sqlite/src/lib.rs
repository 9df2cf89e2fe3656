//! autolock-sqlite: every store port of autolock-core on SQLite (bundled, WAL).
//!
//! The schema is applied at open (see `schema.sql`; `PRAGMA user_version` records it). Each
//! [`Changeset`] is one SQLite transaction, with the same conditions the DynamoDB store checks:
//! a usage write names the version it was computed from, a request update the status it
//! expects, a current membership or grant is unique. Calls run on tokio's blocking pool, one
//! connection behind a mutex: SQLite serialises writers anyway.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::DateTime;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use autolock_core::Timestamp;
use autolock_core::audit::{AuditAction, AuditEntry, AuditFilter};
use autolock_core::directory::{
    Grant, Group, PathFacts, Principal, Resource, RightFacts, ServicePrincipal, Span, Timed, User,
};
use autolock_core::error::StoreError;
use autolock_core::events::OutboxEntry;
use autolock_core::ids::{GrantId, GroupId, PrincipalId, RequestId, ResourceId, UserId};
use autolock_core::lock::Usage;
use autolock_core::notify::{Channel, Delivery, DeliveryStatus, DeliveryStore, WebhookSettings};
use autolock_core::policy::{ApprovalMode, AutoLockAfter, Policy, PolicyOverride};
use autolock_core::ports::{
    AuditReader, Changeset, Committer, DirectoryChange, DirectoryReader, LockIndex, OutboxReader,
    Page, PageRequest, RequestFilter, RequestReader, RequestWrite, Settings, SettingsStore,
    StoreResult, UsageReader, UsageWrite, Versioned,
};
use autolock_core::request::AccessRequest;
use autolock_core::values::{Email, Name, Role};

/// The migrations, in order: migration `n` brings the schema to version `n + 1`.
const MIGRATIONS: [&str; 3] = [
    include_str!("schema.sql"),
    include_str!("schema_v2.sql"),
    include_str!("schema_v3.sql"),
];
#[allow(clippy::cast_possible_wrap)]
const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The embedded store.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

fn instant(v: i64) -> rusqlite::Result<Timestamp> {
    DateTime::from_timestamp_micros(v).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Integer,
            "instant out of range".into(),
        )
    })
}

fn decode<T: serde::de::DeserializeOwned>(text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn parse<T>(r: Result<T, autolock_core::ValidationError>) -> rusqlite::Result<T> {
    r.map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn encode<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(backend)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, in WAL mode, and applies the schema.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        let conn = Connection::open(path).map_err(backend)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(backend)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(backend)?;
        Self::init(conn)
    }

    /// A private in-memory database.
    pub fn in_memory() -> StoreResult<Self> {
        Self::init(Connection::open_in_memory().map_err(backend)?)
    }

    fn init(conn: Connection) -> StoreResult<Self> {
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(backend)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(backend)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(backend)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Backend(format!(
                "database schema version {version} is newer than this build ({SCHEMA_VERSION})"
            )));
        }
        for (done, migration) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(version).unwrap_or(0))
        {
            conn.execute_batch(&format!(
                "BEGIN; {migration} PRAGMA user_version = {}; COMMIT;",
                done + 1
            ))
            .map_err(backend)?;
        }
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn with<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Backend("connection poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(backend)?
    }

    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.with(move |c| f(c).map_err(backend)).await
    }
}

// ---- row mapping -------------------------------------------------------------------------------

const USER_COLUMNS: &str = "id, email, display_name, role, active, created_at";

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: parse(UserId::parse(r.get::<_, String>(0)?))?,
        email: parse(Email::parse(&r.get::<_, String>(1)?))?,
        display_name: parse(Name::parse(&r.get::<_, String>(2)?))?,
        role: parse(Role::parse(&r.get::<_, String>(3)?))?,
        active: r.get(4)?,
        created_at: instant(r.get(5)?)?,
    })
}

fn policy_from(duration: &str, approval: &str) -> rusqlite::Result<Policy> {
    Ok(Policy {
        auto_lock_after: parse(AutoLockAfter::parse(duration))?,
        approval: parse(ApprovalMode::parse(approval))?,
    })
}

fn load_resource(c: &Connection, id: &str) -> rusqlite::Result<Option<Resource>> {
    let Some((id, name, address, created_at)) = c
        .query_row(
            "SELECT id, name, address, created_at FROM resources WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
        )
        .optional()?
    else {
        return Ok(None);
    };
    let (duration, approval): (String, String) = c.query_row(
        "SELECT auto_lock_after, approval FROM resource_policies WHERE resource_id = ?1 ORDER BY seq DESC LIMIT 1",
        [&id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(Some(Resource {
        id: parse(ResourceId::parse(id))?,
        name: parse(Name::parse(&name))?,
        address,
        policy: policy_from(&duration, &approval)?,
        created_at: instant(created_at)?,
    }))
}

fn load_grant_rows(
    c: &Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<Vec<Grant>> {
    let mut stmt = c.prepare(sql)?;
    let heads = stmt
        .query_map(params, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<i64>>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut expiry_stmt = c.prepare_cached(
        "SELECT at, expires_at FROM grant_expiry WHERE grant_id = ?1 ORDER BY seq",
    )?;
    let mut override_stmt =
        c.prepare_cached("SELECT at, auto_lock_after, approval FROM grant_overrides WHERE grant_id = ?1 ORDER BY seq")?;
    let mut grants = Vec::with_capacity(heads.len());
    for (id, group, resource, start, end) in heads {
        let expiry = expiry_stmt
            .query_map([&id], |r| {
                Ok(Timed {
                    at: instant(r.get(0)?)?,
                    value: r.get::<_, Option<i64>>(1)?.map(instant).transpose()?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let overrides = override_stmt
            .query_map([&id], |r| {
                let duration: Option<String> = r.get(1)?;
                let approval: Option<String> = r.get(2)?;
                Ok(Timed {
                    at: instant(r.get(0)?)?,
                    value: PolicyOverride {
                        auto_lock_after: duration
                            .map(|d| parse(AutoLockAfter::parse(&d)))
                            .transpose()?,
                        approval: approval
                            .map(|a| parse(ApprovalMode::parse(&a)))
                            .transpose()?,
                    },
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        grants.push(Grant {
            id: parse(GrantId::parse(id))?,
            group: parse(GroupId::parse(group))?,
            resource: parse(ResourceId::parse(resource))?,
            span: Span {
                start: instant(start)?,
                end: end.map(instant).transpose()?,
            },
            expiry,
            overrides,
        });
    }
    Ok(grants)
}

const GRANT_COLUMNS: &str = "SELECT id, group_id, resource_id, start_at, end_at FROM grants";

fn page_of<T>(mut items: Vec<T>, limit: usize, cursor: impl Fn(&T) -> String) -> Page<T> {
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(cursor)
    } else {
        None
    };
    Page { items, next }
}

fn limit_plus_one(page: &PageRequest) -> i64 {
    i64::try_from(page.effective_limit()).unwrap_or(1000) + 1
}

/// Splits a `micros:id` cursor.
fn split_cursor(cursor: Option<&str>) -> StoreResult<Option<(i64, String)>> {
    cursor
        .map(|c| {
            let (t, id) = c
                .split_once(':')
                .ok_or_else(|| StoreError::Backend(format!("bad cursor {c:?}")))?;
            Ok((
                t.parse()
                    .map_err(|_| StoreError::Backend(format!("bad cursor {c:?}")))?,
                id.to_owned(),
            ))
        })
        .transpose()
}

// ---- reads -------------------------------------------------------------------------------------

#[async_trait]
impl DirectoryReader for SqliteStore {
    async fn principal(&self, id: &PrincipalId) -> StoreResult<Option<Principal>> {
        let id = id.clone();
        self.read(move |c| {
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
            let sp: Option<String> = c
                .query_row(
                    "SELECT id FROM service_principals WHERE id = ?1",
                    [id.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(sp.map(|_| Principal {
                id,
                role: Role::Gateway,
                active: true,
            }))
        })
        .await
    }

    async fn user(&self, id: &UserId) -> StoreResult<Option<User>> {
        let id = id.clone();
        self.read(move |c| {
            c.query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
                [id.as_str()],
                user_row,
            )
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
        Ok(page_of(items, limit, |u| u.id.to_string()))
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
                "SELECT id, name, created_at FROM service_principals WHERE id = ?1",
                [id.as_str()],
                |r| {
                    Ok(ServicePrincipal {
                        id: parse(PrincipalId::parse(r.get::<_, String>(0)?))?,
                        name: parse(Name::parse(&r.get::<_, String>(1)?))?,
                        created_at: instant(r.get(2)?)?,
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
        Ok(page_of(items, limit, |g| g.id.to_string()))
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
        Ok(page_of(items, limit, |r| r.id.to_string()))
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
        self.read(move |c| {
            let mut s = c.prepare_cached("SELECT at, active FROM user_activity WHERE user_id = ?1 ORDER BY seq")?;
            let activity = s
                .query_map([user.as_str()], |r| Ok(Timed { at: instant(r.get(0)?)?, value: r.get::<_, bool>(1)? }))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut s = c.prepare_cached("SELECT at, auto_lock_after, approval FROM resource_policies WHERE resource_id = ?1 ORDER BY seq")?;
            let resource_policy = s
                .query_map([resource.as_str()], |r| {
                    Ok(Timed { at: instant(r.get(0)?)?, value: policy_from(&r.get::<_, String>(1)?, &r.get::<_, String>(2)?)? })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut s = c.prepare_cached(
                "SELECT DISTINCT g.group_id FROM grants g JOIN memberships m ON m.group_id = g.group_id
                 WHERE g.resource_id = ?1 AND m.user_id = ?2 ORDER BY g.group_id",
            )?;
            let groups = s
                .query_map([resource.as_str(), user.as_str()], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut paths = Vec::with_capacity(groups.len());
            let mut ms = c.prepare_cached("SELECT start_at, end_at FROM memberships WHERE user_id = ?1 AND group_id = ?2 ORDER BY seq")?;
            for group in groups {
                let memberships = ms
                    .query_map([user.as_str(), group.as_str()], |r| {
                        Ok(Span { start: instant(r.get(0)?)?, end: r.get::<_, Option<i64>>(1)?.map(instant).transpose()? })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let grants = load_grant_rows(
                    c,
                    &format!("{GRANT_COLUMNS} WHERE group_id = ?1 AND resource_id = ?2 ORDER BY seq"),
                    &[&group.as_str(), &resource.as_str()],
                )?;
                paths.push(PathFacts { group: parse(GroupId::parse(group))?, memberships, grants });
            }
            Ok(RightFacts { user, resource, activity, resource_policy, paths })
        })
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
        Ok(page_of(items, page.effective_limit(), ToString::to_string))
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
            let mut s = c.prepare(
                "SELECT DISTINCT m.user_id FROM memberships m INDEXED BY memberships_by_user
                 WHERE m.group_id IN (SELECT group_id FROM grants WHERE resource_id = ?1) AND m.user_id > ?2
                 ORDER BY m.user_id LIMIT ?3",
            )?;
            s.query_map(params![r.as_str(), after, n], |r| parse(UserId::parse(r.get::<_, String>(0)?)))?.collect()
        })
        .await
    }
}

fn group_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Group> {
    Ok(Group {
        id: parse(GroupId::parse(r.get::<_, String>(0)?))?,
        name: parse(Name::parse(&r.get::<_, String>(1)?))?,
        created_at: instant(r.get(2)?)?,
    })
}

#[async_trait]
impl UsageReader for SqliteStore {
    async fn usage(&self, user: &UserId, resource: &ResourceId) -> StoreResult<Versioned<Usage>> {
        let (u, r) = (user.clone(), resource.clone());
        self.read(move |c| {
            let row = c
                .query_row(
                    "SELECT version, data FROM usage WHERE user_id = ?1 AND resource_id = ?2",
                    [u.as_str(), r.as_str()],
                    |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)),
                )
                .optional()?;
            Ok(match row {
                Some((version, data)) => Versioned {
                    value: decode(&data)?,
                    version: u64::try_from(version).unwrap_or(0),
                },
                None => Versioned {
                    value: Usage::default(),
                    version: 0,
                },
            })
        })
        .await
    }
}

#[async_trait]
impl LockIndex for SqliteStore {
    async fn due(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<(UserId, ResourceId)>> {
        let (now, limit) = (micros(now), i64::try_from(limit).unwrap_or(i64::MAX));
        self.read(move |c| {
            let mut s = c.prepare(
                "SELECT user_id, resource_id FROM usage WHERE next_due IS NOT NULL AND next_due <= ?1
                 ORDER BY next_due, user_id, resource_id LIMIT ?2",
            )?;
            s.query_map(params![now, limit], |r| {
                Ok((parse(UserId::parse(r.get::<_, String>(0)?))?, parse(ResourceId::parse(r.get::<_, String>(1)?))?))
            })?
            .collect()
        })
        .await
    }
}

fn request_page(
    c: &Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<Vec<AccessRequest>> {
    let mut s = c.prepare(sql)?;
    s.query_map(params, |r| decode::<AccessRequest>(&r.get::<_, String>(0)?))?
        .collect()
}

#[async_trait]
impl RequestReader for SqliteStore {
    async fn request(&self, id: &RequestId) -> StoreResult<Option<AccessRequest>> {
        let id = id.clone();
        self.read(move |c| {
            c.query_row(
                "SELECT data FROM requests WHERE id = ?1",
                [id.as_str()],
                |r| decode(&r.get::<_, String>(0)?),
            )
            .optional()
        })
        .await
    }

    async fn open_requests(
        &self,
        filter: &RequestFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<AccessRequest>> {
        let after = split_cursor(page.after.as_deref())?.unwrap_or((i64::MIN, String::new()));
        let (user, resource) = (
            filter.user.as_ref().map(ToString::to_string),
            filter.resource.as_ref().map(ToString::to_string),
        );
        let (limit, n) = (page.effective_limit(), limit_plus_one(page));
        let items = self
            .read(move |c| {
                request_page(
                    c,
                    "SELECT data FROM requests WHERE status = 'open'
                       AND (requested_at, id) > (?1, ?2)
                       AND (?3 IS NULL OR user_id = ?3) AND (?4 IS NULL OR resource_id = ?4)
                     ORDER BY requested_at, id LIMIT ?5",
                    &[&after.0, &after.1, &user, &resource, &n],
                )
            })
            .await?;
        Ok(page_of(items, limit, |r| {
            format!("{}:{}", micros(r.requested_at), r.id)
        }))
    }

    async fn resolved_requests(
        &self,
        since: Timestamp,
        filter: &RequestFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<AccessRequest>> {
        let before = split_cursor(page.after.as_deref())?;
        let since = micros(since);
        let (user, resource) = (
            filter.user.as_ref().map(ToString::to_string),
            filter.resource.as_ref().map(ToString::to_string),
        );
        let (limit, n) = (page.effective_limit(), limit_plus_one(page));
        let items = self
            .read(move |c| {
                let (before_at, before_id) = before.unzip();
                request_page(
                    c,
                    "SELECT data FROM requests WHERE resolved_at IS NOT NULL AND resolved_at >= ?1
                       AND (?2 IS NULL OR (resolved_at, id) < (?2, ?3))
                       AND (?4 IS NULL OR user_id = ?4) AND (?5 IS NULL OR resource_id = ?5)
                     ORDER BY resolved_at DESC, id DESC LIMIT ?6",
                    &[&since, &before_at, &before_id, &user, &resource, &n],
                )
            })
            .await?;
        Ok(page_of(items, limit, |r| {
            format!("{}:{}", r.resolved_at.map_or(0, micros), r.id)
        }))
    }

    async fn count_open(&self) -> StoreResult<u64> {
        self.read(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM requests WHERE status = 'open'",
                [],
                |r| r.get::<_, i64>(0),
            )
        })
        .await
        .map(|n| u64::try_from(n).unwrap_or(0))
    }
}

#[async_trait]
impl AuditReader for SqliteStore {
    async fn audit(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<AuditEntry>> {
        let after: i64 = match &page.after {
            Some(c) => c
                .parse()
                .map_err(|_| StoreError::Backend(format!("bad cursor {c:?}")))?,
            None => 0,
        };
        let from = filter.from.map(micros);
        let to = filter.to.map(micros);
        let actor = filter.actor.as_ref().map(ToString::to_string);
        let action = filter.action.map(AuditAction::as_str);
        let target = filter.target.as_ref().map(|t| format!(" {t} "));
        let (limit, n) = (page.effective_limit(), limit_plus_one(page));
        let rows: Vec<(i64, AuditEntry)> = self
            .read(move |c| {
                let mut s = c.prepare(
                    "SELECT seq, data FROM audit WHERE seq > ?1
                       AND (?2 IS NULL OR at >= ?2) AND (?3 IS NULL OR at < ?3)
                       AND (?4 IS NULL OR actor = ?4) AND (?5 IS NULL OR action = ?5)
                       AND (?6 IS NULL OR instr(targets, ?6) > 0)
                     ORDER BY seq LIMIT ?7",
                )?;
                s.query_map(params![after, from, to, actor, action, target, n], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        decode::<AuditEntry>(&r.get::<_, String>(1)?)?,
                    ))
                })?
                .collect()
            })
            .await?;
        let page = page_of(rows, limit, |(seq, _)| seq.to_string());
        Ok(Page {
            items: page.items.into_iter().map(|(_, e)| e).collect(),
            next: page.next,
        })
    }
}

#[async_trait]
impl OutboxReader for SqliteStore {
    async fn pending(&self, limit: usize) -> StoreResult<Vec<OutboxEntry>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            let mut s = c.prepare(
                "SELECT data FROM outbox WHERE delivered_at IS NULL ORDER BY seq LIMIT ?1",
            )?;
            s.query_map([limit], |r| decode::<OutboxEntry>(&r.get::<_, String>(0)?))?
                .collect()
        })
        .await
    }

    async fn mark_delivered(&self, entries: &[OutboxEntry]) -> StoreResult<()> {
        let ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
        self.with(move |c| {
            let tx = c.transaction().map_err(backend)?;
            for id in ids {
                tx.execute(
                    "UPDATE outbox SET delivered_at = at WHERE id = ?1 AND delivered_at IS NULL",
                    [id],
                )
                .map_err(backend)?;
            }
            tx.commit().map_err(backend)
        })
        .await
    }
}

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn settings(&self) -> StoreResult<Settings> {
        let data: Option<String> = self
            .read(|c| {
                c.query_row(
                    "SELECT data FROM settings WHERE key = 'notifications'",
                    [],
                    |r| r.get(0),
                )
                .optional()
            })
            .await?;
        match data {
            Some(d) => serde_json::from_str(&d).map_err(backend),
            None => Ok(Settings::default()),
        }
    }

    async fn webhook(&self) -> StoreResult<Option<WebhookSettings>> {
        let data: Option<String> = self
            .read(|c| {
                c.query_row("SELECT data FROM settings WHERE key = 'webhook'", [], |r| {
                    r.get(0)
                })
                .optional()
            })
            .await?;
        data.map(|d| serde_json::from_str(&d).map_err(backend))
            .transpose()
    }

    async fn put_webhook(&self, webhook: Option<&WebhookSettings>) -> StoreResult<()> {
        let data = webhook.map(encode).transpose()?;
        self.read(move |c| match data {
            Some(d) => c
                .execute("INSERT INTO settings (key, data) VALUES ('webhook', ?1) ON CONFLICT (key) DO UPDATE SET data = excluded.data", [d])
                .map(|_| ()),
            None => c.execute("DELETE FROM settings WHERE key = 'webhook'", []).map(|_| ()),
        })
        .await
    }

    async fn put_settings(&self, settings: &Settings) -> StoreResult<()> {
        let data = encode(settings)?;
        self.read(move |c| {
            c.execute(
                "INSERT INTO settings (key, data) VALUES ('notifications', ?1) ON CONFLICT (key) DO UPDATE SET data = excluded.data",
                [data],
            )
            .map(|_| ())
        })
        .await
    }
}

fn delivery_status(s: DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::Pending => "pending",
        DeliveryStatus::Sent => "sent",
        DeliveryStatus::Failed => "failed",
    }
}

#[async_trait]
impl DeliveryStore for SqliteStore {
    async fn create_delivery(&self, d: &Delivery) -> StoreResult<bool> {
        let (id, channel, status, next, created, data) = (
            d.id.clone(),
            d.channel.as_str(),
            delivery_status(d.status),
            d.next_attempt_at.map(micros),
            micros(d.created_at),
            encode(d)?,
        );
        self.read(move |c| {
            c.execute(
                "INSERT INTO deliveries (id, channel, status, next_attempt_at, created_at, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO NOTHING",
                params![id, channel, status, next, created, data],
            )
            .map(|n| n == 1)
        })
        .await
    }

    async fn update_delivery(&self, d: &Delivery) -> StoreResult<()> {
        let (id, status, next, data) = (
            d.id.clone(),
            delivery_status(d.status),
            d.next_attempt_at.map(micros),
            encode(d)?,
        );
        self.read(move |c| {
            c.execute(
                "UPDATE deliveries SET status = ?2, next_attempt_at = ?3, data = ?4 WHERE id = ?1",
                params![id, status, next, data],
            )
            .map(|_| ())
        })
        .await
    }

    async fn delivery(&self, id: &str) -> StoreResult<Option<Delivery>> {
        let id = id.to_owned();
        self.read(move |c| {
            c.query_row("SELECT data FROM deliveries WHERE id = ?1", [id], |r| {
                decode(&r.get::<_, String>(0)?)
            })
            .optional()
        })
        .await
    }

    async fn due_deliveries(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<Delivery>> {
        let (now, limit) = (micros(now), i64::try_from(limit).unwrap_or(i64::MAX));
        self.read(move |c| {
            let mut s = c.prepare(
                "SELECT data FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2",
            )?;
            s.query_map(params![now, limit], |r| decode::<Delivery>(&r.get::<_, String>(0)?))?.collect()
        })
        .await
    }

    async fn deliveries(
        &self,
        channel: Channel,
        page: &PageRequest,
    ) -> StoreResult<Page<Delivery>> {
        let before = split_cursor(page.after.as_deref())?;
        let (limit, n) = (page.effective_limit(), limit_plus_one(page));
        let channel = channel.as_str();
        let items = self
            .read(move |c| {
                let (before_at, before_id) = before.unzip();
                let mut s = c.prepare(
                    "SELECT data FROM deliveries WHERE channel = ?1 AND (?2 IS NULL OR (created_at, id) < (?2, ?3))
                     ORDER BY created_at DESC, id DESC LIMIT ?4",
                )?;
                s.query_map(params![channel, before_at, before_id, n], |r| decode::<Delivery>(&r.get::<_, String>(0)?))?.collect()
            })
            .await?;
        Ok(page_of(items, limit, |d| {
            format!("{}:{}", micros(d.created_at), d.id)
        }))
    }
}

// ---- writes ------------------------------------------------------------------------------------

#[async_trait]
impl Committer for SqliteStore {
    async fn commit(&self, changes: Changeset) -> StoreResult<()> {
        self.with(move |c| {
            let tx = c.transaction().map_err(backend)?;
            apply(&tx, &changes)?;
            tx.commit().map_err(backend)
        })
        .await
    }
}

fn exists(tx: &Transaction<'_>, sql: &str, params: &[&dyn rusqlite::ToSql]) -> StoreResult<bool> {
    tx.query_row(sql, params, |_| Ok(()))
        .optional()
        .map(|o| o.is_some())
        .map_err(backend)
}

fn current_grant_exists(tx: &Transaction<'_>, grant: &GrantId) -> StoreResult<()> {
    if exists(
        tx,
        "SELECT 1 FROM grants WHERE id = ?1 AND end_at IS NULL",
        &[&grant.as_str()],
    )? {
        Ok(())
    } else {
        Err(StoreError::Conflict(format!(
            "grant {grant} is removed or unknown"
        )))
    }
}

fn insert_override(
    tx: &Transaction<'_>,
    grant: &GrantId,
    at: Timestamp,
    value: PolicyOverride,
) -> StoreResult<()> {
    tx.execute(
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
    tx.execute(
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

fn apply_directory(tx: &Transaction<'_>, change: &DirectoryChange) -> StoreResult<()> {
    match change {
        DirectoryChange::CreateUser(u) => {
            if principal_exists(tx, u.id.as_str())? {
                return Err(StoreError::AlreadyExists(format!("principal {}", u.id)));
            }
            tx.execute(
                "INSERT INTO users (id, email, display_name, role, active, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![u.id.as_str(), u.email.as_str(), u.display_name.as_str(), u.role.as_str(), u.active, micros(u.created_at)],
            )
            .map_err(backend)?;
            tx.execute(
                "INSERT INTO user_activity (user_id, at, active) VALUES (?1, ?2, ?3)",
                params![u.id.as_str(), micros(u.created_at), u.active],
            )
            .map_err(backend)?;
        }
        DirectoryChange::UpdateUser(u) => {
            let n = tx
                .execute(
                    "UPDATE users SET email = ?2, display_name = ?3, role = ?4 WHERE id = ?1",
                    params![
                        u.id.as_str(),
                        u.email.as_str(),
                        u.display_name.as_str(),
                        u.role.as_str()
                    ],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::Conflict(format!(
                    "user {} does not exist",
                    u.id
                )));
            }
        }
        DirectoryChange::SetUserActive { user, at, active } => {
            let n = tx
                .execute(
                    "UPDATE users SET active = ?2 WHERE id = ?1",
                    params![user.as_str(), active],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::Conflict(format!("user {user} does not exist")));
            }
            tx.execute(
                "INSERT INTO user_activity (user_id, at, active) VALUES (?1, ?2, ?3)",
                params![user.as_str(), micros(*at), active],
            )
            .map_err(backend)?;
        }
        DirectoryChange::CreateServicePrincipal(sp) => {
            if principal_exists(tx, sp.id.as_str())? {
                return Err(StoreError::AlreadyExists(format!("principal {}", sp.id)));
            }
            tx.execute(
                "INSERT INTO service_principals (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![sp.id.as_str(), sp.name.as_str(), micros(sp.created_at)],
            )
            .map_err(backend)?;
        }
        DirectoryChange::CreateGroup(g) => {
            if exists(tx, "SELECT 1 FROM groups WHERE id = ?1", &[&g.id.as_str()])? {
                return Err(StoreError::AlreadyExists(format!("group {}", g.id)));
            }
            tx.execute(
                "INSERT INTO groups (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![g.id.as_str(), g.name.as_str(), micros(g.created_at)],
            )
            .map_err(backend)?;
        }
        DirectoryChange::CreateResource(r) => {
            if exists(
                tx,
                "SELECT 1 FROM resources WHERE id = ?1",
                &[&r.id.as_str()],
            )? {
                return Err(StoreError::AlreadyExists(format!("resource {}", r.id)));
            }
            tx.execute(
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
        }
        DirectoryChange::SetResourcePolicy {
            resource,
            at,
            policy,
        } => {
            if !exists(
                tx,
                "SELECT 1 FROM resources WHERE id = ?1",
                &[&resource.as_str()],
            )? {
                return Err(StoreError::Conflict(format!(
                    "resource {resource} does not exist"
                )));
            }
            insert_policy(tx, resource, *at, *policy)?;
        }
        DirectoryChange::AddMembership { user, group, at } => {
            if exists(
                tx,
                "SELECT 1 FROM memberships WHERE user_id = ?1 AND group_id = ?2 AND end_at IS NULL",
                &[&user.as_str(), &group.as_str()],
            )? {
                return Err(StoreError::Conflict(format!(
                    "{user} is already a member of {group}"
                )));
            }
            tx.execute(
                "INSERT INTO memberships (user_id, group_id, start_at) VALUES (?1, ?2, ?3)",
                params![user.as_str(), group.as_str(), micros(*at)],
            )
            .map_err(backend)?;
        }
        DirectoryChange::EndMembership { user, group, at } => {
            let n = tx
                .execute(
                    "UPDATE memberships SET end_at = ?3 WHERE user_id = ?1 AND group_id = ?2 AND end_at IS NULL",
                    params![user.as_str(), group.as_str(), micros(*at)],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::Conflict(format!(
                    "{user} is not a member of {group}"
                )));
            }
        }
        DirectoryChange::CreateGrant(g) => {
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
            tx.execute(
                "INSERT INTO grants (id, group_id, resource_id, start_at, end_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![g.id.as_str(), g.group.as_str(), g.resource.as_str(), micros(g.span.start), g.span.end.map(micros)],
            )
            .map_err(backend)?;
            for e in &g.expiry {
                tx.execute(
                    "INSERT INTO grant_expiry (grant_id, at, expires_at) VALUES (?1, ?2, ?3)",
                    params![g.id.as_str(), micros(e.at), e.value.map(micros)],
                )
                .map_err(backend)?;
            }
            for o in &g.overrides {
                insert_override(tx, &g.id, o.at, o.value)?;
            }
        }
        DirectoryChange::EndGrant { grant, at } => {
            let n = tx
                .execute(
                    "UPDATE grants SET end_at = ?2 WHERE id = ?1 AND end_at IS NULL",
                    params![grant.as_str(), micros(*at)],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::Conflict(format!(
                    "grant {grant} is removed or unknown"
                )));
            }
        }
        DirectoryChange::SetGrantExpiry {
            grant,
            at,
            expires_at,
        } => {
            current_grant_exists(tx, grant)?;
            tx.execute(
                "INSERT INTO grant_expiry (grant_id, at, expires_at) VALUES (?1, ?2, ?3)",
                params![grant.as_str(), micros(*at), expires_at.map(micros)],
            )
            .map_err(backend)?;
        }
        DirectoryChange::SetGrantOverride { grant, at, value } => {
            current_grant_exists(tx, grant)?;
            insert_override(tx, grant, *at, *value)?;
        }
    }
    Ok(())
}

fn apply_usage(tx: &Transaction<'_>, w: &UsageWrite) -> StoreResult<()> {
    let data = encode(&w.usage)?;
    let next_due = w.usage.next_due.map(micros);
    let (u, r) = (w.user.as_str(), w.resource.as_str());
    let version = i64::try_from(w.expected_version).map_err(backend)?;
    let n = if version == 0 {
        tx.execute(
            "INSERT INTO usage (user_id, resource_id, version, next_due, data) VALUES (?1, ?2, 1, ?3, ?4)
             ON CONFLICT (user_id, resource_id) DO NOTHING",
            params![u, r, next_due, data],
        )
    } else {
        tx.execute(
            "UPDATE usage SET version = version + 1, next_due = ?4, data = ?5
             WHERE user_id = ?1 AND resource_id = ?2 AND version = ?3",
            params![u, r, version, next_due, data],
        )
    }
    .map_err(backend)?;
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "usage of {u} on {r} changed since version {version}"
        )));
    }
    Ok(())
}

fn apply_request(tx: &Transaction<'_>, w: &RequestWrite) -> StoreResult<()> {
    match w {
        RequestWrite::Create(r) => {
            let n = tx
                .execute(
                    "INSERT INTO requests (id, user_id, resource_id, status, requested_at, resolved_at, data)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING",
                    params![r.id.as_str(), r.user.as_str(), r.resource.as_str(), r.status.as_str(), micros(r.requested_at), r.resolved_at.map(micros), encode(r)?],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::AlreadyExists(format!("request {}", r.id)));
            }
        }
        RequestWrite::Update {
            request: r,
            expected,
        } => {
            let n = tx
                .execute(
                    "UPDATE requests SET status = ?2, resolved_at = ?3, data = ?4 WHERE id = ?1 AND status = ?5",
                    params![r.id.as_str(), r.status.as_str(), r.resolved_at.map(micros), encode(r)?, expected.as_str()],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::Conflict(format!(
                    "request {} is no longer {}",
                    r.id,
                    expected.as_str()
                )));
            }
        }
    }
    Ok(())
}

fn targets(e: &AuditEntry) -> String {
    let ids = [
        e.user.as_ref().map(ToString::to_string),
        e.resource.as_ref().map(ToString::to_string),
        e.group.as_ref().map(ToString::to_string),
        e.grant.as_ref().map(ToString::to_string),
        e.request.as_ref().map(ToString::to_string),
    ];
    let mut out = String::from(" ");
    for id in ids.into_iter().flatten() {
        out.push_str(&id);
        out.push(' ');
    }
    out
}

fn apply(tx: &Transaction<'_>, changes: &Changeset) -> StoreResult<()> {
    for change in &changes.directory {
        apply_directory(tx, change)?;
    }
    for w in &changes.usage {
        apply_usage(tx, w)?;
    }
    for w in &changes.requests {
        apply_request(tx, w)?;
    }
    for e in &changes.audit {
        tx.execute(
            "INSERT INTO audit (id, at, action, actor, targets, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
            params![e.id, micros(e.at), e.action.as_str(), e.actor.as_ref().map(ToString::to_string), targets(e), encode(e)?],
        )
        .map_err(backend)?;
    }
    for link in &changes.consumed_links {
        let n = tx
            .execute(
                "INSERT INTO consumed_links (id, expires_at) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
                params![link.id, micros(link.expires_at)],
            )
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::AlreadyExists(format!("link {}", link.id)));
        }
    }
    for o in &changes.outbox {
        tx.execute(
            "INSERT INTO outbox (id, at, data) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO NOTHING",
            params![o.id, micros(o.at), encode(o)?],
        )
        .map_err(backend)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_file_database_is_in_wal_mode_and_keeps_its_data_across_opens() {
        let dir = std::env::temp_dir().join(format!("autolock-sqlite-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("autolock.db");
        let _ = std::fs::remove_file(&path);
        {
            let store = SqliteStore::open(&path).unwrap();
            let mode: String = store
                .read(|c| c.pragma_query_value(None, "journal_mode", |r| r.get(0)))
                .await
                .unwrap();
            assert_eq!(mode, "wal");
            let settings = Settings {
                emails_enabled: false,
                email_roles: vec![Role::DevopsAdmin],
            };
            store.put_settings(&settings).await.unwrap();
        }
        let reopened = SqliteStore::open(&path).unwrap();
        assert_eq!(
            reopened.settings().await.unwrap().email_roles,
            vec![Role::DevopsAdmin]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_database_from_a_newer_build_is_refused() {
        let dir = std::env::temp_dir().join(format!("autolock-sqlite-new-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("autolock.db");
        let _ = std::fs::remove_file(&path);
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(err.to_string().contains("newer"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
