//! Access requests, read.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Page, PageRequest, StoreResult};
use crate::ids::{RequestId, ResourceId, UserId};
use crate::request::AccessRequest;

/// Which requests to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFilter {
    /// Of this requester.
    pub user: Option<UserId>,
    /// On this resource.
    pub resource: Option<ResourceId>,
}

/// Access requests, read.
#[async_trait]
pub trait RequestReader: Send + Sync {
    /// A request.
    async fn request(&self, id: &RequestId) -> StoreResult<Option<AccessRequest>>;
    /// Open requests, oldest first.
    async fn open_requests(
        &self,
        filter: &RequestFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<AccessRequest>>;
    /// Requests resolved at or after `since`, newest first.
    async fn resolved_requests(
        &self,
        since: DateTime<Utc>,
        filter: &RequestFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<AccessRequest>>;
    /// How many requests are open.
    async fn count_open(&self) -> StoreResult<u64>;
}
