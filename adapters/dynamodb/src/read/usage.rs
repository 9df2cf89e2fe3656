//! The usage of a right (one item per right) and the sweep's sparse index of rights due.

use async_trait::async_trait;

use autolock_core::Timestamp;
use autolock_core::directory::RightFacts;
use autolock_core::error::StoreError;
use autolock_core::ports::*;

use crate::client::Q;
use crate::item::*;
use crate::{DynamoStore, keys};

use autolock_core::ids::{ResourceId, UserId};
use autolock_core::lock::Usage;

#[async_trait]
impl UsageReader for DynamoStore {
    async fn usage(&self, user: &UserId, resource: &ResourceId) -> StoreResult<Versioned<Usage>> {
        let i = self
            .get(&self.tables.usage, key(user.as_str(), resource.as_str()))
            .await?;
        i.as_ref()
            .map_or_else(|| Ok(Versioned::default()), usage_of)
    }

    fn keeps_facts(&self) -> bool {
        true
    }

    async fn kept_right(
        &self,
        user: &UserId,
        resource: &ResourceId,
    ) -> StoreResult<(Option<RightFacts>, Versioned<Usage>)> {
        // The right's item holds its usage and the facts its last write was computed with.
        let i = self
            .get(&self.tables.usage, key(user.as_str(), resource.as_str()))
            .await?;
        let Some(i) = i else {
            return Ok((None, Versioned::default()));
        };
        let facts = match i.get("facts") {
            Some(_) => Some(serde_json::from_str(get_s(&i, "facts")?).map_err(DynamoError::Json)?),
            None => None,
        };
        Ok((facts, usage_of(&i)?))
    }

    async fn right(
        &self,
        user: &UserId,
        resource: &ResourceId,
    ) -> StoreResult<(RightFacts, Versioned<Usage>)> {
        // The facts' queries and the usage's get, at once.
        tokio::try_join!(self.right_facts(user, resource), self.usage(user, resource))
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
                    UserId::parse(u).map_err(|e| StoreError::from(DynamoError::Value(e)))?,
                    ResourceId::parse(r).map_err(|e| StoreError::from(DynamoError::Value(e)))?,
                ))
            })
            .collect()
    }
}

/// The usage in a right's item, at its version.
fn usage_of(i: &Item) -> StoreResult<Versioned<Usage>> {
    Ok(Versioned {
        value: doc(i)?,
        version: u64::try_from(get_n(i, "version").unwrap_or(0)).unwrap_or(0),
    })
}

fn key_of_usage(i: &Item) -> Item {
    i.iter()
        .filter(|(k, _)| *k == "pk" || *k == "sk")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
