//! Exemptions, read (the row codec is shared with the resources' parts of facts, `facts.rs`).

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use autolock_core::Timestamp;
use autolock_core::exemption::{Exemption, ExemptionFilter};
use autolock_core::ids::ExemptionId;
use autolock_core::ports::{ExemptionReader, StoreResult};

use crate::SqliteStore;
use crate::rows::{decode, micros};

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Exemption> {
    row_from(r, 0)
}

/// The exemption in the columns `data, rev` from column `first` on.
pub(crate) fn row_from(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Exemption> {
    let mut e: Exemption = decode(&r.get::<_, String>(first)?)?;
    e.revision = u64::try_from(r.get::<_, i64>(first + 1)?).unwrap_or_default();
    Ok(e)
}

#[async_trait]
impl ExemptionReader for SqliteStore {
    async fn exemption(&self, id: &ExemptionId) -> StoreResult<Option<Exemption>> {
        let id = id.clone();
        self.read(move |c| {
            c.prepare_cached("SELECT data, rev FROM exemptions WHERE id = ?1")?
                .query_row([id.as_str()], row)
                .optional()
        })
        .await
    }

    async fn exemptions(&self, filter: &ExemptionFilter) -> StoreResult<Vec<Exemption>> {
        let (sql, key) = match filter {
            ExemptionFilter::Resource(r) => ("resource_id", r.to_string()),
            ExemptionFilter::User(u) => ("user_id", u.to_string()),
            ExemptionFilter::Group(g) => ("group_id", g.to_string()),
        };
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT data, rev FROM exemptions WHERE {sql} = ?1 ORDER BY start_at, id"
            ))?
            .query_map([key], row)?
            .collect()
        })
        .await
    }

    async fn exemptions_run_out(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<Exemption>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            c.prepare_cached(
                "SELECT data, rev FROM exemptions WHERE closed = 0 AND end_at <= ?1 ORDER BY end_at, id LIMIT ?2",
            )?
            .query_map(params![micros(now), limit], row)?
            .collect()
        })
        .await
    }
}
