//! The local runtime: configuration, the demo seed, and the wiring that serves the API, the
//! block page and the sweep in one process over SQLite. No AWS crate is involved.

pub mod config;
pub mod demo;

use std::sync::Arc;

use autolock_core::ports::{Clock, ManualClock, Store};
use autolock_core::service::Autolock;
use autolock_http::{AppState, Hs256, HttpConfig, LinkSigner, SystemClock};

/// Builds the router's state from a store, a clock and the secrets.
#[must_use]
pub fn state(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    tokens: Hs256,
    link_key: &[u8],
    http: HttpConfig,
) -> AppState {
    AppState::new(
        Autolock::new(store),
        clock,
        Arc::new(tokens),
        LinkSigner::new(link_key),
        http,
    )
}

/// The clock the configuration asks for.
#[must_use]
pub fn clock(manual_start: Option<autolock_core::Timestamp>) -> Arc<dyn Clock> {
    match manual_start {
        Some(start) => Arc::new(ManualClock::new(start)),
        None => Arc::new(SystemClock),
    }
}
