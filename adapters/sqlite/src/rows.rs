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

/// What the SQLite store fails with, kept as the source of the [`StoreError`] the core sees.
#[derive(Debug, thiserror::Error)]
pub enum SqliteError {
    /// SQLite refused or failed.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// A document did not encode or decode.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// The database is not one this build reads.
    #[error("{0}")]
    Schema(String),
    /// A thread panicked while it held the connection.
    #[error("the connection was poisoned by a panic")]
    Poisoned,
    /// The blocking task that held the connection failed.
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
    /// A number does not fit SQLite's integers.
    #[error(transparent)]
    Range(#[from] std::num::TryFromIntError),
}

impl From<SqliteError> for StoreError {
    fn from(e: SqliteError) -> Self {
        StoreError::backend("sqlite", e)
    }
}

/// A failure of SQLite (or of a document's codec) as the store's.
pub(crate) fn backend(e: impl Into<SqliteError>) -> StoreError {
    e.into().into()
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

pub(crate) const USER_COLUMNS: &str =
    "id, email, display_name, role, active, created_at, rev, sessions_after";

pub(crate) fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: parse(UserId::parse(r.get::<_, String>(0)?))?,
        email: parse(Email::parse(r.get_ref(1)?.as_str()?))?,
        display_name: parse(Name::parse(r.get_ref(2)?.as_str()?))?,
        role: parse(Role::parse(r.get_ref(3)?.as_str()?))?,
        active: r.get(4)?,
        created_at: instant(r.get(5)?)?,
        revision: revision(r.get(6)?),
        sessions_after: r.get::<_, Option<i64>>(7)?.map(instant).transpose()?,
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

/// A right's usage as a row holds it: [`autolock_core::lock::Usage`] with each instant as
/// nanoseconds since the epoch — writing and reading RFC 3339 text took a sixth of an access
/// event's time. A row written before, or an instant this cannot hold (after 2262), is `Usage`'s
/// own JSON; both are read.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredUsage {
    /// The format: [`STORED_USAGE`].
    v: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_access: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_unlock: Option<StoredUnlock>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_person_unlock: Option<StoredUnlock>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lock: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    denied: Vec<(autolock_core::ids::EventId, i64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next_due: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    open_request: Option<autolock_core::ids::RequestId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    warned_for: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    seen: Vec<(autolock_core::ids::EventId, i64)>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredUnlock {
    at: i64,
    by: autolock_core::ids::PrincipalId,
    kind: autolock_core::lock::UnlockKind,
    lifted_lock: i64,
}

/// The format number of [`StoredUsage`], first in its text.
const STORED_USAGE: u8 = 2;

/// `usage` as a row holds it.
pub(crate) fn encode_usage(usage: &autolock_core::lock::Usage) -> StoreResult<String> {
    use autolock_core::lock::UnlockRecord;
    let nanos = |t: Timestamp| t.timestamp_nanos_opt();
    let unlock = |u: &Option<UnlockRecord>| -> Option<Option<StoredUnlock>> {
        match u {
            None => Some(None),
            Some(u) => Some(Some(StoredUnlock {
                at: nanos(u.at)?,
                by: u.by.clone(),
                kind: u.kind,
                lifted_lock: nanos(u.lifted_lock)?,
            })),
        }
    };
    let optional = |t: Option<Timestamp>| match t {
        None => Some(None),
        Some(t) => nanos(t).map(Some),
    };
    let stored = (|| {
        Some(StoredUsage {
            v: STORED_USAGE,
            last_access: optional(usage.last_access)?,
            last_unlock: unlock(&usage.last_unlock)?,
            last_person_unlock: unlock(&usage.last_person_unlock)?,
            lock: optional(usage.lock)?,
            denied: (usage.denied.iter())
                .map(|d| Some((d.event_id.clone(), nanos(d.at)?)))
                .collect::<Option<_>>()?,
            next_due: optional(usage.next_due)?,
            open_request: usage.open_request.clone(),
            warned_for: optional(usage.warned_for)?,
            seen: (usage.seen.iter())
                .map(|s| Some((s.event_id.clone(), nanos(s.at)?)))
                .collect::<Option<_>>()?,
        })
    })();
    match stored {
        Some(stored) => encode(&stored),
        None => encode(usage),
    }
}

/// A right's usage and its version from a row of `usage`: the version at column `from`, the
/// usage (as [`decode_usage`] reads it) at the next.
pub(crate) fn usage_row(
    row: &rusqlite::Row<'_>,
    from: usize,
) -> rusqlite::Result<autolock_core::ports::Versioned<autolock_core::lock::Usage>> {
    Ok(autolock_core::ports::Versioned {
        value: decode_usage(row.get_ref(from + 1)?.as_str()?)?,
        version: u64::try_from(row.get::<_, i64>(from)?).unwrap_or(0),
    })
}

/// A right's usage from its row, in either format.
pub(crate) fn decode_usage(text: &str) -> rusqlite::Result<autolock_core::lock::Usage> {
    use autolock_core::lock::{DeniedAttempt, SeenEvent, UnlockRecord, Usage};
    // `Usage`'s own JSON begins with its first field, `last_access`.
    if !text.starts_with("{\"v\":") {
        return decode(text);
    }
    let s: StoredUsage = decode(text)?;
    if s.v != STORED_USAGE {
        return Err(rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!(
                "usage stored in format {}, this build reads {STORED_USAGE}",
                s.v
            )
            .into(),
        ));
    }
    let at = |n: i64| DateTime::from_timestamp_nanos(n);
    let unlock = |u: Option<StoredUnlock>| {
        u.map(|u| UnlockRecord {
            at: at(u.at),
            by: u.by,
            kind: u.kind,
            lifted_lock: at(u.lifted_lock),
        })
    };
    Ok(Usage {
        last_access: s.last_access.map(at),
        last_unlock: unlock(s.last_unlock),
        last_person_unlock: unlock(s.last_person_unlock),
        lock: s.lock.map(at),
        denied: (s.denied.into_iter())
            .map(|(event_id, n)| DeniedAttempt {
                event_id,
                at: at(n),
            })
            .collect(),
        next_due: s.next_due.map(at),
        open_request: s.open_request,
        warned_for: s.warned_for.map(at),
        seen: (s.seen.into_iter())
            .map(|(event_id, n)| SeenEvent {
                event_id,
                at: at(n),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use autolock_core::lock::{DeniedAttempt, SeenEvent, UnlockKind, UnlockRecord, Usage};

    fn at(text: &str) -> Timestamp {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn full() -> Usage {
        let unlock = UnlockRecord {
            at: at("2026-11-02T10:00:00.000000001Z"),
            by: "ada".parse().unwrap(),
            kind: UnlockKind::ApprovedRequest,
            lifted_lock: at("2026-11-01T00:00:00Z"),
        };
        Usage {
            last_access: Some(at("2026-11-30T10:00:00.123456789Z")),
            last_unlock: Some(UnlockRecord {
                kind: UnlockKind::AutomaticRequest,
                ..unlock.clone()
            }),
            last_person_unlock: Some(unlock),
            lock: Some(at("2026-12-30T10:00:00Z")),
            denied: vec![DeniedAttempt {
                event_id: "e-denied".parse().unwrap(),
                at: at("2026-11-03T00:00:00.5Z"),
            }],
            next_due: Some(at("2026-12-30T10:00:00.123456789Z")),
            open_request: Some("req-1".parse().unwrap()),
            warned_for: Some(at("2026-12-30T10:00:00Z")),
            seen: vec![SeenEvent {
                event_id: "e-seen".parse().unwrap(),
                at: at("2026-11-30T10:00:00.123456789Z"),
            }],
        }
    }

    #[test]
    fn usage_is_stored_compact_to_the_nanosecond_and_read_back_whole() {
        for usage in [full(), Usage::default()] {
            let text = encode_usage(&usage).unwrap();
            assert!(text.starts_with("{\"v\":2"), "{text}");
            assert!(!text.contains("2026"), "instants as numbers: {text}");
            assert_eq!(decode_usage(&text).unwrap(), usage);
        }
    }

    #[test]
    fn usage_rows_written_before_are_read_and_instants_past_2262_stay_text() {
        let usage = full();
        let before = serde_json::to_string(&usage).unwrap();
        assert_eq!(decode_usage(&before).unwrap(), usage);
        let far = Usage {
            next_due: Some(at("2300-01-01T00:00:00Z")),
            ..full()
        };
        let text = encode_usage(&far).unwrap();
        assert!(text.contains("2300-01-01"), "{text}");
        assert_eq!(decode_usage(&text).unwrap(), far);
    }
}
