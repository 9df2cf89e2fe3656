//! The outbox of domain events: read and acknowledged by the relay, published to a bus.

use async_trait::async_trait;

use super::StoreResult;
use crate::events::OutboxEntry;

/// The outbox, read and acknowledged by the notifier.
#[async_trait]
pub trait OutboxReader: Send + Sync {
    /// Up to `limit` entries not yet marked delivered, oldest first.
    async fn pending(&self, limit: usize) -> StoreResult<Vec<OutboxEntry>>;
    /// Marks entries delivered; marking twice is harmless.
    async fn mark_delivered(&self, entries: &[OutboxEntry]) -> StoreResult<()>;
}

/// Publishes domain events (to an event bus). Used by the outbox relay.
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes the entries; answers the ids of those published (others are retried later).
    async fn publish(&self, entries: &[OutboxEntry]) -> StoreResult<Vec<String>>;
}
