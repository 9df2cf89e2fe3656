//! The calls the store makes: a consistent get, queries page by page, batches within DynamoDB's
//! limits (retrying what is left unprocessed, with backoff), and transactions whose failed
//! conditions map back to the core's errors.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, WriteRequest};

use autolock_core::error::StoreError;
use autolock_core::ports::StoreResult;

use crate::item::{DynamoError, Item, backend, build_err};
use crate::tx::Tx;
use crate::{BATCH_GET_LIMIT, BATCH_WRITE_LIMIT, DynamoStore};

/// One page of a query: its items and where the next page starts.
pub(crate) struct QueryPage {
    pub(crate) items: Vec<Item>,
    pub(crate) last: Option<Item>,
}

/// A query: table, index, key condition with its values.
pub(crate) struct Q<'a> {
    pub(crate) table: &'a str,
    pub(crate) index: Option<&'a str>,
    pub(crate) condition: &'a str,
    pub(crate) values: Vec<(&'a str, AttributeValue)>,
    pub(crate) forward: bool,
    pub(crate) consistent: bool,
}

impl<'a> Q<'a> {
    pub(crate) fn on(table: &'a str, condition: &'a str) -> Self {
        Self {
            table,
            index: None,
            condition,
            values: Vec::new(),
            forward: true,
            consistent: true,
        }
    }
    pub(crate) fn index(mut self, index: &'a str) -> Self {
        self.index = Some(index);
        self.consistent = false;
        self
    }
    pub(crate) fn value(mut self, name: &'a str, v: AttributeValue) -> Self {
        self.values.push((name, v));
        self
    }
    pub(crate) fn backward(mut self) -> Self {
        self.forward = false;
        self
    }
}

impl DynamoStore {
    pub(crate) async fn get(&self, table: &str, key: Item) -> StoreResult<Option<Item>> {
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

    pub(crate) async fn page(
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
    pub(crate) async fn query_all(&self, q: Q<'_>) -> StoreResult<Vec<Item>> {
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
    pub(crate) async fn batch_get(&self, table: &str, keys: Vec<Item>) -> StoreResult<Vec<Item>> {
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
                        return Err(DynamoError::Unfinished(
                            "batch get: keys left unprocessed after 8 attempts".into(),
                        )
                        .into());
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
    pub(crate) async fn batch_write(
        &self,
        table: &str,
        writes: Vec<WriteRequest>,
    ) -> StoreResult<()> {
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
                        return Err(DynamoError::Unfinished(
                            "batch write: items left unprocessed after 8 attempts".into(),
                        )
                        .into());
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(25 << attempt.min(6)))
                        .await;
                }
            }
        }
        Ok(())
    }

    pub(crate) async fn run(&self, tx: Tx) -> StoreResult<()> {
        if tx.items.is_empty() {
            return Ok(());
        }
        tx.check_size()?;
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
}
