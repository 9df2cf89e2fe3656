//! Writes of requests: conditioned on their status (created once), with the sparse `open` and
//! `resolved` index keys, the `by_user` index key (a user's own requests, read by key) and the
//! TTL that removes them 90 days after resolution.

use std::collections::HashMap;

use autolock_core::ports::{RequestWrite, StoreResult};
use autolock_core::request::RequestStatus;

use super::{conflict, exists_err};
use crate::item::*;
use crate::tx::Tx;
use crate::{RESOLVED_RETENTION_DAYS, TableNames, keys};

/// Adds a request write to `tx`.
pub(super) fn request(tables: &TableNames, tx: &mut Tx, w: &RequestWrite) -> StoreResult<()> {
    let (r, cond, fail) = match w {
        RequestWrite::Create(r) => (
            r,
            Cond::new("attribute_not_exists(#pk)").name("#pk", "pk"),
            exists_err(format!("request {}", r.id)),
        ),
        RequestWrite::Update { request, expected } => (
            request,
            Cond::new("#st = :st")
                .name("#st", "req_status")
                .value(":st", s(expected.as_str())),
            conflict(format!(
                "request {} is no longer {}",
                request.id,
                expected.as_str()
            )),
        ),
    };
    let mut i: Item = HashMap::from([
        ("pk".to_owned(), s(r.id.as_str())),
        ("doc".to_owned(), encode(r)?),
        ("req_status".to_owned(), s(r.status.as_str())),
        ("user_pk".to_owned(), s(r.user.as_str())),
        (
            "user_sk".to_owned(),
            s(format!("{}#{}", keys::at(r.requested_at), r.id)),
        ),
    ]);
    if r.status == RequestStatus::Open {
        i.insert("open_pk".into(), s("OPEN"));
        i.insert(
            "open_sk".into(),
            s(format!("{}#{}", keys::at(r.requested_at), r.id)),
        );
    }
    if let Some(resolved) = r.resolved_at {
        i.insert("res_pk".into(), s("RESOLVED"));
        i.insert(
            "res_sk".into(),
            s(format!("{}#{}", keys::at(resolved), r.id)),
        );
        i.insert(
            "ttl".into(),
            n((resolved + chrono::Duration::days(RESOLVED_RETENTION_DAYS)).timestamp()),
        );
    }
    tx.put(&tables.requests, i, Some(cond), fail)?;
    Ok(())
}
