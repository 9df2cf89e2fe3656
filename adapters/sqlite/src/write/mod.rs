//! Writes: each [`Changeset`] is one SQLite transaction, with the conditions the DynamoDB
//! store checks too. One writer per kind of change.

mod directory;
mod log;
mod requests;
mod usage;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction};

use autolock_core::ports::{Changeset, Committer, StoreResult};

use crate::SqliteStore;
use crate::rows::backend;

#[async_trait]
impl Committer for SqliteStore {
    async fn commit(&self, changes: Changeset) -> StoreResult<()> {
        let published = !changes.outbox.is_empty();
        self.with_inner(move |i| {
            let tx = i.conn.transaction().map_err(backend)?;
            if let Err(e) = apply(&tx, &changes) {
                // A write refused for a version it did not find: whatever was kept of it is
                // read again.
                i.cache.clear();
                return Err(e);
            }
            tx.commit().map_err(backend)?;
            if !changes.directory.is_empty() {
                i.cache.clear_directory();
            }
            // Each usage written is the right's usage now, at the version after the one the
            // write was conditioned on (`write/usage.rs`): a kept one is replaced.
            for w in &changes.usage {
                i.cache.replace_usage(
                    w.user.as_str(),
                    w.resource.as_str(),
                    &w.usage,
                    w.expected_version + 1,
                );
            }
            Ok(())
        })
        .await?;
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.wake();
        }
        if published {
            if let Some(hook) = &self.on_outbox {
                hook();
            }
        }
        Ok(())
    }

    fn rights_per_commit(&self) -> usize {
        RIGHTS_PER_COMMIT
    }
}

/// Rights committed together — the sweep's locks, a batch of access events (at most 500, so a
/// whole batch is one transaction): one transaction (one WAL sync) per this many rights.
const RIGHTS_PER_COMMIT: usize = 500;

/// Runs a write through the connection's statement cache: each statement is parsed once.
pub(crate) fn exec(
    tx: &Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    tx.prepare_cached(sql)?.execute(params)
}

pub(crate) fn exists(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
) -> StoreResult<bool> {
    tx.prepare_cached(sql)
        .and_then(|mut s| s.query_row(params, |_| Ok(())))
        .optional()
        .map(|o| o.is_some())
        .map_err(backend)
}

fn apply(tx: &Transaction<'_>, changes: &Changeset) -> StoreResult<()> {
    for change in &changes.directory {
        directory::apply_directory(tx, change)?;
    }
    for w in &changes.usage {
        usage::apply_usage(tx, w)?;
    }
    for w in &changes.requests {
        requests::apply_request(tx, w)?;
    }
    log::apply_log(tx, changes)
}
