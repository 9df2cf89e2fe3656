//! The notification flow on the local runtime's parts: lock -> request -> approvers emailed per
//! the settings (spool) and the webhook received with the exact body -> approve -> requester
//! emailed; a duplicate relay sends nothing twice.

use std::sync::Arc;
use std::time::Duration;

use autolock_core::notify::Notifier;
use autolock_core::ports::{Clock, ManualClock, Settings};
use autolock_core::request::Verdict;
use autolock_core::values::Role;
use autolock_local::NotifierBus;
use autolock_mail::SpoolSender;
use autolock_tests::webhook::receiver;
use autolock_tests::world::{World, d};
use autolock_webhook::{HttpWebhookSender, verify};

fn spool_files(dir: &std::path::Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn approvers_and_the_webhook_hear_of_a_request_and_the_requester_of_the_outcome() {
    let w = World::seed(Arc::new(autolock_sqlite::SqliteStore::in_memory().unwrap())).await;
    let store = w.store().clone();
    autolock_tests::world::put_settings(
        &store,
        Settings {
            emails_enabled: true,
            email_roles: vec![Role::Admin, Role::AccessReviewer],
        },
    )
    .await;
    let (url, hits) = receiver().await;
    let hook = autolock_tests::world::webhook(&url);
    autolock_tests::world::put_webhook(&store, Some(hook.clone())).await;
    // Carol, an inactive admin, is never emailed.
    let patch = autolock_core::service::UserPatch {
        role: Some(Role::Admin),
        active: Some(false),
        ..Default::default()
    };
    w.app
        .directory()
        .patch_user(&w.admin, &w.carol.id, patch, d(0))
        .await
        .unwrap();

    let dir = std::env::temp_dir().join(format!("autolock-local-mail-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let spool = SpoolSender::new(&dir, "autolock <autolock@acme.example.com>").unwrap();
    let notifier = Notifier::new(
        store.clone(),
        Arc::new(spool),
        Arc::new(HttpWebhookSender::new(true, Duration::from_secs(5))),
        "https://console.acme.example.com",
    );
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(d(8)));
    let relay = NotifierBus::new(notifier.clone(), Arc::clone(&clock));

    // Bob is locked since day 7 and asks.
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
    w.app.sweep().relay(&relay, 100).await.unwrap();
    let mails = spool_files(&dir);
    let to: Vec<&str> = mails
        .iter()
        .map(|m| m.lines().find(|l| l.starts_with("To: ")).unwrap())
        .collect();
    let mut to: Vec<String> = to.into_iter().map(str::to_owned).collect();
    to.sort();
    assert_eq!(
        to,
        ["To: ada@example.com", "To: rita@example.com"],
        "admins and reviewers; not the requester, not the inactive"
    );
    assert!(
        mails
            .iter()
            .all(|m| m.contains("Release 4.2 needs a hotfix")
                && m.contains("text/plain")
                && m.contains("text/html"))
    );
    let unfolded: Vec<String> = mails
        .iter()
        .map(|m| {
            m.replace("=\r\n", "")
                .replace("=\n", "")
                .replace("=3D", "=")
        })
        .collect();
    assert!(
        unfolded.iter().all(|m| m.contains(&format!(
            "https://console.acme.example.com/access-requests?user_id=bob&access_request_id={}",
            filed.request.id
        ))),
        "{unfolded:?}"
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
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        json.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>(),
        [
            "reason",
            "request_id",
            "request_url",
            "requested_at",
            "resource_name",
            "resource_url",
            "type",
            "user_name",
            "user_url",
            "version"
        ]
        .map(String::from),
        "exactly the fields of the design (listed sorted)"
    );

    // The same domain event again (a redelivery) sends nothing.
    let created = autolock_core::events::OutboxEntry {
        id: store
            .deliveries(
                autolock_core::delivery::Channel::Webhook,
                &Default::default(),
            )
            .await
            .unwrap()
            .items[0]
            .event_id
            .clone(),
        at: d(8),
        event: autolock_core::events::DomainEvent::RequestCreated {
            request: filed.request.clone(),
        },
    };
    let again = notifier.handle(&created, d(8)).await.unwrap();
    assert_eq!((again.attempted, again.duplicates), (0, 3));
    assert_eq!(spool_files(&dir).len(), 2);
    // An approval: the requester hears the outcome; approvers are not emailed again.
    w.app
        .requests()
        .resolve(
            &w.reviewer,
            &filed.request.id,
            Verdict::Approve,
            d(8) + chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    w.app.sweep().relay(&relay, 100).await.unwrap();
    let mails = spool_files(&dir);
    assert_eq!(mails.len(), 3);
    let outcome = mails
        .iter()
        .find(|m| m.contains("To: bob@example.com"))
        .expect("the requester is emailed");
    assert!(
        outcome.contains("Subject: Access to Gitlab restored"),
        "{outcome}"
    );
    assert_eq!(
        hits.lock().unwrap().len(),
        1,
        "only a new open request calls the webhook"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn call(
    router: &axum::Router,
    tokens: &autolock_http::Hs256,
    who: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    use tower::ServiceExt;
    let mut b = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header(
            "authorization",
            format!("Bearer {}", tokens.mint_for(&who.parse().unwrap(), 3600)),
        );
    let body = match body {
        Some(v) => {
            b = b.header("content-type", "application/json");
            axum::body::Body::from(v.to_string())
        }
        None => axum::body::Body::empty(),
    };
    let response = router.clone().oneshot(b.body(body).unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn admins_set_the_webhook_see_its_secret_once_send_a_test_and_list_deliveries() {
    let w = World::seed(Arc::new(autolock_sqlite::SqliteStore::in_memory().unwrap())).await;
    let (url, hits) = receiver().await;
    let notifier = Notifier::new(
        w.store().clone(),
        Arc::new(autolock_core::ports::EmailDisabled),
        Arc::new(HttpWebhookSender::new(true, Duration::from_secs(5))),
        "https://console.acme.example.com",
    );
    let tokens = autolock_http::Hs256::new(
        b"test-secret-0123456789-0123456789",
        "autolock",
        "http://127.0.0.1:7300",
    )
    .unwrap();
    let build = |allow_local: bool| {
        let http = autolock_http::HttpConfig {
            public_base_url: "http://127.0.0.1:8080".into(),
            console_base_url: "https://console.acme.example.com".into(),
        };
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(d(8)));
        let app = w
            .app
            .reconfigured(w.app.options().clone().local_webhooks(allow_local));
        autolock_http::router(
            autolock_local::state(
                app,
                clock,
                tokens.clone(),
                autolock_core::values::SigningKeys::parse("block links of the notifications test")
                    .unwrap(),
                http,
            )
            .with_notifier(notifier.clone()),
        )
    };
    let strict = build(false);
    let (status, problem) = call(
        &strict,
        &tokens,
        "ada",
        "PUT",
        "/v1/settings/webhook",
        Some(serde_json::json!({"url": url})),
    )
    .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (400, Some("url")),
        "http is refused unless local targets are allowed"
    );

    let router = build(true);
    let (status, set) = call(
        &router,
        &tokens,
        "ada",
        "PUT",
        "/v1/settings/webhook",
        Some(serde_json::json!({"url": url})),
    )
    .await;
    assert_eq!(status, 200);
    let secret = set["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let (_, shown) = call(&router, &tokens, "ada", "GET", "/v1/settings/webhook", None).await;
    assert_eq!(
        shown,
        serde_json::json!({"url": url}),
        "the secret is shown once"
    );
    let (status, _) = call(
        &router,
        &tokens,
        "rita",
        "PUT",
        "/v1/settings/webhook",
        Some(serde_json::json!({"url": url})),
    )
    .await;
    assert_eq!(status, 403, "admins only");

    let (status, delivery) = call(
        &router,
        &tokens,
        "ada",
        "POST",
        "/v1/settings/webhook/test",
        None,
    )
    .await;
    assert_eq!(
        (
            status,
            delivery["status"].as_str(),
            delivery["attempts"][0]["status"].as_u64()
        ),
        (200, Some("sent"), Some(200))
    );
    let received = hits.lock().unwrap().clone();
    let (headers, body) = &received[0];
    let header = |n: &str| headers[n].to_str().unwrap().to_owned();
    assert!(verify(
        &secret,
        &header("webhook-id"),
        header("webhook-timestamp").parse().unwrap(),
        body,
        &header("webhook-signature")
    ));
    assert!(
        body.contains(r#""reason":"This is a test access request.""#),
        "{body}"
    );

    let (status, list) = call(
        &router,
        &tokens,
        "ada",
        "GET",
        "/v1/webhook-deliveries",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["items"][0]["id"], delivery["id"]);
    assert!(list["items"][0]["attempts"][0]["latency_ms"].is_u64());
    let (status, _) = call(
        &router,
        &tokens,
        "dev",
        "GET",
        "/v1/webhook-deliveries",
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(
        &router,
        &tokens,
        "ada",
        "DELETE",
        "/v1/settings/webhook",
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(&router, &tokens, "ada", "GET", "/v1/settings/webhook", None).await;
    assert_eq!(status, 404);
}
