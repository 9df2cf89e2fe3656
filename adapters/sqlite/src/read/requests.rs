//! Access requests, read: by id, open (oldest first), resolved (newest first), counted.

use async_trait::async_trait;
use rusqlite::Connection;
use rusqlite::OptionalExtension;

use autolock_core::Timestamp;
use autolock_core::ids::RequestId;
use autolock_core::ports::{Page, PageRequest, RequestFilter, RequestReader, StoreResult};
use autolock_core::request::AccessRequest;

use crate::SqliteStore;
use crate::rows::{decode, limit_plus_one, micros, split_cursor};

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
        Ok(Page::from_overfetch(items, limit, |r| {
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
        Ok(Page::from_overfetch(items, limit, |r| {
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
