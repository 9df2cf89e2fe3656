//! The handler: on each scheduled run, record the locks that are due in bounded batches until
//! none is left or the time is nearly up (what is left stays due for the next run, so a timeout
//! loses nothing), then relay the outbox to the bus (`access.locked` among others). Two runs
//! that overlap are safe: every write is conditioned on the version it was computed from.

use std::time::{Duration, Instant};

use serde::Serialize;

use autolock_core::Timestamp;
use autolock_core::ports::EventPublisher;
use autolock_core::service::Autolock;

/// What a run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RunReport {
    /// Rights examined.
    pub examined: usize,
    /// Locks recorded.
    pub locked: usize,
    /// Requests cancelled.
    pub cancelled: usize,
    /// Domain events published.
    pub published: usize,
    /// Whether it stopped for time with work left.
    pub stopped_for_time: bool,
}

/// One run at `now`, stopping new batches once `budget` has elapsed.
pub async fn handle(
    app: &Autolock,
    publisher: &dyn EventPublisher,
    now: Timestamp,
    batch: usize,
    budget: Duration,
) -> Result<RunReport, autolock_core::Error> {
    let started = Instant::now();
    let mut report = RunReport::default();
    loop {
        let r = app.sweep(now, batch).await?;
        report.examined += r.examined;
        report.locked += r.locked;
        report.cancelled += r.cancelled;
        if r.examined < batch {
            break;
        }
        if started.elapsed() >= budget {
            report.stopped_for_time = true;
            break;
        }
    }
    loop {
        let published = app.relay(publisher, 100).await?;
        report.published += published;
        if published < 100 || started.elapsed() >= budget {
            break;
        }
    }
    Ok(report)
}
