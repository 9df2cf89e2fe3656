//! Faults on the embedded store: a right whose stored state cannot be read fails alone; the
//! sweep records the other rights' locks and leaves the failing one due.

use std::sync::Arc;

use autolock_sqlite::SqliteStore;
use autolock_tests::world::{World, d};

#[tokio::test]
async fn the_sweep_skips_a_right_that_fails_and_goes_on() {
    let dir = std::env::temp_dir().join(format!("autolock-faults-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("faults.db");
    let w = World::seed(Arc::new(SqliteStore::open(&path).unwrap())).await;
    // Bob's stored state of gitlab is damaged (as by a failed disk, or a bad manual edit).
    let raw = rusqlite::Connection::open(&path).unwrap();
    let n = raw
        .execute(
            "UPDATE usage SET data = 'not json' WHERE user_id = 'bob' AND resource_id = 'gitlab'",
            [],
        )
        .unwrap();
    assert_eq!(n, 1);
    drop(raw);

    let report = w.app.sweep(d(8), 100).await.unwrap();
    assert_eq!(report.examined, 2);
    assert_eq!(report.locked, 1, "carol's lock is recorded: {report:?}");
    assert_eq!(report.failed, 1);
    assert!(report.failures[0].starts_with("bob/gitlab: "), "{report:?}");
    // Bob's right stays due: the next sweep tries it again (and fails again, alone).
    let again = w.app.sweep(d(8), 100).await.unwrap();
    assert_eq!((again.examined, again.failed, again.locked), (1, 1, 0));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_deactivation_goes_on_past_a_failing_right_and_the_tick_finishes_it() {
    use autolock_core::request::RequestStatus;
    let dir = std::env::temp_dir().join(format!("autolock-faults2-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("faults.db");
    let w = World::seed(Arc::new(SqliteStore::open(&path).unwrap())).await;
    // Bob is locked out of gitlab and of wiki, and asks for wiki back.
    let wiki = w
        .app
        .create_resource(
            &w.admin,
            autolock_core::service::NewResource {
                id: Some("wiki".parse().unwrap()),
                name: "Wiki".parse().unwrap(),
                address: "https://wiki.example.com".into(),
                policy: autolock_core::policy::Policy {
                    auto_lock_after: autolock_core::policy::AutoLockAfter::Hours(24),
                    approval: autolock_core::policy::ApprovalMode::Manual,
                },
            },
            d(0),
        )
        .await
        .unwrap()
        .id;
    w.app
        .create_grant(
            &w.admin,
            autolock_core::service::NewGrant {
                group: w.eng.clone(),
                resource: wiki.clone(),
                expires_at: None,
                policy_override: autolock_core::policy::PolicyOverride::default(),
            },
            d(0),
        )
        .await
        .unwrap();
    let rid = w
        .app
        .file_request(&w.bob, &wiki, "docs".parse().unwrap(), d(8))
        .await
        .unwrap()
        .request
        .id;
    // Bob's stored state of gitlab is damaged.
    let raw = rusqlite::Connection::open(&path).unwrap();
    let good: String = raw
        .query_row(
            "SELECT data FROM usage WHERE user_id = 'bob' AND resource_id = 'gitlab'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    raw.execute(
        "UPDATE usage SET data = 'not json' WHERE user_id = 'bob' AND resource_id = 'gitlab'",
        [],
    )
    .unwrap();

    // The deactivation is made, goes on past gitlab, and cancels the wiki request.
    let bob = w
        .app
        .set_user_active(&w.admin, &w.bob_id(), false, d(8))
        .await
        .unwrap();
    assert!(!bob.active);
    assert_eq!(
        w.app.request(&w.admin, &rid).await.unwrap().status,
        RequestStatus::Cancelled
    );
    assert_eq!(
        w.store().pending_refreshes(10).await.unwrap().len(),
        1,
        "gitlab is left to do"
    );
    let (done, failures) = w.app.carry_out_pending(d(8), 10).await.unwrap();
    assert_eq!(
        (done, failures.len()),
        (1, 1),
        "still failing: {failures:?}"
    );
    assert_eq!(w.store().pending_refreshes(10).await.unwrap().len(), 1);

    // Repaired, the next tick finishes it.
    raw.execute(
        "UPDATE usage SET data = ?1 WHERE user_id = 'bob' AND resource_id = 'gitlab'",
        [good],
    )
    .unwrap();
    let (done, failures) = w.app.carry_out_pending(d(8), 10).await.unwrap();
    assert_eq!((done, failures.len()), (1, 0));
    assert!(w.store().pending_refreshes(10).await.unwrap().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}
