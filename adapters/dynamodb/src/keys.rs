//! The key layout of the three tables. Nothing outside this adapter knows it.
//!
//! **policies** (`pk`, `sk`; index `gsi1` on `gsi1pk`, `gsi1sk`):
//!
//! | item | pk | sk | gsi1pk / gsi1sk |
//! |---|---|---|---|
//! | user or service principal | `P#<id>` | `P` | `USERS` / `<id>` (users only) |
//! | a user's active-flag history | `P#<id>` | `ACT#<at>#<n>` | |
//! | group | `G#<id>` | `G` | `GROUPS` / `<id>` |
//! | resource (current policy inside) | `R#<id>` | `R` | `RESOURCES` / `<id>` |
//! | resource policy history | `R#<id>` | `POL#<at>#<n>` | |
//! | membership span | `U#<user>` | `M#<group>#<start>` | `GM#<group>` / `<user>#<start>` |
//! | current membership (uniqueness) | `U#<user>` | `CM#<group>` | |
//! | grant head | `GR#<id>` | `GR` | |
//! | grant expiry / override history | `GR#<id>` | `EXP#<at>#<n>` / `OVR#<at>#<n>` | |
//! | grant by group / by resource | `G#<group>` / `R#<resource>` | `GRANT#<resource or group>#<id>` | |
//! | current grant (uniqueness) | `G#<group>` | `CG#<resource>` | |
//! | exemption | `EX#<id>` | `EX` | `EXU#<user>` or `EXG#<group>` / `<start>#<id>` |
//! | exemption, in its resource | `R#<resource>` | `EX#<id>` | `EXOPEN` / `<end>#<id>` until its end is recorded |
//! | settings, webhook | `SETTINGS` | `NOTIFICATIONS`, `WEBHOOK` | |
//! | audit entry | `AUDIT#<yyyy-mm>` | `<at>#<id>` | |
//! | audit month / id marker | `AUDIT` / `AUDITID#<id>` | `MONTH#<yyyy-mm>` / `A` | |
//! | outbox entry | `OUTBOX` | `<at>#<id>` | |
//! | consumed link | `LINK#<id>` | `L` | |
//! | console sign-in link (by digest) | `SIGNIN#<digest>` | `S` | |
//! | single sign-on subject → user | `IDP#<issuer>` | `<subject>` | |
//! | where a request's chat message was posted | `CHATPOST#<request>` | `C` | |
//!
//! **usage** (`pk` = user, `sk` = resource; sparse index `due` on `due_shard`, `due_hour`,
//! keys only): one item per right. `next_due` is a plain attribute; `due_hour` (its hour) is the
//! index key, so an access that moves `next_due` within the same hour does not rewrite the index
//! (and an access keeps an earlier `next_due` still ahead: docs/architecture.md, "The sweep's index").
//!
//! **requests** (`pk` = id; sparse index `open` on `open_pk`, `open_sk`; index `resolved` on
//! `res_pk`, `res_sk`; TTL attribute `ttl`).
//!
//! Instants in keys are microseconds since the epoch, zero-padded to 20 digits so that text order
//! is time order.

use autolock_core::Timestamp;

/// An instant as a sortable key part.
#[must_use]
pub fn at(t: Timestamp) -> String {
    format!("{:020}", t.timestamp_micros())
}

/// The partition of a principal.
#[must_use]
pub fn principal(id: &str) -> String {
    format!("P#{id}")
}

/// The partition of a group.
#[must_use]
pub fn group(id: &str) -> String {
    format!("G#{id}")
}

/// The partition of a resource.
#[must_use]
pub fn resource(id: &str) -> String {
    format!("R#{id}")
}

/// The partition of the users with an email address: one item per user (sort key: the user's
/// id), so that a sign-in finds them by key.
#[must_use]
pub fn email(address: &str) -> String {
    format!("EMAIL#{address}")
}

/// The partition of a user's memberships.
#[must_use]
pub fn user(id: &str) -> String {
    format!("U#{id}")
}

/// The partition of a grant.
#[must_use]
pub fn grant(id: &str) -> String {
    format!("GR#{id}")
}

/// The partition of an exemption.
#[must_use]
pub fn exemption(id: &str) -> String {
    format!("EX#{id}")
}

/// The month partition of an audit entry.
#[must_use]
pub fn audit_month(t: Timestamp) -> String {
    t.format("%Y-%m").to_string()
}

/// How many shards the sweep's due index spreads over.
pub const DUE_SHARDS: u32 = 8;

/// The due-index shard of a right.
#[must_use]
pub fn due_shard(user: &str, resource: &str) -> String {
    // FNV-1a: stable across processes and builds.
    let mut h: u32 = 0x811c_9dc5;
    for b in user.bytes().chain([0]).chain(resource.bytes()) {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("DUE#{}", h % DUE_SHARDS)
}

/// The hour an instant falls in (hours since the epoch).
#[must_use]
pub fn hour(t: Timestamp) -> i64 {
    t.timestamp().div_euclid(3600)
}

/// The partition of the subjects an identity provider signs in with (one item each, holding
/// the user).
#[must_use]
pub fn sign_in_identity(issuer: &str) -> String {
    format!("IDP#{issuer}")
}

/// The attribute of a user's item that holds their subject at `issuer`.
#[must_use]
pub fn sign_in_attribute(issuer: &str) -> String {
    format!("idp#{issuer}")
}

/// The partition of an identity provider's records of a kind (`user`, `group`), one item each
/// by id.
pub fn provisioned(kind: &str) -> String {
    format!("PROV#{kind}")
}

/// The partition of the items that hold provisioned users' names, one by lower-cased name.
pub const PROVISIONED_NAMES: &str = "PROVNAME";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_sort_as_text_and_shards_are_stable() {
        let a = chrono::DateTime::from_timestamp(1_000, 0).unwrap();
        let b = chrono::DateTime::from_timestamp(20_000_000_000, 0).unwrap();
        assert!(at(a) < at(b));
        assert_eq!(at(a).len(), 20);
        assert_eq!(due_shard("bob", "gitlab"), due_shard("bob", "gitlab"));
        let spread: std::collections::BTreeSet<String> =
            (0..100).map(|i| due_shard(&format!("u{i}"), "r")).collect();
        assert_eq!(
            spread.len(),
            DUE_SHARDS as usize,
            "rights spread over every shard"
        );
    }
}
