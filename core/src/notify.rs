//! Notifications (DESIGN §4): who hears about what, the exact webhook body, delivery records
//! that make sending idempotent per (event, channel, recipient), and the retry schedule.
//!
//! The [`Notifier`] turns a domain event into messages — new open requests to the approvers of
//! the roles the settings name (never the requester, never an inactive user) and to the
//! webhook; approved and denied requests to the requester; lock warnings to the user — records a
//! delivery for each before sending, so a duplicate event sends nothing twice, and retries
//! failed deliveries with exponential backoff and jitter for about a day.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::directory::{Resource, User};
use crate::error::{Error, Result};
use crate::events::{DomainEvent, OutboxEntry};
use crate::ports::{Page, PageRequest, StoreResult};
use crate::request::{AccessRequest, RequestStatus};
use crate::values::Email;

/// A configured webhook. The secret is `whsec_` + base64 of 32 random bytes; the signing key is
/// the decoded bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSettings {
    /// Where deliveries are POSTed.
    pub url: String,
    /// The signing secret, shown once when set.
    pub secret: String,
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
}

impl Channel {
    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Webhook => "webhook",
        }
    }
}

/// An email with a text and an HTML part.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailMessage {
    /// The recipient.
    pub to: Email,
    /// The subject.
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

/// What a delivery carries.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "snake_case")]
pub enum Content {
    /// An email.
    Email(EmailMessage),
    /// A webhook message.
    Webhook(WebhookMessage),
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
    /// The channel.
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
            Content::Email(_) => Channel::Email,
            Content::Webhook(_) => Channel::Webhook,
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

/// Delivery records.
#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Stores a new delivery; `false` when one with the id exists (nothing is changed).
    async fn create_delivery(&self, delivery: &Delivery) -> StoreResult<bool>;
    /// Replaces a delivery.
    async fn update_delivery(&self, delivery: &Delivery) -> StoreResult<()>;
    /// A delivery by id.
    async fn delivery(&self, id: &str) -> StoreResult<Option<Delivery>>;
    /// Pending deliveries whose next attempt is due, earliest first.
    async fn due_deliveries(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<Delivery>>;
    /// Deliveries of a channel, newest first.
    async fn deliveries(&self, channel: Channel, page: &PageRequest)
    -> StoreResult<Page<Delivery>>;
}

/// The webhook's answer, or why there was none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    /// The HTTP status, or `None` on a network error (refused, timeout, TLS, blocked address).
    pub status: Option<u16>,
    /// `Retry-After`, in seconds, when given.
    pub retry_after: Option<u64>,
    /// How long it took.
    pub latency_ms: u64,
    /// The network error, if any.
    pub error: Option<String>,
}

/// Sends webhook messages (signed the Standard Webhooks way).
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// POSTs `message` to `hook`.
    async fn send(&self, hook: &WebhookSettings, message: &WebhookMessage) -> WebhookResponse;
}

/// Why an email was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailError {
    /// Whether trying again may succeed.
    pub retryable: bool,
    /// What went wrong.
    pub message: String,
}

/// Sends emails.
#[async_trait]
pub trait EmailSender: Send + Sync {
    /// Sends one email.
    async fn send(&self, email: &EmailMessage) -> std::result::Result<(), EmailError>;
}

/// The email sender of a deployment that sends none: every email fails, visibly, in the
/// delivery records.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmailDisabled;

#[async_trait]
impl EmailSender for EmailDisabled {
    async fn send(&self, _: &EmailMessage) -> std::result::Result<(), EmailError> {
        Err(EmailError {
            retryable: false,
            message: "email is off in this deployment".into(),
        })
    }
}

/// What an HTTP status means for a webhook delivery (DESIGN §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
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
pub fn classify(status: Option<u16>) -> Verdict {
    match status {
        None => Verdict::Retry,
        Some(200..=299) => Verdict::Delivered,
        Some(300..=399 | 408 | 429 | 500..=599) => Verdict::Retry,
        Some(_) => Verdict::Final,
    }
}

/// How many attempts a delivery gets in all.
pub const MAX_ATTEMPTS: usize = 8;

/// The pause after the `n`-th failed attempt (1-based): 1 min, 5 min, 30 min, 1 h, 2 h, 6 h,
/// 12 h — 21.6 h in all, about a day — and `None` after the eighth attempt. `jitter` in
/// [-1, 1] scales each pause by ±20 %; `Retry-After` is honoured when longer (up to a day).
#[must_use]
pub fn backoff(n: usize, jitter: f64, retry_after: Option<u64>) -> Option<Duration> {
    const SCHEDULE: [i64; MAX_ATTEMPTS - 1] = [60, 300, 1800, 3600, 7200, 21_600, 43_200];
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

/// Checks a webhook URL: https with a host (http too when local targets are allowed). Where
/// the host resolves to is checked again when connecting.
pub fn validate_webhook_url(
    url: &str,
    allow_local: bool,
) -> std::result::Result<(), crate::ValidationError> {
    let bad = |why: &str| crate::ValidationError::new("url", format!("{url:?} {why}"));
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
    if host.is_empty() || host.contains(char::is_whitespace) || url.len() > 2048 {
        return Err(bad("has no valid host"));
    }
    Ok(())
}

/// Generates a webhook secret: `whsec_` + base64 of 32 random bytes.
#[must_use]
pub fn generate_secret() -> String {
    let mut bytes = Vec::with_capacity(32);
    while bytes.len() < 32 {
        bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    bytes.truncate(32);
    format!("whsec_{}", base64_encode(&bytes))
}

/// Standard base64 with padding.
#[must_use]
pub fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The webhook body of DESIGN §4, fields in order.
#[derive(Debug, Serialize)]
struct AccessRequestBody<'a> {
    version: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    request_id: &'a str,
    request_url: String,
    user_name: &'a str,
    user_url: String,
    resource_name: &'a str,
    resource_url: String,
    requested_at: String,
    reason: &'a str,
}

/// `requested_at` as the webhook carries it: RFC 3339 with microseconds and offset.
#[must_use]
pub fn webhook_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

fn request_url(console: &str, user: &str, request: &str) -> String {
    format!("{console}/access-requests?user_id={user}&access_request_id={request}")
}

/// What the webhook body speaks of.
struct BodySubject<'a> {
    request_id: &'a str,
    user_id: &'a str,
    user_name: &'a str,
    resource_id: &'a str,
    resource_name: &'a str,
    requested_at: DateTime<Utc>,
    reason: &'a str,
}

fn access_request_body(console: &str, s: &BodySubject<'_>) -> String {
    let console = console.trim_end_matches('/');
    let body = AccessRequestBody {
        version: "1",
        kind: "ACCESS_REQUEST",
        request_id: s.request_id,
        request_url: request_url(console, s.user_id, s.request_id),
        user_name: s.user_name,
        user_url: format!("{console}/users/{}", s.user_id),
        resource_name: s.resource_name,
        resource_url: format!("{console}/resources/{}", s.resource_id),
        requested_at: webhook_time(s.requested_at),
        reason: s.reason,
    };
    serde_json::to_string(&body).expect("the body serializes")
}

/// The exact webhook body for a new open request.
#[must_use]
pub fn webhook_body(
    console: &str,
    request: &AccessRequest,
    user: &User,
    resource: &Resource,
) -> String {
    access_request_body(
        console,
        &BodySubject {
            request_id: request.id.as_str(),
            user_id: user.id.as_str(),
            user_name: user.display_name.as_str(),
            resource_id: resource.id.as_str(),
            resource_name: resource.name.as_str(),
            requested_at: request.requested_at,
            reason: request.reason.as_str(),
        },
    )
}

/// Escapes text for HTML.
#[must_use]
pub fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn email(
    to: &Email,
    subject: String,
    lines: &[String],
    link: Option<(&str, String)>,
) -> EmailMessage {
    let mut text = lines.join("\n\n");
    let mut html = lines
        .iter()
        .map(|l| format!("<p>{}</p>", escape_html(l)))
        .collect::<String>();
    if let Some((label, url)) = link {
        text.push_str(&format!("\n\n{label}: {url}"));
        html.push_str(&format!(
            r#"<p><a href="{}">{}</a></p>"#,
            escape_html(&url),
            escape_html(label)
        ));
    }
    text.push_str("\n\n— autolock");
    let html = format!(
        r#"<!doctype html><html><body style="font-family:sans-serif">{html}<p style="color:#59636e">— autolock</p></body></html>"#
    );
    EmailMessage {
        to: to.clone(),
        subject,
        text,
        html,
    }
}

/// The email to an approver about a new open request.
#[must_use]
pub fn new_request_email(
    console: &str,
    to: &Email,
    request: &AccessRequest,
    user: &User,
    resource: &Resource,
) -> EmailMessage {
    email(
        to,
        format!(
            "Access request: {} asks to regain {}",
            user.display_name, resource.name
        ),
        &[
            format!(
                "{} ({}) is locked out of {} and asks to get back in.",
                user.display_name, user.email, resource.name
            ),
            format!("Reason: {}", request.reason.as_str()),
        ],
        Some((
            "Review the request",
            request_url(
                console.trim_end_matches('/'),
                user.id.as_str(),
                request.id.as_str(),
            ),
        )),
    )
}

/// The email to a requester about the outcome.
#[must_use]
pub fn outcome_email(
    to: &Email,
    request: &AccessRequest,
    resource: &Resource,
) -> Option<EmailMessage> {
    let (subject, line) = match request.status {
        RequestStatus::Approved => (
            format!("Access to {} restored", resource.name),
            format!(
                "Your request for access to {} was approved: reconnect to continue.",
                resource.name
            ),
        ),
        RequestStatus::Denied => (
            format!("Access to {} stays locked", resource.name),
            format!("Your request for access to {} was denied.", resource.name),
        ),
        _ => return None,
    };
    Some(email(
        to,
        subject,
        &[
            line,
            format!("Your reason was: {}", request.reason.as_str()),
        ],
        None,
    ))
}

/// The email that warns a user of a coming lock.
#[must_use]
pub fn warning_email(to: &Email, resource: &Resource, lock_at: Timestamp) -> EmailMessage {
    email(
        to,
        format!("Your access to {} locks soon", resource.name),
        &[format!(
            "You have not used {} for a while. Your access locks on {} unless you use it before then.",
            resource.name,
            lock_at.format("%Y-%m-%d %H:%M UTC")
        )],
        None,
    )
}

/// What the notifier reads and writes.
pub trait NotifyStore:
    crate::ports::DirectoryReader + crate::ports::SettingsStore + DeliveryStore
{
}

impl<T: crate::ports::DirectoryReader + crate::ports::SettingsStore + DeliveryStore> NotifyStore
    for T
{
}

/// Turns domain events into deliveries and delivers them.
#[derive(Clone)]
pub struct Notifier {
    store: std::sync::Arc<dyn crate::ports::Store>,
    email: std::sync::Arc<dyn EmailSender>,
    webhook: std::sync::Arc<dyn WebhookSender>,
    console_base_url: String,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("console_base_url", &self.console_base_url)
            .finish_non_exhaustive()
    }
}

/// What handling one event did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Handled {
    /// Deliveries created and attempted now.
    pub attempted: usize,
    /// Of those, delivered.
    pub sent: usize,
    /// Deliveries that existed already (a duplicate event): nothing sent.
    pub duplicates: usize,
}

fn jitter() -> f64 {
    let b = uuid::Uuid::new_v4().as_bytes()[0];
    f64::from(b) / 127.5 - 1.0
}

impl Notifier {
    /// A notifier over a store and senders; links point at `console_base_url`.
    #[must_use]
    pub fn new(
        store: std::sync::Arc<dyn crate::ports::Store>,
        email: std::sync::Arc<dyn EmailSender>,
        webhook: std::sync::Arc<dyn WebhookSender>,
        console_base_url: impl Into<String>,
    ) -> Self {
        Self {
            store,
            email,
            webhook,
            console_base_url: console_base_url.into(),
        }
    }

    async fn plan(&self, entry: &OutboxEntry) -> Result<Vec<(String, Content)>> {
        let (user_id, resource_id) = match &entry.event {
            DomainEvent::RequestCreated { request } if request.status == RequestStatus::Open => {
                (&request.user, &request.resource)
            }
            DomainEvent::RequestResolved { request } => (&request.user, &request.resource),
            DomainEvent::LockWarning { user, resource, .. } => (user, resource),
            _ => return Ok(Vec::new()),
        };
        let (Some(user), Some(resource)) = (
            self.store.user(user_id).await?,
            self.store.resource(resource_id).await?,
        ) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        match &entry.event {
            DomainEvent::RequestCreated { request } => {
                let settings = self.store.settings().await?;
                if settings.emails_enabled {
                    for approver in self
                        .store
                        .active_users_with_roles(&settings.email_roles)
                        .await?
                    {
                        if approver.id != request.user {
                            let message = new_request_email(
                                &self.console_base_url,
                                &approver.email,
                                request,
                                &user,
                                &resource,
                            );
                            out.push((approver.email.to_string(), Content::Email(message)));
                        }
                    }
                }
                if let Some(hook) = self.store.webhook().await? {
                    let body = webhook_body(&self.console_base_url, request, &user, &resource);
                    out.push((
                        hook.url,
                        Content::Webhook(WebhookMessage {
                            id: format!("msg_{}", entry.id),
                            body,
                        }),
                    ));
                }
            }
            DomainEvent::RequestResolved { request } if user.active => {
                if let Some(message) = outcome_email(&user.email, request, &resource) {
                    out.push((user.email.to_string(), Content::Email(message)));
                }
            }
            DomainEvent::LockWarning { lock_at, .. } if user.active => {
                out.push((
                    user.email.to_string(),
                    Content::Email(warning_email(&user.email, &resource, *lock_at)),
                ));
            }
            _ => {}
        }
        Ok(out)
    }

    /// Handles one domain event: a delivery per message, created once; only the notifier that
    /// creates a delivery attempts it now, so a duplicate event sends nothing twice.
    pub async fn handle(&self, entry: &OutboxEntry, now: Timestamp) -> Result<Handled> {
        let mut handled = Handled::default();
        for (recipient, content) in self.plan(entry).await? {
            let delivery = Delivery::new(&entry.id, recipient, content, now);
            if !self.store.create_delivery(&delivery).await? {
                handled.duplicates += 1;
                continue;
            }
            handled.attempted += 1;
            if self.attempt(delivery, now).await?.status == DeliveryStatus::Sent {
                handled.sent += 1;
            }
        }
        Ok(handled)
    }

    /// Tries a delivery once and records the attempt.
    pub async fn attempt(&self, mut delivery: Delivery, now: Timestamp) -> Result<Delivery> {
        let (attempt, verdict, retry_after) = match &delivery.content {
            Content::Email(message) => {
                let started = std::time::Instant::now();
                let result = self.email.send(message).await;
                let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                match result {
                    Ok(()) => (
                        Attempt {
                            at: now,
                            status: None,
                            latency_ms,
                            error: None,
                        },
                        Verdict::Delivered,
                        None,
                    ),
                    Err(e) => {
                        let verdict = if e.retryable {
                            Verdict::Retry
                        } else {
                            Verdict::Final
                        };
                        (
                            Attempt {
                                at: now,
                                status: None,
                                latency_ms,
                                error: Some(e.message),
                            },
                            verdict,
                            None,
                        )
                    }
                }
            }
            Content::Webhook(message) => {
                let Some(hook) = self
                    .store
                    .webhook()
                    .await?
                    .filter(|h| h.url == delivery.recipient)
                else {
                    let attempt = Attempt {
                        at: now,
                        status: None,
                        latency_ms: 0,
                        error: Some("the webhook was removed or changed".into()),
                    };
                    delivery.attempts.push(attempt);
                    delivery.status = DeliveryStatus::Failed;
                    delivery.next_attempt_at = None;
                    self.store.update_delivery(&delivery).await?;
                    return Ok(delivery);
                };
                let r = self.webhook.send(&hook, message).await;
                let attempt = Attempt {
                    at: now,
                    status: r.status,
                    latency_ms: r.latency_ms,
                    error: r.error.clone(),
                };
                (attempt, classify(r.status), r.retry_after)
            }
        };
        delivery.attempts.push(attempt);
        match verdict {
            Verdict::Delivered => {
                delivery.status = DeliveryStatus::Sent;
                delivery.next_attempt_at = None;
            }
            Verdict::Final => {
                delivery.status = DeliveryStatus::Failed;
                delivery.next_attempt_at = None;
            }
            Verdict::Retry => match backoff(delivery.attempts.len(), jitter(), retry_after) {
                Some(pause) => {
                    delivery.status = DeliveryStatus::Pending;
                    delivery.next_attempt_at = Some(now + pause);
                }
                None => {
                    delivery.status = DeliveryStatus::Failed;
                    delivery.next_attempt_at = None;
                }
            },
        }
        self.store.update_delivery(&delivery).await?;
        Ok(delivery)
    }

    /// Retries the deliveries that are due; returns how many were attempted.
    pub async fn retry_due(&self, now: Timestamp, limit: usize) -> Result<usize> {
        let due = self.store.due_deliveries(now, limit).await?;
        let n = due.len();
        for delivery in due {
            self.attempt(delivery, now).await?;
        }
        Ok(n)
    }

    /// Sends a test delivery to the configured webhook (admin's "send test").
    pub async fn send_test(&self, now: Timestamp) -> Result<Delivery> {
        let hook = self
            .store
            .webhook()
            .await?
            .ok_or_else(|| Error::NotFound("webhook".into()))?;
        let id = format!("test{}", uuid::Uuid::new_v4().simple());
        let body = access_request_body(
            &self.console_base_url,
            &BodySubject {
                request_id: &id,
                user_id: "test-user",
                user_name: "Test User",
                resource_id: "test-resource",
                resource_name: "Test Resource",
                requested_at: now,
                reason: "This is a test access request.",
            },
        );
        let delivery = Delivery::new(
            &id,
            hook.url.clone(),
            Content::Webhook(WebhookMessage {
                id: format!("msg_{id}"),
                body,
            }),
            now,
        );
        self.store.create_delivery(&delivery).await?;
        self.attempt(delivery, now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::Role;

    #[test]
    fn statuses_are_classified_as_the_design_says() {
        assert_eq!(classify(Some(200)), Verdict::Delivered);
        assert_eq!(classify(Some(204)), Verdict::Delivered);
        for retry in [
            None,
            Some(500),
            Some(503),
            Some(408),
            Some(429),
            Some(301),
            Some(302),
        ] {
            assert_eq!(classify(retry), Verdict::Retry, "{retry:?}");
        }
        for fin in [Some(400), Some(401), Some(404), Some(410), Some(422)] {
            assert_eq!(classify(fin), Verdict::Final, "{fin:?}");
        }
    }

    #[test]
    fn backoff_grows_to_about_a_day_in_eight_attempts_and_honours_retry_after() {
        let total: i64 = (1..MAX_ATTEMPTS)
            .map(|n| backoff(n, 0.0, None).unwrap().num_seconds())
            .sum();
        assert_eq!(total, 77_760, "21.6 hours");
        assert!(
            backoff(MAX_ATTEMPTS, 0.0, None).is_none(),
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
    fn secrets_are_whsec_and_32_random_bytes() {
        let a = generate_secret();
        assert!(a.starts_with("whsec_"));
        assert_eq!(a.len(), "whsec_".len() + 44);
        assert_ne!(a, generate_secret());
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
    }

    /// A user, a resource and an open request of theirs, at `t`.
    fn subject(
        user: &str,
        name: &str,
        resource: &str,
        request: &str,
        reason: &str,
        t: DateTime<Utc>,
    ) -> (User, Resource, AccessRequest) {
        let user = User {
            id: user.parse().unwrap(),
            email: format!("{user}@example.com").parse().unwrap(),
            display_name: name.parse().unwrap(),
            role: Role::Member,
            active: true,
            created_at: t,
        };
        let resource = Resource {
            id: resource.parse().unwrap(),
            name: "Gitlab".parse().unwrap(),
            address: "https://gitlab.example.com".into(),
            policy: crate::policy::Policy {
                auto_lock_after: crate::policy::AutoLockAfter::Hours(168),
                approval: crate::policy::ApprovalMode::Manual,
            },
            created_at: t,
        };
        let request = AccessRequest {
            id: request.parse().unwrap(),
            user: user.id.clone(),
            resource: resource.id.clone(),
            reason: reason.parse().unwrap(),
            approval: crate::policy::ApprovalMode::Manual,
            locked_at: t,
            status: RequestStatus::Open,
            requested_at: t,
            resolved_at: None,
            resolved_by: None,
            cancel_reason: None,
        };
        (user, resource, request)
    }

    #[test]
    fn emails_have_a_text_part_with_the_reason_and_the_link_and_an_escaped_html_part() {
        let t = chrono::DateTime::from_timestamp(1_767_916_800, 0).unwrap();
        let (user, resource, request) =
            subject("bob", "Bob <B>", "gitlab", "r1", "Release & hotfix", t);
        let to: Email = "rita@example.com".parse().unwrap();
        let m = new_request_email(
            "https://console.example.com/",
            &to,
            &request,
            &user,
            &resource,
        );
        assert_eq!(m.subject, "Access request: Bob <B> asks to regain Gitlab");
        assert!(m.text.contains("Reason: Release & hotfix"), "{}", m.text);
        assert!(m.text.contains("Review the request: https://console.example.com/access-requests?user_id=bob&access_request_id=r1"), "{}", m.text);
        assert!(
            m.html.contains("Bob &lt;B&gt;") && m.html.contains("Release &amp; hotfix"),
            "{}",
            m.html
        );
        let approved = AccessRequest {
            status: RequestStatus::Approved,
            ..request.clone()
        };
        assert_eq!(
            outcome_email(&user.email, &approved, &resource)
                .unwrap()
                .subject,
            "Access to Gitlab restored"
        );
        let denied = AccessRequest {
            status: RequestStatus::Denied,
            ..request.clone()
        };
        assert!(
            outcome_email(&user.email, &denied, &resource)
                .unwrap()
                .text
                .contains("was denied")
        );
        let cancelled = AccessRequest {
            status: RequestStatus::Cancelled,
            ..request
        };
        assert_eq!(
            outcome_email(&user.email, &cancelled, &resource),
            None,
            "nobody is emailed about a cancellation"
        );
        assert!(
            warning_email(&user.email, &resource, t)
                .text
                .contains("2026-01-09 00:00 UTC")
        );
    }

    #[test]
    fn the_webhook_body_has_exactly_the_fields_of_the_design_in_order() {
        let t = chrono::DateTime::parse_from_rfc3339("2024-04-15T04:02:28.359054Z")
            .unwrap()
            .with_timezone(&Utc);
        let (user, resource, request) = subject(
            "123",
            "John Doe",
            "XYZ",
            "ABC",
            "This is a test access request.",
            t,
        );
        let body = webhook_body("https://acme.example.com/", &request, &user, &resource);
        assert_eq!(
            body,
            r#"{"version":"1","type":"ACCESS_REQUEST","request_id":"ABC","request_url":"https://acme.example.com/access-requests?user_id=123&access_request_id=ABC","user_name":"John Doe","user_url":"https://acme.example.com/users/123","resource_name":"Gitlab","resource_url":"https://acme.example.com/resources/XYZ","requested_at":"2024-04-15T04:02:28.359054+00:00","reason":"This is a test access request."}"#
        );
    }
}
