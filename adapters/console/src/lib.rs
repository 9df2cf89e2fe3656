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

mod layout;
mod pages;
mod session;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::routing::{get, post};

use autolock_core::Timestamp;
use autolock_core::notify::Notifier;
use autolock_core::ports::{Clock, EmailSender};
use autolock_core::service::Autolock;

pub use session::{SESSION_COOKIE, SESSION_TTL};

/// The largest form the console reads.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// What the console needs from its deployment.
#[derive(Clone)]
pub struct ConsoleConfig {
    /// The console's own base URL (the links in emails point here).
    pub console_base_url: String,
    /// The key that signs session cookies and CSRF tokens (at least 32 bytes).
    pub session_key: Vec<u8>,
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
    email: Arc<dyn EmailSender>,
    notifier: Option<Notifier>,
    config: ConsoleConfig,
}

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
    /// The console over the use cases, sending sign-in emails through `email`.
    ///
    /// # Errors
    /// When the session key is shorter than 32 bytes.
    pub fn new(
        app: Autolock,
        clock: Arc<dyn Clock>,
        email: Arc<dyn EmailSender>,
        config: ConsoleConfig,
    ) -> Result<Self, String> {
        if config.session_key.len() < 32 {
            return Err("the console's session key must be at least 32 bytes".into());
        }
        Ok(Self(Arc::new(Inner {
            app,
            clock,
            email,
            notifier: None,
            config,
        })))
    }

    /// The same console with a notifier, for the webhook's test send.
    #[must_use]
    pub fn with_notifier(self, notifier: Notifier) -> Self {
        let inner = &self.0;
        Self(Arc::new(Inner {
            app: inner.app.clone(),
            clock: Arc::clone(&inner.clock),
            email: Arc::clone(&inner.email),
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

    fn config(&self) -> &ConsoleConfig {
        &self.0.config
    }

    fn secure_cookies(&self) -> bool {
        self.0.config.console_base_url.starts_with("https://")
    }

    /// A link into the console.
    fn link(&self, path: &str) -> String {
        format!(
            "{}{path}",
            self.0.config.console_base_url.trim_end_matches('/')
        )
    }
}

/// The console's routes, with their state. Pages are never cached, never framed, and send no
/// referrer (the block page's and sign-in links are bearer links).
pub fn router(state: ConsoleState) -> Router {
    use pages::*;
    Router::new()
        .route("/", get(home))
        .route("/sign-in", get(sign_in::form).post(sign_in::request_link))
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
        .route("/users/{user_id}/summary.csv", get(downloads::user_summary))
        .route(
            "/settings/notifications",
            get(settings::page).post(settings::save),
        )
        .route("/settings/webhook", post(settings::set_webhook))
        .route("/settings/webhook/remove", post(settings::remove_webhook))
        .route("/settings/webhook/test", post(settings::test_webhook))
        .route("/audit", get(audit::page))
        .route("/audit/export.csv", get(downloads::audit_export))
        .route("/me", get(me::page))
        .route("/me/requests", post(me::file_request))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(axum::middleware::map_response(protect))
        .with_state(state)
}

async fn protect(mut response: axum::response::Response) -> axum::response::Response {
    let headers = response.headers_mut();
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
