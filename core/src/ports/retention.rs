//! What is kept for a while only (docs/semantics.md §5): requests resolved more than 90 days
//! ago, single-use links past their expiry (block-page and sign-in links), domain events already
//! delivered from the outbox. A store purges them when the tick asks; one whose records expire
//! by themselves (DynamoDB's TTL, the outbox deleted on delivery) has nothing to do.

use async_trait::async_trait;

use super::StoreResult;
use crate::Timestamp;

/// Purges what is kept no longer.
#[async_trait]
pub trait Retention: Send + Sync {
    /// Removes, as of `now`, the records kept no longer; returns how many went.
    async fn purge(&self, now: Timestamp) -> StoreResult<usize>;
}
