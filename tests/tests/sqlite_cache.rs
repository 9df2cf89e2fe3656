//! The embedded store keeps the directory facts it read until the directory changes — through
//! itself or through another process on the same file (the `autolock` commands): a change made
//! elsewhere is seen at the next read, or by the gateway's brief reads within a millisecond.

use std::sync::Arc;

use autolock_core::lock::RightState;
use autolock_core::ports::{DirectoryReader, UsageReader};
use autolock_sqlite::SqliteStore;
use autolock_tests::world::{World, d};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_another_connection_is_seen_at_the_next_read_or_within_a_millisecond() {
    let dir = std::env::temp_dir().join(format!("autolock-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cache.db");
    let server = Arc::new(SqliteStore::open(&path).unwrap());
    let w = World::seed(server.clone()).await;
    let bob = w.bob_id();
    // The server reads (and keeps) bob's principal and the facts of his right.
    assert!(
        server
            .principal(&autolock_core::ids::PrincipalId::parse(bob.as_str()).unwrap())
            .await
            .unwrap()
            .unwrap()
            .active
    );
    let before = w.app.right(&w.admin, &bob, &w.gitlab, d(1)).await.unwrap();
    assert!(matches!(before.state, RightState::Active { .. }));

    // Another process on the same file deactivates bob and removes eng's grant.
    let cli = autolock_core::service::Autolock::new(Arc::new(SqliteStore::open(&path).unwrap()));
    cli.set_user_active(&w.admin, &bob, false, d(1))
        .await
        .unwrap();
    let grant = cli.grant_of(&w.admin, &w.gitlab, &w.eng).await.unwrap().id;
    cli.remove_grant(&w.admin, &grant, d(1)).await.unwrap();

    assert!(
        !server
            .principal(&autolock_core::ids::PrincipalId::parse(bob.as_str()).unwrap())
            .await
            .unwrap()
            .unwrap()
            .active
    );
    let after = w.app.right(&w.admin, &bob, &w.gitlab, d(2)).await.unwrap();
    assert!(after.paths.is_empty(), "{after:?}");
    // The gateway's read of its caller and a right together, held from memory, after a third
    // change elsewhere and the millisecond its look at the file holds for.
    let bob_as_caller = autolock_core::ids::PrincipalId::parse(bob.as_str()).unwrap();
    let gateway = || server.caller_and_right(&bob_as_caller, &bob, &w.gitlab);
    gateway().await.unwrap();
    let (held, _, _) = gateway().await.unwrap();
    assert!(!held.unwrap().active);
    cli.set_user_active(&w.admin, &bob, true, d(2))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let (caller, facts, _) = gateway().await.unwrap();
    assert!(caller.unwrap().active);
    assert_eq!(facts.activity.last().map(|t| t.value), Some(true));
    assert!(
        facts
            .paths
            .iter()
            .all(|p| p.grants.iter().all(|g| g.span.end.is_some())),
        "the removed grant is seen ended: {facts:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
