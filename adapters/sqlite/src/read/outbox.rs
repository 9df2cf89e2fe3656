//! The outbox: pending domain events, marked delivered once published.

use async_trait::async_trait;

use autolock_core::events::OutboxEntry;
use autolock_core::ports::{OutboxReader, StoreResult};

use crate::SqliteStore;
use crate::rows::{backend, decode};

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
