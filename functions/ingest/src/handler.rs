//! The handler: one EventBridge `Resource Accessed` event in, the access recorded. Replays are
//! harmless (an event that changes nothing writes nothing). A malformed event is refused with a
//! non-retryable error and parked, with its reason, in the dead-letter queue; a store failure is
//! retryable and goes back to Lambda's retries.

use serde::Serialize;
use serde_json::Value;

use autolock_core::Timestamp;
use autolock_core::directory::Principal;
use autolock_core::ids::PrincipalId;
use autolock_core::service::{Autolock, EventResult};
use autolock_core::values::Role;
use autolock_eventbridge::{Malformed, parse_access};

/// The identity ingestion acts as: a gateway.
#[must_use]
pub fn ingest_principal() -> Principal {
    Principal {
        id: PrincipalId::built_in("eventbridge-ingest"),
        role: Role::Gateway,
        active: true,
    }
}

/// Why an event was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// It will never succeed: park it.
    #[error("{0}")]
    Malformed(Malformed),
    /// The store failed: retry.
    #[error("retryable: {0}")]
    Retryable(autolock_core::Error),
    /// The dead-letter queue refused it: retry, so that it is not lost.
    #[error("parking in the dead-letter queue failed")]
    Park(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// What Lambda records of a failed invocation: the kind, and whether a retry may help.
impl From<IngestError> for lambda_runtime::Diagnostic {
    fn from(e: IngestError) -> Self {
        let error_type = match e {
            IngestError::Malformed(_) => "Malformed",
            IngestError::Retryable(_) => "Retryable",
            IngestError::Park(_) => "ParkFailed",
        };
        Self {
            error_type: error_type.into(),
            error_message: autolock_core::error::chain(&e),
        }
    }
}

/// What a dead-lettered event carries.
#[derive(Debug, Serialize)]
pub struct DeadLetter<'a> {
    /// Why it was refused.
    pub reason: String,
    /// The event as received.
    pub event: &'a Value,
}

/// Parks a malformed event in the dead-letter queue with its reason.
pub async fn park(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    malformed: &Malformed,
    event: &Value,
) -> Result<(), IngestError> {
    let body = serde_json::to_string(&DeadLetter {
        reason: malformed.reason.clone(),
        event,
    })
    .map_err(|e| IngestError::Park(Box::new(e)))?;
    sqs.send_message()
        .queue_url(queue_url)
        .message_body(body)
        .send()
        .await
        .map_err(|e| IngestError::Park(Box::new(e)))?;
    Ok(())
}

/// Records one access event.
pub async fn handle(
    app: &Autolock,
    event: &Value,
    now: Timestamp,
) -> Result<EventResult, IngestError> {
    let input = parse_access(event).map_err(IngestError::Malformed)?;
    let mut results = app
        .gateway()
        .record_events(&ingest_principal(), vec![input], now)
        .await
        .map_err(IngestError::Retryable)?;
    Ok(results.remove(0))
}

/// Handles one invocation: records the event, or parks a malformed one in the dead-letter queue
/// with its reason (and answers so, so that Lambda does not retry it).
pub async fn handle_or_park(
    app: &Autolock,
    sqs: &aws_sdk_sqs::Client,
    dead_letter_queue_url: &str,
    event: &Value,
    now: Timestamp,
) -> Result<Value, IngestError> {
    match handle(app, event, now).await {
        Ok(result) => Ok(serde_json::to_value(result).unwrap_or_default()),
        Err(IngestError::Malformed(m)) => {
            tracing::warn!(reason = %m.reason, "malformed access event parked in the dead-letter queue");
            park(sqs, dead_letter_queue_url, &m, event).await?;
            Ok(serde_json::json!({"outcome": "dead_lettered", "reason": m.reason}))
        }
        Err(e) => Err(e),
    }
}
