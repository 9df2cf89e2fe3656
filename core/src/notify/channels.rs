//! The core's two notification channels: email (who is emailed about what is the settings'
//! and the directory's to say) and the webhook (each new open request, signed).

use std::sync::Arc;

use async_trait::async_trait;

use crate::Timestamp;
use crate::delivery::{
    Attempt, AttemptOutcome, Channel, Content, Delivery, SignInMessage, WebhookMessage, classify,
};
use crate::error::Result;
use crate::ports::{
    Clock, Committer, DirectoryReader, EmailSender, Notice, NotificationChannel, Planned, Sent,
    SettingsStore, WebhookSender,
};
use crate::values::{Email, Role};

use super::messages::{self, new_request_email, outcome_email, warning_email, webhook_body};

/// Email: approvers of the roles the settings name about a new open request (never the
/// requester, never an inactive user), a requester about the outcome, a user about a coming
/// lock, the admins and DevOps admins about a silent feed, and sign-in links.
#[derive(Clone)]
pub(super) struct EmailChannel {
    pub(super) directory: Arc<dyn DirectoryReader>,
    pub(super) settings: Arc<dyn SettingsStore>,
    pub(super) commit: Arc<dyn Committer>,
    pub(super) sender: Arc<dyn EmailSender>,
    pub(super) console_base_url: String,
    pub(super) real_time: Option<Arc<dyn Clock>>,
}

fn planned(recipient: impl Into<String>, content: Content) -> Planned {
    Planned {
        recipient: recipient.into(),
        content,
    }
}

#[async_trait]
impl NotificationChannel for EmailChannel {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    async fn plan(&self, _event_id: &str, notice: &Notice<'_>) -> Result<Vec<Planned>> {
        let mut planned = self.emails(notice).await?;
        // A user provisioned without an address (docs/semantics.md §4): nobody to send to.
        planned.retain(|p| !Email::is_reserved_address(&p.recipient));
        Ok(planned)
    }

    async fn deliver(&self, delivery: &Delivery, now: Timestamp) -> Result<Sent> {
        self.send(delivery, now).await
    }
}

impl EmailChannel {
    async fn emails(&self, notice: &Notice<'_>) -> Result<Vec<Planned>> {
        let console = self.console_base_url.as_str();
        Ok(match *notice {
            Notice::NewRequest {
                request,
                user,
                resource,
            } => {
                let settings = self.settings.settings().await?;
                if !settings.emails_enabled {
                    return Ok(Vec::new());
                }
                self.directory
                    .active_users_with_roles(&settings.email_roles)
                    .await?
                    .iter()
                    .filter(|approver| approver.id != request.user)
                    .map(|approver| {
                        let message =
                            new_request_email(console, &approver.email, request, user, resource);
                        planned(approver.email.as_str(), Content::Email(message))
                    })
                    .collect()
            }
            Notice::Resolved {
                request,
                user,
                resource,
            } if user.active => outcome_email(&user.email, request, resource)
                .map(|m| planned(user.email.as_str(), Content::Email(m)))
                .into_iter()
                .collect(),
            Notice::LockWarning {
                user,
                resource,
                lock_at,
            } if user.active => vec![planned(
                user.email.as_str(),
                Content::Email(warning_email(&user.email, resource, lock_at)),
            )],
            Notice::FeedSilent { since, last_heard } => {
                if !self.settings.settings().await?.emails_enabled {
                    return Ok(Vec::new());
                }
                self.directory
                    .active_users_with_roles(&[Role::Admin, Role::DevopsAdmin])
                    .await?
                    .iter()
                    .map(|a| {
                        let message =
                            messages::feed_silent_email(&a.email, console, since, last_heard);
                        planned(a.email.as_str(), Content::Email(message))
                    })
                    .collect()
            }
            // A link only for an active user with this address; nothing for anyone else.
            Notice::SignIn { email, next } => match self.directory.user_by_email(email).await? {
                Some(user) if user.active => vec![planned(
                    user.email.to_string(),
                    Content::SignIn(SignInMessage {
                        user: user.id,
                        to: user.email,
                        next: next.to_owned(),
                    }),
                )],
                _ => Vec::new(),
            },
            Notice::Resolved { .. } | Notice::LockWarning { .. } => Vec::new(),
        })
    }

    async fn send(&self, delivery: &Delivery, now: Timestamp) -> Result<Sent> {
        let message = match &delivery.content {
            Content::SignIn(m) => {
                // A fresh link at each attempt: only its digest is stored.
                let real_now = self.real_time.as_ref().map_or(now, |c| c.now());
                let token =
                    crate::service::sessions::issue_link(self.commit.as_ref(), &m.user, real_now)
                        .await?;
                let url = format!(
                    "{}/sign-in/{token}?next={}",
                    self.console_base_url.trim_end_matches('/'),
                    messages::query_escape(&m.next)
                );
                messages::sign_in_email(&m.to, &url)
            }
            Content::Email(message) => message.clone(),
            Content::Webhook(_) | Content::Slack(_) => return Ok(not_mine(now)),
        };
        let started = std::time::Instant::now();
        let result = self.sender.send(&message).await;
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (outcome, error) = match result {
            Ok(()) => (AttemptOutcome::Delivered, None),
            Err(e) if e.retryable => (AttemptOutcome::Retry, Some(e.message)),
            Err(e) => (AttemptOutcome::Final, Some(e.message)),
        };
        Ok(Sent {
            attempt: Attempt {
                at: now,
                status: None,
                latency_ms,
                error,
            },
            outcome,
            retry_after: None,
        })
    }
}

/// A delivery handed to a channel it is not of: failed, for good.
fn not_mine(now: Timestamp) -> Sent {
    Sent::final_failure(now, "the delivery is not of this channel")
}

/// The webhook: each new open request, signed the Standard Webhooks way, to the URL set.
#[derive(Clone)]
pub(super) struct WebhookChannel {
    pub(super) settings: Arc<dyn SettingsStore>,
    pub(super) sender: Arc<dyn WebhookSender>,
    pub(super) console_base_url: String,
}

#[async_trait]
impl NotificationChannel for WebhookChannel {
    fn channel(&self) -> Channel {
        Channel::Webhook
    }

    async fn plan(&self, event_id: &str, notice: &Notice<'_>) -> Result<Vec<Planned>> {
        let Notice::NewRequest {
            request,
            user,
            resource,
        } = *notice
        else {
            return Ok(Vec::new());
        };
        let Some(hook) = self.settings.webhook().await? else {
            return Ok(Vec::new());
        };
        let body = webhook_body(&self.console_base_url, request, user, resource);
        Ok(vec![planned(
            hook.url.to_string(),
            Content::Webhook(WebhookMessage {
                id: format!("msg_{event_id}"),
                body,
            }),
        )])
    }

    async fn deliver(&self, delivery: &Delivery, now: Timestamp) -> Result<Sent> {
        let Content::Webhook(message) = &delivery.content else {
            return Ok(not_mine(now));
        };
        // Sent only to the webhook still set: one removed or replaced meanwhile gets nothing.
        let Some(hook) = self
            .settings
            .webhook()
            .await?
            .filter(|h| h.url.as_str() == delivery.recipient)
        else {
            return Ok(Sent::final_failure(
                now,
                "the webhook was removed or changed",
            ));
        };
        let r = self.sender.send(&hook, message).await;
        Ok(Sent {
            attempt: Attempt {
                at: now,
                status: r.status,
                latency_ms: r.latency_ms,
                error: r.error,
            },
            outcome: classify(r.status),
            retry_after: r.retry_after,
        })
    }

    async fn test_message(&self, id: &str, now: Timestamp) -> Result<Option<Planned>> {
        let Some(hook) = self.settings.webhook().await? else {
            return Ok(None);
        };
        let body = messages::access_request_body(
            &self.console_base_url,
            &messages::BodySubject {
                request_id: id,
                user_id: "test-user",
                user_name: "Test User",
                resource_id: "test-resource",
                resource_name: "Test Resource",
                requested_at: now,
                reason: "This is a test access request.",
            },
        );
        Ok(Some(planned(
            hook.url.to_string(),
            Content::Webhook(WebhookMessage {
                id: format!("msg_{id}"),
                body,
            }),
        )))
    }
}
