//! autolock-dynamodb: every store port of autolock-core on DynamoDB, in three tables —
//! **policies** (the directory with its history, grants, policies, settings, audit, outbox),
//! **usage** (one item per right: usage, lock, open request, next due instant) and **requests**.
//! The key layout is in [`keys`]; nothing outside this crate knows it.
//!
//! # Access patterns and their cost
//!
//! | pattern | how | cost |
//! |---|---|---|
//! | principal, group, resource, grant by id | GetItem / Query on its partition | 1 RCU (a grant: 1 query, its history included) |
//! | list users, groups, resources | Query `gsi1` (`USERS`, `GROUPS`, `RESOURCES`) from the cursor | ≈ items/8 KB read |
//! | facts of a right | GetItem user + Query resource policies + Query grants of the resource + Query the user's memberships + Query each shared grant | 4 + grants queries, a few RCU |
//! | usage of a right | GetItem (strongly consistent) | 1 RCU |
//! | record an access | one conditional write of the right's item (version check); none when nothing changes | 1 WCU per right per batch; the due index is rewritten only when the due *hour* changes; with the optional coalescing window (`USAGE_COALESCE_SECONDS`, off by default, at most an hour) a forward move within the window is not written, so a lock may come that much early |
//! | deliveries | an item per (event, channel, recipient), created with `attribute_not_exists`; due retries under `DELIVERYDUE` | 2 WCU per attempt (transactional) |
//! | sweep | Query each of 8 `due` shards up to the current hour (keys only), BatchGetItem the candidates | grows with rights due or due within the hour, not with all rights |
//! | file / resolve a request + unlock + audit + outbox | one TransactWriteItems | 2 WCU per item (transactional) |
//! | open requests, count | Query the sparse `open` index | ≈ open requests/8 KB |
//! | resolved requests (90 days) | Query `resolved` from `now - 90d`, newest first; TTL deletes 90 days after resolution | ≈ listed items |
//! | audit log | Query the month partitions `AUDIT#yyyy-mm` in the range, filters applied to the page | ≈ entries in range |
//!
//! Uniqueness never relies on an index: one open request per right is the `open_request`
//! attribute of the right's item, written under its version; one current membership or grant is
//! a marker item written with `attribute_not_exists`. Writes that must agree go in one
//! transaction, whose failed conditions map back to the core's `Conflict` / `AlreadyExists`.

pub mod keys;
mod tables;
pub mod testing;

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, DeleteRequest, KeysAndAttributes, Put, Select,
    TransactWriteItem, Update, WriteRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use autolock_core::Timestamp;
use autolock_core::audit::{AuditEntry, AuditFilter};
use autolock_core::directory::{
    Grant, Group, PathFacts, Principal, Resource, RightFacts, ServicePrincipal, Span, Timed, User,
};
use autolock_core::error::StoreError;
use autolock_core::events::OutboxEntry;
use autolock_core::ids::{GrantId, GroupId, PrincipalId, RequestId, ResourceId, UserId};
use autolock_core::lock::Usage;
use autolock_core::notify::{Channel, Delivery, DeliveryStatus, DeliveryStore, WebhookSettings};
use autolock_core::policy::{Policy, PolicyOverride};
use autolock_core::ports::{
    AuditReader, Changeset, Committer, DirectoryChange, DirectoryReader, LockIndex, OutboxReader,
    Page, PageRequest, RequestFilter, RequestReader, RequestWrite, Settings, SettingsStore,
    StoreResult, UsageReader, Versioned,
};
use autolock_core::request::{AccessRequest, RequestStatus};
use autolock_core::values::Role;

pub use tables::{TableNames, create_tables, delete_tables};

/// How long resolved requests are kept (the TTL lazily removes them after that).
pub const RESOLVED_RETENTION_DAYS: i64 = 90;
/// DynamoDB's limits, enforced in our code.
pub const TRANSACTION_LIMIT: usize = 100;
/// BatchWriteItem takes at most this many writes.
pub const BATCH_WRITE_LIMIT: usize = 25;
/// BatchGetItem takes at most this many keys.
pub const BATCH_GET_LIMIT: usize = 100;

type Item = HashMap<String, AttributeValue>;

/// The DynamoDB store.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    tables: TableNames,
}

fn backend<E: std::error::Error + 'static, R: std::fmt::Debug>(e: SdkError<E, R>) -> StoreError {
    StoreError::Backend(DisplayErrorContext(&e).to_string())
}

fn build_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("building a request: {e}"))
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn get_s<'a>(item: &'a Item, name: &str) -> StoreResult<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(StoreError::Backend(format!(
            "item without text attribute {name}"
        ))),
    }
}

fn get_n(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

fn doc<T: DeserializeOwned>(item: &Item) -> StoreResult<T> {
    serde_json::from_str(get_s(item, "doc")?)
        .map_err(|e| StoreError::Backend(format!("corrupt item: {e}")))
}

/// A user from its item: the document, with the active flag from its own attribute (written
/// apart, so that an edit of the other fields never undoes a deactivation).
fn user_doc(item: &Item) -> StoreResult<User> {
    let mut user: User = doc(item)?;
    if let Some(AttributeValue::Bool(active)) = item.get("active") {
        user.active = *active;
    }
    Ok(user)
}

fn encode<T: Serialize>(value: &T) -> StoreResult<AttributeValue> {
    serde_json::to_string(value)
        .map(s)
        .map_err(|e| StoreError::Backend(e.to_string()))
}

fn micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

fn instant(v: i64) -> StoreResult<Timestamp> {
    chrono::DateTime::from_timestamp_micros(v)
        .ok_or_else(|| StoreError::Backend(format!("instant {v} out of range")))
}

fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

fn item(
    pk: impl Into<String>,
    sk: impl Into<String>,
    attrs: impl IntoIterator<Item = (&'static str, AttributeValue)>,
) -> Item {
    let mut i = key(pk, sk);
    i.extend(attrs.into_iter().map(|(k, v)| (k.to_owned(), v)));
    i
}

/// The parts of an expression as the SDK builders take them.
type Split = (
    Option<String>,
    Option<HashMap<String, String>>,
    Option<HashMap<String, AttributeValue>>,
);

/// A condition expression with its names and values.
#[derive(Default)]
struct Cond {
    expression: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Cond {
    fn new(expression: &str) -> Self {
        Self {
            expression: expression.to_owned(),
            ..Self::default()
        }
    }
    fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names
            .insert(placeholder.to_owned(), attribute.to_owned());
        self
    }
    fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }
    fn split(self) -> Split {
        let names = (!self.names.is_empty()).then_some(self.names);
        let values = (!self.values.is_empty()).then_some(self.values);
        (
            (!self.expression.is_empty()).then_some(self.expression),
            names,
            values,
        )
    }
}

fn absent() -> Cond {
    Cond::new("attribute_not_exists(#pk)").name("#pk", "pk")
}

/// A transaction under construction: each item with the error its failed condition means.
#[derive(Default)]
struct Tx {
    items: Vec<TransactWriteItem>,
    on_fail: Vec<StoreError>,
}

impl Tx {
    fn put(
        &mut self,
        table: &str,
        item: Item,
        cond: Option<Cond>,
        fail: StoreError,
    ) -> StoreResult<()> {
        let (expression, names, values) = cond.unwrap_or_default().split();
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .set_condition_expression(expression)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(build_err)?;
        self.items
            .push(TransactWriteItem::builder().put(put).build());
        self.on_fail.push(fail);
        Ok(())
    }

    fn update(
        &mut self,
        table: &str,
        key: Item,
        update: Cond,
        condition: Option<&str>,
        fail: StoreError,
    ) -> StoreResult<()> {
        let (expression, names, values) = update.split();
        let u = Update::builder()
            .table_name(table)
            .set_key(Some(key))
            .set_update_expression(expression)
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(build_err)?;
        self.items
            .push(TransactWriteItem::builder().update(u).build());
        self.on_fail.push(fail);
        Ok(())
    }

    fn delete(&mut self, table: &str, key: Item, cond: Cond, fail: StoreError) -> StoreResult<()> {
        let (expression, names, values) = cond.split();
        let d = Delete::builder()
            .table_name(table)
            .set_key(Some(key))
            .set_condition_expression(expression)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(build_err)?;
        self.items
            .push(TransactWriteItem::builder().delete(d).build());
        self.on_fail.push(fail);
        Ok(())
    }

    fn check(&mut self, table: &str, key: Item, cond: Cond, fail: StoreError) -> StoreResult<()> {
        let (expression, names, values) = cond.split();
        let c = ConditionCheck::builder()
            .table_name(table)
            .set_key(Some(key))
            .set_condition_expression(expression)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(build_err)?;
        self.items
            .push(TransactWriteItem::builder().condition_check(c).build());
        self.on_fail.push(fail);
        Ok(())
    }
}

/// One page of a query: its items and where the next page starts.
struct QueryPage {
    items: Vec<Item>,
    last: Option<Item>,
}

/// A query: table, index, key condition with its values.
struct Q<'a> {
    table: &'a str,
    index: Option<&'a str>,
    condition: &'a str,
    values: Vec<(&'a str, AttributeValue)>,
    forward: bool,
    consistent: bool,
}

impl<'a> Q<'a> {
    fn on(table: &'a str, condition: &'a str) -> Self {
        Self {
            table,
            index: None,
            condition,
            values: Vec::new(),
            forward: true,
            consistent: true,
        }
    }
    fn index(mut self, index: &'a str) -> Self {
        self.index = Some(index);
        self.consistent = false;
        self
    }
    fn value(mut self, name: &'a str, v: AttributeValue) -> Self {
        self.values.push((name, v));
        self
    }
    fn backward(mut self) -> Self {
        self.forward = false;
        self
    }
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

    async fn get(&self, table: &str, key: Item) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        Ok(out.item)
    }

    async fn page(
        &self,
        q: &Q<'_>,
        start: Option<Item>,
        limit: Option<i32>,
    ) -> StoreResult<QueryPage> {
        let mut req = self
            .client
            .query()
            .table_name(q.table)
            .set_index_name(q.index.map(str::to_owned))
            .key_condition_expression(q.condition)
            .scan_index_forward(q.forward)
            .consistent_read(q.consistent)
            .set_exclusive_start_key(start)
            .set_limit(limit);
        for (name, v) in &q.values {
            req = req.expression_attribute_values(*name, v.clone());
        }
        let out = req.send().await.map_err(backend)?;
        Ok(QueryPage {
            items: out.items.unwrap_or_default(),
            last: out.last_evaluated_key,
        })
    }

    /// Every item a query matches, following pages.
    async fn query_all(&self, q: Q<'_>) -> StoreResult<Vec<Item>> {
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let page = self.page(&q, start, None).await?;
            all.extend(page.items);
            match page.last {
                Some(last) => start = Some(last),
                None => return Ok(all),
            }
        }
    }

    /// Items by key, in chunks of 100, retrying unprocessed keys with backoff.
    async fn batch_get(&self, table: &str, keys: Vec<Item>) -> StoreResult<Vec<Item>> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_GET_LIMIT) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0u32;
            while !pending.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(pending))
                    .consistent_read(true)
                    .build()
                    .map_err(build_err)?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(table, request)
                    .send()
                    .await
                    .map_err(backend)?;
                if let Some(mut responses) = out.responses {
                    found.extend(responses.remove(table).unwrap_or_default());
                }
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                if !pending.is_empty() {
                    attempt += 1;
                    if attempt > 8 {
                        return Err(StoreError::Backend(
                            "batch get: keys left unprocessed after 8 attempts".into(),
                        ));
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(25 << attempt.min(6)))
                        .await;
                }
            }
        }
        Ok(found)
    }

    /// Writes in chunks of 25 (DynamoDB refuses more per BatchWriteItem), retrying unprocessed
    /// items with backoff.
    async fn batch_write(&self, table: &str, writes: Vec<WriteRequest>) -> StoreResult<()> {
        for chunk in writes.chunks(BATCH_WRITE_LIMIT) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0u32;
            while !pending.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(table, pending)
                    .send()
                    .await
                    .map_err(backend)?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(table))
                    .unwrap_or_default();
                if !pending.is_empty() {
                    attempt += 1;
                    if attempt > 8 {
                        return Err(StoreError::Backend(
                            "batch write: items left unprocessed after 8 attempts".into(),
                        ));
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(25 << attempt.min(6)))
                        .await;
                }
            }
        }
        Ok(())
    }

    async fn run(&self, tx: Tx) -> StoreResult<()> {
        if tx.items.is_empty() {
            return Ok(());
        }
        if tx.items.len() > TRANSACTION_LIMIT {
            return Err(StoreError::Backend(format!(
                "a change of {} items exceeds DynamoDB's {TRANSACTION_LIMIT}-item transaction",
                tx.items.len()
            )));
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(tx.items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let service = e.as_service_error();
                if let Some(TransactWriteItemsError::TransactionCanceledException(c)) = service {
                    let reasons = c.cancellation_reasons();
                    if let Some(i) = reasons
                        .iter()
                        .position(|r| r.code() == Some("ConditionalCheckFailed"))
                    {
                        return Err(tx
                            .on_fail
                            .get(i)
                            .cloned()
                            .unwrap_or_else(|| StoreError::Conflict("condition failed".into())));
                    }
                    if reasons
                        .iter()
                        .any(|r| r.code() == Some("TransactionConflict"))
                    {
                        return Err(StoreError::Conflict(
                            "a concurrent transaction touched the same items".into(),
                        ));
                    }
                }
                Err(backend(e))
            }
        }
    }

    // ---- directory helpers ---------------------------------------------------------------

    async fn grant_by_id(&self, id: &str) -> StoreResult<Option<Grant>> {
        let items = self
            .query_all(Q::on(&self.tables.policies, "pk = :pk").value(":pk", s(keys::grant(id))))
            .await?;
        let Some(head) = items
            .iter()
            .find(|i| get_s(i, "sk").is_ok_and(|sk| sk == "GR"))
        else {
            return Ok(None);
        };
        let mut grant: Grant = doc(head)?;
        grant.span.end = get_n(head, "end_us").map(instant).transpose()?;
        grant.expiry.clear();
        grant.overrides.clear();
        for i in &items {
            let sk = get_s(i, "sk")?;
            let at = get_n(i, "at_us").map(instant).transpose()?;
            if sk.starts_with("EXP#") {
                let value: Option<Timestamp> = doc(i)?;
                grant.expiry.push(Timed {
                    at: at.unwrap_or(grant.span.start),
                    value,
                });
            } else if sk.starts_with("OVR#") {
                let value: PolicyOverride = doc(i)?;
                grant.overrides.push(Timed {
                    at: at.unwrap_or(grant.span.start),
                    value,
                });
            }
        }
        Ok(Some(grant))
    }

    /// (group, grant id, ended) of the grants listed under a partition (`G#..` or `R#..`).
    async fn grant_refs(&self, pk: String) -> StoreResult<Vec<(String, String, bool)>> {
        let items = self
            .query_all(
                Q::on(&self.tables.policies, "pk = :pk AND begins_with(sk, :p)")
                    .value(":pk", s(pk))
                    .value(":p", s("GRANT#")),
            )
            .await?;
        items
            .iter()
            .map(|i| {
                Ok((
                    get_s(i, "other")?.to_owned(),
                    get_s(i, "grant_id")?.to_owned(),
                    i.contains_key("ended"),
                ))
            })
            .collect()
    }

    async fn current_grants(&self, pk: String) -> StoreResult<Vec<Grant>> {
        let mut out = Vec::new();
        for (_, id, ended) in self.grant_refs(pk).await? {
            if !ended {
                out.extend(
                    self.grant_by_id(&id)
                        .await?
                        .filter(|g| g.span.end.is_none()),
                );
            }
        }
        Ok(out)
    }

    /// The history of a user's active flag: the `ACT#` items of the user's partition, read with
    /// the user's own item in one query. Empty when the user does not exist.
    async fn activity_of(&self, user: &UserId) -> StoreResult<Vec<Timed<bool>>> {
        let items = self
            .query_all(
                Q::on(&self.tables.policies, "pk = :pk")
                    .value(":pk", s(keys::principal(user.as_str()))),
            )
            .await?;
        let mut history = Vec::new();
        let mut current = None;
        for i in &items {
            let sk = get_s(i, "sk")?;
            if sk == "P" {
                if get_s(i, "kind")? == "user" {
                    let u = user_doc(i)?;
                    current = Some((u.created_at, u.active));
                }
            } else if sk.starts_with("ACT#") {
                let at = instant(get_n(i, "at_us").unwrap_or_default())?;
                let active = matches!(i.get("active"), Some(AttributeValue::Bool(true)));
                history.push(Timed { at, value: active });
            }
        }
        match current {
            None => Ok(Vec::new()),
            // Users written before the history was kept: their flag since their creation.
            Some((created, active)) if history.is_empty() => Ok(vec![Timed {
                at: created,
                value: active,
            }]),
            Some(_) => Ok(history),
        }
    }

    /// The user's membership spans, by group.
    async fn memberships_of(&self, user: &str) -> StoreResult<HashMap<String, Vec<Span>>> {
        let items = self
            .query_all(
                Q::on(&self.tables.policies, "pk = :pk AND begins_with(sk, :p)")
                    .value(":pk", s(keys::user(user)))
                    .value(":p", s("M#")),
            )
            .await?;
        let mut by_group: HashMap<String, Vec<Span>> = HashMap::new();
        for i in &items {
            let group = get_s(i, "group")?.to_owned();
            let start = instant(get_n(i, "start_us").unwrap_or_default())?;
            let end = get_n(i, "end_us").map(instant).transpose()?;
            by_group.entry(group).or_default().push(Span { start, end });
        }
        for spans in by_group.values_mut() {
            spans.sort_by_key(|sp| sp.start);
        }
        Ok(by_group)
    }

    async fn list_type<T>(
        &self,
        kind: &str,
        page: &PageRequest,
        decode: fn(&Item) -> StoreResult<T>,
    ) -> StoreResult<Page<T>> {
        let limit = page.effective_limit();
        let q = match &page.after {
            Some(after) => Q::on(&self.tables.policies, "gsi1pk = :pk AND gsi1sk > :after")
                .value(":after", s(after.clone())),
            None => Q::on(&self.tables.policies, "gsi1pk = :pk"),
        }
        .index("gsi1")
        .value(":pk", s(kind));
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let p = self
                .page(&q, start, Some(i32::try_from(limit + 1).unwrap_or(1001)))
                .await?;
            items.extend(p.items);
            if items.len() > limit || p.last.is_none() {
                break;
            }
            start = p.last;
        }
        let more = items.len() > limit;
        items.truncate(limit);
        let next = if more {
            items
                .last()
                .map(|i| get_s(i, "gsi1sk").map(str::to_owned))
                .transpose()?
        } else {
            None
        };
        Ok(Page {
            items: items.iter().map(decode).collect::<StoreResult<_>>()?,
            next,
        })
    }
}

// ---- reads -------------------------------------------------------------------------------------

#[async_trait]
impl DirectoryReader for DynamoStore {
    async fn principal(&self, id: &PrincipalId) -> StoreResult<Option<Principal>> {
        let Some(i) = self
            .get(
                &self.tables.policies,
                key(keys::principal(id.as_str()), "P"),
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(if get_s(&i, "kind")? == "user" {
            let u = user_doc(&i)?;
            Principal {
                id: u.id,
                role: u.role,
                active: u.active,
            }
        } else {
            Principal {
                id: id.clone(),
                role: Role::Gateway,
                active: true,
            }
        }))
    }

    async fn user(&self, id: &UserId) -> StoreResult<Option<User>> {
        let i = self
            .get(
                &self.tables.policies,
                key(keys::principal(id.as_str()), "P"),
            )
            .await?;
        match i {
            Some(i) if get_s(&i, "kind")? == "user" => Ok(Some(user_doc(&i)?)),
            _ => Ok(None),
        }
    }

    async fn users(&self, page: &PageRequest) -> StoreResult<Page<User>> {
        self.list_type("USERS", page, user_doc).await
    }

    async fn active_users_with_roles(&self, roles: &[Role]) -> StoreResult<Vec<User>> {
        let items = self
            .query_all(
                Q::on(&self.tables.policies, "gsi1pk = :pk")
                    .index("gsi1")
                    .value(":pk", s("USERS")),
            )
            .await?;
        let users: Vec<User> = items.iter().map(user_doc).collect::<StoreResult<_>>()?;
        Ok(users
            .into_iter()
            .filter(|u| u.active && roles.contains(&u.role))
            .collect())
    }

    async fn service_principal(&self, id: &PrincipalId) -> StoreResult<Option<ServicePrincipal>> {
        let i = self
            .get(
                &self.tables.policies,
                key(keys::principal(id.as_str()), "P"),
            )
            .await?;
        match i {
            Some(i) if get_s(&i, "kind")? == "sp" => Ok(Some(doc(&i)?)),
            _ => Ok(None),
        }
    }

    async fn group(&self, id: &GroupId) -> StoreResult<Option<Group>> {
        self.get(&self.tables.policies, key(keys::group(id.as_str()), "G"))
            .await?
            .as_ref()
            .map(doc)
            .transpose()
    }

    async fn groups(&self, page: &PageRequest) -> StoreResult<Page<Group>> {
        self.list_type("GROUPS", page, doc).await
    }

    async fn resource(&self, id: &ResourceId) -> StoreResult<Option<Resource>> {
        self.get(&self.tables.policies, key(keys::resource(id.as_str()), "R"))
            .await?
            .as_ref()
            .map(doc)
            .transpose()
    }

    async fn resources(&self, page: &PageRequest) -> StoreResult<Page<Resource>> {
        self.list_type("RESOURCES", page, doc).await
    }

    async fn grant(&self, id: &GrantId) -> StoreResult<Option<Grant>> {
        self.grant_by_id(id.as_str()).await
    }

    async fn current_grant(
        &self,
        group: &GroupId,
        resource: &ResourceId,
    ) -> StoreResult<Option<Grant>> {
        let marker = self
            .get(
                &self.tables.policies,
                key(keys::group(group.as_str()), format!("CG#{resource}")),
            )
            .await?;
        match marker {
            Some(m) => self.grant_by_id(get_s(&m, "grant_id")?).await,
            None => Ok(None),
        }
    }

    async fn grants_of_resource(&self, resource: &ResourceId) -> StoreResult<Vec<Grant>> {
        let mut grants = self
            .current_grants(keys::resource(resource.as_str()))
            .await?;
        grants.sort_by(|a, b| a.group.cmp(&b.group));
        Ok(grants)
    }

    async fn grants_of_group(&self, group: &GroupId) -> StoreResult<Vec<Grant>> {
        let mut grants = self.current_grants(keys::group(group.as_str())).await?;
        grants.sort_by(|a, b| a.resource.cmp(&b.resource));
        Ok(grants)
    }

    async fn members(&self, group: &GroupId) -> StoreResult<Vec<UserId>> {
        let items = self
            .query_all(
                Q::on(&self.tables.policies, "gsi1pk = :pk")
                    .index("gsi1")
                    .value(":pk", s(format!("GM#{group}"))),
            )
            .await?;
        let current: BTreeSet<String> = items
            .iter()
            .filter(|i| !i.contains_key("end_us"))
            .map(|i| get_s(i, "user").map(str::to_owned))
            .collect::<StoreResult<_>>()?;
        current
            .into_iter()
            .map(|u| UserId::parse(u).map_err(|e| StoreError::Backend(e.to_string())))
            .collect()
    }

    async fn membership(&self, user: &UserId, group: &GroupId) -> StoreResult<Option<Span>> {
        let marker = self
            .get(
                &self.tables.policies,
                key(keys::user(user.as_str()), format!("CM#{group}")),
            )
            .await?;
        marker
            .map(|m| instant(get_n(&m, "start_us").unwrap_or_default()).map(Span::from))
            .transpose()
    }

    async fn groups_of_user(&self, user: &UserId) -> StoreResult<Vec<GroupId>> {
        let items = self
            .query_all(
                Q::on(&self.tables.policies, "pk = :pk AND begins_with(sk, :p)")
                    .value(":pk", s(keys::user(user.as_str())))
                    .value(":p", s("CM#")),
            )
            .await?;
        items
            .iter()
            .map(|i| {
                GroupId::parse(get_s(i, "group")?).map_err(|e| StoreError::Backend(e.to_string()))
            })
            .collect()
    }

    async fn right_facts(&self, user: &UserId, resource: &ResourceId) -> StoreResult<RightFacts> {
        let activity = self.activity_of(user).await?;
        let policies = self
            .query_all(
                Q::on(&self.tables.policies, "pk = :pk AND begins_with(sk, :p)")
                    .value(":pk", s(keys::resource(resource.as_str())))
                    .value(":p", s("POL#")),
            )
            .await?;
        let resource_policy = policies
            .iter()
            .map(|i| {
                Ok(Timed {
                    at: instant(get_n(i, "at_us").unwrap_or_default())?,
                    value: doc::<Policy>(i)?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let memberships = self.memberships_of(user.as_str()).await?;
        let mut by_group: std::collections::BTreeMap<String, Vec<String>> =
            std::collections::BTreeMap::new();
        for (group, grant, _) in self.grant_refs(keys::resource(resource.as_str())).await? {
            if memberships.contains_key(&group) {
                by_group.entry(group).or_default().push(grant);
            }
        }
        let mut paths = Vec::with_capacity(by_group.len());
        for (group, grant_ids) in by_group {
            let mut grants = Vec::new();
            for id in grant_ids {
                grants.extend(self.grant_by_id(&id).await?);
            }
            grants.sort_by_key(|g| g.span.start);
            paths.push(PathFacts {
                group: GroupId::parse(group.as_str())
                    .map_err(|e| StoreError::Backend(e.to_string()))?,
                memberships: memberships[&group].clone(),
                grants,
            });
        }
        Ok(RightFacts {
            user: user.clone(),
            resource: resource.clone(),
            activity,
            resource_policy,
            paths,
        })
    }

    async fn resources_of_user(&self, user: &UserId) -> StoreResult<Vec<ResourceId>> {
        let mut out = BTreeSet::new();
        for group in self.memberships_of(user.as_str()).await?.keys() {
            for (resource, _, _) in self.grant_refs(keys::group(group)).await? {
                out.insert(resource);
            }
        }
        out.into_iter()
            .map(|r| ResourceId::parse(r).map_err(|e| StoreError::Backend(e.to_string())))
            .collect()
    }

    async fn users_of_resource_page(
        &self,
        resource: &ResourceId,
        page: &PageRequest,
    ) -> StoreResult<Page<UserId>> {
        // The members of each group granted on the resource, read from the group's `GM#` index
        // partition in user order from the cursor on: the first `limit` users of the merge are
        // among the first `limit + 1` distinct users of each group.
        let limit = page.effective_limit();
        let after = page.after.clone().unwrap_or_default();
        let groups: BTreeSet<String> = self
            .grant_refs(keys::resource(resource.as_str()))
            .await?
            .into_iter()
            .map(|(g, _, _)| g)
            .collect();
        let mut merged = BTreeSet::new();
        for group in groups {
            let q = Q::on(&self.tables.policies, "gsi1pk = :pk AND gsi1sk > :after")
                .index("gsi1")
                .value(":pk", s(format!("GM#{group}")))
                .value(":after", s(format!("{after}#~")));
            let mut distinct = BTreeSet::new();
            let mut from = None;
            loop {
                let p = self
                    .page(&q, from, Some(i32::try_from(limit + 1).unwrap_or(1001)))
                    .await?;
                for i in &p.items {
                    distinct.insert(get_s(i, "user")?.to_owned());
                }
                if distinct.len() > limit || p.last.is_none() {
                    break;
                }
                from = p.last;
            }
            merged.extend(distinct.into_iter().take(limit + 1));
        }
        let mut users: Vec<String> = merged.into_iter().take(limit + 1).collect();
        let next = (users.len() > limit).then(|| users[limit - 1].clone());
        users.truncate(limit);
        let items = users
            .into_iter()
            .map(|u| UserId::parse(u).map_err(|e| StoreError::Backend(e.to_string())))
            .collect::<StoreResult<_>>()?;
        Ok(Page { items, next })
    }

    async fn users_of_resource(&self, resource: &ResourceId) -> StoreResult<Vec<UserId>> {
        let groups: BTreeSet<String> = self
            .grant_refs(keys::resource(resource.as_str()))
            .await?
            .into_iter()
            .map(|(g, _, _)| g)
            .collect();
        let mut out = BTreeSet::new();
        for group in groups {
            let items = self
                .query_all(
                    Q::on(&self.tables.policies, "gsi1pk = :pk")
                        .index("gsi1")
                        .value(":pk", s(format!("GM#{group}"))),
                )
                .await?;
            for i in &items {
                out.insert(get_s(i, "user")?.to_owned());
            }
        }
        out.into_iter()
            .map(|u| UserId::parse(u).map_err(|e| StoreError::Backend(e.to_string())))
            .collect()
    }
}

#[async_trait]
impl UsageReader for DynamoStore {
    async fn usage(&self, user: &UserId, resource: &ResourceId) -> StoreResult<Versioned<Usage>> {
        let i = self
            .get(&self.tables.usage, key(user.as_str(), resource.as_str()))
            .await?;
        Ok(match i {
            Some(i) => Versioned {
                value: doc(&i)?,
                version: u64::try_from(get_n(&i, "version").unwrap_or(0)).unwrap_or(0),
            },
            None => Versioned {
                value: Usage::default(),
                version: 0,
            },
        })
    }
}

#[async_trait]
impl LockIndex for DynamoStore {
    async fn due(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<(UserId, ResourceId)>> {
        let mut candidates = Vec::new();
        for shard in 0..keys::DUE_SHARDS {
            let q = Q::on(&self.tables.usage, "due_shard = :s AND due_hour <= :h")
                .index("due")
                .value(":s", s(format!("DUE#{shard}")))
                .value(":h", n(keys::hour(now)));
            let mut start = None;
            let mut taken = 0;
            loop {
                let p = self
                    .page(
                        &q,
                        start,
                        Some(i32::try_from(limit.max(1)).unwrap_or(i32::MAX)),
                    )
                    .await?;
                taken += p.items.len();
                candidates.extend(p.items.into_iter().map(|i| key_of_usage(&i)));
                if taken >= limit || p.last.is_none() {
                    break;
                }
                start = p.last;
            }
        }
        let items = self.batch_get(&self.tables.usage, candidates).await?;
        let mut due: Vec<(i64, String, String)> = items
            .iter()
            .filter_map(|i| {
                let at = get_n(i, "next_due")?;
                (at <= micros(now)).then(|| {
                    Some((
                        at,
                        get_s(i, "pk").ok()?.to_owned(),
                        get_s(i, "sk").ok()?.to_owned(),
                    ))
                })?
            })
            .collect();
        due.sort();
        due.truncate(limit);
        due.into_iter()
            .map(|(_, u, r)| {
                Ok((
                    UserId::parse(u).map_err(|e| StoreError::Backend(e.to_string()))?,
                    ResourceId::parse(r).map_err(|e| StoreError::Backend(e.to_string()))?,
                ))
            })
            .collect()
    }
}

fn key_of_usage(i: &Item) -> Item {
    i.iter()
        .filter(|(k, _)| *k == "pk" || *k == "sk")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[async_trait]
impl RequestReader for DynamoStore {
    async fn request(&self, id: &RequestId) -> StoreResult<Option<AccessRequest>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.requests)
            .key("pk", s(id.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        out.item.as_ref().map(doc).transpose()
    }

    async fn open_requests(
        &self,
        filter: &RequestFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<AccessRequest>> {
        let q = match &page.after {
            Some(after) => Q::on(&self.tables.requests, "open_pk = :pk AND open_sk > :after")
                .value(":after", s(after.clone())),
            None => Q::on(&self.tables.requests, "open_pk = :pk"),
        }
        .index("open")
        .value(":pk", s("OPEN"));
        self.filtered_requests(q, filter, page, |r| {
            format!("{}#{}", keys::at(r.requested_at), r.id)
        })
        .await
    }

    async fn resolved_requests(
        &self,
        since: Timestamp,
        filter: &RequestFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<AccessRequest>> {
        let before = page.after.clone().unwrap_or_else(|| "~".to_owned());
        let q = Q::on(
            &self.tables.requests,
            "res_pk = :pk AND res_sk BETWEEN :since AND :before",
        )
        .index("resolved")
        .value(":pk", s("RESOLVED"))
        .value(":since", s(keys::at(since)))
        .value(":before", s(before.clone()))
        .backward();
        let mut result = self
            .filtered_requests(q, filter, page, |r| {
                format!(
                    "{}#{}",
                    r.resolved_at.map(keys::at).unwrap_or_default(),
                    r.id
                )
            })
            .await?;
        // BETWEEN is inclusive: drop the cursor item itself.
        result.items.retain(|r| {
            format!(
                "{}#{}",
                r.resolved_at.map(keys::at).unwrap_or_default(),
                r.id
            ) != before
        });
        Ok(result)
    }

    async fn count_open(&self) -> StoreResult<u64> {
        let mut count = 0u64;
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.tables.requests)
                .index_name("open")
                .key_condition_expression("open_pk = :pk")
                .expression_attribute_values(":pk", s("OPEN"))
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(backend)?;
            count += u64::try_from(out.count).unwrap_or(0);
            match out.last_evaluated_key {
                Some(last) => start = Some(last),
                None => return Ok(count),
            }
        }
    }
}

impl DynamoStore {
    async fn filtered_requests(
        &self,
        q: Q<'_>,
        filter: &RequestFilter,
        page: &PageRequest,
        cursor: impl Fn(&AccessRequest) -> String,
    ) -> StoreResult<Page<AccessRequest>> {
        let limit = page.effective_limit();
        let mut out: Vec<AccessRequest> = Vec::new();
        let mut start = None;
        loop {
            let p = self
                .page(&q, start, Some(i32::try_from(limit + 1).unwrap_or(1001)))
                .await?;
            for i in &p.items {
                let r: AccessRequest = doc(i)?;
                if filter.user.as_ref().is_none_or(|u| *u == r.user)
                    && filter.resource.as_ref().is_none_or(|x| *x == r.resource)
                {
                    out.push(r);
                }
            }
            if out.len() > limit || p.last.is_none() {
                break;
            }
            start = p.last;
        }
        let more = out.len() > limit;
        out.truncate(limit);
        let next = if more { out.last().map(&cursor) } else { None };
        Ok(Page { items: out, next })
    }
}

#[async_trait]
impl AuditReader for DynamoStore {
    async fn audit(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<AuditEntry>> {
        let limit = page.effective_limit();
        let months_items = self
            .query_all(
                Q::on(&self.tables.policies, "pk = :pk AND begins_with(sk, :p)")
                    .value(":pk", s("AUDIT"))
                    .value(":p", s("MONTH#")),
            )
            .await?;
        let mut months: Vec<String> = months_items
            .iter()
            .map(|i| get_s(i, "sk").map(|sk| sk.trim_start_matches("MONTH#").to_owned()))
            .collect::<StoreResult<_>>()?;
        months.sort();
        let (cursor_month, cursor_sk) = match &page.after {
            Some(c) => {
                let (m, sk) = c
                    .split_once('|')
                    .ok_or_else(|| StoreError::Backend(format!("bad cursor {c:?}")))?;
                (Some(m.to_owned()), sk.to_owned())
            }
            None => (None, String::new()),
        };
        let from_month = filter.from.map(keys::audit_month);
        let to_month = filter.to.map(keys::audit_month);
        let mut out: Vec<(String, AuditEntry)> = Vec::new();
        'months: for month in months {
            if from_month.as_ref().is_some_and(|f| month < *f)
                || to_month.as_ref().is_some_and(|t| month > *t)
            {
                continue;
            }
            if cursor_month.as_ref().is_some_and(|c| month < *c) {
                continue;
            }
            let pk = format!("AUDIT#{month}");
            let q = if cursor_month.as_ref() == Some(&month) {
                Q::on(&self.tables.policies, "pk = :pk AND sk > :after")
                    .value(":after", s(cursor_sk.clone()))
            } else {
                Q::on(&self.tables.policies, "pk = :pk")
            }
            .value(":pk", s(pk));
            let mut start = None;
            loop {
                let p = self
                    .page(&q, start, Some(i32::try_from(limit + 1).unwrap_or(1001)))
                    .await?;
                for i in &p.items {
                    let entry: AuditEntry = doc(i)?;
                    if filter.matches(&entry) {
                        out.push((format!("{month}|{}", get_s(i, "sk")?), entry));
                        if out.len() > limit {
                            break 'months;
                        }
                    }
                }
                match p.last {
                    Some(last) => start = Some(last),
                    None => break,
                }
            }
        }
        let more = out.len() > limit;
        out.truncate(limit);
        let next = if more {
            out.last().map(|(c, _)| c.clone())
        } else {
            None
        };
        Ok(Page {
            items: out.into_iter().map(|(_, e)| e).collect(),
            next,
        })
    }
}

#[async_trait]
impl OutboxReader for DynamoStore {
    async fn pending(&self, limit: usize) -> StoreResult<Vec<OutboxEntry>> {
        let q = Q::on(&self.tables.policies, "pk = :pk").value(":pk", s("OUTBOX"));
        let p = self
            .page(&q, None, Some(i32::try_from(limit).unwrap_or(i32::MAX)))
            .await?;
        p.items.iter().map(doc).collect()
    }

    async fn mark_delivered(&self, entries: &[OutboxEntry]) -> StoreResult<()> {
        let deletes = entries
            .iter()
            .map(|e| {
                let key = key("OUTBOX", format!("{}#{}", keys::at(e.at), e.id));
                DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map(|d| WriteRequest::builder().delete_request(d).build())
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(build_err)?;
        self.batch_write(&self.tables.policies, deletes).await
    }
}

#[async_trait]
impl SettingsStore for DynamoStore {
    async fn settings(&self) -> StoreResult<Settings> {
        Ok(self
            .get(&self.tables.policies, key("SETTINGS", "NOTIFICATIONS"))
            .await?
            .as_ref()
            .map(doc)
            .transpose()?
            .unwrap_or_default())
    }

    async fn webhook(&self) -> StoreResult<Option<WebhookSettings>> {
        self.get(&self.tables.policies, key("SETTINGS", "WEBHOOK"))
            .await?
            .as_ref()
            .map(doc)
            .transpose()
    }

    async fn put_webhook(&self, webhook: Option<&WebhookSettings>) -> StoreResult<()> {
        match webhook {
            Some(w) => {
                self.client
                    .put_item()
                    .table_name(&self.tables.policies)
                    .set_item(Some(item("SETTINGS", "WEBHOOK", [("doc", encode(w)?)])))
                    .send()
                    .await
                    .map_err(backend)?;
            }
            None => {
                self.client
                    .delete_item()
                    .table_name(&self.tables.policies)
                    .set_key(Some(key("SETTINGS", "WEBHOOK")))
                    .send()
                    .await
                    .map_err(backend)?;
            }
        }
        Ok(())
    }

    async fn put_settings(&self, settings: &Settings) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.tables.policies)
            .set_item(Some(item(
                "SETTINGS",
                "NOTIFICATIONS",
                [("doc", encode(settings)?)],
            )))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}

fn delivery_item(d: &Delivery) -> StoreResult<Item> {
    Ok(item(
        format!("DELIVERY#{}", d.id),
        "D",
        [
            ("doc", encode(d)?),
            ("gsi1pk", s(format!("DELIVERIES#{}", d.channel.as_str()))),
            ("gsi1sk", s(format!("{}#{}", keys::at(d.created_at), d.id))),
        ],
    ))
}

fn due_key(d: &Delivery) -> Option<Item> {
    match (d.status, d.next_attempt_at) {
        (DeliveryStatus::Pending, Some(at)) => {
            Some(key("DELIVERYDUE", format!("{}#{}", keys::at(at), d.id)))
        }
        _ => None,
    }
}

#[async_trait]
impl DeliveryStore for DynamoStore {
    async fn create_delivery(&self, d: &Delivery) -> StoreResult<bool> {
        let p = &self.tables.policies;
        let mut tx = Tx::default();
        tx.put(
            p,
            delivery_item(d)?,
            Some(absent()),
            exists_err(format!("delivery {}", d.id)),
        )?;
        if let Some(mut k) = due_key(d) {
            k.insert("delivery_id".into(), s(d.id.clone()));
            tx.put(p, k, None, conflict("delivery index"))?;
        }
        match self.run(tx).await {
            Ok(()) => Ok(true),
            Err(StoreError::AlreadyExists(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn update_delivery(&self, d: &Delivery) -> StoreResult<()> {
        let p = &self.tables.policies;
        let before = self.delivery(&d.id).await?;
        let mut tx = Tx::default();
        tx.put(p, delivery_item(d)?, None, conflict("delivery"))?;
        let old = before.as_ref().and_then(due_key);
        let new = due_key(d);
        if old != new {
            if let Some(k) = old {
                tx.delete(p, k, Cond::default(), conflict("delivery index"))?;
            }
            if let Some(mut k) = new {
                k.insert("delivery_id".into(), s(d.id.clone()));
                tx.put(p, k, None, conflict("delivery index"))?;
            }
        }
        self.run(tx).await
    }

    async fn delivery(&self, id: &str) -> StoreResult<Option<Delivery>> {
        self.get(&self.tables.policies, key(format!("DELIVERY#{id}"), "D"))
            .await?
            .as_ref()
            .map(doc)
            .transpose()
    }

    async fn due_deliveries(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<Delivery>> {
        let q = Q::on(&self.tables.policies, "pk = :pk AND sk <= :now")
            .value(":pk", s("DELIVERYDUE"))
            .value(":now", s(format!("{}#~", keys::at(now))));
        let page = self
            .page(
                &q,
                None,
                Some(i32::try_from(limit.max(1)).unwrap_or(i32::MAX)),
            )
            .await?;
        let keys: Vec<Item> = page
            .items
            .iter()
            .map(|i| get_s(i, "delivery_id").map(|id| key(format!("DELIVERY#{id}"), "D")))
            .collect::<StoreResult<_>>()?;
        let mut due: Vec<Delivery> = self
            .batch_get(&self.tables.policies, keys)
            .await?
            .iter()
            .map(doc::<Delivery>)
            .collect::<StoreResult<Vec<_>>>()?
            .into_iter()
            .filter(|d| {
                d.status == DeliveryStatus::Pending && d.next_attempt_at.is_some_and(|t| t <= now)
            })
            .collect();
        due.sort_by(|a, b| {
            a.next_attempt_at
                .cmp(&b.next_attempt_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(due)
    }

    async fn deliveries(
        &self,
        channel: Channel,
        page: &PageRequest,
    ) -> StoreResult<Page<Delivery>> {
        let limit = page.effective_limit();
        let q = match &page.after {
            Some(after) => Q::on(&self.tables.policies, "gsi1pk = :pk AND gsi1sk < :after")
                .value(":after", s(after.clone())),
            None => Q::on(&self.tables.policies, "gsi1pk = :pk"),
        }
        .index("gsi1")
        .value(":pk", s(format!("DELIVERIES#{}", channel.as_str())))
        .backward();
        let p = self
            .page(&q, None, Some(i32::try_from(limit + 1).unwrap_or(1001)))
            .await?;
        let mut items = p.items;
        let more = items.len() > limit || p.last.is_some() && items.len() == limit + 1;
        items.truncate(limit);
        let next = if more {
            items
                .last()
                .map(|i| get_s(i, "gsi1sk").map(str::to_owned))
                .transpose()?
        } else {
            None
        };
        Ok(Page {
            items: items.iter().map(doc).collect::<StoreResult<_>>()?,
            next,
        })
    }
}

// ---- writes ------------------------------------------------------------------------------------

fn conflict(what: impl Into<String>) -> StoreError {
    StoreError::Conflict(what.into())
}

fn exists_err(what: impl Into<String>) -> StoreError {
    StoreError::AlreadyExists(what.into())
}

#[async_trait]
impl Committer for DynamoStore {
    async fn commit(&self, changes: Changeset) -> StoreResult<()> {
        let p = &self.tables.policies;
        let mut tx = Tx::default();
        let mut seq = 0u32;
        let mut next = || {
            seq += 1;
            format!("{seq:04}{}", uuid_suffix())
        };
        for change in &changes.directory {
            match change {
                DirectoryChange::CreateUser(u) => {
                    let i = item(
                        keys::principal(u.id.as_str()),
                        "P",
                        [
                            ("kind", s("user")),
                            ("doc", encode(u)?),
                            ("gsi1pk", s("USERS")),
                            ("gsi1sk", s(u.id.as_str())),
                        ],
                    );
                    tx.put(
                        p,
                        i.into_iter()
                            .chain([("active".to_owned(), AttributeValue::Bool(u.active))])
                            .collect(),
                        Some(absent()),
                        exists_err(format!("principal {}", u.id)),
                    )?;
                    tx.put(
                        p,
                        activity_item(&u.id, u.created_at, u.active, &next()),
                        None,
                        conflict("activity history"),
                    )?;
                }
                DirectoryChange::UpdateUser(u) => {
                    // The document only: the active flag is its own attribute.
                    let update = Cond::new("SET #d = :d")
                        .name("#d", "doc")
                        .name("#k", "kind")
                        .value(":d", encode(u)?)
                        .value(":user", s("user"));
                    tx.update(
                        p,
                        key(keys::principal(u.id.as_str()), "P"),
                        update,
                        Some("#k = :user"),
                        conflict(format!("user {} does not exist", u.id)),
                    )?;
                }
                DirectoryChange::SetUserActive { user, at, active } => {
                    let update = Cond::new("SET #a = :a")
                        .name("#a", "active")
                        .name("#k", "kind")
                        .value(":a", AttributeValue::Bool(*active))
                        .value(":user", s("user"));
                    tx.update(
                        p,
                        key(keys::principal(user.as_str()), "P"),
                        update,
                        Some("#k = :user"),
                        conflict(format!("user {user} does not exist")),
                    )?;
                    tx.put(
                        p,
                        activity_item(user, *at, *active, &next()),
                        None,
                        conflict("activity history"),
                    )?;
                }
                DirectoryChange::CreateServicePrincipal(sp) => {
                    let i = item(
                        keys::principal(sp.id.as_str()),
                        "P",
                        [("kind", s("sp")), ("doc", encode(sp)?)],
                    );
                    tx.put(
                        p,
                        i,
                        Some(absent()),
                        exists_err(format!("principal {}", sp.id)),
                    )?;
                }
                DirectoryChange::CreateGroup(g) => {
                    let i = item(
                        keys::group(g.id.as_str()),
                        "G",
                        [
                            ("doc", encode(g)?),
                            ("gsi1pk", s("GROUPS")),
                            ("gsi1sk", s(g.id.as_str())),
                        ],
                    );
                    tx.put(p, i, Some(absent()), exists_err(format!("group {}", g.id)))?;
                }
                DirectoryChange::CreateResource(r) => {
                    let i = item(
                        keys::resource(r.id.as_str()),
                        "R",
                        [
                            ("doc", encode(r)?),
                            ("gsi1pk", s("RESOURCES")),
                            ("gsi1sk", s(r.id.as_str())),
                        ],
                    );
                    tx.put(
                        p,
                        i,
                        Some(absent()),
                        exists_err(format!("resource {}", r.id)),
                    )?;
                    let h = item(
                        keys::resource(r.id.as_str()),
                        format!("POL#{}#{}", keys::at(r.created_at), next()),
                        [
                            ("doc", encode(&r.policy)?),
                            ("at_us", n(micros(r.created_at))),
                        ],
                    );
                    tx.put(p, h, None, conflict("policy history"))?;
                }
                DirectoryChange::SetResourcePolicy {
                    resource,
                    at,
                    policy,
                } => {
                    let update = Cond::new("SET #d = :d").name("#d", "doc");
                    let current = self
                        .resource(resource)
                        .await?
                        .ok_or_else(|| conflict(format!("resource {resource} does not exist")))?;
                    let updated = Resource {
                        policy: *policy,
                        ..current
                    };
                    tx.update(
                        p,
                        key(keys::resource(resource.as_str()), "R"),
                        update.value(":d", encode(&updated)?),
                        Some("attribute_exists(pk)"),
                        conflict(format!("resource {resource} does not exist")),
                    )?;
                    let h = item(
                        keys::resource(resource.as_str()),
                        format!("POL#{}#{}", keys::at(*at), next()),
                        [("doc", encode(policy)?), ("at_us", n(micros(*at)))],
                    );
                    tx.put(p, h, None, conflict("policy history"))?;
                }
                DirectoryChange::AddMembership { user, group, at } => {
                    let marker = item(
                        keys::user(user.as_str()),
                        format!("CM#{group}"),
                        [("group", s(group.as_str())), ("start_us", n(micros(*at)))],
                    );
                    tx.put(
                        p,
                        marker,
                        Some(absent()),
                        conflict(format!("{user} is already a member of {group}")),
                    )?;
                    let span = item(
                        keys::user(user.as_str()),
                        format!("M#{group}#{}", keys::at(*at)),
                        [
                            ("group", s(group.as_str())),
                            ("user", s(user.as_str())),
                            ("start_us", n(micros(*at))),
                            ("gsi1pk", s(format!("GM#{group}"))),
                            ("gsi1sk", s(format!("{user}#{}", keys::at(*at)))),
                        ],
                    );
                    tx.put(p, span, None, conflict("membership span"))?;
                }
                DirectoryChange::EndMembership { user, group, at } => {
                    let marker = self
                        .get(p, key(keys::user(user.as_str()), format!("CM#{group}")))
                        .await?
                        .ok_or_else(|| conflict(format!("{user} is not a member of {group}")))?;
                    let start = get_n(&marker, "start_us").unwrap_or_default();
                    let cond = Cond::new("#s = :s")
                        .name("#s", "start_us")
                        .value(":s", n(start));
                    tx.delete(
                        p,
                        key(keys::user(user.as_str()), format!("CM#{group}")),
                        cond,
                        conflict(format!("{user} is not a member of {group}")),
                    )?;
                    let update = Cond::new("SET #e = :e")
                        .name("#e", "end_us")
                        .value(":e", n(micros(*at)));
                    tx.update(
                        p,
                        key(
                            keys::user(user.as_str()),
                            format!("M#{group}#{}", keys::at(instant(start)?)),
                        ),
                        update,
                        None,
                        conflict("membership span"),
                    )?;
                }
                DirectoryChange::CreateGrant(g) => {
                    let (gid, group, resource) =
                        (g.id.as_str(), g.group.as_str(), g.resource.as_str());
                    let marker = item(
                        keys::group(group),
                        format!("CG#{resource}"),
                        [("grant_id", s(gid))],
                    );
                    tx.put(
                        p,
                        marker,
                        Some(absent()),
                        exists_err(format!("grant of {group} on {resource}")),
                    )?;
                    let head = Grant {
                        expiry: Vec::new(),
                        overrides: Vec::new(),
                        ..g.clone()
                    };
                    tx.put(
                        p,
                        item(keys::grant(gid), "GR", [("doc", encode(&head)?)]),
                        Some(absent()),
                        exists_err(format!("grant {gid}")),
                    )?;
                    tx.put(
                        p,
                        item(
                            keys::group(group),
                            format!("GRANT#{resource}#{gid}"),
                            [("other", s(resource)), ("grant_id", s(gid))],
                        ),
                        None,
                        conflict("grant index"),
                    )?;
                    tx.put(
                        p,
                        item(
                            keys::resource(resource),
                            format!("GRANT#{group}#{gid}"),
                            [("other", s(group)), ("grant_id", s(gid))],
                        ),
                        None,
                        conflict("grant index"),
                    )?;
                    for e in &g.expiry {
                        tx.put(
                            p,
                            item(
                                keys::grant(gid),
                                format!("EXP#{}#{}", keys::at(e.at), next()),
                                [("doc", encode(&e.value)?), ("at_us", n(micros(e.at)))],
                            ),
                            None,
                            conflict("grant history"),
                        )?;
                    }
                    for o in &g.overrides {
                        tx.put(
                            p,
                            item(
                                keys::grant(gid),
                                format!("OVR#{}#{}", keys::at(o.at), next()),
                                [("doc", encode(&o.value)?), ("at_us", n(micros(o.at)))],
                            ),
                            None,
                            conflict("grant history"),
                        )?;
                    }
                }
                DirectoryChange::EndGrant { grant, at } => {
                    let g = self
                        .grant_by_id(grant.as_str())
                        .await?
                        .filter(|g| g.span.end.is_none())
                        .ok_or_else(|| conflict(format!("grant {grant} is removed or unknown")))?;
                    let (gid, group, resource) =
                        (grant.as_str(), g.group.as_str(), g.resource.as_str());
                    let update = Cond::new("SET #e = :e")
                        .name("#e", "end_us")
                        .value(":e", n(micros(*at)));
                    tx.update(
                        p,
                        key(keys::grant(gid), "GR"),
                        update,
                        Some("attribute_not_exists(end_us)"),
                        conflict(format!("grant {grant} is removed or unknown")),
                    )?;
                    let cond = Cond::new("#g = :g")
                        .name("#g", "grant_id")
                        .value(":g", s(gid));
                    tx.delete(
                        p,
                        key(keys::group(group), format!("CG#{resource}")),
                        cond,
                        conflict(format!("grant {grant} is removed or unknown")),
                    )?;
                    for k in [
                        key(keys::group(group), format!("GRANT#{resource}#{gid}")),
                        key(keys::resource(resource), format!("GRANT#{group}#{gid}")),
                    ] {
                        tx.update(
                            p,
                            k,
                            Cond::new("SET #x = :t")
                                .name("#x", "ended")
                                .value(":t", AttributeValue::Bool(true)),
                            None,
                            conflict("grant index"),
                        )?;
                    }
                }
                DirectoryChange::SetGrantExpiry {
                    grant,
                    at,
                    expires_at,
                } => {
                    let cond = Cond::new("attribute_exists(#pk) AND attribute_not_exists(#e)")
                        .name("#pk", "pk")
                        .name("#e", "end_us");
                    tx.check(
                        p,
                        key(keys::grant(grant.as_str()), "GR"),
                        cond,
                        conflict(format!("grant {grant} is removed or unknown")),
                    )?;
                    tx.put(
                        p,
                        item(
                            keys::grant(grant.as_str()),
                            format!("EXP#{}#{}", keys::at(*at), next()),
                            [("doc", encode(expires_at)?), ("at_us", n(micros(*at)))],
                        ),
                        None,
                        conflict("grant history"),
                    )?;
                }
                DirectoryChange::SetGrantOverride { grant, at, value } => {
                    let cond = Cond::new("attribute_exists(#pk) AND attribute_not_exists(#e)")
                        .name("#pk", "pk")
                        .name("#e", "end_us");
                    tx.check(
                        p,
                        key(keys::grant(grant.as_str()), "GR"),
                        cond,
                        conflict(format!("grant {grant} is removed or unknown")),
                    )?;
                    tx.put(
                        p,
                        item(
                            keys::grant(grant.as_str()),
                            format!("OVR#{}#{}", keys::at(*at), next()),
                            [("doc", encode(value)?), ("at_us", n(micros(*at)))],
                        ),
                        None,
                        conflict("grant history"),
                    )?;
                }
            }
        }
        for w in &changes.usage {
            let (u, r) = (w.user.as_str(), w.resource.as_str());
            let mut attrs = vec![
                (
                    "version",
                    n(i64::try_from(w.expected_version).unwrap_or(i64::MAX - 1) + 1),
                ),
                ("doc", encode(&w.usage)?),
            ];
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
                &self.tables.usage,
                i,
                Some(cond),
                conflict(format!(
                    "usage of {u} on {r} changed since version {}",
                    w.expected_version
                )),
            )?;
        }
        for w in &changes.requests {
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
            tx.put(&self.tables.requests, i, Some(cond), fail)?;
        }
        // Audit entries are kept once per id: ids written before are dropped from the change.
        let audit_ids: Vec<Item> = changes
            .audit
            .iter()
            .map(|e| key(format!("AUDITID#{}", e.id), "A"))
            .collect();
        let seen: BTreeSet<String> = self
            .batch_get(p, audit_ids)
            .await?
            .iter()
            .filter_map(|i| {
                get_s(i, "pk")
                    .ok()
                    .map(|pk| pk.trim_start_matches("AUDITID#").to_owned())
            })
            .collect();
        let mut months = BTreeSet::new();
        for e in changes.audit.iter().filter(|e| !seen.contains(&e.id)) {
            let month = keys::audit_month(e.at);
            tx.put(
                p,
                item(
                    format!("AUDIT#{month}"),
                    format!("{}#{}", keys::at(e.at), e.id),
                    [("doc", encode(e)?)],
                ),
                None,
                conflict("audit"),
            )?;
            tx.put(
                p,
                key(format!("AUDITID#{}", e.id), "A"),
                None,
                conflict("audit"),
            )?;
            months.insert(month);
        }
        for month in months {
            tx.put(
                p,
                key("AUDIT", format!("MONTH#{month}")),
                None,
                conflict("audit"),
            )?;
        }
        for o in &changes.outbox {
            tx.put(
                p,
                item(
                    "OUTBOX",
                    format!("{}#{}", keys::at(o.at), o.id),
                    [("doc", encode(o)?)],
                ),
                None,
                conflict("outbox"),
            )?;
        }
        for link in &changes.consumed_links {
            let i = item(
                format!("LINK#{}", link.id),
                "L",
                [("ttl", n(link.expires_at.timestamp() + 86_400))],
            );
            tx.put(
                p,
                i,
                Some(absent()),
                exists_err(format!("link {}", link.id)),
            )?;
        }
        self.run(tx).await
    }
}

/// An entry of a user's active-flag history.
fn activity_item(user: &UserId, at: Timestamp, active: bool, seq: &str) -> Item {
    item(
        keys::principal(user.as_str()),
        format!("ACT#{}#{seq}", keys::at(at)),
        [
            ("at_us", n(micros(at))),
            ("active", AttributeValue::Bool(active)),
        ],
    )
}

fn uuid_suffix() -> String {
    // Orders entries of one change written at the same instant; random across changes.
    format!("{:08x}", rand_u32())
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(u64::from(std::process::id()));
    u32::try_from(h.finish() & 0xffff_ffff).unwrap_or(0)
}
