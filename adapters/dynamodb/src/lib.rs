//! autolock-dynamodb: every store port of autolock-core on DynamoDB, in three tables —
//! **policies** (the directory with its history, grants, policies, settings, audit, outbox),
//! **usage** (one item per right: usage, lock, open request, next due instant, and the facts its
//! last write was computed with) and **requests**.
//! The key layout is in [`keys`]; nothing outside this crate knows it.
//!
//! # Access patterns and their cost
//!
//! | pattern | how | cost |
//! |---|---|---|
//! | principal, group, resource, grant by id | GetItem / Query on its partition | 1 RCU (a grant: 1 query, its history included) |
//! | list users, groups, resources | Query `gsi1` (`USERS`, `GROUPS`, `RESOURCES`) from the cursor | ≈ items/8 KB read |
//! | facts of a right | Query the user's partition (with the active-flag history) + Query resource policies + Query grants of the resource + Query the user's memberships + Query each shared grant | 4 + grants queries, a few RCU |
//! | usage of a right | GetItem (strongly consistent) | 1 RCU |
//! | a gateway's decision (`/v1/gate`, `POST /v1/access/check`) | GetItem of the right's item: its usage and the facts kept with it, rewritten by each refresh of a change that touches the right | 1 RCU (an item under 4 KB) |
//! | record an access | one conditional write of the right's item (version check); none when nothing changes | 1 WCU per right per batch; the due index is rewritten only when the due *hour* changes; with the optional coalescing window (`USAGE_COALESCE_SECONDS`, off by default, at most an hour) a forward move within the window is not written, so a lock may come that much early |
//! | deliveries | an item per (event, channel, recipient), created with `attribute_not_exists`; due retries under `DELIVERYDUE` | 2 WCU per attempt (transactional) |
//! | sweep | Query each of 8 `due` shards up to the current hour (keys only), BatchGetItem the candidates | grows with rights due or due within the hour, not with all rights |
//! | file / resolve a request + unlock + audit + outbox | one TransactWriteItems | 2 WCU per item (transactional) |
//! | open requests, count | Query the sparse `open` index | ≈ open requests/8 KB |
//! | a user's own requests | Query `by_user` (the user's partition of the index) | ≈ the user's requests |
//! | resolved requests (90 days) | Query `resolved` from `now - 90d`, newest first; TTL deletes 90 days after resolution | ≈ listed items |
//! | audit log | Query the month partitions `AUDIT#yyyy-mm` in the range, filters applied to the page | ≈ entries in range |
//! | audit of one id (a user, resource, group, grant, request), analytics | Query `AUDITT#<id>` in the date range | ≈ that id's entries in range |
//! | write an audit entry | its month's item, one item per id it concerns, its id marker; the month is listed once | 1 + ids + 1 items |
//!
//! Uniqueness never relies on an index: one open request per right is the `open_request`
//! attribute of the right's item, written under its version; one current membership or grant is
//! a marker item written with `attribute_not_exists`. Writes that must agree go in one
//! transaction, whose failed conditions map back to the core's `Conflict` / `AlreadyExists`.
//!
//! - `keys.rs`: the key layout of the three tables
//! - `item.rs`: the item codecs; `tx.rs`, `client.rs`: transactions and the calls made
//! - `read/`: one module per port; `write/`: the commit, one writer per kind of change

mod client;
mod item;
pub mod keys;
mod read;
mod tables;
#[cfg(feature = "testing")]
pub mod testing;
mod tx;
mod write;

use aws_sdk_dynamodb::Client;

pub use tables::{TableNames, create_tables, delete_tables};

/// How long resolved requests are kept (the TTL lazily removes them after that).
pub const RESOLVED_RETENTION_DAYS: i64 = 90;
/// DynamoDB's limits, enforced in our code.
pub const TRANSACTION_LIMIT: usize = 100;
/// BatchWriteItem takes at most this many writes.
pub const BATCH_WRITE_LIMIT: usize = 25;
/// An item holds at most this many bytes (names and values).
pub const ITEM_LIMIT: usize = 400 * 1024;
/// BatchGetItem takes at most this many keys.
pub const BATCH_GET_LIMIT: usize = 100;

/// The DynamoDB store.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    tables: TableNames,
}

impl DynamoStore {
    /// A store over `client` and the tables named.
    #[must_use]
    pub fn new(client: Client, tables: TableNames) -> Self {
        Self { client, tables }
    }

    /// The table names.
    #[must_use]
    pub fn tables(&self) -> &TableNames {
        &self.tables
    }
}
