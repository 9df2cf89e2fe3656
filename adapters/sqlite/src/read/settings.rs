//! The notification settings and the webhook, sign-in links, throttles and pending refresh
//! intents, read.

use async_trait::async_trait;
use rusqlite::OptionalExtension;

use autolock_core::Timestamp;
use autolock_core::delivery::WebhookSettings;
use autolock_core::ids::UserId;
use autolock_core::ports::{
    GateSettings, IssuedLink, RefreshIntent, RefreshQueue, Settings, SettingsStore, SignInLinks,
    SignInSettings, StoreResult, Versioned,
};

use crate::SqliteStore;
use crate::rows::{backend, decode, instant, parse};

impl SqliteStore {
    /// The setting stored under `key`, if any.
    async fn setting<T: serde::de::DeserializeOwned>(
        &self,
        key: &'static str,
    ) -> StoreResult<Option<T>> {
        let data: Option<String> = self
            .read(move |c| {
                c.prepare_cached("SELECT data FROM settings WHERE key = ?1")?
                    .query_row([key], |r| r.get(0))
                    .optional()
            })
            .await?;
        data.map(|d| serde_json::from_str(&d).map_err(backend))
            .transpose()
    }
}

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn settings(&self) -> StoreResult<Settings> {
        Ok(self.setting("notifications").await?.unwrap_or_default())
    }

    async fn gate_settings(&self) -> StoreResult<GateSettings> {
        Ok(self.setting("gate").await?.unwrap_or_default())
    }

    async fn slack(&self) -> StoreResult<Option<autolock_core::delivery::SlackSettings>> {
        self.setting("slack").await
    }

    async fn sign_in_settings(&self) -> StoreResult<SignInSettings> {
        Ok(self.setting("sign_in").await?.unwrap_or_default())
    }

    async fn webhook(&self) -> StoreResult<Option<WebhookSettings>> {
        self.setting("webhook").await
    }

    async fn feed(&self) -> StoreResult<autolock_core::feed::FeedState> {
        Ok(self.setting("feed").await?.unwrap_or_default())
    }
}

#[async_trait]
impl SignInLinks for SqliteStore {
    async fn sign_in_link(&self, digest: &str) -> StoreResult<Option<IssuedLink>> {
        let digest = digest.to_owned();
        self.read(move |c| {
            c.query_row(
                "SELECT digest, user_id, expires_at FROM sign_in_links WHERE digest = ?1",
                [digest],
                |r| {
                    Ok(IssuedLink {
                        digest: r.get(0)?,
                        user: parse(UserId::parse(r.get::<_, String>(1)?))?,
                        expires_at: instant(r.get(2)?)?,
                    })
                },
            )
            .optional()
        })
        .await
    }

    async fn throttle(&self, key: &str) -> StoreResult<Versioned<Vec<Timestamp>>> {
        let key = key.to_owned();
        let found = self
            .read(move |c| {
                c.query_row(
                    "SELECT version, hits FROM throttles WHERE key = ?1",
                    [key],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
                )
                .optional()
            })
            .await?;
        match found {
            None => Ok(Versioned::default()),
            Some((version, hits)) => {
                let micros: Vec<i64> = serde_json::from_str(&hits).map_err(backend)?;
                Ok(Versioned {
                    value: micros
                        .into_iter()
                        .map(instant)
                        .collect::<rusqlite::Result<_>>()
                        .map_err(backend)?,
                    version: u64::try_from(version).unwrap_or(0),
                })
            }
        }
    }
}

#[async_trait]
impl RefreshQueue for SqliteStore {
    async fn pending_refreshes(&self, limit: usize) -> StoreResult<Vec<RefreshIntent>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            let mut s =
                c.prepare_cached("SELECT data FROM refresh_intents ORDER BY at, id LIMIT ?1")?;
            s.query_map([limit], |r| decode(&r.get::<_, String>(0)?))?
                .collect()
        })
        .await
    }
}
