//! autolock-eventbridge: access events in, domain events out.
//!
//! In: EventBridge envelopes with `detail-type` `"Resource Accessed"` and detail
//! `{event_id, user_id, resource_id, accessed_at}`, parsed into typed access events or refused
//! with the reason. Out: each outbox entry becomes one `PutEvents` entry through exactly one
//! mapping function, [`to_entry`]; [`from_envelope`] reads it back on the consumer side.

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde::Deserialize;
use serde_json::Value;

use autolock_core::error::StoreError;
use autolock_core::events::OutboxEntry;
use autolock_core::ids::{EventId, ResourceId, UserId};
use autolock_core::lock::AccessEvent;
use autolock_core::ports::{EventPublisher, StoreResult};
use autolock_core::service::EventInput;

/// The `detail-type` of inbound access events.
pub const RESOURCE_ACCESSED: &str = "Resource Accessed";
/// The `source` of autolock's domain events.
pub const SOURCE: &str = "autolock";
/// EventBridge takes at most this many entries per `PutEvents`.
pub const PUT_EVENTS_LIMIT: usize = 10;

/// Why an inbound event is refused. It will never succeed: it goes to the dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// What is wrong, naming the field.
    pub reason: String,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed access event: {}", self.reason)
    }
}

impl std::error::Error for Malformed {}

fn malformed(reason: impl Into<String>) -> Malformed {
    Malformed {
        reason: reason.into(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Detail {
    event_id: String,
    user_id: String,
    resource_id: String,
    accessed_at: String,
}

/// Parses a `Resource Accessed` envelope into an access event for the core.
pub fn parse_access(envelope: &Value) -> Result<EventInput, Malformed> {
    let detail_type = envelope
        .get("detail-type")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("detail-type is missing"))?;
    if detail_type != RESOURCE_ACCESSED {
        return Err(malformed(format!(
            "detail-type {detail_type:?} is not {RESOURCE_ACCESSED:?}"
        )));
    }
    let detail = envelope
        .get("detail")
        .ok_or_else(|| malformed("detail is missing"))?;
    let d: Detail =
        serde_json::from_value(detail.clone()).map_err(|e| malformed(format!("detail: {e}")))?;
    let field = |name: &str, e: autolock_core::ValidationError| {
        malformed(format!("detail.{name}: {}", e.message))
    };
    let accessed_at = autolock_core::values::instant::parse("accessed_at", &d.accessed_at)
        .map_err(|e| field("accessed_at", e))?;
    Ok(EventInput {
        user: UserId::parse(d.user_id).map_err(|e| field("user_id", e))?,
        resource: ResourceId::parse(d.resource_id).map_err(|e| field("resource_id", e))?,
        event: AccessEvent {
            event_id: EventId::parse(d.event_id).map_err(|e| field("event_id", e))?,
            accessed_at,
        },
    })
}

/// The one mapping from a domain event to an EventBridge entry: `source` autolock,
/// `detail-type` the event's dotted name, `detail` the outbox entry (id, at, event).
pub fn to_entry(
    entry: &OutboxEntry,
    bus: &str,
) -> Result<PutEventsRequestEntry, serde_json::Error> {
    Ok(PutEventsRequestEntry::builder()
        .event_bus_name(bus)
        .source(SOURCE)
        .detail_type(entry.event.name())
        .detail(serde_json::to_string(entry)?)
        .build())
}

/// Reads a domain event back from its EventBridge envelope (the notifier's input).
pub fn from_envelope(envelope: &Value) -> Result<OutboxEntry, Malformed> {
    let source = envelope.get("source").and_then(Value::as_str);
    if source != Some(SOURCE) {
        return Err(malformed(format!("source {source:?} is not {SOURCE:?}")));
    }
    let detail = envelope
        .get("detail")
        .ok_or_else(|| malformed("detail is missing"))?;
    let entry: OutboxEntry =
        serde_json::from_value(detail.clone()).map_err(|e| malformed(format!("detail: {e}")))?;
    let detail_type = envelope.get("detail-type").and_then(Value::as_str);
    if detail_type != Some(entry.event.name()) {
        return Err(malformed(format!(
            "detail-type {detail_type:?} does not match the event {}",
            entry.event.name()
        )));
    }
    Ok(entry)
}

/// Publishes domain events to a bus, 10 per call, retrying entries EventBridge failed.
#[derive(Debug, Clone)]
pub struct BusPublisher {
    client: Client,
    bus: String,
}

impl BusPublisher {
    /// A publisher to `bus`.
    #[must_use]
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
        }
    }
}

#[async_trait]
impl EventPublisher for BusPublisher {
    async fn publish(&self, entries: &[OutboxEntry]) -> StoreResult<Vec<String>> {
        let mut published = Vec::with_capacity(entries.len());
        for chunk in entries.chunks(PUT_EVENTS_LIMIT) {
            let mut pending: Vec<&OutboxEntry> = chunk.iter().collect();
            for attempt in 0..4u32 {
                let mapped = pending
                    .iter()
                    .map(|e| to_entry(e, &self.bus))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| StoreError::backend("eventbridge: an event as JSON", e))?;
                let out = self
                    .client
                    .put_events()
                    .set_entries(Some(mapped))
                    .send()
                    .await
                    .map_err(|e| StoreError::backend("eventbridge PutEvents", e))?;
                let results = out.entries.unwrap_or_default();
                let mut failed = Vec::new();
                for (entry, result) in pending
                    .iter()
                    .zip(results.iter().map(Some).chain(std::iter::repeat(None)))
                {
                    match result {
                        Some(r) if r.error_code.is_none() && r.event_id.is_some() => {
                            published.push(entry.id.clone());
                        }
                        Some(r) => {
                            tracing::warn!(id = %entry.id, code = ?r.error_code, message = ?r.error_message, "event not published");
                            failed.push(*entry);
                        }
                        None => failed.push(*entry),
                    }
                }
                if failed.is_empty() {
                    break;
                }
                pending = failed;
                tokio::time::sleep(std::time::Duration::from_millis(100 << attempt)).await;
            }
        }
        Ok(published)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope(detail: Value) -> Value {
        json!({"version": "0", "id": "1", "detail-type": "Resource Accessed", "source": "acme.gateway", "account": "123456789012",
               "time": "2026-01-01T00:00:00Z", "region": "us-east-1", "resources": [], "detail": detail})
    }

    #[test]
    fn a_valid_access_event_parses() {
        let e = parse_access(&envelope(json!({"event_id": "e1", "user_id": "bob", "resource_id": "gitlab", "accessed_at": "2026-01-01T10:00:00+02:00"}))).unwrap();
        assert_eq!(
            (
                e.user.as_str(),
                e.resource.as_str(),
                e.event.event_id.as_str()
            ),
            ("bob", "gitlab", "e1")
        );
        assert_eq!(
            e.event.accessed_at.to_rfc3339(),
            "2026-01-01T08:00:00+00:00"
        );
    }

    #[test]
    fn malformed_events_say_which_field() {
        let cases = [
            (
                json!({"event_id": "e1", "user_id": "bob", "resource_id": "gitlab"}),
                "accessed_at",
            ),
            (
                json!({"event_id": "e1", "user_id": "b b", "resource_id": "gitlab", "accessed_at": "2026-01-01T00:00:00Z"}),
                "detail.user_id",
            ),
            (
                json!({"event_id": "e1", "user_id": "bob", "resource_id": "gitlab", "accessed_at": "yesterday"}),
                "detail.accessed_at",
            ),
            (
                json!({"event_id": "e1", "user_id": "bob", "resource_id": "gitlab", "accessed_at": "2026-01-01T00:00:00Z", "extra": 1}),
                "extra",
            ),
        ];
        for (detail, field) in cases {
            let err = parse_access(&envelope(detail)).unwrap_err();
            assert!(err.reason.contains(field), "{field}: {}", err.reason);
        }
        let mut wrong = envelope(json!({}));
        wrong["detail-type"] = json!("Something Else");
        assert!(
            parse_access(&wrong)
                .unwrap_err()
                .reason
                .contains("detail-type")
        );
    }

    #[test]
    fn domain_events_round_trip_through_one_mapping() {
        let entry = OutboxEntry::new(
            autolock_core::events::DomainEvent::LockWarning {
                user: "bob".parse().unwrap(),
                resource: "gitlab".parse().unwrap(),
                lock_at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            },
            chrono::DateTime::from_timestamp(0, 0).unwrap(),
        );
        let mapped = to_entry(&entry, "autolock").unwrap();
        assert_eq!(
            (
                mapped.source(),
                mapped.detail_type(),
                mapped.event_bus_name()
            ),
            (Some("autolock"), Some("lock.warning"), Some("autolock"))
        );
        let envelope = json!({"source": "autolock", "detail-type": "lock.warning", "detail": serde_json::from_str::<Value>(mapped.detail().unwrap()).unwrap()});
        assert_eq!(from_envelope(&envelope).unwrap(), entry);
    }
}
