//! The handler: the same axum router as the local runtime, with the caller's identity taken
//! only from the claims API Gateway's JWT authorizer validated.

use std::sync::Arc;

use axum::http::request::Parts;
use lambda_http::request::RequestContext;

use autolock_console::{ConsoleConfig, ConsoleState};
use autolock_core::ids::PrincipalId;
use autolock_core::ports::Store;
use autolock_core::service::Autolock;
use autolock_http::{AppState, Authenticator, HttpConfig, LinkSigner, SystemClock};

use crate::config::Config;

/// Trusts the `sub` claim of API Gateway's JWT authorizer, and nothing else.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthorizerClaims;

impl Authenticator for AuthorizerClaims {
    fn authenticate(&self, parts: &Parts) -> Result<PrincipalId, String> {
        let Some(RequestContext::ApiGatewayV2(context)) = parts.extensions.get::<RequestContext>()
        else {
            return Err("no API Gateway request context".into());
        };
        let sub = context
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .and_then(|jwt| jwt.claims.get("sub"))
            .ok_or("the authorizer passed no sub claim")?;
        PrincipalId::parse(sub.as_str()).map_err(|e| e.to_string())
    }
}

fn webhook_sender() -> autolock_webhook::HttpWebhookSender {
    autolock_webhook::HttpWebhookSender::new(false, std::time::Duration::from_secs(10))
        .expect("the webhook client builds")
}

/// The router over `store` as configured: the JSON API, the block page and the console, whose
/// sign-in emails go through `email`.
pub fn router(
    store: Arc<dyn Store>,
    email: Arc<dyn autolock_core::ports::EmailSender>,
    config: &Config,
) -> axum::Router {
    let http = HttpConfig {
        public_base_url: config.public_base_url.clone(),
        console_base_url: config.console_base_url.clone(),
    };
    let state = AppState::new(
        Autolock::new(Arc::clone(&store))
            .with_pause(Arc::new(autolock_aws::TokioPause))
            .with_lock_warnings(config.lock_warning_days)
            .expect("LOCK_WARNING_DAYS was checked")
            .with_feed_guard(config.feed_guard)
            .expect("FEED_GUARD was checked"),
        Arc::new(SystemClock),
        Arc::new(AuthorizerClaims),
        LinkSigner::new(config.block_link_key.as_bytes()),
        http,
    );
    let notifier = autolock_core::notify::Notifier::new(
        Arc::clone(&store),
        Arc::clone(&email),
        Arc::new(webhook_sender()),
        config.console_base_url.clone(),
    );
    let console = ConsoleState::new(
        state.app().clone(),
        Arc::new(SystemClock),
        email,
        ConsoleConfig {
            console_base_url: config.console_base_url.clone(),
            session_key: config.session_key.as_bytes().to_vec(),
        },
    )
    .expect("SESSION_KEY was checked")
    .with_notifier(notifier.clone());
    autolock_http::router(state.with_notifier(notifier)).merge(autolock_http::catch_panics(
        autolock_console::router(console),
    ))
}
