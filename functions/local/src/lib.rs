//! The local runtime: configuration, the demo seed, and the wiring that serves the API, the
//! block page and the sweep in one process over SQLite. No AWS crate is involved.

pub mod config;
pub mod demo;
pub mod error;
pub mod remote;
pub mod server;

pub use error::CliError;

use std::sync::Arc;

use async_trait::async_trait;

use autolock_console::{ConsoleConfig, ConsoleState};
use autolock_core::events::OutboxEntry;
use autolock_core::notify::Notifier;
use autolock_core::ports::SystemClock;
use autolock_core::ports::{Clock, EventPublisher, ManualClock, StoreResult};
use autolock_core::service::{Autolock, Ticker};
use autolock_core::values::SigningKeys;
use autolock_http::{AppState, Hs256, HttpConfig, LinkSigner};

/// Builds the router's state from the use cases, a clock and the secrets.
#[must_use]
pub fn state(
    app: Autolock,
    clock: Arc<dyn Clock>,
    tokens: Hs256,
    link_keys: SigningKeys,
    http: HttpConfig,
) -> AppState {
    AppState::new(
        app,
        clock,
        Arc::new(tokens),
        LinkSigner::new(link_keys),
        http,
    )
}

/// What the local runtime is made of.
pub struct Parts {
    /// The use cases.
    pub app: Autolock,
    /// The clock (a manual one for demos and tests).
    pub clock: Arc<dyn Clock>,
    /// The notifier (emails — the console's sign-in emails among them — and webhooks).
    pub notifier: Notifier,
    /// Verifies bearer tokens.
    pub tokens: Hs256,
    /// Sign block-page links.
    pub link_keys: SigningKeys,
    /// Sign the console's sessions.
    pub session_keys: SigningKeys,
    /// The deployment's addresses.
    pub http: HttpConfig,
    /// Slack's interactions endpoint, when it is served.
    pub slack: Option<autolock_slack::interactions::Interactions>,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts").finish_non_exhaustive()
    }
}

/// The local runtime's parts, wired as `autolock serve` wires them: one router with the JSON
/// API, the block page and the console (with the tick that a move of the manual clock runs),
/// and the tick the background loop runs.
pub fn wire(parts: Parts) -> (axum::Router, Ticker) {
    let Parts {
        app,
        clock,
        notifier,
        tokens,
        link_keys,
        session_keys,
        http,
        slack,
    } = parts;
    let ticker = ticker(app.clone(), Arc::clone(&clock), notifier.clone(), 1000);
    let console = ConsoleState::new(
        app.clone(),
        Arc::clone(&clock),
        Arc::new(SystemClock),
        ConsoleConfig {
            console_base_url: http.console_base_url.clone(),
            session_keys,
        },
    )
    .with_notifier(notifier.clone());
    let state = state(app, clock, tokens, link_keys, http)
        .with_notifier(notifier)
        .with_ticker(ticker.clone());
    let mut router = autolock_http::router(state).merge(autolock_http::catch_panics(
        autolock_console::router(console),
    ));
    if let Some(slack) = slack {
        router = router.merge(autolock_http::catch_panics(
            autolock_slack::interactions::router(slack),
        ));
    }
    (router, ticker)
}

/// What wakes the background tick before its interval: a commit that wrote domain events (see
/// `SqliteStore::with_outbox_hook`), so that a notification goes out within moments.
pub type Wake = Arc<tokio::sync::Notify>;

/// Runs `ticker` every `every`, and at once when `wake` is notified, until the task is dropped.
pub async fn run_ticks(
    ticker: Ticker,
    clock: Arc<dyn Clock>,
    every: std::time::Duration,
    wake: Wake,
) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            () = wake.notified() => {}
        }
        match ticker.tick(clock.now(), &|| true).await {
            Ok(r) if r.examined + r.published + r.retried + r.refreshed > 0 || r.failed > 0 => {
                tracing::info!(?r, "tick");
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %autolock_core::error::chain(&e), "tick failed; retrying next tick");
            }
        }
    }
}

/// The local runtime's tick: the sweep, the outbox relayed straight to the notifier, and the
/// delivery retries — the same tick as the sweep function's, plus the notifier's retries.
#[must_use]
pub fn ticker(app: Autolock, clock: Arc<dyn Clock>, notifier: Notifier, batch: usize) -> Ticker {
    let bus = NotifierBus::new(notifier.clone(), clock);
    Ticker::new(&app, Arc::new(bus), batch).with_retries(notifier)
}

/// The clock the configuration asks for.
#[must_use]
pub fn clock(manual_start: Option<autolock_core::Timestamp>) -> Arc<dyn Clock> {
    match manual_start {
        Some(start) => Arc::new(ManualClock::new(start)),
        None => Arc::new(SystemClock),
    }
}

/// The local runtime's event bus: the outbox relay publishes each domain event straight to the
/// notifier. An event whose handling fails stays in the outbox and is tried again.
#[derive(Clone)]
pub struct NotifierBus {
    notifier: Notifier,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for NotifierBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifierBus").finish_non_exhaustive()
    }
}

impl NotifierBus {
    /// A relay into `notifier`, on `clock`.
    #[must_use]
    pub fn new(notifier: Notifier, clock: Arc<dyn Clock>) -> Self {
        Self { notifier, clock }
    }
}

#[async_trait]
impl EventPublisher for NotifierBus {
    async fn publish(&self, entries: &[OutboxEntry]) -> StoreResult<Vec<String>> {
        let mut done = Vec::with_capacity(entries.len());
        for entry in entries {
            match self.notifier.handle(entry, self.clock.now()).await {
                Ok(_) => done.push(entry.id.clone()),
                Err(e) => {
                    tracing::warn!(id = %entry.id, error = %autolock_core::error::chain(&e), "notification handling failed; will retry");
                }
            }
        }
        Ok(done)
    }
}
