//! The delivery model: messages (an email with a text and an HTML part, a webhook message with
//! its exact body), delivery records with every attempt, the retry schedule, and the webhook's
//! settings (its URL and signing secret as validated values).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::values::Email;
use crate::{Timestamp, ValidationError};

/// Where webhook deliveries are POSTed: an https URL with a host (http too where the deployment
/// allows local targets). Where the host resolves to is checked again when connecting.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// Parses `url`: https with a host, or http too when `allow_local`; at most 2048 bytes.
    pub fn parse(url: &str, allow_local: bool) -> Result<Self, ValidationError> {
        let bad = |why: &str| ValidationError::new("url", format!("{url:?} {why}"));
        let rest = match url.split_once("://") {
            Some(("https", rest)) => rest,
            Some(("http", rest)) if allow_local => rest,
            _ => {
                return Err(bad(if allow_local {
                    "must be an http(s) URL"
                } else {
                    "must be an https URL"
                }));
            }
        };
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if host.is_empty()
            || url.len() > 2048
            || url.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(bad("has no valid host"));
        }
        Ok(Self(url.to_owned()))
    }

    /// The URL.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WebhookUrl").field(&self.0).finish()
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for WebhookUrl {
    type Error = ValidationError;
    /// A stored URL: its syntax is checked; whether local targets are allowed was checked
    /// when it was set.
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value, true)
    }
}

impl From<WebhookUrl> for String {
    fn from(u: WebhookUrl) -> String {
        u.0
    }
}

/// The webhook's signing secret: `whsec_` + base64 of 32 random bytes; the signing key is the
/// decoded bytes. Shown once, when generated; never printed by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// A fresh secret from the operating system's random source.
    ///
    /// # Panics
    /// When the operating system has no random source (it always has one where autolock runs).
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the OS random source works");
        Self(format!("whsec_{}", STANDARD.encode(bytes)))
    }

    /// Parses `whsec_` + base64 of at least 24 bytes.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let key = text
            .strip_prefix("whsec_")
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|k| k.len() >= 24 && k.len() <= 64);
        match key {
            Some(_) => Ok(Self(text.to_owned())),
            None => Err(ValidationError::new(
                "secret",
                "must be whsec_ followed by the base64 of 24 to 64 bytes",
            )),
        }
    }

    /// The secret as shown to the admin once: `whsec_...`.
    #[must_use]
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// The signing key: the decoded bytes.
    #[must_use]
    pub fn key(&self) -> Vec<u8> {
        STANDARD
            .decode(self.0.trim_start_matches("whsec_"))
            .unwrap_or_default()
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

impl TryFrom<String> for WebhookSecret {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<WebhookSecret> for String {
    fn from(s: WebhookSecret) -> String {
        s.0
    }
}

/// A configured webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSettings {
    /// Where deliveries are POSTed.
    pub url: WebhookUrl,
    /// The signing secret.
    pub secret: WebhookSecret,
}

/// How a message travels.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// An email.
    Email,
    /// The webhook.
    Webhook,
    /// A Slack channel.
    Slack,
}

impl Channel {
    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Webhook => "webhook",
            Self::Slack => "slack",
        }
    }
}

/// A secret of an integration (a bot token, a signing secret): kept, used, never shown again
/// and never printed by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretText(String);

impl SecretText {
    /// Takes `text` as a secret named `field`: 8 to 512 printable characters, no spaces.
    pub fn parse(field: &str, text: &str) -> Result<Self, ValidationError> {
        let text = text.trim();
        if text.len() < 8
            || text.len() > 512
            || text.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ValidationError::new(
                field,
                "must be 8 to 512 characters without spaces",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The secret, to use.
    #[must_use]
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText(..)")
    }
}

/// Slack (docs/semantics.md §4): new open requests posted to a channel with Approve and Deny
/// buttons, each updated with its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackSettings {
    /// The channel messages go to: its id (`C0123ABCD`) or its name.
    pub channel: String,
    /// Whether messages are posted.
    pub enabled: bool,
    /// The bot token (`xoxb-…`), unless the deployment gives one.
    pub bot_token: Option<SecretText>,
    /// The signing secret interactions are verified with, unless the deployment gives one.
    pub signing_secret: Option<SecretText>,
}

/// A Slack channel as given: 1 to 80 characters, no spaces (`C0123ABCD`, `#approvals`).
pub fn slack_channel(text: &str) -> Result<String, ValidationError> {
    let text = text.trim();
    if text.is_empty()
        || text.len() > 80
        || text.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ValidationError::new(
            "channel",
            "must be a Slack channel's id (C0123ABCD) or name, without spaces",
        ));
    }
    Ok(text.to_owned())
}

/// A message to a chat channel about a request (Slack's Block Kit): posted when the request
/// opens, and the same message updated with its outcome.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The request it is about.
    pub request: String,
    /// The text notifications and clients without blocks show.
    pub text: String,
    /// The blocks, as Slack takes them.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub blocks: serde_json::Value,
    /// An update of the message posted about the request, or a new one.
    pub update: bool,
}

/// Where the message about a request was posted: kept so that it can be updated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatPost {
    /// The request.
    pub request: String,
    /// The channel's id.
    pub channel: String,
    /// The message's timestamp (Slack's id of it).
    pub ts: String,
}

/// An email with a text and an HTML part.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailMessage {
    /// The recipient.
    pub to: Email,
    pub subject: String,
    /// The text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

/// A webhook message: its id (the same on every retry) and its exact body.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookMessage {
    /// `webhook-id`.
    pub id: String,
    /// The JSON body, byte for byte what is signed and sent.
    pub body: String,
}

/// A sign-in email to send: whom it signs in and where they go next. The link itself is made
/// when the email is sent (a fresh one at each attempt), so that no link is ever stored but as
/// its digest.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInMessage {
    /// The user it signs in.
    pub user: crate::ids::UserId,
    /// Their address.
    pub to: Email,
    /// The console path to open after signing in.
    pub next: String,
}

/// What a delivery carries.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "snake_case")]
pub enum Content {
    /// An email.
    Email(EmailMessage),
    /// A webhook message.
    Webhook(WebhookMessage),
    /// A sign-in email, its link made when it is sent.
    SignIn(SignInMessage),
    /// A Slack message.
    Slack(ChatMessage),
}

/// Where a delivery stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not delivered yet; tried again at `next_attempt_at`.
    Pending,
    /// Delivered.
    Sent,
    /// Given up: a final answer, or retries exhausted.
    Failed,
}

/// One try.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// When.
    pub at: DateTime<Utc>,
    /// The HTTP status answered, if any.
    pub status: Option<u16>,
    /// How long it took.
    pub latency_ms: u64,
    /// What went wrong, if anything.
    pub error: Option<String>,
}

/// One message to one recipient through one channel, with every attempt.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// `<event id>:<channel>:<recipient>`: one per (event, channel, recipient).
    pub id: String,
    /// The domain event (outbox entry) it serves.
    pub event_id: String,
    pub channel: Channel,
    /// The email address or the webhook URL.
    pub recipient: String,
    /// What is sent.
    pub content: Content,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Every attempt, in order.
    pub attempts: Vec<Attempt>,
    /// When a pending delivery is tried next.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl Delivery {
    /// A pending delivery of `content` to `recipient` for event `event_id`, leased to its
    /// creator for its first attempt.
    #[must_use]
    pub fn new(event_id: &str, recipient: String, content: Content, now: Timestamp) -> Self {
        let channel = match content {
            Content::Email(_) | Content::SignIn(_) => Channel::Email,
            Content::Webhook(_) => Channel::Webhook,
            Content::Slack(_) => Channel::Slack,
        };
        Self {
            id: format!("{event_id}:{}:{recipient}", channel.as_str()),
            event_id: event_id.to_owned(),
            channel,
            recipient,
            content,
            status: DeliveryStatus::Pending,
            attempts: Vec::new(),
            next_attempt_at: Some(now + LEASE),
            created_at: now,
        }
    }
}

/// What an attempt's answer means for its delivery (docs/semantics.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Delivered.
    Delivered,
    /// Try again later.
    Retry,
    /// Do not try again.
    Final,
}

/// 2xx delivered; network errors, 5xx, 408, 429 and 3xx (never followed) retried; other 4xx
/// final.
#[must_use]
pub fn classify(status: Option<u16>) -> AttemptOutcome {
    match status {
        None => AttemptOutcome::Retry,
        Some(200..=299) => AttemptOutcome::Delivered,
        Some(300..=399 | 408 | 429 | 500..=599) => AttemptOutcome::Retry,
        Some(_) => AttemptOutcome::Final,
    }
}

/// How many attempts a delivery gets in all.
pub const DELIVERY_ATTEMPTS: usize = 8;

/// The pause after the `n`-th failed attempt (1-based): 1 min, 5 min, 30 min, 1 h, 2 h, 6 h,
/// 12 h — 21.6 h in all, about a day — and `None` after the eighth attempt. `jitter` in
/// [-1, 1] scales each pause by ±20 %; `Retry-After` is honoured when longer (up to a day).
#[must_use]
pub fn backoff(n: usize, jitter: f64, retry_after: Option<u64>) -> Option<Duration> {
    const SCHEDULE: [i64; DELIVERY_ATTEMPTS - 1] = [60, 300, 1800, 3600, 7200, 21_600, 43_200];
    let base = *SCHEDULE.get(n.checked_sub(1)?)?;
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let jittered = (base as f64 * (1.0 + 0.2 * jitter.clamp(-1.0, 1.0))).round() as i64;
    let after = retry_after
        .and_then(|s| i64::try_from(s).ok())
        .unwrap_or(0)
        .min(86_400);
    Some(Duration::seconds(jittered.max(after)))
}

/// How long a new delivery is left to the notifier that created it before the retry loop may
/// take it over (it was created just before its first attempt).
pub const LEASE: Duration = Duration::minutes(2);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_as_the_design_says() {
        assert_eq!(classify(Some(200)), AttemptOutcome::Delivered);
        assert_eq!(classify(Some(204)), AttemptOutcome::Delivered);
        for retry in [
            None,
            Some(500),
            Some(503),
            Some(408),
            Some(429),
            Some(301),
            Some(302),
        ] {
            assert_eq!(classify(retry), AttemptOutcome::Retry, "{retry:?}");
        }
        for fin in [Some(400), Some(401), Some(404), Some(410), Some(422)] {
            assert_eq!(classify(fin), AttemptOutcome::Final, "{fin:?}");
        }
    }

    #[test]
    fn backoff_grows_to_about_a_day_in_eight_attempts_and_honours_retry_after() {
        let total: i64 = (1..DELIVERY_ATTEMPTS)
            .map(|n| backoff(n, 0.0, None).unwrap().num_seconds())
            .sum();
        assert_eq!(total, 77_760, "21.6 hours");
        assert!(
            backoff(DELIVERY_ATTEMPTS, 0.0, None).is_none(),
            "the eighth failure is final"
        );
        assert_eq!(
            backoff(1, 1.0, None).unwrap().num_seconds(),
            72,
            "+20 % jitter"
        );
        assert_eq!(
            backoff(1, -1.0, None).unwrap().num_seconds(),
            48,
            "-20 % jitter"
        );
        assert_eq!(
            backoff(1, 0.0, Some(900)).unwrap().num_seconds(),
            900,
            "Retry-After when longer"
        );
        assert!(backoff(2, 0.0, None).unwrap() > backoff(1, 0.0, None).unwrap());
    }

    #[test]
    fn secrets_are_whsec_and_32_random_bytes_and_never_printed() {
        let a = WebhookSecret::generate();
        assert!(a.reveal().starts_with("whsec_"));
        assert_eq!(a.reveal().len(), "whsec_".len() + 44);
        assert_eq!(a.key().len(), 32);
        assert_ne!(a, WebhookSecret::generate());
        assert_eq!(format!("{a:?}"), "WebhookSecret(..)");
        assert!(WebhookSecret::parse("whsec_Zm9v").is_err(), "too short");
        assert!(WebhookSecret::parse("secret").is_err());
    }

    #[test]
    fn webhook_urls_are_https_unless_local_targets_are_allowed() {
        assert!(WebhookUrl::parse("https://hooks.example.com/x", false).is_ok());
        assert_eq!(
            WebhookUrl::parse("http://127.0.0.1:9000/x", false)
                .unwrap_err()
                .field,
            "url"
        );
        assert!(WebhookUrl::parse("http://127.0.0.1:9000/x", true).is_ok());
        assert!(WebhookUrl::parse("ftp://x", true).is_err());
        assert!(WebhookUrl::parse("https:///path", false).is_err());
        assert!(WebhookUrl::parse("https://a b", false).is_err());
    }
}
