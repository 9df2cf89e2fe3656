//! The usage of rights and the sweep's index of rights due.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use autolock_core::Timestamp;
use autolock_core::directory::RightFacts;
use autolock_core::ids::{ResourceId, UserId};
use autolock_core::lock::Usage;
use autolock_core::ports::{LockIndex, StoreResult, UsageReader, Versioned};

use super::facts::Parts;
use crate::SqliteStore;
use crate::rows::{backend, micros, parse, usage_row};

#[async_trait]
impl UsageReader for SqliteStore {
    async fn usage(&self, user: &UserId, resource: &ResourceId) -> StoreResult<Versioned<Usage>> {
        let right = (user.clone(), resource.clone());
        self.with_inner(move |i| {
            let crate::Inner { conn, cache } = i;
            let cache = cache.fresh(conn).map_err(backend)?;
            let (u, r) = (right.0.as_str(), right.1.as_str());
            if let Some(used) = cache.usage(u, r) {
                return Ok(used.clone());
            }
            let used = usage(conn, &right.0, &right.1).map_err(backend)?;
            cache.keep_usage(u, r, used.clone());
            Ok(used)
        })
        .await
    }

    async fn right(
        &self,
        user: &UserId,
        resource: &ResourceId,
    ) -> StoreResult<(RightFacts, Versioned<Usage>)> {
        let right = [(user.clone(), resource.clone())];
        let held = self.with_inner_brief(move |i| read(i, &right)).await?;
        facts_of_one(user, resource, held)
    }

    async fn rights(
        &self,
        rights: &[(UserId, ResourceId)],
    ) -> StoreResult<Vec<(RightFacts, Versioned<Usage>)>> {
        let owned = rights.to_vec();
        let held = self.with_inner(move |i| read(i, &owned)).await?;
        Ok(facts(rights, held))
    }
}

/// The parts of the facts and the usage of rights, in the order asked.
type Held = Vec<(Parts, Versioned<Usage>)>;

/// The parts of the facts and the usage of each of `rights`, in order: from memory when the
/// cache holds them and the database had not changed at the last look at it, taken now or less
/// than a millisecond ago (`DirectoryCache::recent`), otherwise what the cache lacks read in one
/// read transaction — one snapshot, one lock taken, a look taken in it. A single right read is
/// kept in the cache; a batch (a page of a group's or a user's report, the sweep's rights due, a
/// batch of events) uses what the cache holds and keeps only the resources' parts, so that its
/// memory stays flat however many rights it reads.
fn read(i: &mut crate::Inner, rights: &[(UserId, ResourceId)]) -> StoreResult<Held> {
    if let Some(held) = held(i.cache.recent(&i.conn).map_err(backend)?, None, rights) {
        return Ok(held);
    }
    let mut aside = (rights.len() > 1).then(Aside::default);
    super::in_read_transaction(i, |i| {
        i.cache.fresh(&i.conn)?;
        fill(i, aside.as_mut(), rights)
    })?;
    held(&i.cache, aside.as_mut(), rights)
        .ok_or_else(|| backend(rusqlite::Error::QueryReturnedNoRows))
}

/// What a batch read without keeping it.
#[derive(Default)]
struct Aside {
    users: HashMap<String, Arc<super::facts::UserPart>>,
    /// Resource id -> user id -> the right's usage.
    usage: HashMap<String, HashMap<String, Versioned<Usage>>>,
}

/// What the cache (or else `aside`, whose usage is moved out) holds of each of `rights`, if it
/// holds everything.
fn held(
    cache: &crate::DirectoryCache,
    mut aside: Option<&mut Aside>,
    rights: &[(UserId, ResourceId)],
) -> Option<Held> {
    let mut out: Held = Vec::with_capacity(rights.len());
    for (i, (u, r)) in rights.iter().enumerate() {
        let parts = super::facts::held(cache, u, r).or_else(|| {
            super::facts::held_with(cache, aside.as_deref()?.users.get(u.as_str())?, r)
        })?;
        let used = match cache.usage(u.as_str(), r.as_str()) {
            Some(used) => used.clone(),
            None => {
                let aside = aside.as_deref_mut()?;
                match (aside.usage.get_mut(r.as_str())).and_then(|of| of.remove(u.as_str())) {
                    Some(used) => used,
                    // A right the batch names again: as the first time.
                    None => {
                        let first = rights[..i].iter().position(|right| right == &rights[i])?;
                        out[first].1.clone()
                    }
                }
            }
        };
        out.push((parts, used));
    }
    Some(out)
}

/// The facts of each right from its parts, with its usage (off the store's lock).
fn facts(rights: &[(UserId, ResourceId)], held: Held) -> Vec<(RightFacts, Versioned<Usage>)> {
    rights
        .iter()
        .zip(held)
        .map(|((u, r), (parts, used))| (parts.facts(u, r), used))
        .collect()
}

/// [`facts`] of the one right a read was for.
fn facts_of_one(
    user: &UserId,
    resource: &ResourceId,
    held: Held,
) -> StoreResult<(RightFacts, Versioned<Usage>)> {
    let (parts, used) = held
        .into_iter()
        .next()
        .ok_or_else(|| backend(rusqlite::Error::QueryReturnedNoRows))?;
    Ok((parts.facts(user, resource), used))
}

/// Reads what the cache lacks of `rights` (their facts' parts, their usage), in the read
/// transaction begun, the cache checked fresh in it: into the cache (a single right's usage with
/// its user's other rights', [`usage_of_user`]), or the users' parts and the usage into `aside`.
fn fill(
    i: &mut crate::Inner,
    mut aside: Option<&mut Aside>,
    rights: &[(UserId, ResourceId)],
) -> rusqlite::Result<()> {
    let crate::Inner { conn, cache } = i;
    super::facts::fill(conn, cache, aside.as_mut().map(|a| &mut a.users), rights)?;
    let missing = rights
        .iter()
        .filter(|(u, r)| cache.usage(u.as_str(), r.as_str()).is_none());
    match aside {
        // A batch: each right's row read in the key's order (each right once, however often
        // the batch names it), so that one read finds the pages above its row where the last
        // one left them.
        Some(a) => {
            let rights: BTreeSet<(&str, &str)> =
                missing.map(|(u, r)| (u.as_str(), r.as_str())).collect();
            let mut s = conn.prepare_cached(
                "SELECT version, data FROM usage WHERE user_id = ?1 AND resource_id = ?2",
            )?;
            for (u, r) in rights {
                // A right never used: no row, version 0.
                let used = s.query_row([u, r], |row| usage_row(row, 0)).optional()?;
                a.usage
                    .entry(r.to_owned())
                    .or_default()
                    .insert(u.to_owned(), used.unwrap_or_default());
            }
        }
        // One right: its usage read with its user's other rights'.
        None => {
            for (u, r) in missing.collect::<Vec<_>>() {
                if cache.usage(u.as_str(), r.as_str()).is_some() {
                    continue;
                }
                let every_row = usage_of_user(conn, cache, u)?;
                if cache.usage(u.as_str(), r.as_str()).is_none() {
                    // A right never used has no row; one past the first rows read is read alone.
                    let used = if every_row {
                        Versioned::default()
                    } else {
                        usage(conn, u, r)?
                    };
                    cache.keep_usage(u.as_str(), r.as_str(), used);
                }
            }
        }
    }
    Ok(())
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

/// How many of a user's rights' usage rows a right's first read reads with it.
const USER_ROWS: i64 = 64;

/// Keeps the usage of `user`'s rights (the first [`USER_ROWS`] of them by resource, those not
/// held already) — one run of the usage's key, read in one descent, so that the first
/// decisions of a user's other rights find them held; whether every row of the user was read
/// and kept.
fn usage_of_user(
    c: &rusqlite::Connection,
    cache: &mut crate::DirectoryCache,
    user: &UserId,
) -> rusqlite::Result<bool> {
    let mut s = c.prepare_cached(
        "SELECT resource_id, version, data FROM usage WHERE user_id = ?1 ORDER BY resource_id LIMIT ?2",
    )?;
    let mut rows = s.query(params![user.as_str(), USER_ROWS])?;
    let (mut read, mut every_row) = (0, true);
    while let Some(row) = rows.next()? {
        read += 1;
        let resource = row.get_ref(0)?.as_str()?;
        if cache.usage(user.as_str(), resource).is_none() {
            // A row that cannot be read is left for its own right's read to fail on, alone.
            match usage_row(row, 1) {
                Ok(used) => cache.keep_usage(user.as_str(), resource, used),
                Err(_) => every_row = false,
            }
        }
    }
    Ok(every_row && read < USER_ROWS)
}

/// The usage of a right and its version, read on one connection.
fn usage(
    c: &rusqlite::Connection,
    u: &UserId,
    r: &ResourceId,
) -> rusqlite::Result<Versioned<Usage>> {
    // A right never used has no row: version 0.
    Ok(
        c.prepare_cached(
            "SELECT version, data FROM usage WHERE user_id = ?1 AND resource_id = ?2",
        )?
        .query_row([u.as_str(), r.as_str()], |row| usage_row(row, 0))
        .optional()?
        .unwrap_or_default(),
    )
}
