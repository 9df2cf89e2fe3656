//! The audit log, read.

use async_trait::async_trait;
use rusqlite::params;

use autolock_core::audit::{AuditAction, AuditEntry, AuditFilter};
use autolock_core::error::StoreError;
use autolock_core::ports::{AuditReader, Page, PageRequest, StoreResult};

use crate::SqliteStore;
use crate::rows::{decode, limit_plus_one, micros};

#[async_trait]
impl AuditReader for SqliteStore {
    async fn audit(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<AuditEntry>> {
        let after: i64 = match &page.after {
            Some(c) => c.parse().map_err(|_| StoreError::BadCursor(c.clone()))?,
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
        let page = Page::from_overfetch(rows, limit, |(seq, _)| seq.to_string());
        Ok(Page {
            items: page.items.into_iter().map(|(_, e)| e).collect(),
            next: page.next,
        })
    }
}
