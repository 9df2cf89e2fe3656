//! The scheduled event of `events/` through the sweep handler, on DynamoDB, with the domain
//! events published to the emulated bus and read back through an SQS target; and a new outbox
//! entry relayed from the policies table's stream.

use std::sync::Arc;
use std::time::Duration;

use autolock_core::service::Ticker;
use autolock_eventbridge::BusPublisher;
use autolock_sweep::handler::{Trigger, handle, handle_event};
use autolock_tests::world::{World, d};
use aws_sdk_dynamodbstreams::types::{OperationType, ShardIteratorType};
use serde_json::{Value, json};

#[test]
fn the_sample_events_tell_a_stream_batch_from_the_schedule() {
    for (file, trigger) in [
        (
            include_str!("../../../../events/sweep-outbox-stream.json"),
            Trigger::OutboxStream,
        ),
        (
            include_str!("../../../../events/sweep-tick.json"),
            Trigger::Schedule,
        ),
        (
            include_str!("../../../../events/sweep-scheduled.json"),
            Trigger::Schedule,
        ),
    ] {
        assert_eq!(
            Trigger::of(&serde_json::from_str(file).unwrap()),
            trigger,
            "{file}"
        );
    }
}

/// On AWS, Lambda reads the policies table's stream and hands the sweep function each batch of
/// new outbox entries (the template's `OutboxStream`, filtered to `pk = OUTBOX` inserts). Here
/// the test reads the emulator's stream of the table, applies the same filter and hands the
/// function the same batch: a request filed reaches the bus without waiting for the schedule.
#[tokio::test]
async fn a_new_outbox_entry_reaches_the_bus_from_the_tables_stream() {
    let (events, sqs, bus, queue) = bus_with_queue().await;
    let (store, teardown) = autolock_dynamodb::testing::fresh().await;
    let policies = store.tables().policies.clone();
    let w = World::seed(Arc::new(store)).await;
    let ticker = Ticker::new(&w.app, Arc::new(BusPublisher::new(events, bus)), 100);
    ticker.relay(&|| true).await.unwrap();

    let sdk = autolock_aws::sdk_config().await;
    let arn = aws_sdk_dynamodb::Client::new(&sdk)
        .describe_table()
        .table_name(&policies)
        .send()
        .await
        .unwrap()
        .table
        .unwrap()
        .latest_stream_arn
        .expect("the policies table has a stream");
    let streams = streams_client().await;
    let shards = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .unwrap()
        .stream_description
        .unwrap()
        .shards
        .unwrap_or_default();
    let mut iterators = Vec::new();
    for shard in &shards {
        let it = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard.shard_id().unwrap())
            .shard_iterator_type(ShardIteratorType::Latest)
            .send()
            .await
            .unwrap()
            .shard_iterator
            .unwrap();
        iterators.push(it);
    }

    let filed = std::time::Instant::now();
    w.app
        .requests()
        .file_request(&w.bob, &w.gitlab, "release".parse().unwrap(), d(8))
        .await
        .unwrap();
    let mut records = Vec::new();
    for it in iterators {
        let out = streams
            .get_records()
            .shard_iterator(it)
            .send()
            .await
            .unwrap();
        records.extend(out.records.unwrap_or_default());
    }
    let batch: Vec<Value> = records
        .iter()
        .filter_map(|r| {
            let keys = r.dynamodb()?.keys()?;
            let pk = keys.get("pk")?.as_s().ok()?;
            let sk = keys.get("sk")?.as_s().ok()?;
            (r.event_name() == Some(&OperationType::Insert) && pk == "OUTBOX").then(|| {
                json!({
                    "eventID": r.event_id(),
                    "eventName": "INSERT",
                    "eventSource": "aws:dynamodb",
                    "eventSourceARN": arn,
                    "awsRegion": "us-east-1",
                    "dynamodb": {"Keys": {"pk": {"S": pk}, "sk": {"S": sk}}, "StreamViewType": "KEYS_ONLY"},
                })
            })
        })
        .collect();
    // The commit wrote the request's outbox entry and the lock it recorded on the way, and
    // audit items the filter leaves out.
    assert_eq!(
        batch.len(),
        2,
        "the outbox entries pass the filter: {records:?}"
    );
    assert!(records.len() > batch.len(), "and nothing else does");
    let out = handle_event(
        &ticker,
        &json!({ "Records": batch }),
        d(8),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert_eq!(out, json!({ "published": 2 }));

    let mut created = None;
    for _ in 0..20 {
        created = receive(&sqs, &queue, 1).await.into_iter().find(|m| {
            serde_json::from_str::<Value>(m.body.as_deref().unwrap_or_default())
                .is_ok_and(|e| e["detail-type"] == "request.created")
        });
        if created.is_some() {
            break;
        }
    }
    assert!(created.is_some(), "request.created is on the bus");
    eprintln!(
        "a request filed is on the bus's queue {} ms later (stream read, relay, bus, queue)",
        filed.elapsed().as_millis()
    );
    teardown.run().await;
}

/// DynamoDB Streams where DynamoDB is: `AWS_ENDPOINT_URL_DYNAMODB` (an emulator serves both)
/// unless `AWS_ENDPOINT_URL_DYNAMODB_STREAMS` says otherwise.
async fn streams_client() -> aws_sdk_dynamodbstreams::Client {
    let sdk = autolock_aws::sdk_config().await;
    let mut config = aws_sdk_dynamodbstreams::config::Builder::from(&sdk);
    if std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB_STREAMS").is_none() {
        if let Ok(url) = std::env::var("AWS_ENDPOINT_URL_DYNAMODB") {
            config = config.endpoint_url(url);
        }
    }
    aws_sdk_dynamodbstreams::Client::from_conf(config.build())
}

#[tokio::test]
async fn a_scheduled_run_records_due_locks_and_publishes_access_locked() {
    let scheduled: Value =
        serde_json::from_str(include_str!("../../../../events/sweep-scheduled.json")).unwrap();
    assert_eq!(scheduled["detail-type"], "Scheduled Event");
    let now: autolock_core::Timestamp = scheduled["time"].as_str().unwrap().parse().unwrap();

    let (events, sqs, bus, queue) = bus_with_queue().await;
    let (store, teardown) = autolock_dynamodb::testing::fresh().await;
    let w = World::seed(Arc::new(store)).await;
    let publisher = BusPublisher::new(events.clone(), bus.clone());
    let ticker = autolock_core::service::Ticker::new(&w.app, Arc::new(publisher), 1);
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

    let received = receive(&sqs, &queue, 3).await;
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

/// A bus of its own on the emulator, with a rule sending every autolock event to a queue:
/// (EventBridge client, SQS client, bus name, queue URL).
async fn bus_with_queue() -> (
    aws_sdk_eventbridge::Client,
    aws_sdk_sqs::Client,
    String,
    String,
) {
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

    (events, sqs, bus, queue)
}

/// The messages of `queue`, waiting up to 10 s for `n` of them.
async fn receive(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    n: usize,
) -> Vec<aws_sdk_sqs::types::Message> {
    let mut received = Vec::new();
    for _ in 0..10 {
        let out = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        received.extend(out.messages.unwrap_or_default());
        if received.len() >= n {
            break;
        }
    }
    received
}
