//! The notification settings and the webhook.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreResult;
use crate::delivery::WebhookSettings;
use crate::values::Role;

/// Notification settings (docs/semantics.md §4): which roles are emailed about
/// new open requests, or emails off.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Whether approvers are emailed about new open requests.
    pub emails_enabled: bool,
    /// Which roles are emailed.
    pub email_roles: Vec<Role>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            emails_enabled: true,
            email_roles: vec![Role::Admin],
        }
    }
}

/// The gate's settings (docs/gateways/README.md): how often a right's usage seen by the gate
/// is written.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateSettings {
    /// A right's usage is written at most once per this many seconds of allowed gate checks
    /// (0 to 3600; 0 writes every one). Recorded usage lags real use by at most this much.
    pub usage_window_secs: u32,
    /// How long a process keeps an allowed decision that needs no write (0 to 60 seconds; 0:
    /// never): checks within it read nothing. A revocation made in another process (a
    /// membership removed, a user deactivated, a grant expiring) takes effect there within this
    /// time; in the process that made it, at once.
    #[serde(default = "default_decision_ttl")]
    pub decision_ttl_secs: u32,
}

fn default_decision_ttl() -> u32 {
    GateSettings::DEFAULT_DECISION_TTL_SECS
}

impl GateSettings {
    /// The longest coalescing window: one hour.
    pub const MAX_WINDOW_SECS: u32 = 3600;
    /// The longest a decision is kept: a minute.
    pub const MAX_DECISION_TTL_SECS: u32 = 60;
    /// How long a decision is kept unless set: five seconds.
    pub const DEFAULT_DECISION_TTL_SECS: u32 = 5;

    /// How long a decision is kept, as a duration.
    #[must_use]
    pub fn decision_ttl(&self) -> chrono::Duration {
        chrono::Duration::seconds(i64::from(self.decision_ttl_secs))
    }

    /// The window as a duration.
    #[must_use]
    pub fn usage_window(&self) -> chrono::Duration {
        chrono::Duration::seconds(i64::from(self.usage_window_secs))
    }
}

impl Default for GateSettings {
    fn default() -> Self {
        Self {
            usage_window_secs: 60,
            decision_ttl_secs: Self::DEFAULT_DECISION_TTL_SECS,
        }
    }
}

/// How people sign in to the console (docs/semantics.md §6).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInSettings {
    /// Whether the sign-in page emails one-time links. Off, only single sign-on is offered
    /// (it may be turned off only where single sign-on is configured).
    pub email_links: bool,
}

impl Default for SignInSettings {
    fn default() -> Self {
        Self { email_links: true }
    }
}

/// The settings, read; they are written through a [`Changeset`](super::Changeset), with their
/// audit entry.
#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// The settings, or the defaults.
    async fn settings(&self) -> StoreResult<Settings>;
    /// The webhook, if one is set.
    async fn webhook(&self) -> StoreResult<Option<WebhookSettings>>;
    /// The gate's settings, or the defaults.
    async fn gate_settings(&self) -> StoreResult<GateSettings>;
    /// How people sign in, or the defaults.
    async fn sign_in_settings(&self) -> StoreResult<SignInSettings>;
    /// Slack, if it is set.
    async fn slack(&self) -> StoreResult<Option<crate::delivery::SlackSettings>>;
    /// What is known of the usage feed (docs/semantics.md §2.10), or nothing heard yet.
    async fn feed(&self) -> StoreResult<crate::feed::FeedState>;
}

/// A write of the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsWrite {
    /// Replaces the notification settings.
    Notifications(Settings),
    /// Replaces the gate's settings.
    Gate(GateSettings),
    /// Replaces how people sign in.
    SignIn(SignInSettings),
    /// Sets (or, with `None`, removes) Slack.
    Slack(Option<crate::delivery::SlackSettings>),
    /// Sets (or, with `None`, removes) the webhook.
    Webhook(Option<WebhookSettings>),
    /// Replaces the record of the usage feed over its revision `revision` (else a conflict);
    /// the record written is at the next revision.
    Feed(crate::feed::FeedState),
}
