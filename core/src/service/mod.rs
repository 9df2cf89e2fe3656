//! The use cases, one module per family. Each checks who may do it (`crate::authz`), computes
//! the change with the pure lock rule and request state machine, and commits the state change
//! together with the domain events it records (and so their audit entries and outbox entries)
//! in one [`Changeset`], so that no caller can forget either. A commit that meets a concurrent
//! change is recomputed from a fresh read.
//!
//! - [`right_tx`]: the transaction on one right that every right-changing use case goes through
//! - [`directory`]: users, service principals, groups, memberships, resources, grants
//! - [`policies`]: policy edits and their preview
//! - [`gateway`]: decisions and access events
//! - [`requests`]: unlock, file, resolve, list and count requests
//! - [`sweep`]: the sweep, the outbox relay and the tick that runs them
//! - [`views`]: rights as users and approvers see them
//! - [`reports`]: reports, analytics, the audit log
//! - [`settings`]: notification settings, the webhook, deliveries, the manual clock

pub mod as_code;
pub mod directory;
pub mod downloads;
pub mod exemptions;
pub mod feed;
pub mod gateway;
pub mod policies;
pub mod reports;
pub mod requests;
mod right_tx;
pub mod sessions;
pub mod settings;
pub mod sweep;
pub mod views;

use std::sync::Arc;

use crate::Timestamp;
use crate::ValidationError;
use crate::directory::{Grant, Group, Principal, Resource, User};
use crate::error::{Conflict, Error, Result, StoreError};
use crate::ids::{GrantId, GroupId, PrincipalId, ResourceId, UserId};
use crate::ports::{Changeset, Store};

pub use as_code::{PolicyDocument, PolicyPlan};
pub use directory::{Membership, NewGrant, NewResource, NewUser, UserPatch};
pub use downloads::{Download, DownloadFormat, DownloadOf};
pub use exemptions::NewExemption;
pub use feed::FeedStatus;
pub use gateway::{Decision, EventInput, EventResult, EventResultKind};
pub use policies::{Preview, PreviewLock, PreviewTarget};
pub use reports::{Analytics, AutoApproved, ReportScope};
pub use requests::{Filed, RequestList, Unlocked};
pub use sessions::{SIGN_IN_TTL, SignInLink};
pub use settings::{ClockMove, clock_move};
pub use sweep::{SweepReport, TickReport, Ticker};
pub use views::{BlockRight, BlockView, GrantView, GroupView, RightView};

pub use crate::policy::PolicyPatch;

/// How many times a commit that met a concurrent change is recomputed before giving up.
const COMMIT_ATTEMPTS: usize = 8;

/// The wait before attempt `attempt` (2, 3, ...) of a commit that met a concurrent change:
/// exponential from 2 ms, capped at 250 ms, scaled by `jitter` (0.0 to 1.0) into its upper half
/// so that two writers that met once do not meet again.
#[must_use]
pub fn backoff(attempt: usize, jitter: f64) -> std::time::Duration {
    let exp = u32::try_from(attempt.saturating_sub(2))
        .unwrap_or(u32::MAX)
        .min(16);
    let full = (2u64 << exp).min(250);
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let micros = (full as f64 * 1000.0 * (0.5 + 0.5 * jitter.clamp(0.0, 1.0))) as u64;
    std::time::Duration::from_micros(micros)
}

fn jitter() -> f64 {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX)
}

/// The use cases over a store.
#[derive(Clone)]
pub struct Autolock {
    store: Arc<dyn Store>,
    pause: Arc<dyn crate::ports::Pause>,
    coalesce: Option<chrono::Duration>,
    warn_before: Option<chrono::Duration>,
    allow_local_webhooks: bool,
    feed_guard: Option<chrono::Duration>,
}

impl std::fmt::Debug for Autolock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Autolock").finish_non_exhaustive()
    }
}

impl Autolock {
    /// The longest coalescing window allowed.
    pub const MAX_COALESCE: chrono::Duration = chrono::Duration::hours(1);

    /// The use cases over `store`.
    #[must_use]
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            pause: Arc::new(crate::ports::NoPause),
            coalesce: None,
            warn_before: None,
            allow_local_webhooks: false,
            feed_guard: None,
        }
    }

    /// Warns users `days` days before a lock (off by default): a `lock.warning` event, at most
    /// one per user, resource and lock instant (the rule: [`crate::lock::warning`]).
    pub fn with_lock_warnings(mut self, days: u32) -> Result<Self> {
        if days > 365 {
            return Err(ValidationError::new("lock_warning_days", "must be 0 (off) to 365").into());
        }
        self.warn_before = (days > 0).then(|| chrono::Duration::days(i64::from(days)));
        Ok(self)
    }

    /// Coalesces usage writes (off by default; the rule: [`crate::lock::coalesces`]): a
    /// counted access less than `window` after the stored last access, that changes nothing
    /// else, is not written. Locks may then come up to `window` early — the price of fewer
    /// writes. At most one hour.
    pub fn with_coalescing(mut self, window: chrono::Duration) -> Result<Self> {
        if window < chrono::Duration::zero() || window > Self::MAX_COALESCE {
            return Err(ValidationError::new("coalesce", "must be from 0 to 1 hour").into());
        }
        self.coalesce = (window > chrono::Duration::zero()).then_some(window);
        Ok(self)
    }

    /// Waits with `pause` between the attempts of a commit that met a concurrent change.
    #[must_use]
    pub fn with_pause(mut self, pause: Arc<dyn crate::ports::Pause>) -> Self {
        self.pause = pause;
        self
    }

    /// Lets webhooks target http and loopback addresses (the local runtime, tests).
    #[must_use]
    pub fn with_local_webhooks(mut self, allow: bool) -> Self {
        self.allow_local_webhooks = allow;
        self
    }

    /// The principal behind an authenticated id, with its role from the directory, active or
    /// not; `None` when the directory does not know it.
    pub async fn principal(&self, id: &PrincipalId) -> Result<Option<Principal>> {
        Ok(self.store.principal(id).await?)
    }

    /// The caller behind an authenticated id, admitted (`authz::admit`).
    pub async fn caller(&self, id: &PrincipalId) -> Result<Principal> {
        crate::authz::admit(id, self.store.principal(id).await?)
    }

    /// Runs `attempt` again while it meets a concurrent change, at most [`COMMIT_ATTEMPTS`]
    /// times.
    async fn retry<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut tries = 0;
        loop {
            tries += 1;
            match attempt().await {
                Err(Error::Store(StoreError::Conflict(_))) if tries < COMMIT_ATTEMPTS => {
                    self.pause.pause(backoff(tries + 1, jitter())).await;
                }
                other => return other,
            }
        }
    }

    /// Commits directory changes, telling an id taken from a failed condition.
    async fn commit_changes(&self, changes: Changeset) -> Result<()> {
        match self.store.commit(changes).await {
            Err(StoreError::AlreadyExists(what)) => Err(Error::Conflict(
                Conflict::AlreadyExists,
                format!("{what} already exists"),
            )),
            Err(StoreError::Conflict(what)) => Err(Error::Conflict(Conflict::State, what)),
            other => Ok(other?),
        }
    }

    async fn existing_user(&self, id: &UserId) -> Result<User> {
        self.store
            .user(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("user {id}")))
    }

    async fn existing_group(&self, id: &GroupId) -> Result<Group> {
        self.store
            .group(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("group {id}")))
    }

    async fn existing_resource(&self, id: &ResourceId) -> Result<Resource> {
        self.store
            .resource(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("resource {id}")))
    }

    async fn current_grant_by_id(&self, id: &GrantId) -> Result<Grant> {
        self.store
            .grant(id)
            .await?
            .filter(|g| g.span.end.is_none())
            .ok_or_else(|| Error::NotFound(format!("grant {id}")))
    }
}

fn check_expiry(expires_at: Option<Timestamp>, now: Timestamp) -> Result<()> {
    match expires_at {
        Some(e) if e <= now => {
            Err(ValidationError::new("expires_at", "must lie in the future").into())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn commit_retries_back_off_exponentially_with_jitter_up_to_a_cap() {
        assert_eq!(backoff(2, 1.0), Duration::from_millis(2));
        assert_eq!(backoff(2, 0.0), Duration::from_millis(1));
        assert_eq!(backoff(3, 1.0), Duration::from_millis(4));
        assert_eq!(backoff(5, 1.0), Duration::from_millis(16));
        assert_eq!(backoff(8, 1.0), Duration::from_millis(128));
        assert_eq!(backoff(9, 1.0), Duration::from_millis(250));
        assert_eq!(backoff(usize::MAX, 1.0), Duration::from_millis(250));
        let spread: Vec<Duration> = [0.0, 0.3, 0.9].iter().map(|&j| backoff(6, j)).collect();
        assert!(spread[0] < spread[1] && spread[1] < spread[2], "{spread:?}");
        assert!(
            spread
                .iter()
                .all(|d| *d >= Duration::from_millis(16) && *d <= Duration::from_millis(32))
        );
    }
}
