//! Ports: what the core needs from the outside, split by capability. Every store implements
//! the store ports; a use case asks for the narrowest it needs.
//!
//! Reads go through the reader traits. Every write goes through [`Committer::commit`] as one
//! [`Changeset`] that the store applies atomically, with its conditions checked: a usage write
//! names the version it was computed from, a request update names the status it expects, so
//! that a write computed from a stale read fails with [`StoreError::Conflict`] and changes
//! nothing.
//!
//! [`StoreError::Conflict`]: crate::error::StoreError::Conflict

mod audit;
mod changes;
mod channels;
mod clock;
mod deliveries;
mod directory;
mod exemptions;
mod outbox;
mod refresh;
mod report;
mod requests;
mod retention;
mod senders;
mod settings;
mod sign_in;
mod sign_on;
mod usage;

use serde::{Deserialize, Serialize};

use crate::error::StoreError;

pub use audit::AuditReader;
pub use changes::{
    Changeset, Committer, ConsumedLink, DirectoryChange, RequestWrite, ThrottleWrite, UsageWrite,
};
pub use channels::{Notice, NotificationChannel, Planned, Sent};
pub use clock::{Clock, ManualClock, NoPause, Pause, Sleep, SystemClock};
pub use deliveries::DeliveryStore;
pub use directory::{DirectoryReader, ProvisionedPage};
pub use exemptions::ExemptionReader;
pub use outbox::{EventPublisher, OutboxReader};
pub use refresh::{RefreshIntent, RefreshQueue, RefreshScope};
pub use report::{ReportReader, UserRight};
pub use requests::{RequestFilter, RequestReader};
pub use retention::Retention;
pub use senders::{EmailDisabled, EmailError, EmailSender, WebhookResponse, WebhookSender};
pub use settings::{GateSettings, Settings, SettingsStore, SettingsWrite, SignInSettings};
pub use sign_in::{IssuedLink, SignInLinks};
pub use sign_on::{IdentityProvider, SignOnError, SignOnFlow, SignOnStart, VerifiedIdentity};
pub use usage::{LockIndex, UsageReader};

/// Store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// A page request: the cursor of the previous page (opaque) and a size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// The cursor returned with the previous page.
    pub after: Option<String>,
    /// At most this many items (stores cap it at 1000; 0 means 100).
    pub limit: u32,
}

impl PageRequest {
    /// The limit to apply: 1..=1000, 100 when unset.
    #[must_use]
    pub fn effective_limit(&self) -> usize {
        match self.limit {
            0 => 100,
            n => n.min(1000) as usize,
        }
    }

    /// The first page of `limit` items.
    #[must_use]
    pub fn first(limit: u32) -> Self {
        Self { after: None, limit }
    }
}

/// One page of a list, and the cursor of the next when there is more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` to get the next page.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// The page of the first `limit` of `items`, read one past the limit to tell whether more
    /// follow: then the cursor is the last item's kept.
    pub fn from_overfetch(mut items: Vec<T>, limit: usize, cursor: impl Fn(&T) -> String) -> Self {
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(cursor)
        } else {
            None
        };
        Page { items, next }
    }

    /// The page `page` asks for of `sorted` (in the order of `id`, each once): the items after
    /// its cursor, up to its limit; the cursor of the next is the last item's `id`.
    pub fn of_sorted(sorted: Vec<T>, page: &PageRequest, id: impl Fn(&T) -> &str) -> Self {
        let after = page.after.as_deref().unwrap_or_default();
        let limit = page.effective_limit();
        let items = sorted
            .into_iter()
            .filter(|t| id(t) > after)
            .take(limit + 1)
            .collect();
        Self::from_overfetch(items, limit, |t| id(t).to_owned())
    }

    /// The same page with each item mapped by `f`.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

/// A value with the version it was read at, for a conditional write. The default is what a
/// read finds where nothing is stored: the value's default, at version 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Versioned<T> {
    pub value: T,
    /// 0 when nothing is stored yet.
    pub version: u64,
}

/// Every port a store offers.
pub trait Store:
    DirectoryReader
    + ExemptionReader
    + UsageReader
    + ReportReader
    + LockIndex
    + RequestReader
    + AuditReader
    + OutboxReader
    + SettingsStore
    + DeliveryStore
    + SignInLinks
    + RefreshQueue
    + Retention
    + Committer
{
}

impl<T> Store for T where
    T: DirectoryReader
        + ExemptionReader
        + UsageReader
        + ReportReader
        + LockIndex
        + RequestReader
        + AuditReader
        + OutboxReader
        + SettingsStore
        + DeliveryStore
        + SignInLinks
        + RefreshQueue
        + Retention
        + Committer
{
}
