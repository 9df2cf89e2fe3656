//! Writes of requests: created once, updated only from the status expected.

use rusqlite::{Transaction, params};

use autolock_core::error::StoreError;
use autolock_core::ports::{RequestWrite, StoreResult};

use crate::rows::{backend, encode, micros};

pub(super) fn apply_request(tx: &Transaction<'_>, w: &RequestWrite) -> StoreResult<()> {
    match w {
        RequestWrite::Create(r) => {
            let n = super::exec(tx,
                    "INSERT INTO requests (id, user_id, resource_id, status, requested_at, resolved_at, data)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING",
                    params![r.id.as_str(), r.user.as_str(), r.resource.as_str(), r.status.as_str(), micros(r.requested_at), r.resolved_at.map(micros), encode(r)?],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::AlreadyExists(format!("request {}", r.id)));
            }
        }
        RequestWrite::Update {
            request: r,
            expected,
        } => {
            let n = super::exec(tx,
                    "UPDATE requests SET status = ?2, resolved_at = ?3, data = ?4 WHERE id = ?1 AND status = ?5",
                    params![r.id.as_str(), r.status.as_str(), r.resolved_at.map(micros), encode(r)?, expected.as_str()],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::Conflict(format!(
                    "request {} is no longer {}",
                    r.id,
                    expected.as_str()
                )));
            }
        }
    }
    Ok(())
}
