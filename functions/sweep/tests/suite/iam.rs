//! The sweep function's IAM policy in `infra/template.yaml` allows exactly the AWS operations its
//! code performs, recorded by an interceptor on its clients while it runs a tick that records
//! locks, cancels a request whose last path expired, carries out a refresh left pending and
//! relays the domain events to the bus (marking them delivered); its
//! schedule gives it the input of `events/sweep-tick.json`.

use std::sync::Arc;
use std::time::Duration;

use autolock_aws::testing::{Recorder, assert_policy_is_exact, schedule_inputs, template_resource};
use autolock_core::ports::{Changeset, DirectoryChange, RefreshIntent, RefreshScope};
use autolock_eventbridge::BusPublisher;
use autolock_sweep::handler::handle;
use autolock_tests::world::{World, d};

#[tokio::test]
async fn the_sweep_functions_policy_allows_exactly_what_a_tick_does() {
    let recorder = Recorder::default();
    let sdk = autolock_aws::sdk_config().await;
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let bus = format!("autolock-test-{}", autolock_core::ids::GroupId::generate());
    events.create_event_bus().name(&bus).send().await.unwrap();
    let recorded_events = aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(&sdk)
            .interceptor(recorder.for_service("events", None))
            .build(),
    );
    let (store, teardown) = autolock_dynamodb::testing::fresh_recorded(&recorder).await;
    let w = World::seed(Arc::new(store)).await;
    // Bob asks for gitlab back; the grant then expires on day 9, cancelling the request.
    w.app
        .requests()
        .file_request(&w.bob, &w.gitlab, "release".parse().unwrap(), d(8))
        .await
        .unwrap();
    let grant = w.eng_grant().await.id;
    w.app
        .directory()
        .set_grant_expiry(&w.admin, &grant, Some(d(9)), d(8))
        .await
        .unwrap();
    // Carol's deactivation was committed and its refresh left pending (a process that stopped
    // half-way): the tick carries it out.
    let carol = w.store().user(&w.carol.id).await.unwrap().unwrap();
    w.store()
        .commit(Changeset {
            directory: vec![DirectoryChange::SetUserActive {
                user: carol.id.clone(),
                at: d(8),
                active: false,
                revision: carol.revision,
            }],
            refreshes: vec![RefreshIntent::new(
                RefreshScope::User {
                    user: carol.id.clone(),
                },
                d(8),
            )],
            ..Changeset::default()
        })
        .await
        .unwrap();
    let publisher = BusPublisher::new(recorded_events, bus.clone());
    // With the feed guard on, as `FEED_GUARD` turns it on: the tick reads the feed's record too.
    let app = w.app.reconfigured(w.app.options().clone().feed_guard(Some(
        autolock_core::service::FeedWindow::new(chrono::Duration::hours(6)).unwrap(),
    )));
    let ticker = autolock_core::service::Ticker::new(&app, Arc::new(publisher), 10);

    recorder.start();
    let report = handle(&ticker, d(10), Duration::from_secs(60))
        .await
        .unwrap();
    recorder.stop();
    assert!(
        report.published > 0 && report.cancelled == 1 && report.refreshed == 1,
        "{report:?}"
    );

    assert_policy_is_exact("SweepFunction", &recorder.actions());
    let tick: serde_json::Value =
        serde_json::from_str(include_str!("../../../../events/sweep-tick.json")).unwrap();
    assert_eq!(schedule_inputs("SweepFunction"), [Some(tick)]);
    // The bus: gateways put only "Resource Accessed", and only this function autolock's own.
    let sweep_role = serde_yaml::Value::Tagged(Box::new(serde_yaml::value::TaggedValue {
        tag: serde_yaml::value::Tag::new("GetAtt"),
        value: "SweepFunctionRole.Arn".into(),
    }));
    for (policy, condition, key, value) in [
        (
            "GatewayEventsOnly",
            "StringNotEquals",
            "events:detail-type",
            "Resource Accessed",
        ),
        (
            "AutolockSourceOnlyFromTheSweep",
            "StringEquals",
            "events:source",
            "autolock",
        ),
    ] {
        let statement = &template_resource(policy)["Properties"]["Statement"];
        assert_eq!(statement["Effect"].as_str(), Some("Deny"), "{policy}");
        assert_eq!(
            statement["Action"].as_str(),
            Some("events:PutEvents"),
            "{policy}"
        );
        assert_eq!(
            statement["Condition"][condition][key].as_str(),
            Some(value),
            "{policy}"
        );
        assert_eq!(
            statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"], sweep_role,
            "{policy}"
        );
    }
    // And of "Resource Accessed" events, only the gateways the deployment names.
    let statement =
        &template_resource("OnlyNamedGatewaysPutAccessEvents")["Properties"]["Statement"];
    assert_eq!(statement["Effect"].as_str(), Some("Deny"));
    assert_eq!(statement["Principal"].as_str(), Some("*"));
    assert_eq!(statement["Action"].as_str(), Some("events:PutEvents"));
    assert_eq!(
        statement["Condition"]["StringEquals"]["events:detail-type"].as_str(),
        Some("Resource Accessed")
    );
    let named = serde_yaml::Value::Tagged(Box::new(serde_yaml::value::TaggedValue {
        tag: serde_yaml::value::Tag::new("Ref"),
        value: "GatewayPrincipals".into(),
    }));
    assert_eq!(
        statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"],
        named
    );
    events.delete_event_bus().name(&bus).send().await.unwrap();
    teardown.run().await;
}
