//! Sign-in links to the console: issued to one user, stored by their digest (never the link),
//! valid for 15 minutes and once (consumed as a [`ConsumedLink`](super::ConsumedLink)); and the
//! throttles that limit how often they are asked for.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{StoreResult, Versioned};
use crate::ids::UserId;

/// A sign-in link as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedLink {
    /// The digest of the link's token.
    pub digest: String,
    /// Whom it signs in.
    pub user: UserId,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Sign-in links, read, and the recent uses of limited actions.
#[async_trait]
pub trait SignInLinks: Send + Sync {
    /// The link with this digest, if one was issued (used or not, expired or not).
    async fn sign_in_link(&self, digest: &str) -> StoreResult<Option<IssuedLink>>;

    /// The recent uses of the limited action `key`, with their version (the default, version
    /// 0, when none is stored). Uses that no longer count may be among them.
    async fn throttle(&self, key: &str) -> StoreResult<Versioned<Vec<DateTime<Utc>>>>;
}
