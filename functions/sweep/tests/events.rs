//! The scheduled event of `events/` through the sweep handler, on DynamoDB, with the domain
//! events published to the emulated bus and read back through an SQS target.

use std::sync::Arc;
use std::time::Duration;

use autolock_eventbridge::BusPublisher;
use autolock_sweep::handler::handle;
use autolock_tests::world::World;
use serde_json::Value;

#[tokio::test]
async fn a_scheduled_run_records_due_locks_and_publishes_access_locked() {
    let scheduled: Value =
        serde_json::from_str(include_str!("../../../events/sweep-scheduled.json")).unwrap();
    assert_eq!(scheduled["detail-type"], "Scheduled Event");
    let now: autolock_core::Timestamp = scheduled["time"].as_str().unwrap().parse().unwrap();

    let sdk = autolock_aws::sdk_config().await;
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let suffix = autolock_core::ids::GroupId::generate();
    let bus = format!("autolock-test-{suffix}");
    events.create_event_bus().name(&bus).send().await.unwrap();
    let queue = sqs
        .create_queue()
        .queue_name(format!("autolock-test-{suffix}"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    events
        .put_rule()
        .name("all-autolock")
        .event_bus_name(&bus)
        .event_pattern(r#"{"source": ["autolock"]}"#)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("all-autolock")
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let (store, teardown) = autolock_dynamodb::testing::fresh().await;
    let w = World::seed(Arc::new(store)).await;
    let publisher = BusPublisher::new(events.clone(), bus.clone());
    let ticker = autolock_core::service::Ticker::new(w.app.clone(), Arc::new(publisher), 1);
    let report = handle(&ticker, now, Duration::from_secs(60)).await.unwrap();
    assert_eq!(
        (report.locked, report.published, report.stopped_for_time),
        (2, 3, false),
        "bob and carol lock at day 7 (and gitlab's policy, set when it was created, goes out too): {report:?}"
    );
    assert!(
        w.store().pending(10).await.unwrap().is_empty(),
        "the outbox is relayed"
    );
    let again = handle(&ticker, now, Duration::from_secs(60)).await.unwrap();
    assert_eq!(
        (again.locked, again.published),
        (0, 0),
        "an overlapping or repeated run records nothing twice"
    );

    let mut received = Vec::new();
    for _ in 0..10 {
        let out = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        received.extend(out.messages.unwrap_or_default());
        if received.len() >= 3 {
            break;
        }
    }
    let envelopes: Vec<Value> = received
        .iter()
        .map(|m| serde_json::from_str::<Value>(m.body.as_deref().unwrap()).unwrap())
        .collect();
    let mut types: Vec<&str> = envelopes
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap())
        .collect();
    types.sort_unstable();
    assert_eq!(types, ["access.locked", "access.locked", "policy.changed"]);
    let mut locked: Vec<String> = envelopes
        .iter()
        .filter(|e| e["detail-type"] == "access.locked")
        .map(|e| {
            let entry = autolock_eventbridge::from_envelope(e).unwrap();
            match entry.event {
                autolock_core::events::DomainEvent::AccessLocked {
                    user, locked_at, ..
                } => {
                    assert_eq!(locked_at, autolock_tests::world::d(7));
                    user.to_string()
                }
                other => panic!("unexpected {other:?}"),
            }
        })
        .collect();
    locked.sort();
    assert_eq!(locked, ["bob", "carol"]);
    teardown.run().await;
}
