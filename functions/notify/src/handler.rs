//! The handler: a domain event from the bus becomes deliveries (once per event, channel and
//! recipient, so a redelivered event sends nothing twice); the scheduled tick retries the
//! deliveries that are due.

use serde::Serialize;
use serde_json::Value;

use autolock_core::Timestamp;
use autolock_core::notify::{Handled, Notifier};
use autolock_eventbridge::{Malformed, from_envelope};

/// What one invocation did.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// A domain event was handled.
    Event {
        /// Its name.
        event: &'static str,
        /// The deliveries.
        handled: Handled,
    },
    /// Due deliveries were retried.
    Retries {
        /// How many.
        attempted: usize,
    },
}

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// Not one of autolock's events: retrying will not help.
    #[error("{0}")]
    Malformed(Malformed),
    /// The store failed: retry.
    #[error("retryable: {0}")]
    Retryable(autolock_core::Error),
}

/// What Lambda records of a failed invocation: the kind, and whether a retry may help.
impl From<HandleError> for lambda_runtime::Diagnostic {
    fn from(e: HandleError) -> Self {
        let error_type = match e {
            HandleError::Malformed(_) => "Malformed",
            HandleError::Retryable(_) => "Retryable",
        };
        Self {
            error_type: error_type.into(),
            error_message: autolock_core::error::chain(&e),
        }
    }
}

/// The input the retry schedule gives the function (`infra/template.yaml`; the sample is
/// `events/notify-retry-deliveries.json`).
pub const RETRY_INPUT: &str = "retry-deliveries";

/// Whether `payload` is the retry schedule's: the template's explicit input, or a classic
/// scheduled event of an EventBridge rule.
fn is_retry_tick(payload: &Value) -> bool {
    payload.get("autolock").and_then(Value::as_str) == Some(RETRY_INPUT)
        || (payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
            && payload.get("source").and_then(Value::as_str) == Some("aws.events"))
}

/// Handles one invocation: the retry schedule's tick, or a domain event from the bus.
pub async fn handle(
    notifier: &Notifier,
    envelope: &Value,
    now: Timestamp,
) -> Result<Outcome, HandleError> {
    if is_retry_tick(envelope) {
        let attempted = notifier
            .retry_due(now, 100)
            .await
            .map_err(HandleError::Retryable)?;
        return Ok(Outcome::Retries { attempted });
    }
    let entry = from_envelope(envelope).map_err(HandleError::Malformed)?;
    let handled = notifier
        .handle(&entry, now)
        .await
        .map_err(HandleError::Retryable)?;
    Ok(Outcome::Event {
        event: entry.event.name(),
        handled,
    })
}
