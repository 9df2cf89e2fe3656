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
//!
//! Each way a message travels is a [`NotificationChannel`]: the notifier tells every channel
//! the [`Notice`], each plans its messages, and each delivery is sent by its own channel. Email
//! and the webhook are the core's (`channels`); another is an adapter handed over with
//! [`Notifier::with_channel`].

mod channels;
pub mod messages;

use std::sync::Arc;

use serde::Serialize;

use crate::Timestamp;
use crate::delivery::{AttemptOutcome, Channel, Delivery, DeliveryStatus, LEASE, backoff};
use crate::error::{Error, Result};
use crate::events::{DomainEvent, OutboxEntry};
use crate::ports::{
    DeliveryStore, DirectoryReader, EmailSender, Notice, NotificationChannel, Planned,
    RequestReader, Store, WebhookSender,
};
use crate::request::RequestStatus;

use channels::{EmailChannel, WebhookChannel};
pub use messages::{
    BodySubject, Links, access_request_body, new_request_email, outcome_email, sign_in_email,
    warning_email, webhook_body, webhook_time,
};

/// Turns domain events into deliveries and delivers them, through its channels: email and the
/// webhook, and any other given with [`Notifier::with_channel`].
#[derive(Clone)]
pub struct Notifier {
    directory: Arc<dyn DirectoryReader>,
    requests: Arc<dyn RequestReader>,
    deliveries: Arc<dyn DeliveryStore>,
    email: EmailChannel,
    webhook: WebhookChannel,
    others: Vec<Arc<dyn NotificationChannel>>,
    console_base_url: String,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("console_base_url", &self.console_base_url)
            .field(
                "channels",
                &self
                    .channels()
                    .map(NotificationChannel::channel)
                    .collect::<Vec<_>>(),
            )
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
    /// A notifier over a store with the email and webhook channels, sending through these
    /// senders; links point at `console_base_url`.
    #[must_use]
    pub fn new(
        store: Arc<dyn Store>,
        email: Arc<dyn EmailSender>,
        webhook: Arc<dyn WebhookSender>,
        console_base_url: impl Into<String>,
    ) -> Self {
        let console_base_url = console_base_url.into();
        Self {
            directory: store.clone(),
            requests: store.clone(),
            deliveries: store.clone(),
            email: EmailChannel {
                directory: store.clone(),
                settings: store.clone(),
                commit: store.clone(),
                sender: email,
                console_base_url: console_base_url.clone(),
                real_time: None,
            },
            webhook: WebhookChannel {
                settings: store,
                sender: webhook,
                console_base_url: console_base_url.clone(),
            },
            others: Vec::new(),
            console_base_url,
        }
    }

    /// Sign-in links run on real time, whatever the deployment's clock: `clock` tells it (by
    /// default the time the notifier is given, right where the deployment runs on real time).
    #[must_use]
    pub fn with_real_time(mut self, clock: Arc<dyn crate::ports::Clock>) -> Self {
        self.email.real_time = Some(clock);
        self
    }

    /// The same notifier with one more channel (docs/extending.md, "A notification channel").
    #[must_use]
    pub fn with_channel(mut self, channel: Arc<dyn NotificationChannel>) -> Self {
        self.others.push(channel);
        self
    }

    /// Every channel, email and the webhook first.
    fn channels(&self) -> impl Iterator<Item = &dyn NotificationChannel> {
        [
            &self.email as &dyn NotificationChannel,
            &self.webhook as &dyn NotificationChannel,
        ]
        .into_iter()
        .chain(self.others.iter().map(AsRef::as_ref))
    }

    /// What every channel sends about an event. The event names what it speaks of; what is
    /// said comes from the store.
    async fn plan(&self, entry: &OutboxEntry) -> Result<Vec<Planned>> {
        let mut out = Vec::new();
        match &entry.event {
            DomainEvent::FeedSilent { since, last_heard } => {
                let notice = Notice::FeedSilent {
                    since: *since,
                    last_heard: *last_heard,
                };
                self.plan_all(&entry.id, &notice, &mut out).await?;
            }
            DomainEvent::SignInRequested { email, next } => {
                let notice = Notice::SignIn { email, next };
                self.plan_all(&entry.id, &notice, &mut out).await?;
            }
            DomainEvent::RequestCreated { request } | DomainEvent::RequestResolved { request } => {
                let Some(stored) = self.requests.request(&request.id).await? else {
                    return Ok(out);
                };
                let (Some(user), Some(resource)) = (
                    self.directory.user(&stored.user).await?,
                    self.directory.resource(&stored.resource).await?,
                ) else {
                    return Ok(out);
                };
                let notice = if matches!(entry.event, DomainEvent::RequestCreated { .. }) {
                    if stored.status != RequestStatus::Open {
                        return Ok(out);
                    }
                    Notice::NewRequest {
                        request: &stored,
                        user: &user,
                        resource: &resource,
                    }
                } else {
                    Notice::Resolved {
                        request: &stored,
                        user: &user,
                        resource: &resource,
                    }
                };
                self.plan_all(&entry.id, &notice, &mut out).await?;
            }
            DomainEvent::LockWarning {
                user,
                resource,
                lock_at,
            } => {
                let (Some(user), Some(resource)) = (
                    self.directory.user(user).await?,
                    self.directory.resource(resource).await?,
                ) else {
                    return Ok(out);
                };
                let notice = Notice::LockWarning {
                    user: &user,
                    resource: &resource,
                    lock_at: *lock_at,
                };
                self.plan_all(&entry.id, &notice, &mut out).await?;
            }
            _ => {}
        }
        Ok(out)
    }

    async fn plan_all(
        &self,
        event_id: &str,
        notice: &Notice<'_>,
        out: &mut Vec<Planned>,
    ) -> Result<()> {
        for channel in self.channels() {
            out.extend(channel.plan(event_id, notice).await?);
        }
        Ok(())
    }

    /// Handles one domain event: a delivery per message, created once; only the notifier that
    /// creates a delivery attempts it now, so a duplicate event sends nothing twice.
    pub async fn handle(&self, entry: &OutboxEntry, now: Timestamp) -> Result<Handled> {
        let mut handled = Handled::default();
        for Planned { recipient, content } in self.plan(entry).await? {
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

    /// Tries a delivery once, through its channel, and records the attempt. The delivery is
    /// leased to this run (its `next_attempt_at`, as stored, is the lease); the attempt is
    /// recorded over the lease, and not at all if another run took the delivery meanwhile.
    pub async fn attempt(&self, mut delivery: Delivery, now: Timestamp) -> Result<Delivery> {
        let sent = match self.channels().find(|c| c.channel() == delivery.channel) {
            Some(channel) => channel.deliver(&delivery, now).await?,
            None => crate::ports::Sent::final_failure(
                now,
                format!(
                    "this deployment has no {} channel",
                    delivery.channel.as_str()
                ),
            ),
        };
        let lease = delivery.next_attempt_at;
        delivery.attempts.push(sent.attempt);
        match sent.outcome {
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
                    sent.retry_after,
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

    /// Sends a test message through `channel` now (an admin's "send a test"): not found when
    /// the channel is not set up here.
    pub async fn send_test(&self, channel: Channel, now: Timestamp) -> Result<Delivery> {
        let id = format!("test{}", uuid::Uuid::new_v4().simple());
        let planned = match self.channels().find(|c| c.channel() == channel) {
            Some(c) => c.test_message(&id, now).await?,
            None => None,
        }
        .ok_or_else(|| Error::NotFound(channel.as_str().to_owned()))?;
        let delivery = Delivery::new(&id, planned.recipient, planned.content, now);
        self.deliveries.create_delivery(&delivery).await?;
        self.attempt(delivery, now).await
    }
}
