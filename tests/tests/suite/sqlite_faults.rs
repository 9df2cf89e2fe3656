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

    let report = w.app.sweep().sweep(d(8), 100).await.unwrap();
    assert_eq!(report.examined, 2);
    assert_eq!(report.locked, 1, "carol's lock is recorded: {report:?}");
    assert_eq!(report.failed, 1);
    assert!(report.failures[0].starts_with("bob/gitlab: "), "{report:?}");
    // Bob's right stays due: the next sweep tries it again (and fails again, alone).
    let again = w.app.sweep().sweep(d(8), 100).await.unwrap();
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
        .directory()
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
    w.grant_eng(&wiki, d(0)).await;
    let rid = w
        .app
        .requests()
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
        .directory()
        .set_user_active(&w.admin, &w.bob_id(), false, d(8))
        .await
        .unwrap();
    assert!(!bob.active);
    assert_eq!(
        w.app
            .requests()
            .request(&w.admin, &rid)
            .await
            .unwrap()
            .status,
        RequestStatus::Cancelled
    );
    assert_eq!(
        w.store().pending_refreshes(10).await.unwrap().len(),
        1,
        "gitlab is left to do"
    );
    let (done, failures) = w.app.sweep().carry_out_pending(d(8), 10).await.unwrap();
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
    let (done, failures) = w.app.sweep().carry_out_pending(d(8), 10).await.unwrap();
    assert_eq!((done, failures.len()), (1, 0));
    assert!(w.store().pending_refreshes(10).await.unwrap().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A grant edit of several fields and a policy document's apply are each one commit: a fault
/// in writing the last of their rows (here the expiry's, refused by a trigger as a full disk
/// would refuse it) leaves nothing of the rest behind.
#[tokio::test]
async fn a_multi_field_edit_and_a_policy_document_are_applied_whole_or_not_at_all() {
    use autolock_core::audit::{AuditAction, AuditFilter};
    use autolock_core::policy::{AutoLockAfter, FieldPatch, OverridePatch, PolicyOverride};
    use autolock_core::ports::PageRequest;
    use autolock_core::service::PolicyDocument;

    let dir = std::env::temp_dir().join(format!("autolock-faults3-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("faults.db");
    let w = World::seed(Arc::new(SqliteStore::open(&path).unwrap())).await;
    let grant = w.eng_grant().await;
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch(
        "CREATE TRIGGER refuse_expiry BEFORE INSERT ON grant_expiry BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
    )
    .unwrap();
    let patch = OverridePatch {
        auto_lock_after: FieldPatch::Set(AutoLockAfter::Hours(30 * 24)),
        approval: FieldPatch::Keep,
    };
    let edited = w
        .app
        .policies()
        .edit_grant(&w.admin, &grant.id, Some(patch), Some(Some(d(60))), d(1))
        .await;
    assert!(edited.is_err(), "{edited:?}");
    let doc: PolicyDocument = serde_json::from_value(serde_json::json!({"resources": {
        "gitlab": {"auto_lock_after": "30d", "approval": "automatic",
                   "grants": {"eng": {"auto_lock_after": "60d", "expires_at": d(90)}}}
    }}))
    .unwrap();
    let applied = w.app.policies().apply_policies(&w.admin, &doc, d(1)).await;
    assert!(applied.is_err(), "{applied:?}");

    // Nothing of either: the grant's override and the resource's default are as they were,
    // and the audit log holds no policy change after the seed.
    let now = w.eng_grant().await;
    assert_eq!(now.current_override(), PolicyOverride::default());
    assert_eq!(now.current_expiry(), None);
    let gitlab = w.store.resource(&w.gitlab).await.unwrap().unwrap();
    assert_eq!(gitlab.policy.auto_lock_after, AutoLockAfter::Hours(7 * 24));
    let filter = AuditFilter {
        from: Some(d(1)),
        action: Some(AuditAction::PolicyDurationChanged),
        ..AuditFilter::default()
    };
    let audited = w
        .store
        .audit(&filter, &PageRequest::first(100))
        .await
        .unwrap();
    assert!(audited.items.is_empty(), "{:?}", audited.items);

    // Once the disk takes writes again, the same document applies whole.
    raw.execute_batch("DROP TRIGGER refuse_expiry;").unwrap();
    w.app
        .policies()
        .apply_policies(&w.admin, &doc, d(1))
        .await
        .unwrap();
    let now = w.eng_grant().await;
    assert_eq!(now.current_expiry(), Some(d(90)));
    assert_eq!(
        now.current_override().auto_lock_after,
        Some(AutoLockAfter::Hours(60 * 24))
    );
    let gitlab = w.store.resource(&w.gitlab).await.unwrap().unwrap();
    assert_eq!(gitlab.policy.auto_lock_after, AutoLockAfter::Hours(30 * 24));
    std::fs::remove_dir_all(&dir).unwrap();
}
