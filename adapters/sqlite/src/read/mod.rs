//! Reads: one module per port.

mod audit;
mod deliveries;
mod directory;
mod exemptions;
pub(crate) mod facts;
mod outbox;
mod report;
mod requests;
mod settings;
mod usage;

/// Runs `f` in a read transaction (one snapshot, one lock taken); the transaction ends whether
/// `f` succeeds or not.
pub(crate) fn in_read_transaction<T>(
    i: &mut crate::Inner,
    f: impl FnOnce(&mut crate::Inner) -> rusqlite::Result<T>,
) -> autolock_core::ports::StoreResult<T> {
    let statement = |c: &rusqlite::Connection, sql| c.prepare_cached(sql)?.execute([]);
    statement(&i.conn, "BEGIN").map_err(crate::rows::backend)?;
    let done = f(i);
    statement(&i.conn, "COMMIT").map_err(crate::rows::backend)?;
    done.map_err(crate::rows::backend)
}
