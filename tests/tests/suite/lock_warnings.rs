//! Lock warnings (docs/semantics.md §4): N days before the exact lock instant, at most once per lock
//! instant, none when N is not shorter than the duration or the grant expires first.

use std::sync::Arc;

use autolock_core::events::DomainEvent;
use autolock_core::service::{Autolock, LockWarning, Options};
use autolock_tests::world::{World, d, h};

async fn warnings(w: &World) -> Vec<(String, autolock_core::Timestamp)> {
    w.store()
        .pending(1000)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            DomainEvent::LockWarning { user, lock_at, .. } => Some((user.to_string(), lock_at)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_warning_goes_out_n_days_before_the_lock_once() {
    let w = World::seed(Arc::new(autolock_sqlite::SqliteStore::in_memory().unwrap())).await;
    let app = Autolock::with_options(
        Arc::clone(w.store()),
        Options::default().lock_warnings(LockWarning::days(2).unwrap()),
    );
    // Bob and Carol lock at day 7 (7-day policy from day 0): warned at day 5.
    app.sweep()
        .refresh_right(&w.bob_id(), &w.gitlab, h(1))
        .await
        .unwrap();
    app.sweep()
        .refresh_right(&w.carol.id, &w.gitlab, h(1))
        .await
        .unwrap();
    assert_eq!(
        w.bob_usage().await.value.next_due,
        Some(d(5)),
        "the sweep comes back at the warning instant"
    );
    assert_eq!(
        app.sweep()
            .sweep(d(5) - chrono::Duration::seconds(1), 100)
            .await
            .unwrap()
            .examined,
        0
    );
    app.sweep().sweep(d(5), 100).await.unwrap();
    assert_eq!(
        warnings(&w).await,
        [("bob".to_owned(), d(7)), ("carol".to_owned(), d(7))]
    );
    assert_eq!(
        w.bob_usage().await.value.next_due,
        Some(d(7)),
        "then at the lock"
    );
    app.sweep().sweep(d(6), 100).await.unwrap();
    app.sweep()
        .refresh_right(&w.bob_id(), &w.gitlab, d(6))
        .await
        .unwrap();
    assert_eq!(warnings(&w).await.len(), 2, "at most one per lock instant");
    let locked = app.sweep().sweep(d(7), 100).await.unwrap();
    assert_eq!(locked.locked, 2);
}

#[tokio::test]
async fn no_warning_when_n_is_not_shorter_than_the_duration_or_the_grant_expires_first() {
    let w = World::seed(Arc::new(autolock_sqlite::SqliteStore::in_memory().unwrap())).await;
    let long = Autolock::with_options(
        Arc::clone(w.store()),
        Options::default().lock_warnings(LockWarning::days(7).unwrap()),
    );
    long.sweep()
        .refresh_right(&w.bob_id(), &w.gitlab, h(1))
        .await
        .unwrap();
    long.sweep().sweep(d(6), 100).await.unwrap();
    assert!(
        warnings(&w).await.is_empty(),
        "7 days of warning for a 7-day duration: none"
    );

    let grant = w
        .store()
        .current_grant(&w.eng, &w.gitlab)
        .await
        .unwrap()
        .unwrap();
    w.app
        .directory()
        .set_grant_expiry(&w.admin, &grant.id, Some(d(6)), h(2))
        .await
        .unwrap();
    let app = Autolock::with_options(
        Arc::clone(w.store()),
        Options::default().lock_warnings(LockWarning::days(2).unwrap()),
    );
    app.sweep().sweep(d(5), 100).await.unwrap();
    app.sweep()
        .refresh_right(&w.bob_id(), &w.gitlab, d(5))
        .await
        .unwrap();
    assert!(
        warnings(&w).await.is_empty(),
        "the grant expires at day 6, before the lock at day 7"
    );
}
