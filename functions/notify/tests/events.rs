//! The sample domain events of `events/` through the notifier handler.

use autolock_notify::handler::{HandleError, LogOnly, handle};
use serde_json::Value;

#[tokio::test]
async fn every_domain_event_sample_is_handled_and_foreign_events_are_refused() {
    let sender = LogOnly::default();
    let samples = [
        include_str!("../../../events/notify-access-locked.json"),
        include_str!("../../../events/notify-access-unlocked.json"),
        include_str!("../../../events/notify-request-created.json"),
        include_str!("../../../events/notify-request-resolved.json"),
        include_str!("../../../events/notify-policy-changed.json"),
        include_str!("../../../events/notify-lock-warning.json"),
    ];
    for sample in samples {
        let envelope: Value = serde_json::from_str(sample).unwrap();
        let name = handle(&sender, &envelope).await.unwrap();
        assert_eq!(Some(name), envelope["detail-type"].as_str());
    }
    assert_eq!(
        sender.seen(),
        [
            "access.locked",
            "access.unlocked",
            "request.created",
            "request.resolved",
            "policy.changed",
            "lock.warning"
        ]
    );
    let foreign: Value = serde_json::from_str(include_str!(
        "../../../events/ingest-resource-accessed.json"
    ))
    .unwrap();
    assert!(matches!(
        handle(&sender, &foreign).await,
        Err(HandleError::Malformed(_))
    ));
    assert_eq!(sender.seen().len(), 6, "nothing sent for a foreign event");
}
