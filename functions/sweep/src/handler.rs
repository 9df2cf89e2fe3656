//! The handler: on each scheduled run, the tick (docs/semantics.md §8) — record the
//! locks that are due in bounded batches until none is left or the time is nearly up (what is
//! left stays due for the next run, so a timeout loses nothing), then relay the outbox to the
//! bus. Two runs that overlap are safe: every write is conditioned on the version it was
//! computed from. On a batch from the policies table's stream (a commit wrote to the outbox),
//! the relay alone, so that a domain event reaches the bus in seconds and not at the next run.

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
            error_message: autolock_core::error::chain(&e),
        }
    }
}

/// What started an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The schedule (or any other input): the tick.
    Schedule,
    /// A batch of the policies table's stream, filtered to outbox entries written: the relay.
    OutboxStream,
}

impl Trigger {
    /// Tells a DynamoDB stream batch (`Records` from `aws:dynamodb`) from the schedule's input.
    #[must_use]
    pub fn of(event: &serde_json::Value) -> Self {
        let from_stream = event["Records"].as_array().is_some_and(|records| {
            records
                .iter()
                .any(|r| r["eventSource"].as_str() == Some("aws:dynamodb"))
        });
        if from_stream {
            Self::OutboxStream
        } else {
            Self::Schedule
        }
    }
}

/// One invocation at `now`, stopping new batches once `budget` has elapsed: the tick's report,
/// or on a stream batch `{"published": n}`.
pub async fn handle_event(
    ticker: &Ticker,
    event: &serde_json::Value,
    now: Timestamp,
    budget: Duration,
) -> Result<serde_json::Value, SweepError> {
    match Trigger::of(event) {
        Trigger::Schedule => {
            let report = handle(ticker, now, budget).await?;
            Ok(serde_json::to_value(report).unwrap_or_default())
        }
        Trigger::OutboxStream => {
            let started = Instant::now();
            let published = ticker.relay(&|| started.elapsed() < budget).await?;
            Ok(serde_json::json!({ "published": published }))
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
