//! Row codecs: instants as microseconds, documents as JSON, ids and values parsed back through
//! their validating constructors; and the shared pieces of paging.

use chrono::DateTime;
use rusqlite::{Connection, OptionalExtension};

use autolock_core::Timestamp;
use autolock_core::directory::{Grant, Group, Resource, Span, Timed, User};
use autolock_core::error::StoreError;
use autolock_core::ids::{GrantId, GroupId, ResourceId, UserId};
use autolock_core::policy::{ApprovalMode, AutoLockAfter, Policy, PolicyOverride};
use autolock_core::ports::{PageRequest, StoreResult};
use autolock_core::values::{Email, Name, Role};

pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

pub(crate) fn micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn instant(v: i64) -> rusqlite::Result<Timestamp> {
    DateTime::from_timestamp_micros(v).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Integer,
            "instant out of range".into(),
        )
    })
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(crate) fn parse<T>(r: Result<T, autolock_core::ValidationError>) -> rusqlite::Result<T> {
    r.map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(crate) fn encode<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(backend)
}

pub(crate) const USER_COLUMNS: &str = "id, email, display_name, role, active, created_at, rev";

pub(crate) fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: parse(UserId::parse(r.get::<_, String>(0)?))?,
        email: parse(Email::parse(&r.get::<_, String>(1)?))?,
        display_name: parse(Name::parse(&r.get::<_, String>(2)?))?,
        role: parse(Role::parse(&r.get::<_, String>(3)?))?,
        active: r.get(4)?,
        created_at: instant(r.get(5)?)?,
        revision: revision(r.get(6)?),
    })
}

/// A revision as stored (never negative).
fn revision(stored: i64) -> u64 {
    u64::try_from(stored).unwrap_or(0)
}

pub(crate) fn policy_from(duration: &str, approval: &str) -> rusqlite::Result<Policy> {
    Ok(Policy {
        auto_lock_after: parse(AutoLockAfter::parse(duration))?,
        approval: parse(ApprovalMode::parse(approval))?,
    })
}

/// A resource with its current default policy (the latest of its policy history), as
/// [`resource_row`] reads it; followed by the condition on `r`.
pub(crate) const RESOURCE_SELECT: &str =
    "SELECT r.id, r.name, r.address, r.created_at, r.rev, p.auto_lock_after, p.approval
     FROM resources r JOIN resource_policies p ON p.resource_id = r.id
      AND p.seq = (SELECT max(seq) FROM resource_policies WHERE resource_id = r.id)";

pub(crate) fn resource_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Resource> {
    Ok(Resource {
        id: parse(ResourceId::parse(r.get_ref(0)?.as_str()?))?,
        name: parse(Name::parse(r.get_ref(1)?.as_str()?))?,
        address: r.get(2)?,
        policy: policy_from(r.get_ref(5)?.as_str()?, r.get_ref(6)?.as_str()?)?,
        created_at: instant(r.get(3)?)?,
        revision: revision(r.get(4)?),
    })
}

pub(crate) fn load_resource(c: &Connection, id: &str) -> rusqlite::Result<Option<Resource>> {
    c.prepare_cached(&format!("{RESOURCE_SELECT} WHERE r.id = ?1"))?
        .query_row([id], resource_row)
        .optional()
}

pub(crate) fn load_grant_rows(
    c: &Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<Vec<Grant>> {
    let mut stmt = c.prepare_cached(sql)?;
    let heads = stmt
        .query_map(params, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut expiry_stmt = c.prepare_cached(
        "SELECT at, expires_at FROM grant_expiry WHERE grant_id = ?1 ORDER BY seq",
    )?;
    let mut override_stmt =
        c.prepare_cached("SELECT at, auto_lock_after, approval FROM grant_overrides WHERE grant_id = ?1 ORDER BY seq")?;
    let mut grants = Vec::with_capacity(heads.len());
    for (id, group, resource, start, end, rev) in heads {
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
            revision: revision(rev),
        });
    }
    Ok(grants)
}

pub(crate) const GRANT_COLUMNS: &str =
    "SELECT id, group_id, resource_id, start_at, end_at, rev FROM grants";

pub(crate) fn limit_plus_one(page: &PageRequest) -> i64 {
    i64::try_from(page.effective_limit()).unwrap_or(1000) + 1
}

/// Splits a `micros:id` cursor.
pub(crate) fn split_cursor(cursor: Option<&str>) -> StoreResult<Option<(i64, String)>> {
    cursor
        .map(|c| {
            let (t, id) = c
                .split_once(':')
                .ok_or_else(|| StoreError::BadCursor(c.to_owned()))?;
            Ok((
                t.parse().map_err(|_| StoreError::BadCursor(c.to_owned()))?,
                id.to_owned(),
            ))
        })
        .transpose()
}

pub(crate) fn group_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Group> {
    Ok(Group {
        id: parse(GroupId::parse(r.get::<_, String>(0)?))?,
        name: parse(Name::parse(&r.get::<_, String>(1)?))?,
        created_at: instant(r.get(2)?)?,
    })
}
