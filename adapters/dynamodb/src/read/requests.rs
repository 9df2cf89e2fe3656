//! Access requests, read: by id, open (the sparse `open` index), resolved (the `resolved`
//! index, 90 days), counted.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::Select;

use autolock_core::Timestamp;
use autolock_core::ports::*;

use crate::client::Q;
use crate::item::*;
use crate::{DynamoStore, keys};

use autolock_core::ids::RequestId;
use autolock_core::request::{AccessRequest, RequestStatus};

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
        if let Some(user) = &filter.user {
            let mut mine: Vec<AccessRequest> = self
                .requests_of(user)
                .await?
                .into_iter()
                .filter(|r| r.status == RequestStatus::Open)
                .filter(|r| filter.resource.as_ref().is_none_or(|x| *x == r.resource))
                .collect();
            mine.sort_by_key(|r| format!("{}#{}", keys::at(r.requested_at), r.id));
            return Ok(page_after(
                mine,
                page,
                |r| format!("{}#{}", keys::at(r.requested_at), r.id),
                false,
            ));
        }
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
        if let Some(user) = &filter.user {
            let key = |r: &AccessRequest| {
                format!(
                    "{}#{}",
                    r.resolved_at.map(keys::at).unwrap_or_default(),
                    r.id
                )
            };
            let mut mine: Vec<AccessRequest> = self
                .requests_of(user)
                .await?
                .into_iter()
                .filter(|r| r.status != RequestStatus::Open)
                .filter(|r| r.resolved_at.is_some_and(|t| t >= since))
                .filter(|r| filter.resource.as_ref().is_none_or(|x| *x == r.resource))
                .collect();
            mine.sort_by_key(|r| std::cmp::Reverse(key(r)));
            return Ok(page_after(mine, page, key, true));
        }
        let before = page.after.clone().unwrap_or_else(|| "~".to_owned());
        if before.as_str() < keys::at(since).as_str() {
            // A cursor from before the window (DynamoDB refuses a BETWEEN upside down).
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        }
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

/// The page of `sorted` after the cursor (`cursor` of an item; `descending` when `sorted` is
/// newest first), and the cursor of the next page.
fn page_after(
    sorted: Vec<AccessRequest>,
    page: &PageRequest,
    cursor: impl Fn(&AccessRequest) -> String,
    descending: bool,
) -> Page<AccessRequest> {
    let limit = page.effective_limit();
    let items: Vec<AccessRequest> = sorted
        .into_iter()
        .filter(|r| {
            page.after.as_ref().is_none_or(|after| {
                if descending {
                    cursor(r) < *after
                } else {
                    cursor(r) > *after
                }
            })
        })
        .take(limit + 1)
        .collect();
    Page::from_overfetch(items, limit, cursor)
}

impl DynamoStore {
    /// Every request of a user (open, and resolved within the retention), from the `by_user`
    /// index: a query by key.
    async fn requests_of(
        &self,
        user: &autolock_core::ids::UserId,
    ) -> StoreResult<Vec<AccessRequest>> {
        let q = Q::on(&self.tables.requests, "user_pk = :u")
            .index("by_user")
            .value(":u", s(user.as_str()));
        self.query_all(q).await?.iter().map(doc).collect()
    }

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
        Ok(Page::from_overfetch(out, limit, cursor))
    }
}
