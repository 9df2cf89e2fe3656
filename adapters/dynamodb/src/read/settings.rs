//! The notification settings, the webhook and the console's sign-in links, read.

use async_trait::async_trait;

use autolock_core::ports::*;

use crate::DynamoStore;
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
