//! The sweep (docs/semantics.md §8): it records the locks that have occurred, sends the
//! lock warnings that are due and cancels the requests the facts cancelled, looking only at the
//! rights due by an index of each right's next due instant; then the outbox relay, and the tick
//! that runs both and the delivery retries wherever autolock runs.

use std::sync::Arc;

use serde::Serialize;

use crate::Timestamp;
use crate::error::Result;
use crate::ids::{ResourceId, UserId};
use crate::notify::Notifier;
use crate::ports::{Changeset, EventPublisher};

use super::engine::Engine;
use super::right_tx::RightTx;
use crate::ports::{LockIndex, OutboxReader, Retention};

/// How many failures a report names (it counts them all).
const FAILURES_NAMED: usize = 10;

/// What a sweep run did.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Rights looked at.
    pub examined: usize,
    /// Locks recorded.
    pub locked: usize,
    /// Requests cancelled (no path left, user deactivated).
    pub cancelled: usize,
    /// Rights that could not be brought up to date: they stay due, and the sweep went on.
    pub failed: usize,
    /// The first few failures, `user/resource: error`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
    /// Set when the usage feed is silent: the sweep waited (nothing can lock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feed_silent_since: Option<chrono::DateTime<chrono::Utc>>,
}

impl SweepReport {
    fn add_failure(&mut self, failure: String) {
        self.failed += 1;
        if self.failures.len() < FAILURES_NAMED {
            self.failures.push(failure);
        }
    }
}

/// The sweep, the outbox relay and the purge: what the tick runs.
#[derive(Clone)]
pub struct Sweep {
    pub(crate) engine: Engine,
    pub(crate) index: Arc<dyn LockIndex>,
    pub(crate) outbox: Arc<dyn OutboxReader>,
    pub(crate) retention: Arc<dyn Retention>,
    pub(crate) feed: super::feed::Feed,
    pub(crate) exemptions: super::exemptions::Exemptions,
}

impl std::fmt::Debug for Sweep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sweep").finish_non_exhaustive()
    }
}

impl Sweep {
    pub(crate) fn new(
        engine: &Engine,
        index: Arc<dyn LockIndex>,
        outbox: Arc<dyn OutboxReader>,
        retention: Arc<dyn Retention>,
        feed: super::feed::Feed,
        exemptions: super::exemptions::Exemptions,
    ) -> Self {
        Self {
            engine: engine.clone(),
            index,
            outbox,
            retention,
            feed,
            exemptions,
        }
    }
}

impl Sweep {
    /// Brings one right up to date at `now`: records a lock that has occurred, cancels an open
    /// request whose user has no path left or is deactivated, reschedules the sweep. Returns
    /// (locks recorded, requests cancelled).
    pub async fn refresh_right(
        &self,
        user: &crate::ids::UserId,
        resource: &crate::ids::ResourceId,
        now: Timestamp,
    ) -> Result<(usize, usize)> {
        self.engine.refresh_right(user, resource, now).await
    }

    /// Carries out the pending refresh intents, up to `limit`: how many were, and the
    /// failures met.
    pub async fn carry_out_pending(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<(usize, Vec<String>)> {
        self.engine.carry_out_pending(now, limit).await
    }

    /// The sweep: records the locks due by `now`, in a bounded batch. Rights left over stay due
    /// for the next run; two overlapping runs are safe. A right that fails is counted, named in
    /// the report and left due; the sweep goes on with the others.
    ///
    /// While the usage feed is silent (docs/semantics.md §2.10) nothing can lock: the sweep
    /// waits, and the rights due are looked at once the feed is heard again.
    pub async fn sweep(&self, now: Timestamp, limit: usize) -> Result<SweepReport> {
        let mut report = SweepReport::default();
        if let Some(since) = self.feed.silent_since(now).await? {
            report.feed_silent_since = Some(since);
            return Ok(report);
        }
        let due = self.index.due(now, limit).await?;
        for rights in due.chunks(self.engine.commit.rights_per_commit().max(1)) {
            report.examined += rights.len();
            if rights.len() > 1 {
                if let Some((locked, cancelled)) = self.settle_together(rights, now).await {
                    report.locked += locked;
                    report.cancelled += cancelled;
                    continue;
                }
            }
            for (user, resource) in rights {
                match self.engine.refresh_right(user, resource, now).await {
                    Ok((locked, cancelled)) => {
                        report.locked += locked;
                        report.cancelled += cancelled;
                    }
                    Err(e) => report.add_failure(format!("{user}/{resource}: {e}")),
                }
            }
        }
        Ok(report)
    }

    /// Brings `rights` up to date in one commit, as [`Self::refresh_right`] does each alone:
    /// (locks recorded, requests cancelled), or `None` with nothing written when one of them
    /// failed or met a concurrent change — then each is brought up to date alone.
    async fn settle_together(
        &self,
        rights: &[(UserId, ResourceId)],
        now: Timestamp,
    ) -> Option<(usize, usize)> {
        let mut changes = Changeset::default();
        let (mut locked, mut cancelled) = (0, 0);
        let silences = self.engine.silences(now).await.ok()?;
        for read in self.engine.usage.rights(rights).await.ok()? {
            let mut tx = RightTx::read(read, &silences);
            let (l, c) = self.engine.settle(&mut tx, now).await.ok()?;
            locked += l;
            cancelled += c;
            changes.append(self.engine.finish(tx, now));
        }
        if !changes.is_empty() {
            self.engine.commit.commit(changes).await.ok()?;
        }
        Some((locked, cancelled))
    }

    /// Purges what is kept no longer (docs/semantics.md §5): how many records went.
    pub async fn purge(&self, now: Timestamp) -> Result<usize> {
        Ok(self.retention.purge(now).await?)
    }

    /// The outbox relay: publishes up to `limit` pending domain events and marks those
    /// published delivered. Returns how many were published; the rest stay pending.
    pub async fn relay(&self, publisher: &dyn EventPublisher, limit: usize) -> Result<usize> {
        let pending = self.outbox.pending(limit).await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let published = publisher.publish(&pending).await?;
        let delivered: Vec<_> = pending
            .into_iter()
            .filter(|e| published.contains(&e.id))
            .collect();
        self.outbox.mark_delivered(&delivered).await?;
        Ok(delivered.len())
    }
}

/// What one tick did.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TickReport {
    /// Rights the sweep looked at.
    pub examined: usize,
    /// Locks recorded.
    pub locked: usize,
    /// Requests cancelled.
    pub cancelled: usize,
    /// Domain events published from the outbox.
    pub published: usize,
    /// Deliveries retried.
    pub retried: usize,
    /// Whether it stopped for time with work left (the rest stays due for the next tick).
    pub stopped_for_time: bool,
    /// Refresh intents carried out (changes whose rights were left to bring up to date).
    pub refreshed: usize,
    /// Rights the sweep could not bring up to date (they stay due).
    pub failed: usize,
    /// The first few failures, `user/resource: error`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
    /// Records kept no longer, purged (a store without a TTL of its own).
    pub purged: usize,
    /// Exemptions that ran out, recorded.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub exemptions_expired: usize,
    /// Set when the usage feed is silent: the start of the silence (nothing locks meanwhile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feed_silent_since: Option<chrono::DateTime<chrono::Utc>>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The periodic work, the same wherever it runs (the sweep function, `autolock serve`,
/// `autolock sweep`, a move of the manual clock): the sweep in bounded batches (locks due, lock
/// warnings, cancellations), the outbox relay, and the retries of deliveries that are due.
#[derive(Clone)]
pub struct Ticker {
    sweep: Sweep,
    publisher: Arc<dyn EventPublisher>,
    retries: Option<Notifier>,
    batch: usize,
}

impl std::fmt::Debug for Ticker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticker")
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl Ticker {
    /// A tick over `app` that relays the outbox to `publisher`, `batch` rights at a time.
    #[must_use]
    pub fn new(app: &super::Autolock, publisher: Arc<dyn EventPublisher>, batch: usize) -> Self {
        Self {
            sweep: app.sweep().clone(),
            publisher,
            retries: None,
            batch: batch.max(1),
        }
    }

    /// Also retries the deliveries of `notifier` that are due.
    #[must_use]
    pub fn with_retries(mut self, notifier: Notifier) -> Self {
        self.retries = Some(notifier);
        self
    }

    /// Runs one tick at `now`. `more_time` is asked between batches; when it answers false the
    /// tick stops, and what is left stays due for the next one.
    pub async fn tick(
        &self,
        now: Timestamp,
        more_time: &(dyn Fn() -> bool + Send + Sync),
    ) -> Result<TickReport> {
        let mut report = TickReport::default();
        let (refreshed, failures) = self.sweep.carry_out_pending(now, 100).await?;
        report.refreshed = refreshed;
        report.exemptions_expired = self
            .sweep
            .exemptions
            .close_run_out_exemptions(now, 100)
            .await?;
        report.feed_silent_since = self.sweep.feed.check_feed(now).await?;
        report.failed += failures.len();
        report
            .failures
            .extend(failures.into_iter().take(FAILURES_NAMED));
        loop {
            let r = self.sweep.sweep(now, self.batch).await?;
            report.examined += r.examined;
            report.locked += r.locked;
            report.cancelled += r.cancelled;
            report.failed += r.failed;
            for f in r.failures {
                if report.failures.len() < FAILURES_NAMED {
                    report.failures.push(f);
                }
            }
            // A short batch is the last; a batch where every right failed would come back the
            // same: the failing rights wait for the next tick.
            if r.examined < self.batch || r.failed == r.examined {
                break;
            }
            if !more_time() {
                report.stopped_for_time = true;
                return Ok(report);
            }
        }
        report.published = self.relay(more_time).await?;
        if let Some(notifier) = &self.retries {
            report.retried = notifier.retry_due(now, 100).await?;
        }
        report.purged = self.sweep.purge(now).await?;
        Ok(report)
    }

    /// The outbox relay alone, 100 domain events at a time until none is pending or
    /// `more_time` answers false: how many were published. The tick ends with it; on AWS the
    /// table's stream also runs it as soon as a commit writes to the outbox.
    pub async fn relay(&self, more_time: &(dyn Fn() -> bool + Send + Sync)) -> Result<usize> {
        let mut published = 0;
        loop {
            let n = self.sweep.relay(self.publisher.as_ref(), 100).await?;
            published += n;
            if n < 100 || !more_time() {
                return Ok(published);
            }
        }
    }
}
