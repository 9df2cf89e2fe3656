//! The usage of rights and the sweep's index of rights due.

use async_trait::async_trait;

use super::{StoreResult, Versioned};
use crate::Timestamp;
use crate::directory::RightFacts;
use crate::ids::{ResourceId, UserId};
use crate::lock::Usage;

/// The usage of rights, read.
#[async_trait]
pub trait UsageReader: Send + Sync {
    /// The usage of (user, resource) and its version; the default at version 0 when none.
    async fn usage(&self, user: &UserId, resource: &ResourceId) -> StoreResult<Versioned<Usage>>;

    /// A right as a change reads it: its facts and its usage, in as few reads as the store
    /// allows.
    async fn right(
        &self,
        user: &UserId,
        resource: &ResourceId,
    ) -> StoreResult<(RightFacts, Versioned<Usage>)>;

    /// Whether this store keeps each right's facts with its usage: every usage write then
    /// carries them ([`super::UsageWrite::facts`]), every refresh rewrites them, and
    /// [`Self::kept_right`] reads them back in one read (docs/architecture.md, "The gate on
    /// DynamoDB"). A store whose [`Self::right`] is cheap keeps none.
    fn keeps_facts(&self) -> bool {
        false
    }

    /// A right as its usage keeps it, for a decision: the facts written with its usage by the
    /// last change of the right or the last refresh of a change that touched it (`None` when
    /// none are kept, or this store keeps none), and the usage. A directory change reaches
    /// these facts when its refresh intent is carried out. The default reads [`Self::right`]:
    /// facts as they are now.
    async fn kept_right(
        &self,
        user: &UserId,
        resource: &ResourceId,
    ) -> StoreResult<(Option<RightFacts>, Versioned<Usage>)> {
        let (facts, usage) = self.right(user, resource).await?;
        Ok((Some(facts), usage))
    }

    /// Several rights as [`Self::right`] reads each, in order; a store may read them in one go
    /// (the sweep reads a batch of rights due this way).
    async fn rights(
        &self,
        rights: &[(UserId, ResourceId)],
    ) -> StoreResult<Vec<(RightFacts, Versioned<Usage>)>> {
        let mut read = Vec::with_capacity(rights.len());
        for (user, resource) in rights {
            read.push(self.right(user, resource).await?);
        }
        Ok(read)
    }
}

/// The sweep's index: rights due for a look.
#[async_trait]
pub trait LockIndex: Send + Sync {
    /// Up to `limit` rights whose `next_due` is at or before `now`, earliest first.
    async fn due(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<(UserId, ResourceId)>>;
}
