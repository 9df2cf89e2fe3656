//! A page of a resource's report in one read transaction (docs/architecture.md, "SQLite"): the
//! page of its users; one statement reading them with their rights' usage; the rows of their
//! active flags' histories and of their memberships, read in one scan of each table over the
//! page's range of user ids when the page is dense (four in five of the users in that range or
//! more are on it), by each user's key otherwise. What the cache holds of the page whole (its
//! users' parts, its rights' usage) is taken from it instead: the users alone are read when it
//! holds both. The facts are assembled off the store's lock from the users' parts and the
//! resource's (the cache's). Nothing of the page is kept in the cache, so that a report over
//! 100 000 users leaves it as it found it.

use std::sync::Arc;

use async_trait::async_trait;

use autolock_core::directory::User;
use autolock_core::ids::ResourceId;
use autolock_core::lock::Usage;
use autolock_core::ports::{Page, PageRequest, ReportReader, StoreResult, UserRight, Versioned};

use super::facts::{USER_TABLES, UserPart, facts_of, ids, resource_part};
use crate::SqliteStore;
use crate::rows::{USER_COLUMNS, limit_plus_one, usage_row, user_row};

/// A page is dense when at most this many users in five of its range of ids are not on it
/// (the users' index counts them); only a dense page is read by scans over its range. Measured:
/// with every user in the range on the page, the scans take half the time the reads by key do;
/// with 44 % of them off the page (and three memberships each), they take twice as long.
const OFF_PAGE_IN_FIVE: usize = 1;

/// A scan of a user's table over a dense page's range reads at most this many rows per user of
/// the page; past that, the page's users' rows are read by key instead.
const SCAN_ROWS_PER_USER: usize = 4;

#[async_trait]
impl ReportReader for SqliteStore {
    async fn resource_rights_page(
        &self,
        resource: &ResourceId,
        page: &PageRequest,
    ) -> StoreResult<Page<UserRight>> {
        let (r, after, n) = (
            resource.clone(),
            page.after.clone().unwrap_or_default(),
            limit_plus_one(page),
        );
        let limit = page.effective_limit();
        let (part, read, next) = self
            .with_inner(move |i| {
                super::in_read_transaction(i, |i| {
                    let part = resource_part(&i.conn, i.cache.fresh(&i.conn)?, &r)?;
                    let mut users = super::directory::users_after(
                        &i.conn,
                        r.as_str(),
                        &part.groups(),
                        &after,
                        n,
                    )?;
                    let next = if users.len() > limit {
                        users.truncate(limit);
                        users.last().cloned()
                    } else {
                        None
                    };
                    let held = held(&i.cache, r.as_str(), &users);
                    let read = read_users(&i.conn, r.as_str(), &users, held)?;
                    Ok((part, read, next))
                })
            })
            .await?;
        let PageRead { found, parts } = read;
        let items = found
            .into_iter()
            .map(|(at, user, usage)| UserRight {
                facts: facts_of(&parts[at], &part, &user.id, resource),
                user,
                usage,
            })
            .collect();
        Ok(Page { items, next })
    }
}

/// What is read of a page's users: each user found, with their place among the page's users
/// and their right's usage; and the part of each of the page's users, in their order.
#[derive(Default)]
struct PageRead {
    found: Vec<(usize, User, Versioned<Usage>)>,
    parts: Vec<Arc<UserPart>>,
}

/// What the cache holds of a page's users, in their order: their parts if it holds them all,
/// their rights' usage if it holds it all (a server that has been deciding on these rights holds
/// both; after a change to the directory, only the usage).
#[derive(Default)]
struct Held {
    parts: Option<Vec<Arc<UserPart>>>,
    usage: Option<Vec<Versioned<Usage>>>,
}

/// What the cache holds of `users` and their rights on `resource`.
fn held(cache: &crate::DirectoryCache, resource: &str, users: &[String]) -> Held {
    Held {
        parts: users
            .iter()
            .map(|u| cache.users.get(u).map(Arc::clone))
            .collect(),
        usage: users
            .iter()
            .map(|u| cache.usage(u, resource).cloned())
            .collect(),
    }
}

/// Where a page's rows are read from: one scan of each table over the page's range of user ids
/// (at most `limit` rows), or each user's rows by key (the ids as a JSON list).
enum Reach<'a> {
    Range {
        first: &'a str,
        last: &'a str,
        limit: usize,
    },
    Keys(String),
}

impl Reach<'_> {
    /// `select` (the user's id its first column), its rows those of the page by the user's id
    /// `key` (and `filter`'s), in `order`.
    fn sql(&self, select: &str, filter: &str, key: &str, order: &str) -> String {
        match self {
            Reach::Range { .. } => format!(
                "{select} WHERE {filter}{key} BETWEEN :first AND :last ORDER BY {order} LIMIT :limit"
            ),
            Reach::Keys(_) => format!(
                "{select} WHERE {filter}{key} IN (SELECT value FROM json_each(:list)) ORDER BY {order}"
            ),
        }
    }

    /// Whether a scan that read `read` rows stopped at its limit (the page is sparse).
    fn cut(&self, read: usize) -> bool {
        matches!(self, Reach::Range { limit, .. } if read >= *limit)
    }
}

/// `users` (distinct, in id order) that exist, with their parts and their rights' usage on
/// `resource` (the cache's when it `held` them): by range when the page is dense, else by key.
fn read_users(
    c: &rusqlite::Connection,
    resource: &str,
    users: &[String],
    held: Held,
) -> rusqlite::Result<PageRead> {
    let (Some(first), Some(last)) = (users.first(), users.last()) else {
        return Ok(PageRead::default());
    };
    // How many users the range holds, counted in the users' index up to one past dense.
    let dense = users.len() + users.len() * OFF_PAGE_IN_FIVE / (5 - OFF_PAGE_IN_FIVE);
    let in_range: usize = c
        .prepare_cached(
            "SELECT count(*) FROM (SELECT 1 FROM users WHERE id BETWEEN ?1 AND ?2 LIMIT ?3)",
        )?
        .query_row(
            rusqlite::params![first, last, i64::try_from(dense + 1).unwrap_or(i64::MAX)],
            |r| r.get(0),
        )?;
    let mut held = held;
    if in_range <= dense {
        let limit = users.len().saturating_mul(SCAN_ROWS_PER_USER);
        let range = Reach::Range { first, last, limit };
        if let Some(read) = read_by(c, resource, users, &range, &mut held)? {
            return Ok(read);
        }
    }
    let keys = Reach::Keys(ids(users.iter().map(String::as_str)));
    Ok(read_by(c, resource, users, &keys, &mut held)?.unwrap_or_default())
}

/// [`read_users`] through `reach`; `None` when a range scan found the page sparse.
fn read_by(
    c: &rusqlite::Connection,
    resource: &str,
    users: &[String],
    reach: &Reach<'_>,
    held: &mut Held,
) -> rusqlite::Result<Option<PageRead>> {
    let mut found = Vec::with_capacity(users.len());
    let sql = reach.sql(&format!("SELECT {USER_COLUMNS} FROM users"), "", "id", "id");
    let read = each_row(c, &sql, reach, None, users, |at, row| {
        found.push((at, user_row(row)?, Versioned::default()));
        Ok(())
    })?;
    if reach.cut(read) {
        return Ok(None);
    }
    if held.usage.is_none() {
        // The usage of the page's rights that were used, in user order as `found` is: each row
        // is given to the user found at its place.
        let sql = reach.sql(
            "SELECT user_id, version, data FROM usage",
            "resource_id = :resource AND ",
            "user_id",
            "user_id",
        );
        let mut next = 0;
        let read = each_row(c, &sql, reach, Some(resource), users, |at, row| {
            while found.get(next).is_some_and(|(f, _, _)| *f < at) {
                next += 1;
            }
            if let Some((_, _, usage)) = found.get_mut(next).filter(|(f, _, _)| *f == at) {
                *usage = usage_row(row, 1)?;
            }
            Ok(())
        })?;
        if reach.cut(read) {
            return Ok(None);
        }
    }
    let parts = match held.parts.take() {
        Some(parts) => parts,
        None => {
            let mut parts: Vec<UserPart> = users.iter().map(|_| UserPart::default()).collect();
            for (select, order, take) in USER_TABLES {
                let sql = reach.sql(select, "", "user_id", order);
                let read = each_row(c, &sql, reach, None, users, |at, row| {
                    take(&mut parts[at], row)
                })?;
                if reach.cut(read) {
                    return Ok(None);
                }
            }
            parts.into_iter().map(Arc::new).collect()
        }
    };
    if let Some(mut usage) = held.usage.take() {
        for (at, _, used) in &mut found {
            *used = std::mem::take(&mut usage[*at]);
        }
    }
    Ok(Some(PageRead { found, parts }))
}

/// Hands each row of `sql` (bound as `reach` and `resource` say) whose user (its first column)
/// is one of `users` to `each`, with the user's place; how many rows it read. The rows come in
/// user order, as `users` are.
fn each_row(
    c: &rusqlite::Connection,
    sql: &str,
    reach: &Reach<'_>,
    resource: Option<&str>,
    users: &[String],
    mut each: impl FnMut(usize, &rusqlite::Row<'_>) -> rusqlite::Result<()>,
) -> rusqlite::Result<usize> {
    let mut s = c.prepare_cached(sql)?;
    let limit;
    let mut params: Vec<(&str, &dyn rusqlite::ToSql)> = match reach {
        Reach::Range {
            first,
            last,
            limit: l,
        } => {
            limit = i64::try_from(*l).unwrap_or(i64::MAX);
            vec![(":first", first), (":last", last), (":limit", &limit)]
        }
        Reach::Keys(list) => vec![(":list", list)],
    };
    if let Some(resource) = &resource {
        params.push((":resource", resource));
    }
    let mut rows = s.query(params.as_slice())?;
    let (mut read, mut at) = (0, 0);
    while let Some(row) = rows.next()? {
        read += 1;
        let id = row.get_ref(0)?.as_str()?;
        while at < users.len() && users[at].as_str() < id {
            at += 1;
        }
        if users.get(at).is_some_and(|u| u == id) {
            each(at, row)?;
        }
    }
    Ok(read)
}
