//! The handler: one domain event from the bus in, handed to the sender. Until the e-mail and
//! webhook senders are wired here, the sender only logs what it would send.

use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::Value;

use autolock_core::events::OutboxEntry;
use autolock_eventbridge::{Malformed, from_envelope};

/// Sends what a domain event calls for.
#[async_trait]
pub trait Sender: Send + Sync {
    /// Handles one event; an error is retried by Lambda.
    async fn send(&self, entry: &OutboxEntry) -> Result<(), String>;
}

/// A sender that only logs (and remembers, for tests) what it was given.
#[derive(Debug, Default)]
pub struct LogOnly {
    seen: Mutex<Vec<String>>,
}

impl LogOnly {
    /// The names of the events seen, in order.
    #[must_use]
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Sender for LogOnly {
    async fn send(&self, entry: &OutboxEntry) -> Result<(), String> {
        tracing::info!(id = %entry.id, event = entry.event.name(), "domain event (log-only sender)");
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(entry.event.name().to_owned());
        }
        Ok(())
    }
}

/// Handles one EventBridge envelope carrying a domain event.
pub async fn handle(sender: &dyn Sender, envelope: &Value) -> Result<&'static str, HandleError> {
    let entry = from_envelope(envelope).map_err(HandleError::Malformed)?;
    sender.send(&entry).await.map_err(HandleError::Send)?;
    Ok(entry.event.name())
}

/// Why a domain event was not handled.
#[derive(Debug)]
pub enum HandleError {
    /// Not one of autolock's events.
    Malformed(Malformed),
    /// The sender failed (retryable).
    Send(String),
}

impl std::fmt::Display for HandleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(m) => write!(f, "{m}"),
            Self::Send(e) => write!(f, "sending failed: {e}"),
        }
    }
}

impl std::error::Error for HandleError {}
