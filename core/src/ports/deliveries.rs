//! Delivery records: one per (event, channel, recipient), with every attempt.

use async_trait::async_trait;

use super::{Page, PageRequest, StoreResult};
use crate::Timestamp;
use crate::delivery::{Channel, ChatPost, Delivery};

/// Delivery records.
#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Stores a new delivery; `false` when one with the id exists (nothing is changed).
    async fn create_delivery(&self, delivery: &Delivery) -> StoreResult<bool>;
    /// Replaces a delivery if its stored `next_attempt_at` is still `expected_next`: `false`
    /// (nothing changed) when another run changed it meanwhile. Claiming a due delivery (a new
    /// `next_attempt_at`: a lease) and recording its attempt (over that lease) both go through
    /// here, so that two overlapping runs never send one message twice or overwrite each
    /// other's attempts.
    async fn replace_delivery(
        &self,
        delivery: &Delivery,
        expected_next: Option<Timestamp>,
    ) -> StoreResult<bool>;
    /// A delivery by id.
    async fn delivery(&self, id: &str) -> StoreResult<Option<Delivery>>;
    /// Pending deliveries whose next attempt is due, earliest first.
    async fn due_deliveries(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<Delivery>>;
    /// Deliveries of a channel, newest first.
    async fn deliveries(&self, channel: Channel, page: &PageRequest)
    -> StoreResult<Page<Delivery>>;
    /// Keeps where the message about a request was posted (replacing what was kept).
    async fn keep_chat_post(&self, post: &ChatPost) -> StoreResult<()>;
    /// Where the message about a request was posted, if it was.
    async fn chat_post(&self, request: &str) -> StoreResult<Option<ChatPost>>;
}
