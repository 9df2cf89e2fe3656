//! Delivery records with every attempt.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use autolock_core::Timestamp;
use autolock_core::delivery::{Channel, ChatPost, Delivery, DeliveryStatus};
use autolock_core::ports::{DeliveryStore, Page, PageRequest, StoreResult};

use crate::SqliteStore;
use crate::rows::{decode, encode, limit_plus_one, micros, split_cursor};

fn delivery_status(s: DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::Pending => "pending",
        DeliveryStatus::Sent => "sent",
        DeliveryStatus::Failed => "failed",
    }
}

#[async_trait]
impl DeliveryStore for SqliteStore {
    async fn create_delivery(&self, d: &Delivery) -> StoreResult<bool> {
        let (id, channel, status, next, created, data) = (
            d.id.clone(),
            d.channel.as_str(),
            delivery_status(d.status),
            d.next_attempt_at.map(micros),
            micros(d.created_at),
            encode(d)?,
        );
        self.read(move |c| {
            c.execute(
                "INSERT INTO deliveries (id, channel, status, next_attempt_at, created_at, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO NOTHING",
                params![id, channel, status, next, created, data],
            )
            .map(|n| n == 1)
        })
        .await
    }

    async fn replace_delivery(
        &self,
        d: &Delivery,
        expected_next: Option<Timestamp>,
    ) -> StoreResult<bool> {
        let (id, status, next, data, expected) = (
            d.id.clone(),
            delivery_status(d.status),
            d.next_attempt_at.map(micros),
            encode(d)?,
            expected_next.map(micros),
        );
        self.read(move |c| {
            c.execute(
                "UPDATE deliveries SET status = ?2, next_attempt_at = ?3, data = ?4 WHERE id = ?1 AND next_attempt_at IS ?5",
                params![id, status, next, data, expected],
            )
            .map(|n| n == 1)
        })
        .await
    }

    async fn delivery(&self, id: &str) -> StoreResult<Option<Delivery>> {
        let id = id.to_owned();
        self.read(move |c| {
            c.query_row("SELECT data FROM deliveries WHERE id = ?1", [id], |r| {
                decode(&r.get::<_, String>(0)?)
            })
            .optional()
        })
        .await
    }

    async fn due_deliveries(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<Delivery>> {
        let (now, limit) = (micros(now), i64::try_from(limit).unwrap_or(i64::MAX));
        self.read(move |c| {
            let mut s = c.prepare(
                "SELECT data FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2",
            )?;
            s.query_map(params![now, limit], |r| decode::<Delivery>(&r.get::<_, String>(0)?))?.collect()
        })
        .await
    }

    async fn deliveries(
        &self,
        channel: Channel,
        page: &PageRequest,
    ) -> StoreResult<Page<Delivery>> {
        let before = split_cursor(page.after.as_deref())?;
        let (limit, n) = (page.effective_limit(), limit_plus_one(page));
        let channel = channel.as_str();
        let items = self
            .read(move |c| {
                let (before_at, before_id) = before.unzip();
                let mut s = c.prepare(
                    "SELECT data FROM deliveries WHERE channel = ?1 AND (?2 IS NULL OR (created_at, id) < (?2, ?3))
                     ORDER BY created_at DESC, id DESC LIMIT ?4",
                )?;
                s.query_map(params![channel, before_at, before_id, n], |r| decode::<Delivery>(&r.get::<_, String>(0)?))?.collect()
            })
            .await?;
        Ok(Page::from_overfetch(items, limit, |d| {
            format!("{}:{}", micros(d.created_at), d.id)
        }))
    }

    async fn keep_chat_post(&self, post: &ChatPost) -> StoreResult<()> {
        let (request, data) = (post.request.clone(), encode(post)?);
        self.read(move |c| {
            c.execute(
                "INSERT INTO chat_posts (request_id, data) VALUES (?1, ?2)
                 ON CONFLICT (request_id) DO UPDATE SET data = excluded.data",
                params![request, data],
            )
            .map(|_| ())
        })
        .await
    }

    async fn chat_post(&self, request: &str) -> StoreResult<Option<ChatPost>> {
        let request = request.to_owned();
        self.read(move |c| {
            c.query_row(
                "SELECT data FROM chat_posts WHERE request_id = ?1",
                [request],
                |r| decode(&r.get::<_, String>(0)?),
            )
            .optional()
        })
        .await
    }
}
