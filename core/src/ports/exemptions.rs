//! Exemptions, read (docs/semantics.md §2.9). A right's facts carry the exemptions that cover
//! it; these serve the pages, the API and the sweep that records the ones that ran out.

use async_trait::async_trait;

use super::StoreResult;
use crate::Timestamp;
use crate::exemption::{Exemption, ExemptionFilter};
use crate::ids::ExemptionId;

/// Exemptions, read.
#[async_trait]
pub trait ExemptionReader: Send + Sync {
    /// An exemption by id.
    async fn exemption(&self, id: &ExemptionId) -> StoreResult<Option<Exemption>>;
    /// The exemptions the filter selects, ended ones included, by start.
    async fn exemptions(&self, filter: &ExemptionFilter) -> StoreResult<Vec<Exemption>>;
    /// Up to `limit` exemptions whose end is at or before `now` and not recorded yet
    /// (`closed` unset).
    async fn exemptions_run_out(&self, now: Timestamp, limit: usize)
    -> StoreResult<Vec<Exemption>>;
}
