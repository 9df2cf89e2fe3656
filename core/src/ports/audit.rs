//! The audit log, read.

use async_trait::async_trait;

use super::{Page, PageRequest, StoreResult};
use crate::audit::{AuditEntry, AuditFilter};

/// The audit log, read.
#[async_trait]
pub trait AuditReader: Send + Sync {
    /// Entries passing `filter`, oldest first.
    async fn audit(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<AuditEntry>>;
}
