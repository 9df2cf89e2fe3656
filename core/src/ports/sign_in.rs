//! Sign-in links to the console: issued to one user, stored by their digest (never the link),
//! valid for 15 minutes and once (consumed as a [`ConsumedLink`](super::ConsumedLink)).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
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

/// Sign-in links, read.
#[async_trait]
pub trait SignInLinks: Send + Sync {
    /// The link with this digest, if one was issued (used or not, expired or not).
    async fn sign_in_link(&self, digest: &str) -> StoreResult<Option<IssuedLink>>;
}
