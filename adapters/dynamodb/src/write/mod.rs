//! Writes: each [`Changeset`] is one TransactWriteItems, its failed conditions mapped back to
//! the core's errors. One writer per kind of change.

mod directory;
mod log;
mod requests;
mod usage;

use async_trait::async_trait;

use autolock_core::error::StoreError;
use autolock_core::ports::{Changeset, Committer, StoreResult};

use crate::DynamoStore;
use crate::item::random_suffix;
use crate::tx::Tx;

/// Orders the history items of one change written at the same instant.
#[derive(Debug, Default)]
pub(crate) struct Seq(u32);

impl Seq {
    /// The next sort-key suffix: a counter, then a random part.
    pub(crate) fn next(&mut self) -> String {
        self.0 += 1;
        format!("{:04}{}", self.0, random_suffix())
    }
}

pub(crate) fn conflict(what: impl Into<String>) -> StoreError {
    StoreError::Conflict(what.into())
}

pub(crate) fn exists_err(what: impl Into<String>) -> StoreError {
    StoreError::AlreadyExists(what.into())
}

#[async_trait]
impl Committer for DynamoStore {
    async fn commit(&self, changes: Changeset) -> StoreResult<()> {
        let p = &self.tables.policies;
        let mut tx = Tx::default();
        let mut seq = Seq::default();
        for change in &changes.directory {
            directory::write(self, &mut tx, change, &mut seq).await?;
        }
        for w in &changes.usage {
            usage::usage(&self.tables, &mut tx, w)?;
        }
        for w in &changes.requests {
            requests::request(&self.tables, &mut tx, w)?;
        }
        log::audit(self, &mut tx, &changes.audit).await?;
        log::outbox(p, &mut tx, &changes.outbox)?;
        log::links(p, &mut tx, &changes.consumed_links)?;
        log::settings(p, &mut tx, &changes.settings)?;
        log::sign_in_links(p, &mut tx, &changes.sign_in_links)?;
        log::throttles(p, &mut tx, &changes.throttles)?;
        log::refreshes(p, &mut tx, &changes.refreshes, &changes.refreshed)?;
        self.run(tx).await
    }
}
