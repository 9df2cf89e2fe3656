//! The notification settings and the webhook, read.

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
