//! The outbox: pending domain events, marked delivered once published; and the retention purge
//! the tick runs (delivered events, old resolved requests, expired links).

use async_trait::async_trait;

use autolock_core::Timestamp;
use autolock_core::events::OutboxEntry;
use autolock_core::ports::{OutboxReader, Retention, StoreResult};

use crate::SqliteStore;
use crate::rows::{backend, decode, micros};

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
impl Retention for SqliteStore {
    /// Requests resolved more than 90 days ago, links past their expiry and delivered outbox
    /// entries go, as DynamoDB's TTL removes them there.
    async fn purge(&self, now: Timestamp) -> StoreResult<usize> {
        let (now, resolved_before) = (
            micros(now),
            micros(now - autolock_core::service::requests::RESOLVED_WINDOW),
        );
        self.with(move |c| {
            let tx = c.transaction().map_err(backend)?;
            let mut purged = 0;
            for (sql, at) in [
                (
                    "DELETE FROM requests WHERE resolved_at IS NOT NULL AND resolved_at < ?1",
                    resolved_before,
                ),
                ("DELETE FROM consumed_links WHERE expires_at < ?1", now),
                ("DELETE FROM sign_in_links WHERE expires_at < ?1", now),
                ("DELETE FROM throttles WHERE expires_at < ?1", now),
                (
                    "DELETE FROM outbox WHERE delivered_at IS NOT NULL AND at < ?1",
                    now,
                ),
            ] {
                purged += tx.execute(sql, [at]).map_err(backend)?;
            }
            tx.commit().map_err(backend)?;
            Ok(purged)
        })
        .await
    }
}
