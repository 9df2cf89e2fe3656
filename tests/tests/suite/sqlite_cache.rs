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
    let before = w
        .app
        .rights()
        .right(&w.admin, &bob, &w.gitlab, d(1))
        .await
        .unwrap();
    assert!(matches!(before.state, RightState::Active { .. }));

    // Another process on the same file deactivates bob and removes eng's grant.
    let cli = autolock_core::service::Autolock::new(Arc::new(SqliteStore::open(&path).unwrap()));
    cli.directory()
        .set_user_active(&w.admin, &bob, false, d(1))
        .await
        .unwrap();
    let grant = cli
        .directory()
        .grant_of(&w.admin, &w.gitlab, &w.eng)
        .await
        .unwrap()
        .id;
    cli.directory()
        .remove_grant(&w.admin, &grant, d(1))
        .await
        .unwrap();

    assert!(
        !server
            .principal(&autolock_core::ids::PrincipalId::parse(bob.as_str()).unwrap())
            .await
            .unwrap()
            .unwrap()
            .active
    );
    let after = w
        .app
        .rights()
        .right(&w.admin, &bob, &w.gitlab, d(2))
        .await
        .unwrap();
    assert!(after.paths.is_empty(), "{after:?}");
    // The gateway's reads of its caller and of a right, held from memory, after a third change
    // elsewhere and the millisecond its look at the file holds for.
    let bob_as_caller = autolock_core::ids::PrincipalId::parse(bob.as_str()).unwrap();
    let gateway = || async {
        let caller = server.principal(&bob_as_caller).await.unwrap();
        let (facts, _) = server.right(&bob, &w.gitlab).await.unwrap();
        (caller, facts)
    };
    gateway().await;
    let (held, _) = gateway().await;
    assert!(!held.unwrap().active);
    cli.directory()
        .set_user_active(&w.admin, &bob, true, d(2))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let (caller, facts) = gateway().await;
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

/// A right's first read reads its user's other rights' usage with it (up to 64 rows), so that
/// their first decisions find it held: each right still reads as it is stored — one among the
/// rows read together, one past them, one never used — and a write to a right read together is
/// seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_rights_read_together_read_as_each_is_stored() {
    use autolock_core::lock::Usage;
    use autolock_core::ports::{Changeset, Committer, UsageWrite};
    let store = SqliteStore::in_memory().unwrap();
    let bob: autolock_core::ids::UserId = "bob".parse().unwrap();
    let resource =
        |i: usize| -> autolock_core::ids::ResourceId { format!("r{i:03}").parse().unwrap() };
    let used = |i: usize| Usage {
        last_access: Some(d(1) + chrono::Duration::minutes(i64::try_from(i).unwrap())),
        ..Usage::default()
    };
    // 70 rights used, each at its own minute; r070..r074 never used.
    let writes = (0..70)
        .map(|i| UsageWrite {
            user: bob.clone(),
            resource: resource(i),
            expected_version: 0,
            facts: None,
            usage: used(i),
        })
        .collect();
    store
        .commit(Changeset {
            usage: writes,
            ..Changeset::default()
        })
        .await
        .unwrap();
    // From the last: the never used, those past the first 64 rows, then those read with them.
    for i in (0..75).rev() {
        let (_, read) = store.right(&bob, &resource(i)).await.unwrap();
        if i < 70 {
            assert_eq!((read.version, &read.value), (1, &used(i)), "r{i:03}");
        } else {
            assert_eq!(
                (read.version, &read.value),
                (0, &Usage::default()),
                "r{i:03}"
            );
        }
    }
    // A write to a right read with another is what the next read of it finds.
    let (_, first) = store.right(&bob, &resource(3)).await.unwrap();
    let later = used(500);
    store
        .commit(Changeset {
            usage: vec![UsageWrite {
                user: bob.clone(),
                resource: resource(3),
                expected_version: first.version,
                facts: None,
                usage: later.clone(),
            }],
            ..Changeset::default()
        })
        .await
        .unwrap();
    let (_, read) = store.right(&bob, &resource(3)).await.unwrap();
    assert_eq!((read.version, read.value), (2, later));
}
