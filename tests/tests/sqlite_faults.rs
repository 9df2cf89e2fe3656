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
