//! The admin's settings: which roles are emailed about new requests, the webhook (its secret
//! shown once), the delivery log and a test send; and the manual clock of demos and tests.

use crate::Timestamp;
use crate::ValidationError;
use crate::audit::AuditAction;
use crate::authz::{Capability, require};
use crate::delivery::{
    Channel, Delivery, SecretText, SlackSettings, WebhookSecret, WebhookSettings, WebhookUrl,
    slack_channel,
};
use crate::directory::Principal;
use crate::error::{Error, Result};
use crate::events::DirectoryEdit;
use crate::events::DomainEvent;
use crate::notify::Notifier;
use crate::ports::{
    Changeset, GateSettings, ManualClock, Page, PageRequest, Settings, SettingsWrite,
    SignInSettings,
};
use crate::values::Role;

use std::sync::Arc;

use super::engine::Engine;
use crate::ports::DeliveryStore;

/// Slack as an admin sees it: its secrets only as whether they are set.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SlackView {
    /// The channel messages go to.
    pub channel: String,
    /// Whether messages are posted.
    pub enabled: bool,
    /// Whether a bot token is stored (the deployment's, when it gives one, is used instead).
    pub bot_token_set: bool,
    /// Whether a signing secret is stored (the deployment's, when it gives one, is used
    /// instead).
    pub signing_secret_set: bool,
}

impl From<&SlackSettings> for SlackView {
    fn from(s: &SlackSettings) -> Self {
        Self {
            channel: s.channel.clone(),
            enabled: s.enabled,
            bot_token_set: s.bot_token.is_some(),
            signing_secret_set: s.signing_secret.is_some(),
        }
    }
}

/// What an admin sets for Slack: the secrets only when they change (left out, the stored ones
/// stay; they are never shown again).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackInput {
    /// The channel's id (`C0123ABCD`) or name.
    pub channel: String,
    /// Whether messages are posted (default: yes).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// A new bot token (`xoxb-…`).
    #[serde(default)]
    pub bot_token: Option<String>,
    /// A new signing secret (the app's Basic Information page).
    #[serde(default)]
    pub signing_secret: Option<String>,
}

fn yes() -> bool {
    true
}

/// How far to move the manual clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMove {
    /// Forward by a duration.
    By(chrono::Duration),
    /// To an instant (never backward).
    To(Timestamp),
}

/// The admin's settings: notifications, the webhook and its deliveries, the manual clock.
#[derive(Clone)]
pub struct AdminSettings {
    pub(crate) engine: Engine,
    pub(crate) deliveries: Arc<dyn DeliveryStore>,
}

impl std::fmt::Debug for AdminSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminSettings").finish_non_exhaustive()
    }
}

impl AdminSettings {
    pub(crate) fn new(engine: &Engine, deliveries: Arc<dyn DeliveryStore>) -> Self {
        Self {
            engine: engine.clone(),
            deliveries,
        }
    }
}

impl AdminSettings {
    /// The notification settings (admin).
    pub async fn notification_settings(&self, actor: &Principal) -> Result<Settings> {
        require(actor, Capability::Administer)?;
        Ok(self.engine.settings.settings().await?)
    }

    /// Replaces the notification settings (admin): the roles emailed about new requests are
    /// approver roles, kept once each, in a stable order. Audited.
    pub async fn set_notification_settings(
        &self,
        actor: &Principal,
        mut settings: Settings,
        now: Timestamp,
    ) -> Result<Settings> {
        require(actor, Capability::Administer)?;
        if let Some(bad) = settings
            .email_roles
            .iter()
            .find(|r| !Role::APPROVERS.contains(r))
        {
            return Err(ValidationError::new(
                "email_roles",
                format!(
                    "{:?} is not allowed; allowed are \"admin\", \"devops_admin\", \"access_reviewer\"",
                    bad.as_str()
                ),
            )
            .into());
        }
        settings.email_roles.sort_by_key(|r| r.as_str());
        settings.email_roles.dedup();
        let mut changes = Changeset {
            settings: vec![SettingsWrite::Notifications(settings.clone())],
            ..Changeset::default()
        };
        changes.record(
            DomainEvent::NotificationsChanged {
                emails_enabled: settings.emails_enabled,
                email_roles: settings.email_roles.clone(),
                by: actor.id.clone(),
            },
            now,
        );
        self.engine.commit.commit(changes).await?;
        Ok(settings)
    }

    /// The gate's settings (admin).
    pub async fn gate_settings(&self, actor: &Principal) -> Result<GateSettings> {
        require(actor, Capability::Administer)?;
        Ok(self.engine.settings.gate_settings().await?)
    }

    /// Replaces the gate's settings (admin): the coalescing window of usage seen by the gate,
    /// 0 to 3600 seconds, and how long a process keeps an allowed decision, 0 to 60 seconds.
    /// Audited with the value before and after.
    pub async fn set_gate_settings(
        &self,
        actor: &Principal,
        settings: GateSettings,
        now: Timestamp,
    ) -> Result<GateSettings> {
        require(actor, Capability::Administer)?;
        if settings.usage_window_secs > GateSettings::MAX_WINDOW_SECS {
            return Err(ValidationError::new(
                "usage_window_secs",
                format!(
                    "is {}; allowed are 0 to {} seconds",
                    settings.usage_window_secs,
                    GateSettings::MAX_WINDOW_SECS
                ),
            )
            .into());
        }
        if settings.decision_ttl_secs > GateSettings::MAX_DECISION_TTL_SECS {
            return Err(ValidationError::new(
                "decision_ttl_secs",
                format!(
                    "is {}; allowed are 0 to {} seconds",
                    settings.decision_ttl_secs,
                    GateSettings::MAX_DECISION_TTL_SECS
                ),
            )
            .into());
        }
        let before = self.engine.settings.gate_settings().await?;
        self.write_setting(
            actor,
            SettingsWrite::Gate(settings),
            AuditAction::GateSettingsChanged,
            serde_json::json!({"before": before, "after": settings}),
            now,
        )
        .await?;
        Ok(settings)
    }

    /// How people sign in to the console (admin).
    pub async fn sign_in_settings(&self, actor: &Principal) -> Result<SignInSettings> {
        require(actor, Capability::Administer)?;
        Ok(self.engine.settings.sign_in_settings().await?)
    }

    /// Replaces how people sign in (admin): emailed one-time links may be turned off only
    /// where single sign-on is configured, so that someone can always sign in. Audited with
    /// the value before and after.
    pub async fn set_sign_in_settings(
        &self,
        actor: &Principal,
        settings: SignInSettings,
        now: Timestamp,
    ) -> Result<SignInSettings> {
        require(actor, Capability::Administer)?;
        if !settings.email_links && self.engine.options.identity_provider.is_none() {
            return Err(ValidationError::new(
                "email_links",
                "must stay on: single sign-on is not configured here, so links are the only way to sign in",
            )
            .into());
        }
        let before = self.engine.settings.sign_in_settings().await?;
        self.write_setting(
            actor,
            SettingsWrite::SignIn(settings),
            AuditAction::SignInSettingsChanged,
            serde_json::json!({"before": before, "after": settings}),
            now,
        )
        .await?;
        Ok(settings)
    }

    /// The webhook, if one is set (admin). Its secret is only ever shown by
    /// [`Self::set_webhook`].
    pub async fn webhook(&self, actor: &Principal) -> Result<Option<WebhookUrl>> {
        require(actor, Capability::Administer)?;
        Ok(self.engine.settings.webhook().await?.map(|h| h.url))
    }

    /// Sets or replaces the webhook (admin) with a new signing secret, answered once here.
    /// The URL must be https (http and loopback too where the deployment allows local targets).
    /// Audited.
    pub async fn set_webhook(
        &self,
        actor: &Principal,
        url: &str,
        now: Timestamp,
    ) -> Result<WebhookSettings> {
        require(actor, Capability::Administer)?;
        let hook = WebhookSettings {
            url: WebhookUrl::parse(url, self.engine.options.local_webhooks)?,
            secret: WebhookSecret::generate(),
        };
        self.write_webhook(actor, Some(hook.clone()), now).await?;
        Ok(hook)
    }

    /// Removes the webhook (admin). Audited.
    pub async fn remove_webhook(&self, actor: &Principal, now: Timestamp) -> Result<()> {
        require(actor, Capability::Administer)?;
        self.write_webhook(actor, None, now).await
    }

    async fn write_webhook(
        &self,
        actor: &Principal,
        hook: Option<WebhookSettings>,
        now: Timestamp,
    ) -> Result<()> {
        let url = hook.as_ref().map(|h| h.url.to_string());
        let mut changes = Changeset {
            settings: vec![SettingsWrite::Webhook(hook)],
            ..Changeset::default()
        };
        changes.record(
            DomainEvent::WebhookChanged {
                url,
                by: actor.id.clone(),
            },
            now,
        );
        Ok(self.engine.commit.commit(changes).await?)
    }

    /// Slack, if it is set (admin); its secrets never shown.
    pub async fn slack(&self, actor: &Principal) -> Result<Option<SlackView>> {
        require(actor, Capability::Administer)?;
        Ok(self
            .engine
            .settings
            .slack()
            .await?
            .as_ref()
            .map(SlackView::from))
    }

    /// Sets Slack (admin): the channel, on or off, and the secrets given (those left out stay
    /// as stored). Audited, without the secrets.
    pub async fn set_slack(
        &self,
        actor: &Principal,
        input: SlackInput,
        now: Timestamp,
    ) -> Result<SlackView> {
        require(actor, Capability::Administer)?;
        let channel = slack_channel(&input.channel)?;
        let secret = |field: &str, text: Option<&String>| {
            text.filter(|t| !t.trim().is_empty())
                .map(|t| SecretText::parse(field, t))
                .transpose()
        };
        let bot_token = secret("bot_token", input.bot_token.as_ref())?;
        let signing_secret = secret("signing_secret", input.signing_secret.as_ref())?;
        let before = self.engine.settings.slack().await?;
        let kept = |new: Option<SecretText>, old: Option<SecretText>| new.or(old);
        let settings = SlackSettings {
            channel,
            enabled: input.enabled,
            bot_token: kept(
                bot_token.clone(),
                before.as_ref().and_then(|b| b.bot_token.clone()),
            ),
            signing_secret: kept(
                signing_secret.clone(),
                before.as_ref().and_then(|b| b.signing_secret.clone()),
            ),
        };
        let view = SlackView::from(&settings);
        self.write_setting(
            actor,
            SettingsWrite::Slack(Some(settings)),
            AuditAction::SlackChanged,
            serde_json::json!({
                "before": before.as_ref().map(SlackView::from),
                "after": view,
                "bot_token_changed": bot_token.is_some(),
                "signing_secret_changed": signing_secret.is_some(),
            }),
            now,
        )
        .await?;
        Ok(view)
    }

    /// Removes Slack (admin), its secrets with it. Audited.
    pub async fn remove_slack(&self, actor: &Principal, now: Timestamp) -> Result<()> {
        require(actor, Capability::Administer)?;
        let before = self.engine.settings.slack().await?;
        self.write_setting(
            actor,
            SettingsWrite::Slack(None),
            AuditAction::SlackChanged,
            serde_json::json!({"before": before.as_ref().map(SlackView::from), "after": null}),
            now,
        )
        .await
    }

    /// Writes a setting with its audit entry: `action` by `actor`, with `details` (the values
    /// before and after, never a secret).
    async fn write_setting(
        &self,
        actor: &Principal,
        write: SettingsWrite,
        action: AuditAction,
        details: serde_json::Value,
        now: Timestamp,
    ) -> Result<()> {
        let mut changes = Changeset {
            settings: vec![write],
            ..Changeset::default()
        };
        changes.record(
            DirectoryEdit::new(action, Some(&actor.id), details).event(),
            now,
        );
        Ok(self.engine.commit.commit(changes).await?)
    }

    /// The deliveries of a channel with every attempt, newest first (admin).
    pub async fn deliveries(
        &self,
        actor: &Principal,
        channel: Channel,
        page: &PageRequest,
    ) -> Result<Page<Delivery>> {
        require(actor, Capability::Administer)?;
        Ok(self.deliveries.deliveries(channel, page).await?)
    }

    /// Sends a test delivery to the webhook now and answers it with its attempt (admin).
    pub async fn send_test_webhook(
        &self,
        actor: &Principal,
        notifier: Option<&Notifier>,
        now: Timestamp,
    ) -> Result<Delivery> {
        self.send_test(actor, notifier, Channel::Webhook, now).await
    }

    /// Sends a test message through `channel` now (the webhook, Slack) and answers it with its
    /// attempt (admin). Not found when the channel is not set up.
    pub async fn send_test(
        &self,
        actor: &Principal,
        notifier: Option<&Notifier>,
        channel: Channel,
        now: Timestamp,
    ) -> Result<Delivery> {
        require(actor, Capability::Administer)?;
        let notifier = notifier.ok_or_else(|| {
            Error::Unavailable(
                "no_notifier",
                "this deployment sends no notifications from here".into(),
            )
        })?;
        notifier.send_test(channel, now).await
    }

    /// Moves the manual clock of a demo or a test (admin); never backward.
    pub fn move_clock(
        &self,
        actor: &Principal,
        clock: &ManualClock,
        step: ClockMove,
    ) -> Result<Timestamp> {
        require(actor, Capability::Administer)?;
        match step {
            ClockMove::By(by) => Ok(clock.advance(by)?),
            ClockMove::To(to) => Ok(clock.set(to)?),
        }
    }
}

/// Parses how far to move the clock: exactly one of `by` (`8d`, `36h`, `15m`, `30s`) and `to`.
pub fn clock_move(by: Option<&str>, to: Option<Timestamp>) -> Result<ClockMove> {
    match (by, to) {
        (Some(by), None) => crate::values::parse_duration(by, &['d', 'h', 'm', 's'])
            .map(ClockMove::By)
            .ok_or_else(|| {
                ValidationError::new(
                    "by",
                    format!("{by:?} is not a duration like \"8d\", \"36h\", \"15m\" or \"30s\""),
                )
                .into()
            }),
        (None, Some(to)) => Ok(ClockMove::To(to)),
        _ => Err(Error::Invalid(ValidationError::new(
            "by",
            "give exactly one of \"by\" and \"to\"",
        ))),
    }
}
