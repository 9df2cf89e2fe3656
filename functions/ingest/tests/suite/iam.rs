//! The ingestion function's IAM policy in `infra/template.yaml` allows exactly the AWS operations
//! its code performs, recorded by an interceptor on its clients while it handles an access, a
//! replay, an access reported too late, one that proves a recorded lock wrong (cancelling the
//! request filed on it) and a malformed event (parked in the dead-letter queue).

use std::sync::Arc;

use autolock_aws::testing::{Recorder, assert_policy_is_exact};
use autolock_ingest::handler::handle_or_park;
use autolock_tests::world::{World, d};
use serde_json::Value;

fn access(id: &str, user: &str, at: autolock_core::Timestamp) -> Value {
    let mut e: Value = serde_json::from_str(include_str!(
        "../../../../events/ingest-resource-accessed.json"
    ))
    .unwrap();
    e["detail"]["event_id"] = id.into();
    e["detail"]["user_id"] = user.into();
    e["detail"]["accessed_at"] = at.to_rfc3339().into();
    e
}

#[tokio::test]
async fn the_ingestion_functions_policy_allows_exactly_what_it_does() {
    let recorder = Recorder::default();
    let sdk = autolock_aws::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = sqs
        .create_queue()
        .queue_name(format!(
            "autolock-test-dlq-{}",
            autolock_core::ids::GroupId::generate()
        ))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let recorded_sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&sdk)
            .interceptor(recorder.for_service("sqs", None))
            .build(),
    );
    let (store, teardown) = autolock_dynamodb::testing::fresh_recorded(&recorder).await;
    let w = World::seed(Arc::new(store)).await;
    // Carol's lock at day 7 is recorded, and she asks for gitlab back.
    let now = d(7) + chrono::Duration::hours(2);
    w.app.sweep().sweep(now, 100).await.unwrap();
    w.app
        .requests()
        .file_request(&w.carol, &w.gitlab, "release".parse().unwrap(), now)
        .await
        .unwrap();
    let minute = chrono::Duration::minutes(1);
    let events = [
        access("e1", "bob", d(7) - minute * 2),
        access("e1", "bob", d(7) - minute * 2),
        access("e2", "bob", d(5)),
        // Carol used gitlab a minute before her lock: the lock was wrong.
        access("e3", "carol", d(7) - minute),
        serde_json::from_str(include_str!(
            "../../../../events/ingest-resource-accessed-malformed.json"
        ))
        .unwrap(),
    ];

    // With the feed guard on, as `FEED_GUARD` turns it on: each arrival is recorded too.
    let app = w.app.reconfigured(w.app.options().clone().feed_guard(Some(
        autolock_core::service::FeedWindow::new(chrono::Duration::hours(6)).unwrap(),
    )));
    recorder.start();
    let mut outcomes = Vec::new();
    for e in &events {
        let r = handle_or_park(&app, &recorded_sqs, &queue, e, now).await;
        outcomes.push(r.map(|v| v["outcome"].as_str().unwrap_or_default().to_owned()));
    }
    recorder.stop();
    let outcomes: Vec<String> = outcomes
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| format!("error: {e}")))
        .collect();
    assert_eq!(
        outcomes[..4],
        ["counted", "duplicate", "late_ignored", "counted"]
    );
    let carol = w
        .app
        .rights()
        .right(&w.admin, &w.carol.id, &w.gitlab, now)
        .await
        .unwrap();
    assert!(
        carol.open_request.is_none(),
        "the request on a wrong lock is cancelled"
    );

    assert_policy_is_exact("IngestFunction", &recorder.actions());
    sqs.delete_queue().queue_url(&queue).send().await.unwrap();
    teardown.run().await;
}
