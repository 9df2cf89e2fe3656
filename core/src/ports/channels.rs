//! The notification channels the notifier drives (docs/semantics.md §4): each says what it
//! sends about a notice, and sends one delivery at a time. Email and the webhook are channels
//! of the core (`crate::notify::channels`); another (a chat tool, a pager) is an adapter that
//! implements [`NotificationChannel`] and is handed to the notifier with
//! `Notifier::with_channel` (docs/extending.md, "A notification channel").

use async_trait::async_trait;

use crate::Timestamp;
use crate::delivery::{Attempt, AttemptOutcome, Channel, Content, Delivery};
use crate::directory::{Resource, User};
use crate::error::Result;
use crate::request::AccessRequest;
use crate::values::Email;

/// What happened that someone should hear about, with what the store says of it now.
#[derive(Debug, Clone, Copy)]
pub enum Notice<'a> {
    /// A request was opened (it is open still).
    NewRequest {
        request: &'a AccessRequest,
        user: &'a User,
        resource: &'a Resource,
    },
    /// A request was resolved: approved, denied, auto-approved or cancelled.
    Resolved {
        request: &'a AccessRequest,
        user: &'a User,
        resource: &'a Resource,
    },
    /// A right locks soon.
    LockWarning {
        user: &'a User,
        resource: &'a Resource,
        lock_at: Timestamp,
    },
    /// The usage feed went silent.
    FeedSilent {
        since: Timestamp,
        last_heard: Timestamp,
    },
    /// Someone asked for a sign-in link to this address.
    SignIn { email: &'a Email, next: &'a str },
}

/// One message a channel plans: to whom (an address, a URL, a chat channel) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The recipient, as the delivery log shows it.
    pub recipient: String,
    /// What is sent.
    pub content: Content,
}

/// One attempt of a channel, as the delivery log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The attempt.
    pub attempt: Attempt,
    /// What it means for the delivery.
    pub outcome: AttemptOutcome,
    /// How long the other side asked to wait (`Retry-After`, seconds).
    pub retry_after: Option<u64>,
}

impl Sent {
    /// An attempt that sent nothing and never will, at `now`, for `why` (the delivery is not
    /// the channel's, what it goes to was removed): the delivery fails for good.
    #[must_use]
    pub fn final_failure(now: Timestamp, why: impl Into<String>) -> Self {
        Self {
            attempt: Attempt {
                at: now,
                status: None,
                latency_ms: 0,
                error: Some(why.into()),
            },
            outcome: AttemptOutcome::Final,
            retry_after: None,
        }
    }
}

/// A way notifications travel.
#[async_trait]
pub trait NotificationChannel: Send + Sync {
    /// Its name in the delivery log.
    fn channel(&self) -> Channel;

    /// What it sends about `notice` (nothing, when the notice is not its concern or it is not
    /// configured). Each message becomes one delivery, created once per event, channel and
    /// recipient.
    async fn plan(&self, event_id: &str, notice: &Notice<'_>) -> Result<Vec<Planned>>;

    /// Sends a delivery of this channel once, at `now`.
    async fn deliver(&self, delivery: &Delivery, now: Timestamp) -> Result<Sent>;

    /// A message to show that the channel works (an admin's "send a test"), under the made-up
    /// request `id`; `None` when the channel is not set up.
    async fn test_message(&self, id: &str, now: Timestamp) -> Result<Option<Planned>> {
        let _ = (id, now);
        Ok(None)
    }
}
