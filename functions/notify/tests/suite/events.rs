//! The notifier function: every sample domain event of `events/` through the handler, and the
//! whole flow on the emulators — domain events published to the emulated bus, read back through
//! an SQS target, fed to the handler; emails sent through the SES emulator and read back; the
//! webhook received by a real local server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use autolock_core::delivery::EmailMessage;
use autolock_core::notify::Notifier;
use autolock_core::ports::Settings;
use autolock_core::ports::{Changeset, RequestWrite};
use autolock_core::ports::{EmailError, EmailSender};
use autolock_core::request::{AccessRequest, RequestStatus, Verdict};
use autolock_core::values::Role;
use autolock_eventbridge::BusPublisher;
use autolock_notify::handler::{HandleError, Outcome, handle};
use autolock_ses::SesSender;
use autolock_tests::world::{World, d};
use autolock_webhook::{HttpWebhookSender, verify};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

#[async_trait::async_trait]
impl EmailSender for Recorder {
    async fn send(&self, email: &EmailMessage) -> Result<(), EmailError> {
        self.0.lock().unwrap().push(email.to.to_string());
        Ok(())
    }
}

#[tokio::test]
async fn every_sample_domain_event_is_handled() {
    let (store, teardown) = autolock_dynamodb::testing::fresh().await;
    let w = World::seed(Arc::new(store)).await;
    let recorder = Arc::new(Recorder::default());
    let notifier = Notifier::new(
        w.store().clone(),
        recorder.clone(),
        Arc::new(HttpWebhookSender::new(false, Duration::from_secs(1))),
        "https://console.acme.example.com",
    );
    let samples = [
        (
            include_str!("../../../../events/notify-access-locked.json"),
            Vec::<&str>::new(),
        ),
        (
            include_str!("../../../../events/notify-access-unlocked.json"),
            vec![],
        ),
        (
            include_str!("../../../../events/notify-request-created.json"),
            vec!["ada@example.com"],
        ),
        (
            include_str!("../../../../events/notify-request-resolved.json"),
            vec!["bob@example.com"],
        ),
        (
            include_str!("../../../../events/notify-policy-changed.json"),
            vec![],
        ),
        (
            include_str!("../../../../events/notify-lock-warning.json"),
            vec!["carol@example.com"],
        ),
        // A silent usage feed: every active admin and DevOps admin.
        (
            include_str!("../../../../events/notify-feed-silent.json"),
            vec!["ada@example.com", "dev@example.com"],
        ),
    ];
    for (sample, to) in samples {
        let envelope: Value = serde_json::from_str(sample).unwrap();
        // The request an event names, as the store holds it when the event goes out: the
        // notifier reads what it says from there, never from the event.
        if let Some(request) = envelope["detail"]["event"]["detail"].get("request") {
            let request: AccessRequest = serde_json::from_value(request.clone()).unwrap();
            let write = if w.store().request(&request.id).await.unwrap().is_some() {
                RequestWrite::Update {
                    request,
                    expected: RequestStatus::Open,
                }
            } else {
                RequestWrite::Create(request)
            };
            let changes = Changeset {
                requests: vec![write],
                ..Changeset::default()
            };
            w.store().commit(changes).await.unwrap();
        }
        let Outcome::Event { event, .. } = handle(&notifier, &envelope, d(9)).await.unwrap() else {
            panic!("an event")
        };
        assert_eq!(Some(event), envelope["detail-type"].as_str());
        assert_eq!(
            std::mem::take(&mut *recorder.0.lock().unwrap()),
            to,
            "{event}"
        );
        // Redelivered by the bus: nothing twice.
        handle(&notifier, &envelope, d(9)).await.unwrap();
        assert!(recorder.0.lock().unwrap().is_empty(), "{event} sent twice");
    }
    // An event naming a request the store does not hold sends nothing, whatever it says.
    let mut forged: Value = serde_json::from_str(include_str!(
        "../../../../events/notify-request-created.json"
    ))
    .unwrap();
    forged["detail"]["id"] = "forged-outbox-entry".into();
    forged["detail"]["event"]["detail"]["request"]["id"] = "forged".into();
    handle(&notifier, &forged, d(9)).await.unwrap();
    assert!(
        recorder.0.lock().unwrap().is_empty(),
        "a forged event sent mail"
    );
    // The retry schedule's input (the template's), and a classic scheduled event.
    for tick in [
        include_str!("../../../../events/notify-retry-deliveries.json"),
        include_str!("../../../../events/sweep-scheduled.json"),
    ] {
        let tick: Value = serde_json::from_str(tick).unwrap();
        assert!(matches!(
            handle(&notifier, &tick, d(9)).await.unwrap(),
            Outcome::Retries { attempted: 0 }
        ));
    }
    let foreign: Value = serde_json::from_str(include_str!(
        "../../../../events/ingest-resource-accessed.json"
    ))
    .unwrap();
    assert!(matches!(
        handle(&notifier, &foreign, d(9)).await,
        Err(HandleError::Malformed(_))
    ));
    teardown.run().await;
}

async fn moto_ses_messages(endpoint: &str) -> Vec<Value> {
    let authority = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    stream
        .write_all(
            format!("GET /moto-api/ses.json HTTP/1.0\r\nHost: {authority}\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let state: Value = serde_json::from_str(response.split_once("\r\n\r\n").unwrap().1).unwrap();
    state["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn lock_request_approvers_and_webhook_approve_requester_on_the_emulators() {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").expect("run scripts/test: it starts the emulators");
    let sdk = autolock_aws::sdk_config().await;
    let suffix = autolock_core::ids::GroupId::generate();

    // The bus with a rule that copies autolock's events to a queue.
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let bus = format!("autolock-test-{suffix}");
    events.create_event_bus().name(&bus).send().await.unwrap();
    let queue = sqs
        .create_queue()
        .queue_name(format!("autolock-notify-{suffix}"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn_attr = aws_sdk_sqs::types::QueueAttributeName::QueueArn;
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(arn_attr.clone())
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&arn_attr]
        .clone();
    events
        .put_rule()
        .name("to-notify")
        .event_bus_name(&bus)
        .event_pattern(r#"{"source": ["autolock"]}"#)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("to-notify")
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("q")
                .arn(arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    // SES: a verified sender domain. The webhook: a real local server.
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    let domain = format!("{suffix}.acme.example.com");
    ses.create_email_identity()
        .email_identity(&domain)
        .send()
        .await
        .unwrap();
    let (hook_url, hits) = autolock_tests::webhook::receiver().await;

    let (store, teardown) = autolock_dynamodb::testing::fresh().await;
    let w = World::seed(Arc::new(store)).await;
    autolock_tests::world::put_settings(
        w.store(),
        Settings {
            emails_enabled: true,
            email_roles: vec![Role::AccessReviewer],
        },
    )
    .await;
    let hook = autolock_tests::world::webhook(&hook_url);
    autolock_tests::world::put_webhook(w.store(), Some(hook.clone())).await;
    let notifier = Notifier::new(
        w.store().clone(),
        Arc::new(SesSender::new(ses.clone(), format!("autolock@{domain}"))),
        Arc::new(HttpWebhookSender::new(true, Duration::from_secs(5))),
        "https://console.acme.example.com",
    );
    let publisher = BusPublisher::new(events.clone(), bus.clone());

    async fn drain(sqs: &aws_sdk_sqs::Client, queue: &str, notifier: &Notifier) -> Vec<String> {
        let mut names = Vec::new();
        for _ in 0..5 {
            let out = sqs
                .receive_message()
                .queue_url(queue)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() && !names.is_empty() {
                break;
            }
            for m in messages {
                let envelope: Value = serde_json::from_str(m.body.as_deref().unwrap()).unwrap();
                if let Outcome::Event { event, .. } =
                    handle(notifier, &envelope, d(8)).await.unwrap()
                {
                    names.push(event.to_owned());
                }
                // A redelivery of the same message changes nothing.
                handle(notifier, &envelope, d(8)).await.unwrap();
                sqs.delete_message()
                    .queue_url(queue)
                    .receipt_handle(m.receipt_handle.unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
        names
    }

    // Bob, locked since day 7, asks; the sweep relays the outbox to the bus.
    let filed = w
        .app
        .requests()
        .file_request(
            &w.bob,
            &w.gitlab,
            "Release 4.2 needs a hotfix".parse().unwrap(),
            d(8),
        )
        .await
        .unwrap();
    w.app.sweep().relay(&publisher, 100).await.unwrap();
    let seen = drain(&sqs, &queue, &notifier).await;
    assert!(seen.contains(&"request.created".to_owned()), "{seen:?}");
    let mine = |messages: Vec<Value>| -> Vec<(String, String)> {
        messages
            .into_iter()
            .filter(|m| m["source"].as_str().is_some_and(|s| s.ends_with(&domain)))
            .map(|m| {
                (
                    m["destinations"]["ToAddresses"][0]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    m["subject"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    let sent = mine(moto_ses_messages(&endpoint).await);
    assert_eq!(
        sent,
        [(
            "rita@example.com".to_owned(),
            "Access request: Bob Member asks to regain Gitlab".to_owned()
        )],
        "the reviewer only, once"
    );
    let received = hits.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let (headers, body) = &received[0];
    let header = |n: &str| headers[n].to_str().unwrap().to_owned();
    assert!(verify(
        hook.secret.reveal(),
        &header("webhook-id"),
        header("webhook-timestamp").parse().unwrap(),
        body,
        &header("webhook-signature")
    ));
    let json: Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["request_id"], filed.request.id.as_str());
    assert_eq!(json["requested_at"], "2026-01-09T00:00:00.000000+00:00");

    // Rita approves; Bob hears it.
    w.app
        .requests()
        .resolve(&w.reviewer, &filed.request.id, Verdict::Approve, d(8))
        .await
        .unwrap();
    w.app.sweep().relay(&publisher, 100).await.unwrap();
    drain(&sqs, &queue, &notifier).await;
    let sent = mine(moto_ses_messages(&endpoint).await);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(
        sent[1],
        (
            "bob@example.com".to_owned(),
            "Access to Gitlab restored".to_owned()
        )
    );
    assert_eq!(
        hits.lock().unwrap().len(),
        1,
        "only new requests call the webhook"
    );
    teardown.run().await;
}

#[tokio::test]
async fn the_notifier_posts_a_request_to_slack_and_updates_it_with_the_outcome() {
    let (store, teardown) = autolock_dynamodb::testing::fresh().await;
    let w = World::seed(Arc::new(store)).await;
    let fake = autolock_tests::slack::FakeSlack::start(&[]).await;
    w.app
        .settings()
        .set_slack(
            &w.admin,
            autolock_core::service::SlackInput {
                channel: "C0APPROVALS".into(),
                enabled: true,
                bot_token: Some("xoxb-a-token-in-the-settings".into()),
                signing_secret: None,
            },
            d(9),
        )
        .await
        .unwrap();
    let slack = autolock_slack::SlackChannel::new(
        w.store().clone(),
        autolock_slack::SlackConfig {
            api_url: fake.url.clone(),
            bot_token: None,
            signing_secret: None,
        },
        "https://console.acme.example.com",
    );
    let notifier = Notifier::new(
        w.store().clone(),
        Arc::new(Recorder::default()),
        Arc::new(HttpWebhookSender::new(false, Duration::from_secs(1))),
        "https://console.acme.example.com",
    )
    .with_channel(Arc::new(slack));
    for (sample, expected) in [
        (
            include_str!("../../../../events/notify-request-created.json"),
            "chat.postMessage",
        ),
        (
            include_str!("../../../../events/notify-request-resolved.json"),
            "chat.update",
        ),
    ] {
        let envelope: Value = serde_json::from_str(sample).unwrap();
        let request: AccessRequest =
            serde_json::from_value(envelope["detail"]["event"]["detail"]["request"].clone())
                .unwrap();
        let write = if w.store().request(&request.id).await.unwrap().is_some() {
            RequestWrite::Update {
                request,
                expected: RequestStatus::Open,
            }
        } else {
            RequestWrite::Create(request)
        };
        w.store()
            .commit(Changeset {
                requests: vec![write],
                ..Changeset::default()
            })
            .await
            .unwrap();
        handle(&notifier, &envelope, d(9)).await.unwrap();
        let calls = fake.calls();
        let last = calls.last().expect("Slack was called");
        assert_eq!(last.method, expected, "{calls:?}");
        assert_eq!(last.token, "xoxb-a-token-in-the-settings");
    }
    let update = &fake.calls_of("chat.update")[0];
    assert_eq!(update.args["channel"], "C0APPROVALS");
    assert_eq!(update.args["ts"], "1767225600.000001", "the message posted");
    teardown.run().await;
}
