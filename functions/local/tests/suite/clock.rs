//! The manual clock drives the tick: moving it records the locks due, relays the outbox and
//! sends the notifications due at the new instant before the answer returns.

use std::sync::Arc;
use std::time::Duration;

use autolock_core::ids::PrincipalId;
use autolock_core::notify::Notifier;
use autolock_core::ports::{Clock, ManualClock};
use autolock_http::{Hs256, HttpConfig};
use autolock_tests::webhook::receiver;
use autolock_tests::world::{World, h};
use autolock_webhook::HttpWebhookSender;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

async fn call(
    router: &axum::Router,
    tokens: &Hs256,
    who: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let token = tokens.mint_for(&PrincipalId::parse(who).unwrap(), 3600);
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    let body = match body {
        Some(v) => {
            b = b.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let response = router.clone().oneshot(b.body(body).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn moving_the_manual_clock_records_locks_and_sends_notifications_before_answering() {
    let w = World::seed(Arc::new(autolock_sqlite::SqliteStore::in_memory().unwrap())).await;
    let store = w.store().clone();
    let (url, hits) = receiver().await;
    autolock_tests::world::put_webhook(&store, Some(autolock_tests::world::webhook(&url))).await;
    let clock = Arc::new(ManualClock::new(h(1)));
    let notifier = Notifier::new(
        store.clone(),
        Arc::new(autolock_core::ports::EmailDisabled),
        Arc::new(HttpWebhookSender::new(true, Duration::from_secs(5))),
        "https://console.test",
    );
    let tokens = Hs256::new(
        b"test-secret-0123456789-0123456789",
        "autolock",
        "http://127.0.0.1:7300",
    )
    .unwrap();
    let (router, _ticker) = autolock_local::wire(autolock_local::Parts {
        app: w.app.clone(),
        clock: Arc::clone(&clock) as Arc<dyn Clock>,
        notifier,
        tokens: tokens.clone(),
        link_keys: autolock_core::values::SigningKeys::parse(
            "a block-link key of 32 bytes or more",
        )
        .unwrap(),
        session_keys: autolock_core::values::SigningKeys::parse(
            "a-session-key-of-32-bytes-or-more",
        )
        .unwrap(),
        http: HttpConfig {
            public_base_url: "http://127.0.0.1:7300".into(),
            console_base_url: "https://console.test".into(),
        },
        slack: None,
    });

    // Eight days on: bob and carol (7 days idle) lock at day 7, recorded by the tick.
    let (status, moved) = call(
        &router,
        &tokens,
        "ada",
        Method::POST,
        "/v1/clock/advance",
        Some(json!({"by": "8d"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["tick"]["locked"], 2, "{moved}");
    let (_, audit) = call(
        &router,
        &tokens,
        "ada",
        Method::GET,
        "/v1/audit?action=access.locked",
        None,
    )
    .await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "{audit}");

    // Bob asks; the webhook hears of it at the latest when the clock next moves.
    let (status, _) = call(
        &router,
        &tokens,
        "bob",
        Method::POST,
        "/v1/access-requests",
        Some(json!({"resource_id": "gitlab", "reason": "release day"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, moved) = call(
        &router,
        &tokens,
        "ada",
        Method::POST,
        "/v1/clock/advance",
        Some(json!({"by": "1m"})),
    )
    .await;
    assert!(moved["tick"]["published"].as_u64().unwrap() >= 1, "{moved}");
    let received = hits.lock().unwrap().clone();
    assert_eq!(
        received.len(),
        1,
        "the webhook was called before the answer"
    );
    let body: Value = serde_json::from_str(&received[0].1).unwrap();
    assert_eq!(body["type"], "ACCESS_REQUEST");
}
