//! The optional coalescing window of usage writes (docs/architecture.md, "Usage writes"), on the SQLite store.

use std::sync::Arc;

use autolock_core::ids::EventId;
use autolock_core::lock::AccessEvent;
use autolock_core::service::{Autolock, Coalescing, EventInput, Options};
use autolock_tests::world::{World, d};
use chrono::Duration;

fn input(w: &World, id: &str, at: autolock_core::Timestamp) -> Vec<EventInput> {
    vec![EventInput {
        user: w.bob_id(),
        resource: w.gitlab.clone(),
        event: AccessEvent {
            event_id: EventId::parse(id).unwrap(),
            accessed_at: at,
        },
    }]
}

/// The world on SQLite, and its use cases with a coalescing window of ten minutes.
async fn coalescing_by_ten_minutes() -> (World, Autolock) {
    let w = World::seed(Arc::new(autolock_sqlite::SqliteStore::in_memory().unwrap())).await;
    let app = Autolock::with_options(
        Arc::clone(w.store()),
        Options::default().coalescing(Coalescing::new(Duration::minutes(10)).unwrap()),
    );
    (w, app)
}

#[tokio::test]
async fn accesses_within_the_window_are_not_written_and_the_lock_comes_at_most_that_early() {
    let (w, app) = coalescing_by_ten_minutes().await;
    let t = d(1);
    app.gateway()
        .record_events(&w.gateway, input(&w, "a", t), t)
        .await
        .unwrap();
    let first = w.bob_usage().await;
    assert_eq!(
        first.value.last_access,
        Some(t),
        "the first access is written"
    );

    let soon = t + Duration::minutes(9);
    let results = app
        .gateway()
        .record_events(&w.gateway, input(&w, "b", soon), soon)
        .await
        .unwrap();
    assert_eq!(results[0].outcome.as_str(), "counted");
    let after = w.bob_usage().await;
    assert_eq!(
        (after.version, after.value.last_access),
        (first.version, Some(t)),
        "coalesced: no write"
    );

    let later = t + Duration::minutes(11);
    app.gateway()
        .record_events(&w.gateway, input(&w, "c", later), later)
        .await
        .unwrap();
    assert_eq!(
        w.bob_usage().await.value.last_access,
        Some(later),
        "outside the window: written"
    );

    // Without coalescing every forward move is written.
    let exact = Autolock::new(Arc::clone(w.store()));
    let next = later + Duration::minutes(1);
    exact
        .gateway()
        .record_events(&w.gateway, input(&w, "d", next), next)
        .await
        .unwrap();
    assert_eq!(w.bob_usage().await.value.last_access, Some(next));
    assert!(
        Coalescing::new(Duration::minutes(61)).is_err(),
        "bounded to an hour"
    );
}

#[tokio::test]
async fn attempts_the_lock_denies_within_the_window_are_not_kept_and_a_revert_counts_those_kept() {
    let (w, app) = coalescing_by_ten_minutes().await;
    let send = |id: &'static str, at: autolock_core::Timestamp, arriving| {
        let app = app.clone();
        let events = input(&w, id, at);
        let gateway = w.gateway.clone();
        async move {
            app.gateway()
                .record_events(&gateway, events, arriving)
                .await
                .unwrap()[0]
                .outcome
                .as_str()
                .to_owned()
        }
    };
    // Bob, never seen since h(0), locks at d(7) (seven days).
    let t = d(7) + Duration::hours(1);
    assert_eq!(send("a", t, t).await, "denied");
    let kept = w.bob_usage().await;
    assert_eq!(kept.value.denied.len(), 1, "the first attempt is kept");
    let soon = t + Duration::minutes(5);
    assert_eq!(send("b", soon, soon).await, "denied");
    assert_eq!(
        w.bob_usage().await.version,
        kept.version,
        "an attempt within the window of the last one kept: no write"
    );
    let later = t + Duration::minutes(11);
    assert_eq!(send("c", later, later).await, "denied");
    assert_eq!(
        w.bob_usage().await.value.denied.len(),
        2,
        "outside it: kept"
    );
    // A late access from before the lock proves it wrong: the attempts kept count again.
    let late = d(7) - Duration::minutes(1);
    assert_eq!(
        send("late", late, later + Duration::minutes(1)).await,
        "counted"
    );
    let after = w.bob_usage().await.value;
    assert_eq!(after.lock, None, "the lock reverted");
    assert_eq!(
        after.last_access,
        Some(later),
        "the latest attempt kept counts"
    );
}
