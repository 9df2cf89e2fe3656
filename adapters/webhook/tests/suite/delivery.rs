//! Webhook deliveries end to end: the notifier over the SQLite store, this sender, and a real
//! local HTTP server that checks the signature and the exact body and answers as told.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use autolock_core::delivery::{Channel, DeliveryStatus, EmailMessage, WebhookSettings};
use autolock_core::notify::Notifier;
use autolock_core::ports::PageRequest;
use autolock_core::ports::{EmailError, EmailSender};
use autolock_tests::world::{World, d};
use autolock_webhook::{HttpWebhookSender, verify};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

#[derive(Default)]
struct Received {
    hits: Vec<(String, HeaderMap, String)>,
}

type Shared = Arc<Mutex<Received>>;

async fn receive(
    State(seen): State<Shared>,
    Path(mode): Path<String>,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    let flaky_hits = {
        let mut seen = seen.lock().unwrap();
        seen.hits.push((mode.clone(), headers, body));
        seen.hits.iter().filter(|(m, _, _)| m == "flaky").count()
    };
    match mode.as_str() {
        "flaky" if flaky_hits == 1 => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        "ok" => StatusCode::NO_CONTENT.into_response(),
        "fail" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "gone" => StatusCode::GONE.into_response(),
        "busy" => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "120")]).into_response(),
        "moved" => (StatusCode::FOUND, [("location", "/hook/redirected")]).into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            StatusCode::OK.into_response()
        }
        _ => StatusCode::OK.into_response(),
    }
}

async fn server() -> (String, Shared) {
    let seen: Shared = Arc::default();
    let app = axum::Router::new()
        .route("/hook/{mode}", axum::routing::post(receive))
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

struct NoEmail;

#[async_trait::async_trait]
impl EmailSender for NoEmail {
    async fn send(&self, _: &EmailMessage) -> Result<(), EmailError> {
        Ok(())
    }
}

async fn setup(
    mode: &str,
) -> (
    World,
    Notifier,
    WebhookSettings,
    Shared,
    autolock_core::events::OutboxEntry,
) {
    let (base, seen) = server().await;
    let w = World::seed(Arc::new(autolock_sqlite::SqliteStore::in_memory().unwrap())).await;
    let hook = autolock_tests::world::webhook(&format!("{base}/hook/{mode}"));
    autolock_tests::world::put_webhook(w.store(), Some(hook.clone())).await;
    let mut settings = w.store().settings().await.unwrap();
    settings.emails_enabled = false;
    autolock_tests::world::put_settings(w.store(), settings.clone()).await;
    let sender = HttpWebhookSender::new(true, Duration::from_secs(1));
    let notifier = Notifier::new(
        w.store().clone(),
        Arc::new(NoEmail),
        Arc::new(sender),
        "https://acme.example.com",
    );
    w.app
        .requests()
        .file_request(
            &w.bob,
            &w.gitlab,
            "Release 4.2 needs a hotfix".parse().unwrap(),
            d(8),
        )
        .await
        .unwrap();
    let created = w
        .store()
        .pending(100)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.event.name() == "request.created")
        .unwrap();
    (w, notifier, hook, seen, created)
}

#[tokio::test]
async fn a_new_request_is_posted_once_signed_with_the_exact_body() {
    let (w, notifier, hook, seen, created) = setup("ok").await;
    let handled = notifier.handle(&created, d(8)).await.unwrap();
    assert_eq!((handled.attempted, handled.sent), (1, 1));
    let again = notifier.handle(&created, d(8)).await.unwrap();
    assert_eq!(
        (again.attempted, again.duplicates),
        (0, 1),
        "a duplicate domain event sends nothing"
    );

    let hits = seen.lock().unwrap().hits.clone();
    assert_eq!(hits.len(), 1);
    let (_, headers, body) = &hits[0];
    let id = headers["webhook-id"].to_str().unwrap();
    let ts: u64 = headers["webhook-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        now.abs_diff(ts) < 60,
        "the timestamp is real time, not the seeded clock"
    );
    assert!(
        verify(
            hook.secret.reveal(),
            id,
            ts,
            body,
            headers["webhook-signature"].to_str().unwrap()
        ),
        "the signature verifies"
    );
    let request = w
        .store()
        .open_requests(&Default::default(), &PageRequest::default())
        .await
        .unwrap()
        .items
        .remove(0);
    let expected = format!(
        r#"{{"version":"1","type":"ACCESS_REQUEST","request_id":"{r}","request_url":"https://acme.example.com/access-requests?user_id=bob&access_request_id={r}","user_name":"Bob Member","user_url":"https://acme.example.com/users/bob","resource_name":"Gitlab","resource_url":"https://acme.example.com/resources/gitlab","requested_at":"2026-01-09T00:00:00.000000+00:00","reason":"Release 4.2 needs a hotfix"}}"#,
        r = request.id
    );
    assert_eq!(body, &expected);
    let deliveries = w
        .store()
        .deliveries(Channel::Webhook, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(deliveries.items[0].status, DeliveryStatus::Sent);
    assert_eq!(deliveries.items[0].attempts[0].status, Some(204));
}

#[tokio::test]
async fn a_500_is_retried_with_the_same_id_and_every_attempt_recorded() {
    let (w, notifier, _, seen, created) = setup("fail").await;
    notifier.handle(&created, d(8)).await.unwrap();
    let delivery = w
        .store()
        .deliveries(Channel::Webhook, &PageRequest::default())
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(delivery.status, DeliveryStatus::Pending);
    let next = delivery.next_attempt_at.unwrap();
    assert!(
        next > d(8) && next <= d(8) + chrono::Duration::seconds(72),
        "retried after about a minute: {next}"
    );
    assert_eq!(
        notifier.retry_due(d(8), 10).await.unwrap(),
        0,
        "not due yet"
    );
    // The receiver keeps failing: three more attempts when due, each recorded.
    for _ in 0..3 {
        let due = w
            .store()
            .delivery(&delivery.id)
            .await
            .unwrap()
            .unwrap()
            .next_attempt_at
            .unwrap();
        assert_eq!(notifier.retry_due(due, 10).await.unwrap(), 1);
    }
    let after = w.store().delivery(&delivery.id).await.unwrap().unwrap();
    assert_eq!(after.attempts.len(), 4);
    assert!(after.attempts.iter().all(|a| a.status == Some(500)));
    let ids: Vec<String> = seen
        .lock()
        .unwrap()
        .hits
        .iter()
        .map(|(_, h, _)| h["webhook-id"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 4);
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "one webhook-id on every retry"
    );
}

#[tokio::test]
async fn a_failed_delivery_is_retried_and_delivered_later() {
    let (w, notifier, _, seen, created) = setup("flaky").await;
    notifier.handle(&created, d(8)).await.unwrap();
    let id = w
        .store()
        .deliveries(Channel::Webhook, &PageRequest::default())
        .await
        .unwrap()
        .items
        .remove(0)
        .id;
    let first = w.store().delivery(&id).await.unwrap().unwrap();
    assert_eq!(
        (first.status, first.attempts[0].status),
        (DeliveryStatus::Pending, Some(503))
    );
    assert_eq!(
        notifier
            .retry_due(first.next_attempt_at.unwrap(), 10)
            .await
            .unwrap(),
        1
    );
    let delivered = w.store().delivery(&id).await.unwrap().unwrap();
    assert_eq!(delivered.status, DeliveryStatus::Sent);
    assert_eq!(
        delivered
            .attempts
            .iter()
            .map(|a| a.status)
            .collect::<Vec<_>>(),
        [Some(503), Some(200)]
    );
    assert_eq!(seen.lock().unwrap().hits.len(), 2);
    assert_eq!(
        notifier.retry_due(d(30), 10).await.unwrap(),
        0,
        "nothing left to retry"
    );
}

#[tokio::test]
async fn retries_stop_after_eight_attempts() {
    let (w, notifier, _, _, created) = setup("fail").await;
    notifier.handle(&created, d(8)).await.unwrap();
    let id = w
        .store()
        .deliveries(Channel::Webhook, &PageRequest::default())
        .await
        .unwrap()
        .items
        .remove(0)
        .id;
    let mut at = d(8);
    while let Some(next) = w
        .store()
        .delivery(&id)
        .await
        .unwrap()
        .unwrap()
        .next_attempt_at
    {
        at = next;
        notifier.retry_due(at, 10).await.unwrap();
    }
    let delivery = w.store().delivery(&id).await.unwrap().unwrap();
    assert_eq!(
        (delivery.status, delivery.attempts.len()),
        (DeliveryStatus::Failed, 8)
    );
    assert!(
        at - d(8) > chrono::Duration::hours(17) && at - d(8) < chrono::Duration::hours(27),
        "about a day of retries: {}",
        at - d(8)
    );
}

#[tokio::test]
async fn a_410_is_final_a_302_is_not_followed_a_429_honours_retry_after_a_timeout_is_retried() {
    for (mode, status, expect, min_pause) in [
        ("gone", Some(410), DeliveryStatus::Failed, None),
        ("moved", Some(302), DeliveryStatus::Pending, Some(48)),
        ("busy", Some(429), DeliveryStatus::Pending, Some(120)),
        ("slow", None, DeliveryStatus::Pending, Some(48)),
    ] {
        let (w, notifier, _, seen, created) = setup(mode).await;
        notifier.handle(&created, d(8)).await.unwrap();
        let delivery = w
            .store()
            .deliveries(Channel::Webhook, &PageRequest::default())
            .await
            .unwrap()
            .items
            .remove(0);
        assert_eq!(
            (delivery.status, delivery.attempts[0].status),
            (expect, status),
            "{mode}"
        );
        if let Some(min) = min_pause {
            assert!(
                delivery.next_attempt_at.unwrap() - d(8) >= chrono::Duration::seconds(min),
                "{mode}"
            );
        }
        if mode == "slow" {
            assert!(
                delivery.attempts[0]
                    .error
                    .as_deref()
                    .unwrap()
                    .contains("no answer"),
                "{:?}",
                delivery.attempts[0].error
            );
        }
        let modes: Vec<String> = seen
            .lock()
            .unwrap()
            .hits
            .iter()
            .map(|(m, _, _)| m.clone())
            .collect();
        assert!(
            !modes.contains(&"redirected".to_owned()),
            "redirects are never followed"
        );
    }
}

#[tokio::test]
async fn local_and_plain_http_targets_are_refused_unless_allowed() {
    let strict = HttpWebhookSender::new(false, Duration::from_secs(1));
    let refused = autolock_core::ports::WebhookSender::send(
        &strict,
        &autolock_tests::world::webhook("http://hooks.example.com/x"),
        &autolock_core::delivery::WebhookMessage {
            id: "msg_0".into(),
            body: "{}".into(),
        },
    )
    .await;
    assert!(refused.error.as_deref().unwrap().contains("https"));
    let (base, seen) = server().await;
    let port = base.rsplit(':').next().unwrap();
    for target in [
        format!("https://127.0.0.1:{port}/hook/ok"),
        format!("https://localhost:{port}/hook/ok"),
    ] {
        let hook = autolock_tests::world::webhook(&target.clone());
        let message = autolock_core::delivery::WebhookMessage {
            id: "msg_1".into(),
            body: "{}".into(),
        };
        let r = autolock_core::ports::WebhookSender::send(&strict, &hook, &message).await;
        assert_eq!(r.status, None, "{target}");
        assert!(
            r.error.as_deref().unwrap().contains("may not reach"),
            "{target}: {:?}",
            r.error
        );
    }
    assert!(
        seen.lock().unwrap().hits.is_empty(),
        "nothing reached the local server"
    );
}

#[tokio::test]
async fn allowing_local_targets_admits_http_and_loopback_and_nothing_more() {
    let local = HttpWebhookSender::new(true, Duration::from_secs(2));
    // Address literals are checked before anything is dialled, in both modes: these never
    // leave the machine.
    for mode in [false, true] {
        let sender = HttpWebhookSender::new(mode, Duration::from_secs(1));
        for forbidden in [
            "https://10.0.0.1/x",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/x",
            "https://198.18.0.1/x",
            "https://[64:ff9b::a9fe:a9fe]/x",
            "https://[2002:a9fe:a9fe::1]/x",
            "https://[::a9fe:a9fe]/x",
            "https://[fd00:ec2::254]/x",
            "https://[::ffff:192.168.0.1]/x",
        ] {
            let message = autolock_core::delivery::WebhookMessage {
                id: "msg_0".into(),
                body: "{}".into(),
            };
            let hook = autolock_tests::world::webhook(forbidden);
            let r = autolock_core::ports::WebhookSender::send(&sender, &hook, &message).await;
            let e = r.error.unwrap_or_default();
            assert!(
                e.contains("may not reach") && r.status.is_none(),
                "{forbidden} (local {mode}): {e}"
            );
        }
    }
    // A name that resolves to loopback, over http: delivered where local targets are allowed.
    let (base, seen) = server().await;
    let port = base.rsplit(':').next().unwrap();
    let hook = autolock_tests::world::webhook(&format!("http://localhost:{port}/hook/ok"));
    let message = autolock_core::delivery::WebhookMessage {
        id: "msg_local".into(),
        body: "{}".into(),
    };
    let r = autolock_core::ports::WebhookSender::send(&local, &hook, &message).await;
    assert_eq!(r.status, Some(204), "{:?}", r.error);
    assert_eq!(seen.lock().unwrap().hits.len(), 1);
}

#[tokio::test]
async fn an_endless_answer_is_read_no_further_than_its_cap() {
    use axum::body::Body;
    let endless = axum::Router::new().route(
        "/hook",
        axum::routing::post(|| async {
            let chunk = axum::body::Bytes::from(vec![b'x'; 16 * 1024]);
            let stream =
                futures_util::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
            Body::from_stream(stream)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, endless).await.unwrap() });
    let sender = HttpWebhookSender::new(true, Duration::from_secs(5));
    let hook = autolock_tests::world::webhook(&format!("http://{addr}/hook"));
    let message = autolock_core::delivery::WebhookMessage {
        id: "msg_endless".into(),
        body: "{}".into(),
    };
    let r = autolock_core::ports::WebhookSender::send(&sender, &hook, &message).await;
    assert_eq!(r.status, Some(200));
    assert!(
        r.latency_ms < 700,
        "the answer was read past its cap: {} ms",
        r.latency_ms
    );
}
