//! Writes of a right's usage, conditioned on the version it was computed from.

use rusqlite::{Transaction, params};

use autolock_core::error::StoreError;
use autolock_core::ports::{StoreResult, UsageWrite};

use crate::rows::{backend, encode_usage, micros};

pub(super) fn apply_usage(tx: &Transaction<'_>, w: &UsageWrite) -> StoreResult<()> {
    let data = encode_usage(&w.usage)?;
    let next_due = w.usage.next_due.map(micros);
    let (u, r) = (w.user.as_str(), w.resource.as_str());
    let version = i64::try_from(w.expected_version).map_err(backend)?;
    let n = if version == 0 {
        super::exec(tx,
            "INSERT INTO usage (user_id, resource_id, version, next_due, data) VALUES (?1, ?2, 1, ?3, ?4)
             ON CONFLICT (user_id, resource_id) DO NOTHING",
            params![u, r, next_due, data],
        )
    } else {
        // The sweep's index is left alone when the instant is unchanged (an access, mostly).
        match super::exec(tx,
            "UPDATE usage SET version = version + 1, data = ?5
             WHERE user_id = ?1 AND resource_id = ?2 AND version = ?3 AND next_due IS ?4",
            params![u, r, version, next_due, data],
        ) {
            Ok(0) => super::exec(tx,
                "UPDATE usage SET version = version + 1, next_due = ?4, data = ?5
                 WHERE user_id = ?1 AND resource_id = ?2 AND version = ?3",
                params![u, r, version, next_due, data],
            ),
            other => other,
        }
    }
    .map_err(backend)?;
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "usage of {u} on {r} changed since version {version}"
        )));
    }
    Ok(())
}
