//! Writes of a right's item: conditioned on its version, with the facts its usage was computed
//! with (read back by the gate's decision in one read), and put in the sparse due index by the
//! hour of its next due instant (rewritten only when that hour changes).

use autolock_core::ports::{StoreResult, UsageWrite};

use super::conflict;
use crate::item::*;
use crate::tx::Tx;
use crate::{TableNames, keys};

/// Adds a usage write to `tx`.
pub(super) fn usage(tables: &TableNames, tx: &mut Tx, w: &UsageWrite) -> StoreResult<()> {
    let (u, r) = (w.user.as_str(), w.resource.as_str());
    let mut attrs = vec![
        (
            "version",
            n(i64::try_from(w.expected_version).unwrap_or(i64::MAX - 1) + 1),
        ),
        ("doc", encode(&w.usage)?),
    ];
    if let Some(facts) = &w.facts {
        attrs.push(("facts", encode(facts)?));
    }
    if let Some(due) = w.usage.next_due {
        attrs.push(("next_due", n(micros(due))));
        attrs.push(("due_shard", s(keys::due_shard(u, r))));
        attrs.push(("due_hour", n(keys::hour(due))));
    }
    let i = item(u, r, attrs);
    let cond = if w.expected_version == 0 {
        absent()
    } else {
        Cond::new("#v = :v").name("#v", "version").value(
            ":v",
            n(i64::try_from(w.expected_version).unwrap_or(i64::MAX)),
        )
    };
    tx.put(
        &tables.usage,
        i,
        Some(cond),
        conflict(format!(
            "usage of {u} on {r} changed since version {}",
            w.expected_version
        )),
    )?;
    Ok(())
}
