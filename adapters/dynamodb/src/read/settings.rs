//! The notification settings, the webhook, the console's sign-in links and the pending refresh
//! intents, read.

use async_trait::async_trait;

use autolock_core::ports::*;

use crate::DynamoStore;
use crate::client::Q;
use crate::item::*;

use autolock_core::delivery::WebhookSettings;

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

    async fn feed(&self) -> StoreResult<autolock_core::feed::FeedState> {
        Ok(self
            .get(&self.tables.policies, key("SETTINGS", "FEED"))
            .await?
            .as_ref()
            .map(doc)
            .transpose()?
            .unwrap_or_default())
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
            user: autolock_core::ids::UserId::parse(get_s(&i, "user")?)
                .map_err(|e| autolock_core::error::StoreError::Backend(e.to_string()))?,
            expires_at: instant(get_n(&i, "expires_us").unwrap_or_default())?,
        }))
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
