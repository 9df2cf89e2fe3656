//! Streams a resource report over N rights (default 100 000) from a SQLite file and reports the
//! time and the peak memory of the process that streams it.
//!
//! ```sh
//! cargo bench -p autolock-http --bench report              # 100 000 rights
//! cargo bench -p autolock-http --bench report -- 10000     # another size, to compare
//! ```
//!
//! The directory is seeded first (one resource, one group, N members, each with a recorded
//! access), then a child process streams the report into a byte counter, so that the peak
//! resident memory it reports is the report's alone. The baseline is the same rows read by one
//! plain SQL join and written by the same CSV writer; each is run five times, alternating, and
//! the ratio is the median report's rate to the median join's.

use std::sync::Arc;
use std::time::Instant;

use autolock_core::directory::{Grant, Group, Resource, Span, Timed, User};
use autolock_core::lock::Usage;
use autolock_core::policy::{ApprovalMode, AutoLockAfter, Policy, PolicyOverride};
use autolock_core::ports::{Changeset, Committer, DirectoryChange, Store, UsageWrite};
use autolock_core::service::{Autolock, DownloadFormat, DownloadOf, ReportScope};
use autolock_core::values::Role;
use autolock_sqlite::SqliteStore;
use chrono::{DateTime, Duration, Utc};

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap()
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn seed(path: &std::path::Path, n: usize) {
    let store = SqliteStore::open(path).unwrap();
    let policy = Policy {
        auto_lock_after: AutoLockAfter::Hours(30 * 24),
        approval: ApprovalMode::Manual,
    };
    let resource = Resource {
        id: "gitlab".parse().unwrap(),
        name: "Gitlab".parse().unwrap(),
        address: "https://gitlab.example.com".into(),
        policy,
        created_at: t0(),
        revision: 0,
    };
    let group = Group {
        id: "everyone".parse().unwrap(),
        name: "Everyone".parse().unwrap(),
        created_at: t0(),
    };
    let grant = Grant {
        id: "g1".parse().unwrap(),
        group: group.id.clone(),
        resource: resource.id.clone(),
        span: Span::from(t0()),
        expiry: vec![Timed {
            at: t0(),
            value: None,
        }],
        overrides: vec![Timed {
            at: t0(),
            value: PolicyOverride::default(),
        }],
        revision: 0,
    };
    let first = Changeset {
        directory: vec![
            DirectoryChange::CreateResource(resource),
            DirectoryChange::CreateGroup(group),
            DirectoryChange::CreateGrant(grant),
        ],
        ..Changeset::default()
    };
    store.commit(first).await.unwrap();
    for chunk in (0..n).collect::<Vec<_>>().chunks(2000) {
        let mut changes = Changeset::default();
        for &i in chunk {
            let id: autolock_core::ids::UserId = format!("user{i:06}").parse().unwrap();
            changes.directory.push(DirectoryChange::CreateUser(User {
                id: id.clone(),
                email: format!("user{i:06}@example.com").parse().unwrap(),
                display_name: format!("User {i}").parse().unwrap(),
                role: Role::Member,
                active: true,
                created_at: t0(),
                revision: 0,
                sessions_after: None,
            }));
            changes.directory.push(DirectoryChange::AddMembership {
                user: id.clone(),
                group: "everyone".parse().unwrap(),
                at: t0(),
            });
            let accessed = t0() + Duration::minutes(i64::try_from(i % 50_000).unwrap());
            changes.usage.push(UsageWrite {
                user: id,
                resource: "gitlab".parse().unwrap(),
                expected_version: 0,
                facts: None,
                usage: Usage {
                    last_access: Some(accessed),
                    ..Usage::default()
                },
            });
        }
        store.commit(changes).await.unwrap();
    }
}

async fn report(path: &std::path::Path) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(path).unwrap());
    let app = Autolock::new(store);
    let admin = autolock_core::directory::Principal {
        id: "bench".parse().unwrap(),
        role: Role::Admin,
        active: true,
    };
    let scope = ReportScope::Resource("gitlab".parse().unwrap());
    let started = Instant::now();
    let mut download = app
        .reports()
        .download(
            &admin,
            DownloadOf::Report(scope),
            DownloadFormat::Csv,
            t0() + Duration::days(40),
        )
        .await
        .unwrap();
    let (mut bytes, mut lines) = (0usize, 0usize);
    while let Some(chunk) = download.next_chunk().await.unwrap() {
        bytes += chunk.len();
        lines += chunk.matches("\r\n").count();
    }
    let elapsed = started.elapsed();
    let n = lines - 1;
    println!(
        "rights={n} rows={n} bytes={bytes} time={:.2}s rights_per_s={:.0} peak_rss_mib={:.1}",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        peak_rss_kib() as f64 / 1024.0
    );
}

/// The baseline: the same rows by one plain SQL join, written by the same CSV writer.
fn plain_join(path: &std::path::Path, n: usize) -> f64 {
    let (rows, rate) = autolock_tests::bench::plain_report_join(path, "gitlab");
    assert_eq!(rows, n);
    rate
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("--report") {
        report(std::path::Path::new(&args[1])).await;
        return;
    }
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("autolock-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bench.db");
    let started = Instant::now();
    seed(&path, n).await;
    println!(
        "seeded {n} rights in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    // Five reports and five joins, alternating, so that a slow spell of the host falls on both.
    let (mut rates, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .arg("--report")
            .arg(&path)
            .output()
            .unwrap();
        assert!(child.status.success());
        let line = String::from_utf8(child.stdout).unwrap();
        print!("{line}");
        let rate: f64 = line
            .split_whitespace()
            .find_map(|f| f.strip_prefix("rights_per_s="))
            .and_then(|r| r.parse().ok())
            .unwrap();
        rates.push(rate);
        plain.push(plain_join(&path, n));
    }
    let (rate, plain) = (
        autolock_tests::bench::median(rates),
        autolock_tests::bench::median(plain),
    );
    println!(
        "median of five: rights_per_s={rate:.0} plain_join_rows_per_s={plain:.0} ratio={:.2} (target 0.33)",
        rate / plain
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
