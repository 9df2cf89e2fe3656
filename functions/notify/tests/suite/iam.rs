//! The notifier function's IAM policy in `infra/template.yaml` allows exactly the AWS operations
//! its code performs, recorded by an interceptor on its clients while it handles a new request
//! (approvers emailed, a webhook that fails), its resolution (the requester emailed) and the
//! retry schedule's tick (the webhook tried again) and a console sign-in (a link made and
//! emailed); that schedule gives it the input of `events/notify-retry-deliveries.json`.

use std::sync::Arc;
use std::time::Duration;

use autolock_aws::testing::{Recorder, assert_policy_is_exact, schedule_inputs};
use autolock_core::notify::Notifier;
use autolock_core::ports::Settings;
use autolock_core::request::Verdict;
use autolock_core::values::Role;
use autolock_notify::handler::{Outcome, handle};
use autolock_ses::SesSender;
use autolock_tests::world::{World, d};
use autolock_webhook::HttpWebhookSender;
use serde_json::{Value, json};

/// The bus's envelopes of the domain events pending in the outbox (as the relay puts them).
async fn envelopes(w: &World) -> Vec<Value> {
    let pending = w.store().pending(100).await.unwrap();
    w.store().mark_delivered(&pending).await.unwrap();
    pending
        .into_iter()
        .map(|e| json!({"source": "autolock", "detail-type": e.event.name(), "detail": e}))
        .collect()
}

#[tokio::test]
async fn the_notifier_functions_policy_allows_exactly_what_it_does() {
    let recorder = Recorder::default();
    let sdk = autolock_aws::sdk_config().await;
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    let domain = format!(
        "{}.acme.example.com",
        autolock_core::ids::GroupId::generate()
    );
    ses.create_email_identity()
        .email_identity(&domain)
        .send()
        .await
        .unwrap();
    let recorded_ses = aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(&sdk)
            .interceptor(recorder.for_service("ses", None))
            .build(),
    );
    let (store, teardown) = autolock_dynamodb::testing::fresh_recorded(&recorder).await;
    let w = World::seed(Arc::new(store)).await;
    autolock_tests::world::put_settings(
        w.store(),
        Settings {
            emails_enabled: true,
            email_roles: vec![Role::AccessReviewer],
        },
    )
    .await;
    // A webhook nobody answers (a closed port on this machine): its delivery fails, and waits.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    autolock_tests::world::put_webhook(w.store(), Some(autolock_tests::world::webhook(&dead)))
        .await;
    let notifier = Notifier::new(
        w.store().clone(),
        Arc::new(SesSender::new(recorded_ses, format!("autolock@{domain}"))),
        Arc::new(HttpWebhookSender::new(true, Duration::from_secs(2))),
        "https://console.acme.example.com",
    );
    let filed = w
        .app
        .requests()
        .file_request(&w.bob, &w.gitlab, "hotfix".parse().unwrap(), d(8))
        .await
        .unwrap();
    let tick: Value = serde_json::from_str(include_str!(
        "../../../../events/notify-retry-deliveries.json"
    ))
    .unwrap();

    let created = envelopes(&w).await;
    // Slack's bot token is read at cold start, from a parameter that may not exist.
    let recorded_ssm = aws_sdk_ssm::Client::from_conf(
        aws_sdk_ssm::config::Builder::from(&sdk)
            .interceptor(recorder.for_service("ssm", None))
            .build(),
    );
    let slack_parameters = autolock_aws::SlackParameters {
        api_url: "http://127.0.0.1:9/api".into(),
        bot_token_parameter: format!("/autolock/{domain}/slack-bot-token"),
        signing_secret_parameter: format!("/autolock/{domain}/slack-signing-secret"),
    };
    recorder.start();
    let slack = autolock_notify::config::slack(&recorded_ssm, &slack_parameters)
        .await
        .unwrap();
    assert!(
        slack.bot_token.is_none(),
        "no parameter: the settings' token"
    );
    for envelope in &created {
        handle(&notifier, envelope, d(8)).await.unwrap();
    }
    recorder.stop();
    w.app
        .requests()
        .resolve(&w.reviewer, &filed.request.id, Verdict::Approve, d(8))
        .await
        .unwrap();
    let resolved = envelopes(&w).await;
    recorder.start();
    for envelope in &resolved {
        handle(&notifier, envelope, d(8)).await.unwrap();
    }
    let retried = handle(&notifier, &tick, d(9)).await.unwrap();
    // A sign-in asked for on the console: the link is made and emailed here.
    let sign_in: Value = serde_json::from_str(include_str!(
        "../../../../events/notify-signin-requested.json"
    ))
    .unwrap();
    let signed = handle(&notifier, &sign_in, d(9)).await.unwrap();
    recorder.stop();
    assert!(
        matches!(&signed, Outcome::Event { handled, .. } if handled.sent == 1),
        "{signed:?}"
    );
    assert!(
        matches!(retried, Outcome::Retries { attempted } if attempted >= 1),
        "{retried:?}"
    );

    assert_policy_is_exact("NotifyFunction", &recorder.actions());
    assert_eq!(schedule_inputs("NotifyFunction"), [Some(tick)]);
    teardown.run().await;
}
