//! autolock-slack: Slack as a notification channel and the place approvers resolve requests
//! (docs/semantics.md §4, docs/security.md "Slack").
//!
//! - [`SlackChannel`], a `NotificationChannel`: a new open request is posted to the configured
//!   channel (`chat.postMessage`) with Approve and Deny buttons, and where it was posted is
//!   kept; when the request is resolved, wherever that happens, the message is updated with the
//!   outcome and who decided (`chat.update`). Sent through the outbox like every notification:
//!   retried with backoff, Slack's `429` and `Retry-After` honoured, in the delivery log.
//! - [`interactions`]: `POST /integrations/slack/interactions`, where Slack sends a click. Its
//!   signature is verified before anything else is read; the clicker is mapped to an autolock
//!   user and the verdict goes through the same use case as the console's.
//!
//! The Web API's base URL is configuration (`https://slack.com/api` by default), so that tests
//! talk to a fake Slack on loopback.

mod api;
mod channel;
pub mod interactions;

pub use api::{SlackAnswer, SlackApi};
pub use channel::SlackChannel;

use autolock_core::delivery::{SecretText, SlackSettings};

/// Slack's public Web API.
pub const DEFAULT_API_URL: &str = "https://slack.com/api";

/// What the deployment gives Slack: the Web API's base URL, and the secrets when they come
/// from the deployment (the environment, SSM) rather than from the admin's settings. A secret
/// the deployment gives is used in place of the stored one.
#[derive(Clone)]
pub struct SlackConfig {
    /// The Web API's base URL.
    pub api_url: String,
    /// The bot token.
    pub bot_token: Option<SecretText>,
    /// The signing secret.
    pub signing_secret: Option<SecretText>,
}

impl Default for SlackConfig {
    fn default() -> Self {
        Self {
            api_url: DEFAULT_API_URL.to_owned(),
            bot_token: None,
            signing_secret: None,
        }
    }
}

impl std::fmt::Debug for SlackConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackConfig")
            .field("api_url", &self.api_url)
            .field("bot_token", &self.bot_token.is_some())
            .field("signing_secret", &self.signing_secret.is_some())
            .finish()
    }
}

impl SlackConfig {
    /// The bot token in force: the deployment's, else the stored one.
    fn bot_token<'a>(&'a self, stored: &'a SlackSettings) -> Option<&'a str> {
        self.bot_token
            .as_ref()
            .or(stored.bot_token.as_ref())
            .map(SecretText::reveal)
    }

    /// The signing secret in force: the deployment's, else the stored one.
    fn signing_secret<'a>(&'a self, stored: Option<&'a SlackSettings>) -> Option<&'a str> {
        self.signing_secret
            .as_ref()
            .or(stored.and_then(|s| s.signing_secret.as_ref()))
            .map(SecretText::reveal)
    }
}

/// Who resolved a request, as a message names them: their display name, or the principal's id
/// when it is no user's; `None` while nobody has.
async fn decider(
    store: &dyn autolock_core::ports::Store,
    request: &autolock_core::request::AccessRequest,
) -> autolock_core::error::Result<Option<String>> {
    let Some(by) = &request.resolved_by else {
        return Ok(None);
    };
    let name = match autolock_core::ids::UserId::parse(by.as_str()) {
        Ok(id) => store
            .user(&id)
            .await?
            .map(|u| u.display_name.as_str().to_owned()),
        Err(_) => None,
    };
    Ok(Some(name.unwrap_or_else(|| by.to_string())))
}
