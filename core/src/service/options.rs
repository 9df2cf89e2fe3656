//! What a deployment chooses about its use cases, each value checked when it is made (at the
//! edge: a flag, a setting), so that wiring the services cannot fail.

use std::sync::Arc;

use chrono::Duration;

use crate::ValidationError;
use crate::ports::{IdentityProvider, NoPause, Pause};
use crate::values::Role;

/// A usage-write coalescing window (the rule: [`crate::lock::coalesces`]): a counted access
/// less than this after the stored last access, changing nothing else, is not written. Locks may
/// then come up to the window early — the price of fewer writes. More than zero, at most an
/// hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coalescing(Duration);

impl Coalescing {
    /// The longest window.
    pub const MAX: Duration = Duration::hours(1);

    /// The window `window`; `None` for zero (no coalescing).
    pub fn new(window: Duration) -> Result<Option<Self>, ValidationError> {
        if window < Duration::zero() || window > Self::MAX {
            return Err(ValidationError::new("coalesce", "must be from 0 to 1 hour"));
        }
        Ok((window > Duration::zero()).then_some(Self(window)))
    }

    /// The window.
    #[must_use]
    pub fn window(self) -> Duration {
        self.0
    }
}

/// Lock warnings: an email this many days before a lock (the rule: [`crate::lock::warning`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockWarning(Duration);

impl LockWarning {
    /// Warnings `days` days ahead, 1 to 365; `None` for 0 (no warnings).
    pub fn days(days: u32) -> Result<Option<Self>, ValidationError> {
        if days > 365 {
            return Err(ValidationError::new(
                "lock_warning_days",
                "must be 0 (off) to 365",
            ));
        }
        Ok((days > 0).then(|| Self(Duration::days(i64::from(days)))))
    }

    /// How long before a lock.
    #[must_use]
    pub fn before(self) -> Duration {
        self.0
    }
}

/// The feed guard's window (docs/semantics.md §2.10): 10 minutes to 7 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedWindow(Duration);

impl FeedWindow {
    /// The window `window`.
    pub fn new(window: Duration) -> Result<Self, ValidationError> {
        crate::feed::check_window(window).map(Self)
    }

    /// A window as configured: `6h`, `30m`, `1d`; empty or `off` for no guard.
    pub fn parse(text: &str) -> Result<Option<Self>, ValidationError> {
        Ok(crate::feed::parse_window(text)?.map(Self))
    }

    /// The window.
    #[must_use]
    pub fn window(self) -> Duration {
        self.0
    }
}

/// The roles an identity provider's groups give their members (docs/semantics.md §6): a group
/// provisioned under a name of the map gives its role; while a map is set, a provisioned user's
/// role is the highest their provisioned groups give, `member` when none does. Names are matched
/// without regard to case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupRoles(std::collections::BTreeMap<String, Role>);

impl GroupRoles {
    /// A map written `group=role,group=role` (`admin`, `devops_admin`, `access_reviewer`,
    /// `member`); empty: none.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let mut map = std::collections::BTreeMap::new();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (group, role) = pair.rsplit_once('=').ok_or_else(|| {
                ValidationError::new("scim_group_roles", format!("{pair:?} is not group=role"))
            })?;
            let role = Role::parse(role.trim())?;
            if role.is_service() || group.trim().is_empty() {
                return Err(ValidationError::new(
                    "scim_group_roles",
                    format!("{pair:?}: a group's name, and a user's role"),
                ));
            }
            map.insert(group.trim().to_lowercase(), role);
        }
        Ok(Self(map))
    }

    /// Whether no group gives a role.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The role a group of this name gives.
    #[must_use]
    pub fn role_of(&self, group_name: &str) -> Option<Role> {
        self.0.get(&group_name.to_lowercase()).copied()
    }
}

/// The deployment's options, defaults off: no coalescing, no lock warnings, no feed guard, no
/// local webhook targets, no pause between the attempts of a commit that met a concurrent
/// change.
#[derive(Clone)]
pub struct Options {
    pub(crate) pause: Arc<dyn Pause>,
    pub(crate) coalescing: Option<Coalescing>,
    pub(crate) lock_warning: Option<LockWarning>,
    pub(crate) feed_guard: Option<FeedWindow>,
    pub(crate) local_webhooks: bool,
    pub(crate) group_roles: GroupRoles,
    pub(crate) identity_provider: Option<Arc<dyn IdentityProvider>>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            pause: Arc::new(NoPause),
            coalescing: None,
            lock_warning: None,
            feed_guard: None,
            local_webhooks: false,
            group_roles: GroupRoles::default(),
            identity_provider: None,
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("coalescing", &self.coalescing)
            .field("lock_warning", &self.lock_warning)
            .field("feed_guard", &self.feed_guard)
            .field("local_webhooks", &self.local_webhooks)
            .field("group_roles", &self.group_roles)
            .field(
                "identity_provider",
                &self
                    .identity_provider
                    .as_ref()
                    .map(|p| p.issuer().to_owned()),
            )
            .finish_non_exhaustive()
    }
}

impl Options {
    /// Waits with `pause` between the attempts of a commit that met a concurrent change.
    #[must_use]
    pub fn pause(mut self, pause: Arc<dyn Pause>) -> Self {
        self.pause = pause;
        self
    }

    /// Coalesces usage writes within `window` (none: off).
    #[must_use]
    pub fn coalescing(mut self, window: Option<Coalescing>) -> Self {
        self.coalescing = window;
        self
    }

    /// Warns users before a lock (none: off).
    #[must_use]
    pub fn lock_warnings(mut self, warning: Option<LockWarning>) -> Self {
        self.lock_warning = warning;
        self
    }

    /// Turns the feed guard on with `window` (none: off).
    #[must_use]
    pub fn feed_guard(mut self, window: Option<FeedWindow>) -> Self {
        self.feed_guard = window;
        self
    }

    /// The roles the identity provider's groups give (none by default).
    #[must_use]
    pub fn group_roles(mut self, map: GroupRoles) -> Self {
        self.group_roles = map;
        self
    }

    /// Signs people in to the console through `provider` (single sign-on).
    #[must_use]
    pub fn identity_provider(mut self, provider: Arc<dyn IdentityProvider>) -> Self {
        self.identity_provider = Some(provider);
        self
    }

    /// Lets webhooks target http and loopback addresses (the local runtime, tests).
    #[must_use]
    pub fn local_webhooks(mut self, allow: bool) -> Self {
        self.local_webhooks = allow;
        self
    }

    pub(crate) fn coalesce(&self) -> Option<Duration> {
        self.coalescing.map(Coalescing::window)
    }

    pub(crate) fn warn_before(&self) -> Option<Duration> {
        self.lock_warning.map(LockWarning::before)
    }

    pub(crate) fn feed_window(&self) -> Option<Duration> {
        self.feed_guard.map(FeedWindow::window)
    }
}
