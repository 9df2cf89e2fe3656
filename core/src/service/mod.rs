//! The use cases, one service per family, wired together as [`Autolock`]. Each checks who may
//! do it (`crate::authz`), computes the change with the pure lock rule and request state
//! machine, and commits the state change together with the domain events it records (and so
//! their audit entries and outbox entries) in one [`Changeset`](crate::ports::Changeset), so
//! that no caller can forget either. A commit that meets a concurrent change is recomputed from
//! a fresh read. Each service holds the ports it uses: the right-changing ones the engine
//! (`engine.rs`: the ports rights are read and written through), beside any of their own.
//!
//! - [`directory`]: users, service principals, groups, memberships, resources, grants
//! - [`policies`] and [`as_code`]: policy edits, their preview, policies as code
//! - [`gateway`]: decisions and access events
//! - [`requests`]: unlock, file, resolve, list and count requests
//! - [`views`]: rights as users and approvers see them
//! - [`exemptions`]: exemptions from auto-lock
//! - [`reports`] and [`downloads`]: reports, analytics, the audit log and their downloads
//! - [`settings`]: notification settings, the webhook, deliveries, the manual clock
//! - [`sessions`]: sign-in links and console sessions
//! - [`feed`]: the feed guard
//! - [`sweep`]: the sweep, the outbox relay and the tick that runs them
//! - `engine` and `right_tx`: what the right-changing services share

pub mod as_code;
pub mod directory;
pub mod downloads;
mod engine;
pub mod exemptions;
pub mod feed;
pub mod gate;
pub mod gateway;
mod options;
pub mod policies;
pub mod provisioning;
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
use crate::error::Result;
use crate::ports::Store;

use engine::Engine;

pub use as_code::{PolicyDocument, PolicyPlan};
pub use directory::{Membership, NewGrant, NewResource, NewServicePrincipal, NewUser, UserPatch};
pub use downloads::{Download, DownloadFormat, DownloadOf};
pub use exemptions::NewExemption;
pub use feed::FeedStatus;
pub use gate::{GATE_CACHE_TTL, GateAnswer, GateResource, GateUser};
pub use gateway::{Decision, EventInput, EventResult, EventResultKind};
pub use policies::{Preview, PreviewLock, PreviewTarget};
pub use provisioning::{GroupRecord, ProvisionedGroup, ProvisionedUser};
pub use reports::{Analytics, AutoApproved, ReportScope};
pub use requests::{Filed, Queue, RequestList, Unlocked};
pub use sessions::{SIGN_IN_TTL, SIGN_ON_TTL, SignInLink, SignInOptions};
pub use settings::{ClockMove, SlackInput, SlackView, clock_move};
pub use sweep::{SweepReport, TickReport, Ticker};
pub use views::{BlockRight, BlockView, GrantView, GroupView, RightView};

pub use options::{Coalescing, FeedWindow, GroupRoles, LockWarning, Options};

pub use crate::policy::PolicyPatch;

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

/// A random number from 0.0 to 1.0: the jitter of every backoff (commits, deliveries).
pub(crate) fn jitter() -> f64 {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX)
}

/// The use cases over a store: every service, wired to the store's ports with the deployment's
/// options. Cheap to clone (each service holds shared handles).
#[derive(Clone)]
pub struct Autolock {
    store: Arc<dyn Store>,
    options: Options,
    directory: directory::Directory,
    provisioning: provisioning::Provisioning,
    policies: policies::Policies,
    gateway: gateway::Gateway,
    requests: requests::Requests,
    rights: views::Rights,
    exemptions: exemptions::Exemptions,
    reports: reports::Reports,
    settings: settings::AdminSettings,
    sessions: sessions::Sessions,
    feed: feed::Feed,
    sweep: sweep::Sweep,
}

impl std::fmt::Debug for Autolock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Autolock")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Autolock {
    /// The use cases over `store`, with the default options.
    #[must_use]
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self::with_options(store, Options::default())
    }

    /// The use cases over `store` with `options`: the one place every host wires them.
    #[must_use]
    pub fn with_options(store: Arc<dyn Store>, options: Options) -> Self {
        let gate = Arc::new(gate::GateCache::default());
        let engine = Engine {
            directory: store.clone(),
            usage: store.clone(),
            requests: store.clone(),
            refreshes: store.clone(),
            settings: store.clone(),
            commit: Arc::new(gate::Forgetting {
                inner: store.clone(),
                cache: Arc::clone(&gate),
            }),
            pause: Arc::clone(&options.pause),
            options: options.clone(),
            gate,
        };
        let feed = feed::Feed::new(&engine);
        let directory = directory::Directory::new(&engine);
        let exemptions = exemptions::Exemptions::new(&engine, store.clone());
        Self {
            provisioning: provisioning::Provisioning::new(&engine, directory.clone()),
            policies: policies::Policies::new(&engine, directory.clone()),
            gateway: gateway::Gateway::new(&engine, feed.clone()),
            requests: requests::Requests::new(&engine),
            rights: views::Rights::new(&engine),
            reports: reports::Reports::new(&engine, store.clone(), store.clone()),
            settings: settings::AdminSettings::new(&engine, store.clone()),
            sessions: sessions::Sessions::new(&engine, store.clone()),
            sweep: sweep::Sweep::new(
                &engine,
                store.clone(),
                store.clone(),
                store.clone(),
                feed.clone(),
                exemptions.clone(),
            ),
            directory,
            exemptions,
            feed,
            store,
            options,
        }
    }

    /// The same use cases over the same store with other options.
    #[must_use]
    pub fn reconfigured(&self, options: Options) -> Self {
        Self::with_options(Arc::clone(&self.store), options)
    }

    /// The options in force.
    #[must_use]
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Users, service principals, groups, memberships, resources and grants.
    #[must_use]
    pub fn directory(&self) -> &directory::Directory {
        &self.directory
    }

    /// Users and groups as an identity provider keeps them (SCIM).
    #[must_use]
    pub fn provisioning(&self) -> &provisioning::Provisioning {
        &self.provisioning
    }

    /// Policy edits, their preview, and policies as code.
    #[must_use]
    pub fn policies(&self) -> &policies::Policies {
        &self.policies
    }

    /// Decisions and access events.
    #[must_use]
    pub fn gateway(&self) -> &gateway::Gateway {
        &self.gateway
    }

    /// Unlocks and access requests.
    #[must_use]
    pub fn requests(&self) -> &requests::Requests {
        &self.requests
    }

    /// Rights as users and approvers see them, and the block page's view.
    #[must_use]
    pub fn rights(&self) -> &views::Rights {
        &self.rights
    }

    /// Exemptions from auto-lock.
    #[must_use]
    pub fn exemptions(&self) -> &exemptions::Exemptions {
        &self.exemptions
    }

    /// Reports, analytics, the audit log and downloads.
    #[must_use]
    pub fn reports(&self) -> &reports::Reports {
        &self.reports
    }

    /// Notification settings, the webhook, deliveries and the manual clock.
    #[must_use]
    pub fn settings(&self) -> &settings::AdminSettings {
        &self.settings
    }

    /// Sign-in links and console sessions.
    #[must_use]
    pub fn sessions(&self) -> &sessions::Sessions {
        &self.sessions
    }

    /// The feed guard.
    #[must_use]
    pub fn feed(&self) -> &feed::Feed {
        &self.feed
    }

    /// The sweep and the outbox relay.
    #[must_use]
    pub fn sweep(&self) -> &sweep::Sweep {
        &self.sweep
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
