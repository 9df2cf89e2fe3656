//! autolock-ses: sends notification emails through Amazon SES v2, with a text and an HTML part.

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::DisplayErrorContext;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use autolock_core::delivery::EmailMessage;
use autolock_core::ports::{EmailError, EmailSender};

/// The SES sender.
#[derive(Debug, Clone)]
pub struct SesSender {
    client: Client,
    from: String,
}

impl SesSender {
    /// Sends as `from` (an address of a verified SES identity).
    #[must_use]
    pub fn new(client: Client, from: impl Into<String>) -> Self {
        Self {
            client,
            from: from.into(),
        }
    }
}

fn content(data: &str) -> Result<Content, EmailError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| EmailError {
            retryable: false,
            message: e.to_string(),
        })
}

#[async_trait]
impl EmailSender for SesSender {
    async fn send(&self, email: &EmailMessage) -> Result<(), EmailError> {
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(
                Body::builder()
                    .text(content(&email.text)?)
                    .html(content(&email.html)?)
                    .build(),
            )
            .build();
        let result = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(
                Destination::builder()
                    .to_addresses(email.to.as_str())
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await;
        result.map(|_| ()).map_err(|e| {
            // Rejections and unverified identities will not succeed on retry; the rest may.
            let permanent = e.as_service_error().is_some_and(|s| {
                s.is_message_rejected()
                    || s.is_mail_from_domain_not_verified_exception()
                    || s.is_account_suspended_exception()
                    || s.is_bad_request_exception()
            });
            EmailError {
                retryable: !permanent,
                message: DisplayErrorContext(&e).to_string(),
            }
        })
    }
}
