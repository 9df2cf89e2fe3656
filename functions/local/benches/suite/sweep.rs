//! The sweep over many rights: the locks due recorded by the sweep, against the same rows written
//! with plain SQL in one transaction, and the same sweep with a tenth of the rights due (its cost
//! follows the rights due, not all rights).

use std::path::Path;
use std::time::Instant;

use autolock_core::lock::Usage;
use autolock_core::policy::{ApprovalMode, AutoLockAfter, Policy};
use autolock_core::ports::{Changeset, Committer, DirectoryChange, UsageWrite};
use autolock_core::service::Autolock;
use autolock_sqlite::SqliteStore;
use chrono::Duration;

use super::{Figure, new_grant, new_group, new_member, new_resource, now, rid, uid};

/// `users` × `resources` rights (one group holds every grant and every user), every `every`-th
/// right unused for longer than its 30 days, the locks falling due over nine days.
struct Shape {
    users: usize,
    resources: usize,
    every: usize,
}

/// Seeds `path` and returns how many rights are due by `now` and the instant by which a tenth
/// of them are.
async fn seed(path: &Path, shape: &Shape) -> (usize, chrono::DateTime<chrono::Utc>) {
    let store = SqliteStore::open(path).unwrap();
    let t0 = now() - Duration::days(120);
    let mut first = Changeset::default();
    first.directory.push(new_group("all", "Everyone", t0));
    let policy = Policy {
        auto_lock_after: AutoLockAfter::Hours(30 * 24),
        approval: ApprovalMode::Manual,
    };
    for r in 0..shape.resources {
        first.directory.push(new_resource(r, policy, t0));
        first
            .directory
            .push(new_grant(&format!("all-r{r:03}"), "all", r, t0));
    }
    store.commit(first).await.unwrap();
    let total = shape.users * shape.resources;
    let due = total.div_ceil(shape.every);
    let (start, spread) = (now() - Duration::days(40), Duration::days(9));
    let mut k = 0usize;
    for chunk in (0..shape.users).collect::<Vec<_>>().chunks(500) {
        let mut changes = Changeset::default();
        for &u in chunk {
            changes.directory.push(new_member(u, t0));
            changes.directory.push(DirectoryChange::AddMembership {
                user: uid(u),
                group: "all".parse().unwrap(),
                at: t0,
            });
            for r in 0..shape.resources {
                let used = if (u * shape.resources + r) % shape.every == 0 {
                    k += 1;
                    start + spread * i32::try_from(k).unwrap() / i32::try_from(due).unwrap()
                } else {
                    now() - Duration::days(1)
                };
                changes.usage.push(UsageWrite {
                    user: uid(u),
                    resource: rid(r),
                    expected_version: 0,
                    facts: None,
                    usage: Usage {
                        last_access: Some(used),
                        next_due: Some(used + Duration::days(30)),
                        ..Usage::default()
                    },
                });
            }
        }
        store.commit(changes).await.unwrap();
    }
    (due, start + spread / 10 + Duration::days(30))
}

/// Sweeps `path` at `at` until nothing is due: the locks recorded and the seconds taken.
async fn sweep(path: &Path, at: chrono::DateTime<chrono::Utc>) -> (usize, f64) {
    let app = Autolock::new(std::sync::Arc::new(SqliteStore::open(path).unwrap()));
    let started = Instant::now();
    let mut locked = 0;
    loop {
        let report = app.sweep().sweep(at, 500).await.unwrap();
        assert_eq!(report.failed, 0, "{:?}", report.failures);
        locked += report.locked;
        if report.examined == 0 {
            break;
        }
    }
    (locked, started.elapsed().as_secs_f64())
}

/// Writes what the sweep wrote to `swept` (the usage rows it changed, its audit entries and
/// outbox rows) into `copy`, a copy of the database before the sweep, with plain SQL in one
/// transaction: the seconds taken and the rows written.
fn plain_sql(swept: &Path, copy: &Path, audit_from: i64, outbox_from: i64) -> (f64, usize) {
    type Row = Vec<rusqlite::types::Value>;
    let read = |sql: &str, from: i64| -> Vec<Row> {
        let c = rusqlite::Connection::open(swept).unwrap();
        let mut s = c.prepare(sql).unwrap();
        let n = s.column_count();
        s.query_map([from], |r| (0..n).map(|i| r.get(i)).collect())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let usage = read(
        "SELECT version, next_due, data, user_id, resource_id FROM usage WHERE version > ?1",
        1,
    );
    let audit = read("SELECT * FROM audit WHERE seq > ?1", audit_from);
    let outbox = read("SELECT * FROM outbox WHERE seq > ?1", outbox_from);
    let mut c = rusqlite::Connection::open(copy).unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.pragma_update(None, "synchronous", "NORMAL").unwrap();
    let started = Instant::now();
    let tx = c.transaction().unwrap();
    let write = |sql: &str, rows: &[Row]| {
        let mut s = tx.prepare(sql).unwrap();
        for row in rows {
            s.execute(rusqlite::params_from_iter(row)).unwrap();
        }
    };
    write(
        "UPDATE usage SET version = ?1, next_due = ?2, data = ?3 WHERE user_id = ?4 AND resource_id = ?5",
        &usage,
    );
    write(
        "INSERT INTO audit VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        &audit,
    );
    write("INSERT INTO outbox VALUES (?1, ?2, ?3, ?4, ?5)", &outbox);
    tx.commit().unwrap();
    (
        started.elapsed().as_secs_f64(),
        usage.len() + audit.len() + outbox.len(),
    )
}

fn max_seq(path: &Path, table: &str) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row(
            &format!("SELECT coalesce(max(seq), 0) FROM {table}"),
            [],
            |r| r.get(0),
        )
        .unwrap()
}

/// The two figures of the sweep, measured in `dir`.
pub async fn figures(dir: &Path, quick: bool) -> Vec<Figure> {
    let shape = if quick {
        Shape {
            users: 1_000,
            resources: 10,
            every: 10,
        }
    } else {
        Shape {
            users: 10_000,
            resources: 100,
            every: 10,
        }
    };
    let total = shape.users * shape.resources;
    let seeded = dir.join("sweep.db");
    let started = Instant::now();
    let (due, tenth_at) = seed(&seeded, &shape).await;
    let (all_due, tenth, baseline) = (
        dir.join("sweep-all.db"),
        dir.join("sweep-tenth.db"),
        dir.join("sweep-plain.db"),
    );
    {
        let c = rusqlite::Connection::open(&seeded).unwrap();
        for copy in [&all_due, &tenth, &baseline] {
            c.execute("VACUUM INTO ?1", [copy.to_str().unwrap()])
                .unwrap();
        }
    }
    eprintln!(
        "seeded {total} rights, {due} due, in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let (audit_from, outbox_from) = (max_seq(&all_due, "audit"), max_seq(&all_due, "outbox"));
    let (locked_tenth, secs_tenth) = sweep(&tenth, tenth_at).await;
    let (locked, secs) = sweep(&all_due, now()).await;
    assert_eq!(locked, due, "every due right locks");
    let (plain_secs, rows) = plain_sql(&all_due, &baseline, audit_from, outbox_from);
    let rate = locked as f64 / secs;
    let plain_rate = locked as f64 / plain_secs;
    let rate_tenth = locked_tenth as f64 / secs_tenth;
    let within = plain_secs / secs;
    vec![
        Figure {
            name: "sweep: locks recorded (state, audit, outbox)",
            measured: format!("{locked} of {total} rights in {secs:.1} s ({rate:.0}/s)"),
            baseline: format!(
                "the same {rows} rows in {plain_secs:.2} s ({plain_rate:.0} rights/s, plain SQL)"
            ),
            ratio: Some(within),
            target: "≥ 0.33 (within 3×)",
            met: Some(within >= 1.0 / 3.0),
        },
        Figure {
            name: "sweep: a tenth as many due, among as many rights",
            measured: format!("{locked_tenth} due: {secs_tenth:.2} s ({rate_tenth:.0}/s)"),
            baseline: format!("{locked} due: {secs:.1} s ({rate:.0}/s)"),
            ratio: Some(rate_tenth / rate),
            target: "≥ 0.5 (cost follows the due)",
            met: Some(rate_tenth / rate >= 0.5),
        },
    ]
}
