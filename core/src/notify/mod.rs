//! Notifications (docs/semantics.md §4): who hears about what, through which
//! channel, once.
//!
//! The [`Notifier`] turns a domain event into messages — a new open request to the approvers of
//! the roles the settings name (never the requester, never an inactive user) and to the
//! webhook; an approved or denied request to the requester; a lock warning to the user; a
//! silent usage feed to the admins and DevOps admins —
//! records a delivery for each before sending, so a duplicate event sends nothing twice, and
//! retries failed deliveries with backoff. It trusts only what it reads from the store: an event
//! names a request, the notifier loads it.

pub mod messages;

use std::sync::Arc;

use serde::Serialize;

use crate::Timestamp;
use crate::delivery::{
    Attempt, AttemptOutcome, Content, Delivery, DeliveryStatus, LEASE, WebhookMessage, backoff,
    classify,
};
use crate::error::{Error, Result};
use crate::events::{DomainEvent, OutboxEntry};
use crate::ports::{
    Committer, DeliveryStore, DirectoryReader, EmailSender, RequestReader, SettingsStore, Store,
    WebhookSender,
};
use crate::request::RequestStatus;
use crate::values::Role;

pub use messages::{
    BodySubject, Links, access_request_body, new_request_email, outcome_email, sign_in_email,
    warning_email, webhook_body, webhook_time,
};

/// Turns domain events into deliveries and delivers them.
#[derive(Clone)]
pub struct Notifier {
    directory: Arc<dyn DirectoryReader>,
    requests: Arc<dyn RequestReader>,
    settings: Arc<dyn SettingsStore>,
    deliveries: Arc<dyn DeliveryStore>,
    commit: Arc<dyn Committer>,
    email: Arc<dyn EmailSender>,
    webhook: Arc<dyn WebhookSender>,
    console_base_url: String,
    real_time: Option<Arc<dyn crate::ports::Clock>>,
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

impl Notifier {
    /// A notifier over a store and senders; links point at `console_base_url`.
    #[must_use]
    pub fn new(
        store: Arc<dyn Store>,
        email: Arc<dyn EmailSender>,
        webhook: Arc<dyn WebhookSender>,
        console_base_url: impl Into<String>,
    ) -> Self {
        Self {
            directory: store.clone(),
            requests: store.clone(),
            settings: store.clone(),
            deliveries: store.clone(),
            commit: store,
            email,
            webhook,
            console_base_url: console_base_url.into(),
            real_time: None,
        }
    }

    /// Sign-in links run on real time, whatever the deployment's clock: `clock` tells it (by
    /// default the time the notifier is given, right where the deployment runs on real time).
    #[must_use]
    pub fn with_real_time(mut self, clock: Arc<dyn crate::ports::Clock>) -> Self {
        self.real_time = Some(clock);
        self
    }

    async fn plan(&self, entry: &OutboxEntry) -> Result<Vec<(String, Content)>> {
        if let DomainEvent::FeedSilent { since, last_heard } = &entry.event {
            return self.feed_silent(*since, *last_heard).await;
        }
        if let DomainEvent::SignInRequested { email, next } = &entry.event {
            // A link only for an active user with this address; nothing for anyone else.
            return Ok(match self.directory.user_by_email(email).await? {
                Some(user) if user.active => vec![(
                    user.email.to_string(),
                    Content::SignIn(crate::delivery::SignInMessage {
                        user: user.id,
                        to: user.email,
                        next: next.clone(),
                    }),
                )],
                _ => Vec::new(),
            });
        }
        // The event names what it speaks of; what is said comes from the store.
        let (request, user_id, resource_id) = match &entry.event {
            DomainEvent::RequestCreated { request } | DomainEvent::RequestResolved { request } => {
                let Some(stored) = self.requests.request(&request.id).await? else {
                    return Ok(Vec::new());
                };
                let (u, r) = (stored.user.clone(), stored.resource.clone());
                (Some(stored), u, r)
            }
            DomainEvent::LockWarning { user, resource, .. } => {
                (None, user.clone(), resource.clone())
            }
            _ => return Ok(Vec::new()),
        };
        let (Some(user), Some(resource)) = (
            self.directory.user(&user_id).await?,
            self.directory.resource(&resource_id).await?,
        ) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        match &entry.event {
            DomainEvent::RequestCreated { .. } => {
                let Some(request) = request.filter(|r| r.status == RequestStatus::Open) else {
                    return Ok(Vec::new());
                };
                let request = &request;
                let settings = self.settings.settings().await?;
                if settings.emails_enabled {
                    for approver in self
                        .directory
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
                if let Some(hook) = self.settings.webhook().await? {
                    let body = webhook_body(&self.console_base_url, request, &user, &resource);
                    out.push((
                        hook.url.to_string(),
                        Content::Webhook(WebhookMessage {
                            id: format!("msg_{}", entry.id),
                            body,
                        }),
                    ));
                }
            }
            DomainEvent::RequestResolved { .. } if user.active => {
                let Some(request) = request else {
                    return Ok(Vec::new());
                };
                if let Some(message) = outcome_email(&user.email, &request, &resource) {
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

    /// The alert of a silent feed: an email to every active admin and DevOps admin, unless emails
    /// are off.
    async fn feed_silent(
        &self,
        since: Timestamp,
        last_heard: Timestamp,
    ) -> Result<Vec<(String, Content)>> {
        if !self.settings.settings().await?.emails_enabled {
            return Ok(Vec::new());
        }
        let admins = self
            .directory
            .active_users_with_roles(&[Role::Admin, Role::DevopsAdmin])
            .await?;
        Ok(admins
            .iter()
            .map(|a| {
                let message = messages::feed_silent_email(
                    &a.email,
                    &self.console_base_url,
                    since,
                    last_heard,
                );
                (a.email.to_string(), Content::Email(message))
            })
            .collect())
    }

    /// Handles one domain event: a delivery per message, created once; only the notifier that
    /// creates a delivery attempts it now, so a duplicate event sends nothing twice.
    pub async fn handle(&self, entry: &OutboxEntry, now: Timestamp) -> Result<Handled> {
        let mut handled = Handled::default();
        for (recipient, content) in self.plan(entry).await? {
            if crate::values::Email::is_reserved_address(&recipient) {
                // A user provisioned without an address (docs/semantics.md §4): nobody to send to.
                continue;
            }
            let delivery = Delivery::new(&entry.id, recipient, content, now);
            if !self.deliveries.create_delivery(&delivery).await? {
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

    /// Tries a delivery once and records the attempt. The delivery is leased to this run (its
    /// `next_attempt_at`, as stored, is the lease); the attempt is recorded over the lease, and
    /// not at all if another run took the delivery meanwhile.
    pub async fn attempt(&self, mut delivery: Delivery, now: Timestamp) -> Result<Delivery> {
        let (attempt, verdict, retry_after) = match &delivery.content {
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
                let message = sign_in_email(&m.to, &url);
                self.send_email(&message, now).await
            }
            Content::Email(message) => self.send_email(message, now).await,
            Content::Webhook(message) => {
                let Some(hook) = self
                    .settings
                    .webhook()
                    .await?
                    .filter(|h| h.url.as_str() == delivery.recipient)
                else {
                    let attempt = Attempt {
                        at: now,
                        status: None,
                        latency_ms: 0,
                        error: Some("the webhook was removed or changed".into()),
                    };
                    let lease = delivery.next_attempt_at;
                    delivery.attempts.push(attempt);
                    delivery.status = DeliveryStatus::Failed;
                    delivery.next_attempt_at = None;
                    self.deliveries.replace_delivery(&delivery, lease).await?;
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
        let lease = delivery.next_attempt_at;
        delivery.attempts.push(attempt);
        match verdict {
            AttemptOutcome::Delivered => {
                delivery.status = DeliveryStatus::Sent;
                delivery.next_attempt_at = None;
            }
            AttemptOutcome::Final => {
                delivery.status = DeliveryStatus::Failed;
                delivery.next_attempt_at = None;
            }
            AttemptOutcome::Retry => {
                match backoff(
                    delivery.attempts.len(),
                    crate::service::jitter() * 2.0 - 1.0,
                    retry_after,
                ) {
                    Some(pause) => {
                        delivery.status = DeliveryStatus::Pending;
                        delivery.next_attempt_at = Some(now + pause);
                    }
                    None => {
                        delivery.status = DeliveryStatus::Failed;
                        delivery.next_attempt_at = None;
                    }
                }
            }
        }
        self.deliveries.replace_delivery(&delivery, lease).await?;
        Ok(delivery)
    }

    /// Sends an email once: the attempt, and what it means.
    async fn send_email(
        &self,
        message: &crate::delivery::EmailMessage,
        now: Timestamp,
    ) -> (Attempt, AttemptOutcome, Option<u64>) {
        let started = std::time::Instant::now();
        let result = self.email.send(message).await;
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (verdict, error) = match result {
            Ok(()) => (AttemptOutcome::Delivered, None),
            Err(e) if e.retryable => (AttemptOutcome::Retry, Some(e.message)),
            Err(e) => (AttemptOutcome::Final, Some(e.message)),
        };
        (
            Attempt {
                at: now,
                status: None,
                latency_ms,
                error,
            },
            verdict,
            None,
        )
    }

    /// Retries the deliveries that are due, each claimed first with a lease (so that an
    /// overlapping run skips it); returns how many were attempted.
    pub async fn retry_due(&self, now: Timestamp, limit: usize) -> Result<usize> {
        let due = self.deliveries.due_deliveries(now, limit).await?;
        let mut n = 0;
        for mut delivery in due {
            let due_at = delivery.next_attempt_at;
            delivery.next_attempt_at = Some(now + LEASE);
            if !self.deliveries.replace_delivery(&delivery, due_at).await? {
                continue;
            }
            n += 1;
            self.attempt(delivery, now).await?;
        }
        Ok(n)
    }

    /// Sends a test delivery to the configured webhook (admin's "send test").
    pub async fn send_test(&self, now: Timestamp) -> Result<Delivery> {
        let hook = self
            .settings
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
            hook.url.to_string(),
            Content::Webhook(WebhookMessage {
                id: format!("msg_{id}"),
                body,
            }),
            now,
        );
        self.deliveries.create_delivery(&delivery).await?;
        self.attempt(delivery, now).await
    }
}
