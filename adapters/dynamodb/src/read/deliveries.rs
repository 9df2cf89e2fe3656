//! Delivery records with every attempt, and the index of deliveries due.

use async_trait::async_trait;

use autolock_core::Timestamp;
use autolock_core::error::StoreError;
use autolock_core::ports::*;

use crate::client::Q;
use crate::item::*;
use crate::tx::Tx;
use crate::write::{conflict, exists_err};
use crate::{DynamoStore, keys};

use autolock_core::delivery::{Channel, ChatPost, Delivery, DeliveryStatus};

/// A delivery's item: its document, the channel's index, and `next_us`, the instant of its next
/// attempt (or lease) that replacements are conditioned on.
pub(crate) fn delivery_item(d: &Delivery) -> StoreResult<Item> {
    let mut i = item(
        format!("DELIVERY#{}", d.id),
        "D",
        [
            ("doc", encode(d)?),
            ("gsi1pk", s(format!("DELIVERIES#{}", d.channel.as_str()))),
            ("gsi1sk", s(format!("{}#{}", keys::at(d.created_at), d.id))),
        ],
    );
    if let Some(next) = d.next_attempt_at {
        i.insert("next_us".into(), n(micros(next)));
    }
    Ok(i)
}

pub(crate) fn due_key(d: &Delivery) -> Option<Item> {
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

    async fn replace_delivery(
        &self,
        d: &Delivery,
        expected_next: Option<Timestamp>,
    ) -> StoreResult<bool> {
        let p = &self.tables.policies;
        let mut tx = Tx::default();
        let condition = match expected_next {
            Some(t) => Cond::new("#n = :expected")
                .name("#n", "next_us")
                .value(":expected", n(micros(t))),
            None => {
                Cond::new("attribute_exists(pk) AND attribute_not_exists(#n)").name("#n", "next_us")
            }
        };
        tx.put(
            p,
            delivery_item(d)?,
            Some(condition),
            conflict(format!("delivery {} was taken meanwhile", d.id)),
        )?;
        // A pending delivery is listed under its next attempt: the entry of the instant it was
        // at goes (there is none unless it was pending), the entry of its new one comes.
        let old = expected_next.map(|t| key("DELIVERYDUE", format!("{}#{}", keys::at(t), d.id)));
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
        match self.run(tx).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
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

    async fn keep_chat_post(&self, post: &ChatPost) -> StoreResult<()> {
        let mut tx = Tx::default();
        tx.put(
            &self.tables.policies,
            item(
                format!("CHATPOST#{}", post.request),
                "C",
                [("doc", encode(post)?)],
            ),
            None,
            conflict("chat post"),
        )?;
        self.run(tx).await
    }

    async fn chat_post(&self, request: &str) -> StoreResult<Option<ChatPost>> {
        self.get(
            &self.tables.policies,
            key(format!("CHATPOST#{request}"), "C"),
        )
        .await?
        .as_ref()
        .map(doc)
        .transpose()
    }
}
