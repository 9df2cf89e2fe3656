//! autolock-http: the HTTP surface as one axum [`Router`] — the JSON API under `/v1`, the block
//! page and the OpenAPI document — over the core use cases. It has no AWS dependency: the local
//! runtime serves it with `axum::serve`, the API Lambda with `lambda_http`.

pub mod auth;
pub mod block;
pub mod extract;
pub mod openapi;
mod panic;
pub mod problem;
pub mod routes;
pub mod scim;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;

use autolock_core::Timestamp;
use autolock_core::ports::Clock;
use autolock_core::service::Autolock;

pub use auth::{Authenticator, Caller, DEFAULT_ISSUER, Hs256};
pub use block::LinkSigner;
pub use panic::catch_panics;

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Deployment settings the HTTP surface needs (docs/semantics.md §4).
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Where autolock's own block page is served, e.g. `https://autolock.acme.example.com`.
    pub public_base_url: String,
    /// The admin console that links point at.
    pub console_base_url: String,
}

#[derive(Clone)]
struct Inner {
    notifier: Option<autolock_core::notify::Notifier>,
    ticker: Option<autolock_core::service::Ticker>,
    app: Autolock,
    clock: Arc<dyn Clock>,
    auth: Arc<dyn Authenticator>,
    links: LinkSigner,
    config: HttpConfig,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.0.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// The state of a router.
    #[must_use]
    pub fn new(
        app: Autolock,
        clock: Arc<dyn Clock>,
        auth: Arc<dyn Authenticator>,
        links: LinkSigner,
        config: HttpConfig,
    ) -> Self {
        Self(Arc::new(Inner {
            notifier: None,
            ticker: None,
            app,
            clock,
            auth,
            links,
            config,
        }))
    }

    /// The same state with a notifier (for the webhook test route).
    #[must_use]
    pub fn with_notifier(self, notifier: autolock_core::notify::Notifier) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.0);
        inner.notifier = Some(notifier);
        Self(Arc::new(inner))
    }

    /// The same state with the tick that a move of the manual clock runs before answering.
    #[must_use]
    pub fn with_ticker(self, ticker: autolock_core::service::Ticker) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.0);
        inner.ticker = Some(ticker);
        Self(Arc::new(inner))
    }

    /// The tick, when one is wired.
    #[must_use]
    pub fn ticker(&self) -> Option<&autolock_core::service::Ticker> {
        self.0.ticker.as_ref()
    }

    /// The notifier, when one is wired.
    #[must_use]
    pub fn notifier(&self) -> Option<&autolock_core::notify::Notifier> {
        self.0.notifier.as_ref()
    }

    /// The use cases.
    #[must_use]
    pub fn app(&self) -> &Autolock {
        &self.0.app
    }

    /// Now, by autolock's clock.
    #[must_use]
    pub fn now(&self) -> Timestamp {
        self.0.clock.now()
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.0.clock
    }

    /// The authenticator.
    #[must_use]
    pub fn auth(&self) -> &dyn Authenticator {
        self.0.auth.as_ref()
    }

    /// The block-link signer.
    #[must_use]
    pub fn links(&self) -> &LinkSigner {
        &self.0.links
    }

    /// The deployment settings.
    #[must_use]
    pub fn config(&self) -> &HttpConfig {
        &self.0.config
    }
}

/// The whole HTTP surface: the JSON API under `/v1` (with the clock routes only when the clock
/// is a manual one), the block page, a health check; on an https public address, every answer
/// tells browsers to keep to https (HSTS).
pub fn router(state: AppState) -> Router {
    let mut v1 = routes::v1();
    if state.clock().as_manual().is_some() {
        v1 = v1.merge(routes::clock::routes());
    }
    let routes = Router::new()
        .nest("/v1", v1)
        .nest("/scim/v2", scim::routes::routes())
        .route("/block/{token}", get(block::show).post(block::submit))
        .route("/healthz", get(|| async { "ok" }));
    let https = state.config().public_base_url.starts_with("https://");
    catch_panics(routes)
        .fallback(|| async { problem::ApiError::not_found("route") })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(
            move |mut response: axum::response::Response| async move {
                if https {
                    // Served on https: browsers keep to https for this host from now on.
                    response.headers_mut().insert(
                        axum::http::header::STRICT_TRANSPORT_SECURITY,
                        axum::http::HeaderValue::from_static("max-age=31536000; includeSubDomains"),
                    );
                }
                response
            },
        ))
        .with_state(state)
}
