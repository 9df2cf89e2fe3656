//! Writes of a right's item: conditioned on its version, with the facts its usage was computed
//! with (read back by the gate's decision in one read), and put in the sparse due index by the
//! hour of its next due instant (rewritten only when that hour changes).

use autolock_core::ports::{StoreResult, UsageWrite};
use aws_sdk_dynamodb::types::AttributeValue;

use super::conflict;
use crate::item::*;
use crate::tx::Tx;
use crate::{TableNames, keys};

/// How large the facts kept in a right's item may be. A right with a longer history (thousands of
/// policy changes, say) keeps none: its decisions read the facts afresh (four queries), which
/// then costs less than reading an item this large, and its item stays far from DynamoDB's
/// 400 KB.
const KEPT_FACTS_MAX: usize = 16 * 1024;

/// The facts a usage write keeps in the right's item, encoded, unless they are too large to.
fn kept_facts(w: &UsageWrite) -> StoreResult<Option<AttributeValue>> {
    let Some(facts) = &w.facts else {
        return Ok(None);
    };
    Ok(match encode(facts)? {
        AttributeValue::S(text) if text.len() > KEPT_FACTS_MAX => None,
        encoded => Some(encoded),
    })
}

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
    if let Some(facts) = kept_facts(w)? {
        attrs.push(("facts", facts));
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

#[cfg(test)]
mod tests {
    use autolock_core::directory::{RightFacts, Timed};
    use autolock_core::lock::Usage;
    use autolock_core::policy::{ApprovalMode, AutoLockAfter, Policy};

    use super::*;

    fn write(policies: usize) -> UsageWrite {
        let at = chrono::DateTime::from_timestamp(1_767_916_800, 0).unwrap();
        let policy = Policy {
            auto_lock_after: AutoLockAfter::Hours(168),
            approval: ApprovalMode::Manual,
        };
        UsageWrite {
            user: "bob".parse().unwrap(),
            resource: "gitlab".parse().unwrap(),
            expected_version: 0,
            usage: Usage::default(),
            facts: Some(RightFacts {
                user: "bob".parse().unwrap(),
                resource: "gitlab".parse().unwrap(),
                activity: vec![Timed { at, value: true }],
                resource_policy: vec![Timed { at, value: policy }; policies],
                paths: Vec::new(),
                exemptions: Vec::new(),
                silences: Vec::new(),
            }),
        }
    }

    #[test]
    fn facts_are_kept_unless_too_large_to() {
        assert!(kept_facts(&write(3)).unwrap().is_some());
        assert!(kept_facts(&write(1_000)).unwrap().is_none());
    }
}
