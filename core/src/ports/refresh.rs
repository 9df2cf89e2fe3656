//! Rights to bring up to date after a committed change (docs/semantics.md §8). A directory or
//! policy change is committed together with the intent to refresh the rights it affects; the use
//! case then carries the intent out and clears it. Should it fail or stop half-way, the intent
//! stays, and the tick carries it out again: no schedule is left stale.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreResult;
use crate::ids::{GroupId, ResourceId, UserId};

/// The rights a change affects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RefreshScope {
    /// Every right of a user (an activation or a deactivation).
    User { user: UserId },
    /// Every right on a resource (its default policy).
    Resource { resource: ResourceId },
    /// The rights of a group's members on a resource (a grant created, edited or removed).
    Grant {
        group: GroupId,
        resource: ResourceId,
    },
    /// A user's rights through a group (a membership begun or ended).
    Membership { user: UserId, group: GroupId },
    /// One right (an exemption of it set, changed or ended).
    Right { user: UserId, resource: ResourceId },
}

/// An intent to refresh the rights of a scope, as stored until it is carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshIntent {
    /// Its id.
    pub id: String,
    pub scope: RefreshScope,
    /// When the change was made.
    pub at: DateTime<Utc>,
}

impl RefreshIntent {
    /// A new intent for `scope`, made at `at`.
    #[must_use]
    pub fn new(scope: RefreshScope, at: DateTime<Utc>) -> Self {
        Self {
            id: uuid::Uuid::new_v4().simple().to_string(),
            scope,
            at,
        }
    }
}

/// The intents not carried out yet.
#[async_trait]
pub trait RefreshQueue: Send + Sync {
    /// Up to `limit` pending intents, oldest first.
    async fn pending_refreshes(&self, limit: usize) -> StoreResult<Vec<RefreshIntent>>;
}
