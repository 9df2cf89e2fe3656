//! The senders the notifier hands messages to: email (SMTP, a spool, SES) and the webhook.

use async_trait::async_trait;

use crate::delivery::{EmailMessage, WebhookMessage, WebhookSettings};

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
