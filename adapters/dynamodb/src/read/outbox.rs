//! The outbox: pending domain events, removed once published.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};

use autolock_core::ports::*;

use crate::client::Q;
use crate::item::*;
use crate::{DynamoStore, keys};

use autolock_core::events::OutboxEntry;

#[async_trait]
impl OutboxReader for DynamoStore {
    async fn pending(&self, limit: usize) -> StoreResult<Vec<OutboxEntry>> {
        let q = Q::on(&self.tables.policies, "pk = :pk").value(":pk", s("OUTBOX"));
        let p = self
            .page(&q, None, Some(i32::try_from(limit).unwrap_or(i32::MAX)))
            .await?;
        p.items.iter().map(doc).collect()
    }

    async fn mark_delivered(&self, entries: &[OutboxEntry]) -> StoreResult<()> {
        let deletes = entries
            .iter()
            .map(|e| {
                let key = key("OUTBOX", format!("{}#{}", keys::at(e.at), e.id));
                DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map(|d| WriteRequest::builder().delete_request(d).build())
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(build_err)?;
        self.batch_write(&self.tables.policies, deletes).await
    }
}

#[async_trait]
impl Retention for DynamoStore {
    /// Nothing to do: resolved requests and links expire by TTL, and the outbox entries are
    /// deleted as they are delivered.
    async fn purge(&self, _now: autolock_core::Timestamp) -> StoreResult<usize> {
        Ok(0)
    }
}
