//! The optional coalescing window of usage writes (docs/semantics.md §9), on the SQLite store.

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

#[tokio::test]
async fn accesses_within_the_window_are_not_written_and_the_lock_comes_at_most_that_early() {
    let w = World::seed(Arc::new(autolock_sqlite::SqliteStore::in_memory().unwrap())).await;
    let app = Autolock::with_options(
        Arc::clone(w.store()),
        Options::default().coalescing(Coalescing::new(Duration::minutes(10)).unwrap()),
    );
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
