//! The usage of rights and the sweep's index of rights due.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use autolock_core::Timestamp;
use autolock_core::directory::RightFacts;
use autolock_core::ids::{ResourceId, UserId};
use autolock_core::lock::Usage;
use autolock_core::ports::{LockIndex, StoreResult, UsageReader, Versioned};

use crate::SqliteStore;
use crate::rows::{decode, micros, parse};

#[async_trait]
impl UsageReader for SqliteStore {
    async fn usage(&self, user: &UserId, resource: &ResourceId) -> StoreResult<Versioned<Usage>> {
        let (u, r) = (user.clone(), resource.clone());
        self.read(move |c| usage(c, &u, &r)).await
    }

    async fn right(
        &self,
        user: &UserId,
        resource: &ResourceId,
    ) -> StoreResult<(RightFacts, Versioned<Usage>)> {
        let (u, r) = (user.clone(), resource.clone());
        self.with_inner_brief(move |i| right(i, u, r)).await
    }

    async fn rights(
        &self,
        rights: &[(UserId, ResourceId)],
    ) -> StoreResult<Vec<(RightFacts, Versioned<Usage>)>> {
        let rights = rights.to_vec();
        self.with_inner(move |i| {
            // One read transaction for them all: one snapshot, one lock taken; the facts the
            // cache does not hold read together, each table once.
            i.conn
                .execute_batch("BEGIN")
                .map_err(crate::rows::backend)?;
            let read = batch(i, &rights).map_err(crate::rows::backend);
            i.conn
                .execute_batch("COMMIT")
                .map_err(crate::rows::backend)?;
            read
        })
        .await
    }
}

/// A right's facts (from the cache when it holds them) and usage, on the store's connection.
fn right(
    i: &mut crate::Inner,
    u: UserId,
    r: ResourceId,
) -> StoreResult<(RightFacts, Versioned<Usage>)> {
    let used = usage(&i.conn, &u, &r).map_err(crate::rows::backend)?;
    let facts = super::directory::cached_facts(i, u, r).map_err(crate::rows::backend)?;
    Ok((facts, used))
}

/// The facts (from the cache, or read together) and usage of each of `rights`, in order.
fn batch(
    i: &mut crate::Inner,
    rights: &[(UserId, ResourceId)],
) -> rusqlite::Result<Vec<(RightFacts, Versioned<Usage>)>> {
    let cache = i.cache.fresh(&i.conn)?;
    let cached: Vec<Option<RightFacts>> = rights
        .iter()
        .map(|(u, r)| {
            cache
                .facts
                .get(&(u.as_str().to_owned(), r.as_str().to_owned()))
                .cloned()
        })
        .collect();
    let missing: Vec<(UserId, ResourceId)> = rights
        .iter()
        .zip(&cached)
        .filter(|(_, c)| c.is_none())
        .map(|(right, _)| right.clone())
        .collect();
    let mut read = super::facts::many(&i.conn, &missing)?.into_iter();
    rights
        .iter()
        .zip(cached)
        .map(|((u, r), cached)| {
            let facts = match cached {
                Some(f) => f,
                None => read.next().ok_or(rusqlite::Error::QueryReturnedNoRows)?,
            };
            Ok((facts, usage(&i.conn, u, r)?))
        })
        .collect()
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

/// The usage of a right and its version, read on one connection.
fn usage(
    c: &rusqlite::Connection,
    u: &UserId,
    r: &ResourceId,
) -> rusqlite::Result<Versioned<Usage>> {
    let row = c
        .prepare_cached("SELECT version, data FROM usage WHERE user_id = ?1 AND resource_id = ?2")?
        .query_row([u.as_str(), r.as_str()], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })
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
}
