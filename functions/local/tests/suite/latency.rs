//! A new open request reaches the webhook within moments on the local runtime: the commit that
//! writes its domain event wakes the tick, which relays it to the notifier (the one-minute tick
//! stays as a safety net).

use std::sync::Arc;
use std::time::{Duration, Instant};

use autolock_core::notify::Notifier;
use autolock_core::ports::SystemClock;
use autolock_core::ports::{Clock, Store};
use autolock_http::{Hs256, HttpConfig};
use autolock_sqlite::SqliteStore;
use autolock_tests::webhook::receiver;
use autolock_tests::world::World;
use autolock_webhook::HttpWebhookSender;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_request_reaches_the_webhook_within_two_seconds() {
    let wake: autolock_local::Wake = Arc::default();
    let hook = Arc::clone(&wake);
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::in_memory()
            .unwrap()
            .with_outbox_hook(Arc::new(move || hook.notify_one())),
    );
    // The world is seeded on day 0 of 2026: on today's clock bob's gitlab right is locked.
    let w = World::seed(store.clone()).await;
    let (url, hits) = receiver().await;
    autolock_tests::world::put_webhook(&store, Some(autolock_tests::world::webhook(&url))).await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let notifier = Notifier::new(
        store.clone(),
        Arc::new(autolock_core::ports::EmailDisabled),
        Arc::new(HttpWebhookSender::new(true, Duration::from_secs(5))),
        "http://127.0.0.1:7300",
    );
    let (_router, ticker) = autolock_local::wire(autolock_local::Parts {
        app: w.app.clone(),
        clock: Arc::clone(&clock),
        notifier,
        tokens: Hs256::new(
            b"test-secret-0123456789-0123456789",
            "autolock",
            "http://127.0.0.1:7300",
        )
        .unwrap(),
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
            console_base_url: "http://127.0.0.1:7300".into(),
        },
        slack: None,
    });
    // The first tick relays what seeding wrote; then the loop waits a minute, or a wake-up.
    ticker.tick(clock.now(), &|| true).await.unwrap();
    let background = tokio::spawn(autolock_local::run_ticks(
        ticker,
        Arc::clone(&clock),
        Duration::from_secs(60),
        wake,
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;
    hits.lock().unwrap().clear();

    let filed = Instant::now();
    w.app
        .requests()
        .file_request(&w.bob, &w.gitlab, "hotfix".parse().unwrap(), clock.now())
        .await
        .unwrap();
    while hits.lock().unwrap().is_empty() {
        assert!(
            filed.elapsed() < Duration::from_secs(2),
            "the webhook heard nothing within 2 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let latency = filed.elapsed();
    assert!(
        hits.lock().unwrap()[0]
            .1
            .contains("\"type\":\"ACCESS_REQUEST\"")
    );
    eprintln!("request to webhook: {latency:?}");
    background.abort();
}
