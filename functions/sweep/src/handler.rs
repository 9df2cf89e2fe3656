//! The handler: on each scheduled run, the tick (docs/semantics.md §8) — record the
//! locks that are due in bounded batches until none is left or the time is nearly up (what is
//! left stays due for the next run, so a timeout loses nothing), then relay the outbox to the
//! bus. Two runs that overlap are safe: every write is conditioned on the version it was
//! computed from.

use std::time::{Duration, Instant};

use autolock_core::Timestamp;
use autolock_core::service::{TickReport, Ticker};

/// Why a run failed: the store or the bus; the next scheduled run takes over.
#[derive(Debug, thiserror::Error)]
#[error("the sweep failed: {0}")]
pub struct SweepError(#[from] autolock_core::Error);

impl From<SweepError> for lambda_runtime::Diagnostic {
    fn from(e: SweepError) -> Self {
        Self {
            error_type: "SweepFailed".into(),
            error_message: e.to_string(),
        }
    }
}

/// One run at `now`, stopping new batches once `budget` has elapsed.
pub async fn handle(
    ticker: &Ticker,
    now: Timestamp,
    budget: Duration,
) -> Result<TickReport, SweepError> {
    let started = Instant::now();
    Ok(ticker.tick(now, &|| started.elapsed() < budget).await?)
}
