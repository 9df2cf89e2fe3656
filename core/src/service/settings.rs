//! The admin's settings: which roles are emailed about new requests, the webhook (its secret
//! shown once), the delivery log and a test send; and the manual clock of demos and tests.

use crate::Timestamp;
use crate::ValidationError;
use crate::audit::AuditAction;
use crate::authz::{Capability, require};
use crate::delivery::{Channel, Delivery, WebhookSecret, WebhookSettings, WebhookUrl};
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
    /// 0 to 3600 seconds. Audited with the value before and after.
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
        let before = self.engine.settings.gate_settings().await?;
        let mut changes = Changeset {
            settings: vec![SettingsWrite::Gate(settings)],
            ..Changeset::default()
        };
        changes.record(
            DirectoryEdit::new(
                AuditAction::GateSettingsChanged,
                Some(&actor.id),
                serde_json::json!({"before": before, "after": settings}),
            )
            .event(),
            now,
        );
        self.engine.commit.commit(changes).await?;
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
        let mut changes = Changeset {
            settings: vec![SettingsWrite::SignIn(settings)],
            ..Changeset::default()
        };
        changes.record(
            DirectoryEdit::new(
                AuditAction::SignInSettingsChanged,
                Some(&actor.id),
                serde_json::json!({"before": before, "after": settings}),
            )
            .event(),
            now,
        );
        self.engine.commit.commit(changes).await?;
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
        require(actor, Capability::Administer)?;
        let notifier = notifier.ok_or_else(|| {
            Error::Unavailable(
                "no_notifier",
                "this deployment sends no notifications from here".into(),
            )
        })?;
        notifier.send_test(now).await
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
