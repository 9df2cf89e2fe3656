//! autolock-console: the admin console, server-rendered HTML over the core's use cases, at the
//! paths autolock's emails and webhook link to (docs/semantics.md §7). Pages work without
//! JavaScript; every state-changing form carries a CSRF token. People sign in with a one-time
//! link (by email, or printed by `autolock sign-in-link`) that opens a session in a signed
//! cookie. What each role sees and may do is the core's to say (`autolock_core::authz`): a page
//! calls the same use cases as the JSON API, and hides the buttons its viewer may not use.
//!
//! The router has no fallback, so that it merges into the JSON API's router.

// A page that cannot be rendered answers the page of its error: handlers pass it along as the
// `Err` of their `Result`, as axum's own extractors do.
#![allow(clippy::result_large_err)]

mod error;
mod extract;
mod layout;
mod pages;
mod session;
mod urls;
mod viewer;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::routing::{get, post};

use autolock_core::Timestamp;
use autolock_core::notify::Notifier;
use autolock_core::ports::Clock;
use autolock_core::service::Autolock;

pub use session::{SESSION_COOKIE, SESSION_TTL};

/// The largest form the console reads.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// What the console needs from its deployment.
#[derive(Clone)]
pub struct ConsoleConfig {
    /// The console's own base URL (the links in emails point here).
    pub console_base_url: String,
    /// The keys that sign session cookies and CSRF tokens: the current one signs, the previous
    /// one (during a rotation) still verifies.
    pub session_keys: autolock_core::values::SigningKeys,
}

impl std::fmt::Debug for ConsoleConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleConfig")
            .field("console_base_url", &self.console_base_url)
            .finish_non_exhaustive()
    }
}

struct Inner {
    app: Autolock,
    clock: Arc<dyn Clock>,
    real_time: Arc<dyn Clock>,
    notifier: Option<Notifier>,
    config: ConsoleConfig,
}

/// Who is asking, as the host knows it (the peer's address, or the one API Gateway saw): set
/// on a request by the host, it limits how often one client may ask for sign-in emails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddr(pub String);

/// What every page shares.
#[derive(Clone)]
pub struct ConsoleState(Arc<Inner>);

impl std::fmt::Debug for ConsoleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleState")
            .field("config", &self.0.config)
            .finish_non_exhaustive()
    }
}

impl ConsoleState {
    /// The console over the use cases, on the deployment's `clock`; sessions, their CSRF
    /// tokens and sign-in links run on `real_time`, whatever the deployment's clock. Its sign-in
    /// emails go through the outbox and the notifier, like every other notification.
    #[must_use]
    pub fn new(
        app: Autolock,
        clock: Arc<dyn Clock>,
        real_time: Arc<dyn Clock>,
        config: ConsoleConfig,
    ) -> Self {
        Self(Arc::new(Inner {
            app,
            clock,
            real_time,
            notifier: None,
            config,
        }))
    }

    /// The same console with a notifier, for the webhook's test send.
    #[must_use]
    pub fn with_notifier(self, notifier: Notifier) -> Self {
        let inner = &self.0;
        Self(Arc::new(Inner {
            app: inner.app.clone(),
            clock: Arc::clone(&inner.clock),
            real_time: Arc::clone(&inner.real_time),
            notifier: Some(notifier),
            config: inner.config.clone(),
        }))
    }

    fn app(&self) -> &Autolock {
        &self.0.app
    }

    fn now(&self) -> Timestamp {
        self.0.clock.now()
    }

    /// Now by real time: sessions, CSRF tokens and sign-in links run on it.
    fn real_now(&self) -> Timestamp {
        self.0.real_time.now()
    }

    fn config(&self) -> &ConsoleConfig {
        &self.0.config
    }

    fn secure_cookies(&self) -> bool {
        self.0.config.console_base_url.starts_with("https://")
    }
}

/// The console's routes, with their state. Pages are never cached, never framed, and send no
/// referrer (the block page's and sign-in links are bearer links); on https they tell browsers
/// to keep to https (HSTS).
pub fn router(state: ConsoleState) -> Router {
    use pages::*;
    Router::new()
        .route("/", get(home))
        .route("/sign-in", get(sign_in::form).post(sign_in::request_link))
        .route("/sign-in/oidc", get(sign_in::start_sign_on))
        .route("/sign-in/oidc/callback", get(sign_in::finish_sign_on))
        .route(
            "/sign-in/{token}",
            get(sign_in::confirm).post(sign_in::redeem),
        )
        .route("/sign-out", post(sign_in::sign_out))
        .route("/access-requests", get(requests::page))
        .route(
            "/access-requests/{request_id}/{verdict}",
            post(requests::resolve),
        )
        .route("/resources", get(resources::list))
        .route("/resources/{resource_id}", get(resources::page))
        .route("/resources/{resource_id}/policy", post(resources::policy))
        .route(
            "/resources/{resource_id}/grants",
            post(resources::add_grant),
        )
        .route(
            "/resources/{resource_id}/grants/{group_id}",
            post(resources::edit_grant),
        )
        .route(
            "/resources/{resource_id}/summary.csv",
            get(downloads::resource_summary),
        )
        .route("/policies", get(policies::page))
        .route("/policies.yaml", get(policies::download))
        .route("/policies/plan", post(policies::plan))
        .route("/policies/apply", post(policies::apply))
        .route("/exemptions", post(exemptions::create))
        .route("/exemptions/{exemption_id}/end", post(exemptions::end))
        .route("/groups", get(groups::list))
        .route("/groups/{group_id}", get(groups::page))
        .route("/groups/{group_id}/members", post(groups::add_member))
        .route(
            "/groups/{group_id}/members/{user_id}/remove",
            post(groups::remove_member),
        )
        .route(
            "/groups/{group_id}/summary.csv",
            get(downloads::group_summary),
        )
        .route("/users", get(users::list))
        .route("/users/{user_id}", get(users::page))
        .route(
            "/users/{user_id}/rights/{resource_id}/unlock",
            post(users::unlock),
        )
        .route("/users/{user_id}/active", post(users::set_active))
        .route("/users/{user_id}/sessions/end", post(users::end_sessions))
        .route("/users/{user_id}/summary.csv", get(downloads::user_summary))
        .route(
            "/settings/notifications",
            get(settings::page).post(settings::save),
        )
        .route("/settings/gate", post(settings::save_gate))
        .route("/settings/sign-in", post(settings::save_sign_in))
        .route("/settings/slack", post(settings::save_slack))
        .route("/settings/slack/test", post(settings::test_slack))
        .route("/settings/slack/remove", post(settings::remove_slack))
        .route("/settings/webhook", post(settings::set_webhook))
        .route("/settings/webhook/remove", post(settings::remove_webhook))
        .route("/settings/webhook/test", post(settings::test_webhook))
        .route("/audit", get(audit::page))
        .route("/audit/export.csv", get(downloads::audit_export))
        .route("/me", get(me::page))
        .route("/me/requests", post(me::file_request))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            protect,
        ))
        .with_state(state)
}

async fn protect(
    axum::extract::State(state): axum::extract::State<ConsoleState>,
    mut response: axum::response::Response,
) -> axum::response::Response {
    let headers = response.headers_mut();
    if state.secure_cookies() {
        // Served on https: browsers keep to https for this host from now on.
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
