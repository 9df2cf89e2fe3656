//! The notification settings and the webhook, read.

use async_trait::async_trait;
use rusqlite::OptionalExtension;

use autolock_core::delivery::WebhookSettings;
use autolock_core::ports::{Settings, SettingsStore, StoreResult};

use crate::SqliteStore;
use crate::rows::backend;

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn settings(&self) -> StoreResult<Settings> {
        let data: Option<String> = self
            .read(|c| {
                c.query_row(
                    "SELECT data FROM settings WHERE key = 'notifications'",
                    [],
                    |r| r.get(0),
                )
                .optional()
            })
            .await?;
        match data {
            Some(d) => serde_json::from_str(&d).map_err(backend),
            None => Ok(Settings::default()),
        }
    }

    async fn webhook(&self) -> StoreResult<Option<WebhookSettings>> {
        let data: Option<String> = self
            .read(|c| {
                c.query_row("SELECT data FROM settings WHERE key = 'webhook'", [], |r| {
                    r.get(0)
                })
                .optional()
            })
            .await?;
        data.map(|d| serde_json::from_str(&d).map_err(backend))
            .transpose()
    }
}
