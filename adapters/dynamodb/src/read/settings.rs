//! The notification settings, the webhook, the console's sign-in links, throttles and the
//! pending refresh intents, read.

use async_trait::async_trait;

use autolock_core::ports::*;

use crate::DynamoStore;
use crate::client::Q;
use crate::item::*;

use autolock_core::delivery::WebhookSettings;

impl DynamoStore {
    /// The setting stored as the item `SETTINGS`/`name`, if any.
    async fn setting<T: serde::de::DeserializeOwned>(&self, name: &str) -> StoreResult<Option<T>> {
        self.get(&self.tables.policies, key("SETTINGS", name))
            .await?
            .as_ref()
            .map(doc)
            .transpose()
    }
}

#[async_trait]
impl SettingsStore for DynamoStore {
    async fn gate_settings(&self) -> StoreResult<GateSettings> {
        Ok(self.setting("GATE").await?.unwrap_or_default())
    }

    async fn slack(&self) -> StoreResult<Option<autolock_core::delivery::SlackSettings>> {
        self.setting("SLACK").await
    }

    async fn sign_in_settings(&self) -> StoreResult<SignInSettings> {
        Ok(self.setting("SIGN_IN").await?.unwrap_or_default())
    }

    async fn settings(&self) -> StoreResult<Settings> {
        Ok(self.setting("NOTIFICATIONS").await?.unwrap_or_default())
    }

    async fn webhook(&self) -> StoreResult<Option<WebhookSettings>> {
        self.setting("WEBHOOK").await
    }

    async fn feed(&self) -> StoreResult<autolock_core::feed::FeedState> {
        Ok(self.setting("FEED").await?.unwrap_or_default())
    }
}

#[async_trait]
impl SignInLinks for DynamoStore {
    async fn sign_in_link(&self, digest: &str) -> StoreResult<Option<IssuedLink>> {
        let Some(i) = self
            .get(&self.tables.policies, key(format!("SIGNIN#{digest}"), "S"))
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(IssuedLink {
            digest: digest.to_owned(),
            user: autolock_core::ids::UserId::parse(get_s(&i, "user")?).map_err(|e| {
                autolock_core::error::StoreError::from(crate::item::DynamoError::Value(e))
            })?,
            expires_at: instant(get_n(&i, "expires_us").unwrap_or_default())?,
        }))
    }

    async fn throttle(
        &self,
        key_of: &str,
    ) -> StoreResult<Versioned<Vec<autolock_core::Timestamp>>> {
        let Some(i) = self
            .get(
                &self.tables.policies,
                key(format!("THROTTLE#{key_of}"), "T"),
            )
            .await?
        else {
            return Ok(Versioned::default());
        };
        let hits: Vec<i64> = serde_json::from_str(get_s(&i, "hits")?).map_err(|e| {
            autolock_core::error::StoreError::from(crate::item::DynamoError::Json(e))
        })?;
        Ok(Versioned {
            value: hits.into_iter().map(instant).collect::<StoreResult<_>>()?,
            version: get_n(&i, "ver").map_or(0, |v| u64::try_from(v).unwrap_or(0)),
        })
    }
}

#[async_trait]
impl RefreshQueue for DynamoStore {
    async fn pending_refreshes(&self, limit: usize) -> StoreResult<Vec<RefreshIntent>> {
        let p = self
            .page(
                &Q::on(&self.tables.policies, "pk = :pk").value(":pk", s("REFRESH")),
                None,
                Some(i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000)),
            )
            .await?;
        let mut intents: Vec<RefreshIntent> =
            p.items.iter().map(doc).collect::<StoreResult<_>>()?;
        intents.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        Ok(intents)
    }
}
