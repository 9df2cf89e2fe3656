//! Delivery records: one per (event, channel, recipient), with every attempt.

use async_trait::async_trait;

use super::{Page, PageRequest, StoreResult};
use crate::Timestamp;
use crate::delivery::{Channel, Delivery};

/// Delivery records.
#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Stores a new delivery; `false` when one with the id exists (nothing is changed).
    async fn create_delivery(&self, delivery: &Delivery) -> StoreResult<bool>;
    /// Replaces a delivery.
    async fn update_delivery(&self, delivery: &Delivery) -> StoreResult<()>;
    /// A delivery by id.
    async fn delivery(&self, id: &str) -> StoreResult<Option<Delivery>>;
    /// Pending deliveries whose next attempt is due, earliest first.
    async fn due_deliveries(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<Delivery>>;
    /// Deliveries of a channel, newest first.
    async fn deliveries(&self, channel: Channel, page: &PageRequest)
    -> StoreResult<Page<Delivery>>;
}
