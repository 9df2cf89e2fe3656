//! The usage of rights and the sweep's index of rights due.

use async_trait::async_trait;

use super::{StoreResult, Versioned};
use crate::Timestamp;
use crate::directory::{Principal, RightFacts};
use crate::ids::{PrincipalId, ResourceId, UserId};
use crate::lock::Usage;

/// The usage of rights, read.
#[async_trait]
pub trait UsageReader: Send + Sync {
    /// The usage of (user, resource) and its version; the default at version 0 when none.
    async fn usage(&self, user: &UserId, resource: &ResourceId) -> StoreResult<Versioned<Usage>>;

    /// A right as a change reads it: its facts and its usage, in as few reads as the store
    /// allows (the gateway's decision reads nothing else).
    async fn right(
        &self,
        user: &UserId,
        resource: &ResourceId,
    ) -> StoreResult<(RightFacts, Versioned<Usage>)>;

    /// The principal `caller` (as `DirectoryReader::principal` reads it) and a right (as
    /// [`Self::right`]), together: the gateway's decision reads nothing else. A store reads
    /// both at once where it can.
    async fn caller_and_right(
        &self,
        caller: &PrincipalId,
        user: &UserId,
        resource: &ResourceId,
    ) -> StoreResult<(Option<Principal>, RightFacts, Versioned<Usage>)>;

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
