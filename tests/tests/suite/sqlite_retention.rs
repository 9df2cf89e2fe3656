//! The embedded store purges what DynamoDB's TTL removes there: requests resolved more than 90
//! days ago, single-use links past their expiry, domain events already delivered; the audit log
//! stays.

use std::sync::Arc;

use autolock_core::audit::AuditFilter;
use autolock_core::ports::PageRequest;
use autolock_core::request::Verdict;
use autolock_sqlite::SqliteStore;
use autolock_tests::world::{World, d};

fn count(path: &std::path::Path, table: &str) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn the_tick_purges_what_is_kept_no_longer() {
    let dir = std::env::temp_dir().join(format!("autolock-retention-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("retention.db");
    let w = World::seed(Arc::new(SqliteStore::open(&path).unwrap())).await;
    let rid = w
        .app
        .requests()
        .file_request(&w.bob, &w.gitlab, "release".parse().unwrap(), d(8))
        .await
        .unwrap()
        .request
        .id;
    w.app
        .requests()
        .resolve(&w.reviewer, &rid, Verdict::Deny, d(8))
        .await
        .unwrap();
    let link = w
        .app
        .sessions()
        .issue_sign_in_for_user(&w.bob_id(), d(8))
        .await
        .unwrap();
    w.app
        .sessions()
        .redeem_sign_in(&link.token, d(8), d(8))
        .await
        .unwrap();
    let pending = w.store().pending(100).await.unwrap();
    assert!(!pending.is_empty());
    w.store().mark_delivered(&pending).await.unwrap();
    let audited = w
        .store()
        .audit(&AuditFilter::default(), &PageRequest::first(1000))
        .await
        .unwrap()
        .items
        .len();

    // An hour on: the sign-in link (15 minutes) and the delivered events go; the request stays.
    let purged = w
        .app
        .sweep()
        .purge(d(8) + chrono::Duration::hours(1))
        .await
        .unwrap();
    assert!(purged >= 3, "{purged}");
    assert_eq!(count(&path, "sign_in_links"), 0);
    assert_eq!(count(&path, "consumed_links"), 0);
    assert_eq!(count(&path, "outbox"), 0);
    assert!(w.store().request(&rid).await.unwrap().is_some());

    // 90 days after its resolution, the request goes too; the audit log stays whole.
    assert_eq!(w.app.sweep().purge(d(97)).await.unwrap(), 0);
    assert_eq!(w.app.sweep().purge(d(99)).await.unwrap(), 1);
    assert!(w.store().request(&rid).await.unwrap().is_none());
    assert_eq!(
        w.store()
            .audit(&AuditFilter::default(), &PageRequest::first(1000))
            .await
            .unwrap()
            .items
            .len(),
        audited
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
