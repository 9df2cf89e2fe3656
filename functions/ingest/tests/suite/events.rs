//! The sample EventBridge envelopes of `events/` through the ingestion handler, on DynamoDB,
//! with the dead-letter queue on the SQS emulator.

use std::sync::Arc;

use autolock_ingest::handler::{IngestError, handle, park};
use autolock_tests::world::World;
use serde_json::Value;

fn event(text: &str) -> Value {
    serde_json::from_str(text).expect("sample event parses")
}

fn at(text: &str) -> autolock_core::Timestamp {
    text.parse().unwrap()
}

#[tokio::test]
async fn access_events_are_recorded_replays_are_harmless_and_malformed_ones_are_refused() {
    let (store, teardown) = autolock_dynamodb::testing::fresh().await;
    let w = World::seed(Arc::new(store)).await;
    let now = at("2026-01-05T12:00:00Z");
    let valid = event(include_str!(
        "../../../../events/ingest-resource-accessed.json"
    ));
    let result = handle(&w.app, &valid, now).await.unwrap();
    assert_eq!(
        (result.event_id.as_str(), result.outcome.as_str()),
        ("gw-7f3c2a9e-0001", "counted")
    );
    let usage = w.bob_usage().await;
    assert_eq!(usage.value.last_access, Some(at("2026-01-05T11:59:30Z")));

    let duplicate = event(include_str!(
        "../../../../events/ingest-resource-accessed-duplicate.json"
    ));
    assert_eq!(
        handle(&w.app, &duplicate, now)
            .await
            .unwrap()
            .outcome
            .as_str(),
        "duplicate"
    );
    assert_eq!(
        w.bob_usage().await.version,
        usage.version,
        "a replay writes nothing"
    );

    let malformed = event(include_str!(
        "../../../../events/ingest-resource-accessed-malformed.json"
    ));
    match handle(&w.app, &malformed, now).await {
        Err(e @ IngestError::Malformed(_)) => {
            assert!(e.to_string().contains("detail.accessed_at"), "{e}");
        }
        other => panic!("expected a malformed-event error, got {other:?}"),
    }
    assert_eq!(
        w.bob_usage().await.version,
        usage.version,
        "nothing written"
    );
    teardown.run().await;
}

#[tokio::test]
async fn a_malformed_event_lands_in_the_dead_letter_queue_with_its_reason() {
    let sdk = autolock_aws::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let name = format!(
        "autolock-test-dlq-{}",
        autolock_core::ids::GroupId::generate()
    );
    let url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let malformed = event(include_str!(
        "../../../../events/ingest-resource-accessed-malformed.json"
    ));
    let Err(IngestError::Malformed(m)) =
        autolock_eventbridge::parse_access(&malformed).map_err(IngestError::Malformed)
    else {
        panic!("the sample is malformed");
    };
    park(&sqs, &url, &m, &malformed).await.unwrap();
    let received = sqs
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let messages = received.messages.unwrap_or_default();
    assert_eq!(messages.len(), 1);
    let body: Value = serde_json::from_str(messages[0].body.as_deref().unwrap()).unwrap();
    assert!(
        body["reason"].as_str().unwrap().contains("accessed_at"),
        "{body}"
    );
    assert_eq!(body["event"]["detail"]["event_id"], "gw-7f3c2a9e-0002");
    sqs.delete_queue().queue_url(&url).send().await.unwrap();
}
