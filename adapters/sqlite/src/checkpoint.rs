//! WAL checkpoints off the commit path: a thread of the store's own, on a connection of its own,
//! copies committed pages from the WAL into the database file a little after commits (and now
//! and then when idle), so that a commit returns when its pages are in the WAL. The store's
//! connection still checkpoints in place once the WAL holds [`IN_PLACE_PAGES`], should the
//! thread fall behind (docs/architecture.md, "SQLite").

use std::path::Path;
use std::sync::mpsc::{RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use rusqlite::Connection;

/// WAL pages past which a commit checkpoints in place (SQLite's own default is 1 000).
const IN_PLACE_PAGES: i64 = 16_384;
/// How long the thread gathers commits before it checkpoints them together.
const GATHER: Duration = Duration::from_millis(50);
/// How often it checkpoints when no commit wakes it (writes other than commits).
const IDLE: Duration = Duration::from_secs(10);

/// Wakes the checkpoint thread; the thread ends when the last clone is dropped.
#[derive(Clone)]
pub(crate) struct Checkpointer(SyncSender<()>);

impl Checkpointer {
    /// Starts the thread for the database at `path`, whose store connection is `conn`.
    pub(crate) fn start(path: &Path, conn: &Connection) -> rusqlite::Result<Self> {
        conn.pragma_update(None, "wal_autocheckpoint", IN_PLACE_PAGES)?;
        let own = Connection::open(path)?;
        let (wake, woken) = sync_channel::<()>(1);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                loop {
                    match woken.recv_timeout(IDLE) {
                        Ok(()) => {
                            std::thread::sleep(GATHER);
                            let _ = woken.try_recv();
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                    // PASSIVE: takes no lock a reader or a writer waits for; what it cannot
                    // copy now (a reader on an older snapshot) the next one does.
                    let _ = own.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(Self(wake))
    }

    /// Tells the thread a commit wrote to the WAL (a wake already pending is enough).
    pub(crate) fn wake(&self) {
        match self.0.try_send(()) {
            Ok(()) | Err(TrySendError::Full(()) | TrySendError::Disconnected(())) => {}
        }
    }
}
