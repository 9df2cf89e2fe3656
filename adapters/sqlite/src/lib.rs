//! autolock-sqlite: every store port of autolock-core on SQLite (bundled, WAL).
//!
//! The migrations (`migrations/NNNN_*.sql`) are applied at open; `PRAGMA user_version` records
//! how many. Each [`Changeset`](autolock_core::ports::Changeset) is one SQLite transaction,
//! with the same conditions the DynamoDB store checks: a usage write names the version it was
//! computed from, a request update the status it expects, a current membership or grant is
//! unique. One connection behind a mutex (SQLite serialises writers anyway), with what it read
//! kept beside it (`DirectoryCache`): the gateway's brief reads run on the calling task, other
//! calls out of the async scheduler or on tokio's blocking pool.
//!
//! - `checkpoint.rs`: WAL checkpoints on a thread of their own
//! - `rows.rs`: the row codecs
//! - `read/`: one module per port
//! - `write/`: the commit, one writer per kind of change

mod checkpoint;
pub(crate) mod read;
mod rows;
mod write;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use autolock_core::lock::Usage;
use autolock_core::ports::{StoreResult, Versioned};

pub use rows::SqliteError;
use rows::backend;

/// The migrations, in order: migration `n` brings the schema to version `n + 1`.
const MIGRATIONS: [&str; 16] = [
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_deliveries.sql"),
    include_str!("../migrations/0003_user_activity.sql"),
    include_str!("../migrations/0004_sign_in_links.sql"),
    include_str!("../migrations/0005_service_principal_active.sql"),
    include_str!("../migrations/0006_revisions.sql"),
    include_str!("../migrations/0007_refresh_intents.sql"),
    include_str!("../migrations/0008_retention.sql"),
    include_str!("../migrations/0009_exemptions.sql"),
    include_str!("../migrations/0010_usage_by_key.sql"),
    include_str!("../migrations/0011_sessions_and_throttles.sql"),
    include_str!("../migrations/0012_service_principal_role.sql"),
    include_str!("../migrations/0013_provisioned.sql"),
    include_str!("../migrations/0014_sign_in_identities.sql"),
    include_str!("../migrations/0015_chat_posts.sql"),
    include_str!("../migrations/0016_provisioned_live.sql"),
];
#[allow(clippy::cast_possible_wrap)]
const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Applies migrations `from..to` in order, each in a transaction of its own that records the
/// schema version it brings the database to.
fn migrate(conn: &Connection, from: usize, to: usize) -> rusqlite::Result<()> {
    for (done, migration) in MIGRATIONS.iter().enumerate().take(to).skip(from) {
        conn.execute_batch(&format!(
            "BEGIN; {migration} PRAGMA user_version = {}; COMMIT;",
            done + 1
        ))?;
    }
    Ok(())
}

/// Called after a commit that wrote domain events to the outbox.
pub type OutboxHook = Arc<dyn Fn() + Send + Sync>;

/// What the store keeps between reads: the users' and the resources' parts of rights' facts
/// (`read/facts.rs`), the principals and the usage of rights read. A commit of this store that
/// changes the directory clears all but the usage (which only usage writes change); one that
/// writes a kept usage replaces it; a change through another connection to the same file
/// (SQLite's `data_version` tells) clears it all (docs/architecture.md, "SQLite").
#[derive(Default)]
pub(crate) struct DirectoryCache {
    data_version: i64,
    /// When `data_version` was last read.
    checked_at: Option<std::time::Instant>,
    pub(crate) users: HashMap<String, Arc<read::facts::UserPart>>,
    pub(crate) resources: HashMap<String, Arc<read::facts::ResourcePart>>,
    pub(crate) principals: HashMap<String, Option<autolock_core::directory::Principal>>,
    /// User id -> resource id -> the right's usage.
    usage: HashMap<String, HashMap<String, Versioned<Usage>>>,
    usage_entries: usize,
}

/// How many entries (users, resources, principals, usages) the cache holds before it starts
/// afresh.
const CACHE_ENTRIES: usize = 250_000;

/// How long a look at whether another connection changed the database holds for the
/// gateway's brief reads. A look is a read transaction of its own, whose file locks cost about
/// half of a decision's read from memory; a change by another process (the `autolock`
/// commands, a sweep from cron) reaches the gateway's decisions at most this late, and every
/// other read at once (docs/architecture.md, "SQLite").
const CHECKED_FOR: std::time::Duration = std::time::Duration::from_millis(1);

impl DirectoryCache {
    /// The cache, emptied first if another connection wrote to the database since it was
    /// filled, or if it is full.
    pub(crate) fn fresh(&mut self, c: &Connection) -> rusqlite::Result<&mut Self> {
        let version: i64 = c
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        self.checked_at = Some(std::time::Instant::now());
        let held = self.users.len() + self.resources.len() + self.principals.len();
        if version != self.data_version || held + self.usage_entries > CACHE_ENTRIES {
            self.clear();
            self.data_version = version;
        }
        Ok(self)
    }

    /// [`fresh`](Self::fresh), but taking the cache as it is if it was checked less than
    /// [`CHECKED_FOR`] ago.
    pub(crate) fn recent(&mut self, c: &Connection) -> rusqlite::Result<&mut Self> {
        match self.checked_at {
            Some(at) if at.elapsed() < CHECKED_FOR => Ok(self),
            _ => self.fresh(c),
        }
    }

    pub(crate) fn clear(&mut self) {
        self.clear_directory();
        self.usage.clear();
        self.usage_entries = 0;
    }

    /// Forgets the directory's parts and the principals, keeping the usage (which only a usage
    /// write changes).
    pub(crate) fn clear_directory(&mut self) {
        self.users.clear();
        self.resources.clear();
        self.principals.clear();
    }

    /// The usage of the right (`user`, `resource`), if held.
    pub(crate) fn usage(&self, user: &str, resource: &str) -> Option<&Versioned<Usage>> {
        self.usage.get(user)?.get(resource)
    }

    /// Replaces the usage of the right (`user`, `resource`) with `usage` at `version` if it is
    /// kept (a commit that wrote it keeps the cache true without filling it; one it does not
    /// keep costs no copy).
    pub(crate) fn replace_usage(
        &mut self,
        user: &str,
        resource: &str,
        usage: &Usage,
        version: u64,
    ) {
        if let Some(kept) = self.usage.get_mut(user).and_then(|m| m.get_mut(resource)) {
            *kept = Versioned {
                value: usage.clone(),
                version,
            };
        }
    }

    /// Keeps the usage of the right (`user`, `resource`).
    pub(crate) fn keep_usage(&mut self, user: &str, resource: &str, usage: Versioned<Usage>) {
        let of_user = self.usage.entry(user.to_owned()).or_default();
        if of_user.insert(resource.to_owned(), usage).is_none() {
            self.usage_entries += 1;
        }
    }
}

/// The connection and what is cached of it, behind one lock.
pub(crate) struct Inner {
    pub(crate) conn: Connection,
    pub(crate) cache: DirectoryCache,
}

/// The embedded store.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Mutex<Inner>>,
    /// Whether the connection is held by a call other than a brief one (a commit, a page of a
    /// report, a batch of the sweep): a brief call waits on its worker only for a brief one.
    held_long: Arc<AtomicBool>,
    on_outbox: Option<OutboxHook>,
    /// The WAL's checkpoints, off the commit path (a file database).
    checkpointer: Option<checkpoint::Checkpointer>,
}

/// Marks the connection held by a call that may take long, until dropped.
struct HeldLong<'a>(&'a AtomicBool);

impl<'a> HeldLong<'a> {
    fn mark(flag: &'a AtomicBool) -> Self {
        flag.store(true, Ordering::Release);
        Self(flag)
    }
}

impl Drop for HeldLong<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

/// How long a brief call spins for the connection before it sleeps on its lock.
const BRIEF_SPIN: std::time::Duration = std::time::Duration::from_micros(50);

/// How much of the database file the connection keeps in memory, in KiB: a right's first read
/// finds the pages above its row there (a 113 000-right database is about 30 MiB; the default
/// of 2 MiB held too few of them).
const PAGE_CACHE_KIB: i64 = 16 * 1024;

/// How many prepared statements the connection keeps.
const STATEMENT_CACHE: usize = 256;

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, in WAL mode, and applies the schema.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        let path = path.as_ref();
        let conn = Connection::open(path).map_err(backend)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(backend)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(backend)?;
        conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)
            .map_err(backend)?;
        let mut store = Self::init(conn)?;
        let checkpointer = {
            let inner = store.inner.lock().expect("a new connection");
            checkpoint::Checkpointer::start(path, &inner.conn).map_err(backend)?
        };
        store.checkpointer = Some(checkpointer);
        Ok(store)
    }

    /// A private in-memory database.
    pub fn in_memory() -> StoreResult<Self> {
        Self::init(Connection::open_in_memory().map_err(backend)?)
    }

    fn init(conn: Connection) -> StoreResult<Self> {
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(backend)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(backend)?;
        // Every statement the store runs often stays parsed (reads and writes: about 80).
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(backend)?;
        if version > SCHEMA_VERSION {
            return Err(backend(SqliteError::Schema(format!(
                "database schema version {version} is newer than this build ({SCHEMA_VERSION})"
            ))));
        }
        migrate(
            &conn,
            usize::try_from(version).unwrap_or(0),
            MIGRATIONS.len(),
        )
        .map_err(backend)?;
        Ok(Self {
            inner: Arc::new(Mutex::new(Inner {
                conn,
                cache: DirectoryCache::default(),
            })),
            held_long: Arc::default(),
            on_outbox: None,
            checkpointer: None,
        })
    }

    /// Calls `hook` after each commit that wrote domain events to the outbox (the local
    /// runtime wakes its relay with it, so that a notification goes out at once).
    #[must_use]
    pub fn with_outbox_hook(mut self, hook: OutboxHook) -> Self {
        self.on_outbox = Some(hook);
        self
    }

    /// Runs `f` on the connection and its cache.
    async fn with_inner<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Inner) -> StoreResult<T> + Send + 'static,
    {
        let (inner, held_long) = (Arc::clone(&self.inner), Arc::clone(&self.held_long));
        // On a multi-threaded runtime, when the connection is free, the call runs in place (its
        // worker hands its other tasks over meanwhile), sparing a hop to the blocking pool; a
        // call that would wait for the connection waits on the blocking pool, not on a worker.
        if matches!(
            tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()),
            Ok(tokio::runtime::RuntimeFlavor::MultiThread)
        ) {
            if let Ok(mut guard) = inner.try_lock() {
                return tokio::task::block_in_place(move || {
                    let _long = HeldLong::mark(&held_long);
                    f(&mut guard)
                });
            }
        }
        tokio::task::spawn_blocking(move || {
            let mut guard = inner.lock().map_err(|_| backend(SqliteError::Poisoned))?;
            let _long = HeldLong::mark(&held_long);
            f(&mut guard)
        })
        .await
        .map_err(backend)?
    }

    /// Runs `f`, a call of a few indexed reads (the gateway's decision: a principal, a right),
    /// on the connection, on the calling worker itself — a few microseconds, less than handing
    /// the worker over — when the connection is free or held by another brief call (waiting
    /// for it costs microseconds too), and on the blocking pool while a longer call holds it.
    async fn with_inner_brief<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Inner) -> StoreResult<T> + Send + 'static,
    {
        // Spinning for the few microseconds another brief call holds the connection spares
        // both workers the sleep and the wake-up of a contended lock.
        let mut spun_since = None;
        let mut spins = 0u32;
        while !self.held_long.load(Ordering::Acquire) {
            if let Ok(mut guard) = self.inner.try_lock() {
                return f(&mut guard);
            }
            let since = *spun_since.get_or_insert_with(std::time::Instant::now);
            spins = spins.wrapping_add(1);
            if spins % 64 == 0 && since.elapsed() > BRIEF_SPIN {
                let mut guard = self
                    .inner
                    .lock()
                    .map_err(|_| backend(SqliteError::Poisoned))?;
                return f(&mut guard);
            }
            std::hint::spin_loop();
        }
        self.with_inner(f).await
    }

    async fn with<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        self.with_inner(move |i| f(&mut i.conn)).await
    }

    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.with(move |c| f(c).map_err(backend)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use autolock_core::ports::{Changeset, Committer, Settings, SettingsStore, SettingsWrite};
    use autolock_core::values::Role;

    #[test]
    fn a_failure_keeps_sqlites_own_error_as_its_source() {
        let missing = std::env::temp_dir()
            .join(format!("autolock-missing-{}", std::process::id()))
            .join("no-such-dir");
        let Err(err) = SqliteStore::open(missing.join("x.db")) else {
            panic!("a database in a missing directory does not open");
        };
        let source = std::error::Error::source(&err).expect("the backend's error is kept");
        assert!(source.to_string().contains("unable to open"), "{source}");
        let logged = autolock_core::error::chain(&err);
        assert!(
            logged.starts_with("backend: sqlite: ") && logged.contains("unable to open"),
            "{logged}"
        );
    }

    /// A fresh directory of this process named `name`, and the path of a database file in it
    /// (not yet created).
    fn scratch(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("autolock.db");
        let _ = std::fs::remove_file(&path);
        (dir, path)
    }

    #[tokio::test]
    async fn a_file_database_is_in_wal_mode_and_keeps_its_data_across_opens() {
        let (dir, path) = scratch("autolock-sqlite");
        {
            let store = SqliteStore::open(&path).unwrap();
            let mode: String = store
                .read(|c| c.pragma_query_value(None, "journal_mode", |r| r.get(0)))
                .await
                .unwrap();
            assert_eq!(mode, "wal");
            let settings = Settings {
                emails_enabled: false,
                email_roles: vec![Role::DevopsAdmin],
            };
            let changes = Changeset {
                settings: vec![SettingsWrite::Notifications(settings)],
                ..Changeset::default()
            };
            store.commit(changes).await.unwrap();
        }
        let reopened = SqliteStore::open(&path).unwrap();
        assert_eq!(
            reopened.settings().await.unwrap().email_roles,
            vec![Role::DevopsAdmin]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn commits_reach_the_database_file_while_the_store_is_open() {
        use autolock_core::directory::User;
        use autolock_core::ports::DirectoryChange;
        let (dir, path) = scratch("autolock-sqlite-ckpt");
        let store = SqliteStore::open(&path).unwrap();
        let file_len = || std::fs::metadata(&path).unwrap().len();
        let before = file_len();
        // Far fewer pages than SQLite's own threshold for a checkpoint (1 000).
        let users = (0..400)
            .map(|i| {
                DirectoryChange::CreateUser(User {
                    id: format!("user-{i:04}").parse().unwrap(),
                    email: format!("user-{i:04}@example.com").parse().unwrap(),
                    display_name: format!("User {i}").parse().unwrap(),
                    role: Role::Member,
                    active: true,
                    created_at: chrono::Utc::now(),
                    revision: 0,
                    sessions_after: None,
                })
            })
            .collect();
        store
            .commit(Changeset {
                directory: users,
                ..Changeset::default()
            })
            .await
            .unwrap();
        let started = std::time::Instant::now();
        while file_len() < before + 8 * 4096 && started.elapsed().as_secs() < 5 {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(
            file_len() >= before + 8 * 4096,
            "the database file is still {} bytes (was {before})",
            file_len()
        );
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_database_of_schema_9_keeps_its_usage_in_the_usage_keyed_by_right() {
        use autolock_core::ports::{LockIndex, UsageReader};
        let (dir, path) = scratch("autolock-sqlite-v9");
        let used = chrono::Utc::now();
        let usage = Usage {
            last_access: Some(used),
            next_due: Some(used),
            ..Usage::default()
        };
        {
            let conn = Connection::open(&path).unwrap();
            migrate(&conn, 0, 9).unwrap();
            conn.execute(
                "INSERT INTO usage (user_id, resource_id, version, next_due, data)
                 VALUES ('bob', 'gitlab', 3, ?1, ?2)",
                rusqlite::params![rows::micros(used), rows::encode_usage(&usage).unwrap()],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let (bob, gitlab) = ("bob".parse().unwrap(), "gitlab".parse().unwrap());
        let kept = store.usage(&bob, &gitlab).await.unwrap();
        assert_eq!((kept.version, kept.value), (3, usage));
        assert_eq!(store.due(used, 10).await.unwrap(), vec![(bob, gitlab)]);
        let without_rowid: i64 = store
            .read(|c| {
                c.query_row(
                    "SELECT count(*) FROM sqlite_schema WHERE name = 'usage' AND sql LIKE '%WITHOUT ROWID%'",
                    [],
                    |r| r.get(0),
                )
            })
            .await
            .unwrap();
        assert_eq!(without_rowid, 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_database_of_schema_15_lists_only_the_provisioned_records_not_deleted() {
        use autolock_core::directory::{ProvisionedKind, ProvisionedRecord};
        use autolock_core::ports::DirectoryReader;
        let record = |id: &str, deleted: bool| ProvisionedRecord {
            kind: ProvisionedKind::User,
            id: id.into(),
            user_name: Some(id.into()),
            external_id: None,
            deleted,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
            version: 1,
            doc: serde_json::json!({"userName": id}),
        };
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, 0, 15).unwrap();
        for r in [
            record("ann", false),
            record("bob", true),
            record("cy", false),
        ] {
            conn.execute(
                "INSERT INTO provisioned (kind, id, user_name_key, version, data)
                 VALUES ('user', ?1, ?2, 1, ?3)",
                rusqlite::params![r.id, r.user_name_key(), rows::encode(&r).unwrap()],
            )
            .unwrap();
        }
        let store = SqliteStore::init(conn).unwrap();
        let page = store
            .provisioned_live_page(ProvisionedKind::User, 0, 10)
            .await
            .unwrap();
        let ids: Vec<&str> = page.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!((ids, page.total), (vec!["ann", "cy"], 2));
    }

    #[tokio::test]
    async fn a_database_from_a_newer_build_is_refused() {
        let (dir, path) = scratch("autolock-sqlite-new");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let err = autolock_core::error::chain(&SqliteStore::open(&path).unwrap_err());
        assert!(err.contains("newer"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
