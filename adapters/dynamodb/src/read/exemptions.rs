//! Exemptions, read: by id from their head item, by resource from the resource's partition
//! (strongly consistent: a right's facts read them there), by user or group and by end on
//! `gsi1`.

use async_trait::async_trait;

use autolock_core::Timestamp;
use autolock_core::exemption::{Exemption, ExemptionFilter};
use autolock_core::ids::{ExemptionId, ResourceId};
use autolock_core::ports::{ExemptionReader, StoreResult};

use crate::client::Q;
use crate::item::*;
use crate::{DynamoStore, keys};

pub(super) fn exemption_of(i: &Item) -> StoreResult<Exemption> {
    let mut e: Exemption = doc(i)?;
    e.revision = revision_of(i)?;
    Ok(e)
}

impl DynamoStore {
    /// Every exemption on a resource, from its partition.
    pub(crate) async fn exemptions_of_resource(
        &self,
        resource: &ResourceId,
    ) -> StoreResult<Vec<Exemption>> {
        self.query_all(
            Q::on(&self.tables.policies, "pk = :pk AND begins_with(sk, :p)")
                .value(":pk", s(keys::resource(resource.as_str())))
                .value(":p", s("EX#")),
        )
        .await?
        .iter()
        .map(exemption_of)
        .collect()
    }
}

#[async_trait]
impl ExemptionReader for DynamoStore {
    async fn exemption(&self, id: &ExemptionId) -> StoreResult<Option<Exemption>> {
        self.get(
            &self.tables.policies,
            key(keys::exemption(id.as_str()), "EX"),
        )
        .await?
        .as_ref()
        .map(exemption_of)
        .transpose()
    }

    async fn exemptions(&self, filter: &ExemptionFilter) -> StoreResult<Vec<Exemption>> {
        let listed = match filter {
            ExemptionFilter::Resource(r) => {
                let mut all = self.exemptions_of_resource(r).await?;
                all.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.id.cmp(&b.id)));
                return Ok(all);
            }
            ExemptionFilter::User(u) => format!("EXU#{u}"),
            ExemptionFilter::Group(g) => format!("EXG#{g}"),
        };
        self.query_all(
            Q::on(&self.tables.policies, "gsi1pk = :pk")
                .index("gsi1")
                .value(":pk", s(listed)),
        )
        .await?
        .iter()
        .map(exemption_of)
        .collect()
    }

    async fn exemptions_run_out(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<Exemption>> {
        let q = Q::on(&self.tables.policies, "gsi1pk = :pk AND gsi1sk <= :to")
            .index("gsi1")
            .value(":pk", s("EXOPEN"))
            .value(":to", s(format!("{}#~", keys::at(now))));
        let page = self
            .page(&q, None, Some(i32::try_from(limit).unwrap_or(i32::MAX)))
            .await?;
        page.items.iter().map(exemption_of).collect()
    }
}
