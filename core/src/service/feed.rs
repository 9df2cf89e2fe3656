//! The feed guard's use cases (docs/semantics.md §2.10): record each arrival of access events,
//! give the lock rule the silences as known now, alert the admins once when a silence begins,
//! and tell how the feed stands.

use chrono::Duration;
use serde::Serialize;

use crate::Timestamp;
use crate::authz::{Capability, require};
use crate::directory::{Principal, Span};
use crate::error::{Error, Result};
use crate::events::DomainEvent;
use crate::feed::FeedState;
use crate::ports::{Changeset, SettingsWrite};

use super::engine::Engine;

/// How the usage feed stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedStatus {
    /// The feed guard's window (`6h`, ...), or `null` when it is off.
    pub guard: Option<String>,
    /// The latest arrival of access events (to the minute).
    pub last_heard: Option<chrono::DateTime<chrono::Utc>>,
    /// The start of the silence going on: nothing locks until the feed is heard again.
    pub silent_since: Option<chrono::DateTime<chrono::Utc>>,
    /// The silences that ended, newest first (at most 20).
    pub silences: Vec<Span>,
}

/// A window as people write it: whole days, else whole hours, else minutes.
fn window_text(w: Duration) -> String {
    if w.num_minutes() % (24 * 60) == 0 {
        format!("{}d", w.num_days())
    } else if w.num_minutes() % 60 == 0 {
        format!("{}h", w.num_hours())
    } else {
        format!("{}m", w.num_minutes())
    }
}

/// The feed guard: arrivals recorded, silences alerted, the feed's status.
#[derive(Clone)]
pub struct Feed {
    pub(crate) engine: Engine,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed").finish_non_exhaustive()
    }
}

impl Feed {
    pub(crate) fn new(engine: &Engine) -> Self {
        Self {
            engine: engine.clone(),
        }
    }
}

impl Feed {
    /// The feed guard's window, when it is on.
    #[must_use]
    pub fn feed_guard(&self) -> Option<Duration> {
        self.engine.options.feed_window()
    }

    /// Access events arrived at `now`: records it (to the minute), ending the silence going on.
    /// Recording events and recorded decisions call it; a new deployment may call it to start
    /// the guard's watch before the first event.
    pub async fn hear(&self, now: Timestamp) -> Result<()> {
        let Some(window) = self.engine.options.feed_window() else {
            return Ok(());
        };
        self.engine
            .retry(|| async {
                let state = self.engine.settings.feed().await?;
                let Some(heard) = state.heard(window, now) else {
                    return Ok(());
                };
                let mut changes = Changeset {
                    settings: vec![SettingsWrite::Feed(heard.state)],
                    ..Changeset::default()
                };
                if let Some(Span {
                    start,
                    end: Some(end),
                }) = heard.ended
                {
                    changes.record(
                        DomainEvent::FeedResumed {
                            since: start,
                            until: end,
                        },
                        now,
                    );
                }
                Ok(self.engine.commit.commit(changes).await?)
            })
            .await
    }

    /// The tick's look at the feed: when a silence has begun and the admins were not alerted of
    /// it, records it (audited at its start, published so that the notifier emails them).
    /// Returns the start of the silence going on.
    pub async fn check_feed(&self, now: Timestamp) -> Result<Option<Timestamp>> {
        let Some(window) = self.engine.options.feed_window() else {
            return Ok(None);
        };
        self.engine
            .retry(|| async {
                let state = self.engine.settings.feed().await?;
                let (Some(since), Some(last_heard)) =
                    (state.silent_since(window, now), state.last_heard)
                else {
                    return Ok(None);
                };
                if state.alerted != Some(since) {
                    let mut changes = Changeset {
                        settings: vec![SettingsWrite::Feed(FeedState {
                            alerted: Some(since),
                            ..state
                        })],
                        ..Changeset::default()
                    };
                    changes.record(DomainEvent::FeedSilent { since, last_heard }, now);
                    self.engine.commit.commit(changes).await?;
                }
                Ok(Some(since))
            })
            .await
    }

    /// The start of the silence going on at `now`, if the guard is on and the feed silent (for
    /// the console's banner).
    pub async fn silent_since(&self, now: Timestamp) -> Result<Option<Timestamp>> {
        match self.engine.options.feed_window() {
            Some(w) => Ok(self.engine.settings.feed().await?.silent_since(w, now)),
            None => Ok(None),
        }
    }

    /// How the feed stands (admins, DevOps admins, access reviewers).
    pub async fn feed_status(&self, actor: &Principal, now: Timestamp) -> Result<FeedStatus> {
        require(actor, Capability::Review)?;
        let state = self.engine.settings.feed().await.map_err(Error::from)?;
        let mut silences = state.silences.clone();
        silences.reverse();
        silences.truncate(20);
        Ok(FeedStatus {
            guard: self.engine.options.feed_window().map(window_text),
            last_heard: state.last_heard,
            silent_since: self
                .engine
                .options
                .feed_window()
                .and_then(|w| state.silent_since(w, now)),
            silences,
        })
    }
}
