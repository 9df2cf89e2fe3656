//! The handler: the same axum router as the local runtime, with the caller's identity taken
//! only from the claims API Gateway's JWT authorizer validated.

use std::sync::Arc;

use axum::http::request::Parts;
use lambda_http::request::RequestContext;

use autolock_console::{ConsoleConfig, ConsoleState};
use autolock_core::ids::PrincipalId;
use autolock_core::ports::Store;
use autolock_core::ports::SystemClock;
use autolock_core::service::Autolock;
use autolock_http::auth::Unauthenticated;
use autolock_http::{AppState, Authenticator, HttpConfig, LinkSigner};

use crate::config::{Config, Keys};

/// Trusts the `sub` claim of API Gateway's JWT authorizer, and nothing else.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthorizerClaims;

impl Authenticator for AuthorizerClaims {
    fn authenticate(&self, parts: &Parts) -> Result<PrincipalId, Unauthenticated> {
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
        PrincipalId::parse(sub.as_str()).map_err(|e| e.to_string().into())
    }

    /// The gate's routes have an authorizer of their own whose identity source is the
    /// `X-Autolock-Token` header (infra/template.yaml): its claims arrive as any route's.
    fn authenticate_gate(&self, parts: &Parts) -> Result<PrincipalId, Unauthenticated> {
        self.authenticate(parts)
    }
}

fn webhook_sender() -> autolock_webhook::HttpWebhookSender {
    autolock_webhook::HttpWebhookSender::new(false, std::time::Duration::from_secs(10))
}

/// The router over `store` as configured, signing with `keys`: the JSON API, the block page and
/// the console. It sends no email: the console's sign-in emails go through the outbox to the
/// notifier function, like every notification; its notifier serves the webhook's test send.
pub fn router(store: Arc<dyn Store>, config: &Config, keys: &Keys) -> axum::Router {
    let http = HttpConfig {
        public_base_url: config.public_base_url.to_string(),
        console_base_url: config.console_base_url.to_string(),
    };
    let mut options = config.options();
    if let Some(provider) = &keys.sign_on {
        options = options.identity_provider(provider.clone());
    }
    let state = AppState::new(
        Autolock::with_options(Arc::clone(&store), options),
        Arc::new(SystemClock),
        Arc::new(AuthorizerClaims),
        LinkSigner::new(keys.block_links.clone()),
        http,
    );
    let console_base_url = config.console_base_url.to_string();
    let slack = autolock_slack::SlackChannel::new(
        Arc::clone(&store),
        keys.slack.clone(),
        &console_base_url,
    );
    let notifier = autolock_core::notify::Notifier::new(
        Arc::clone(&store),
        Arc::new(autolock_core::ports::EmailDisabled),
        Arc::new(webhook_sender()),
        console_base_url,
    )
    .with_channel(Arc::new(slack));
    let interactions =
        autolock_slack::interactions::router(autolock_slack::interactions::Interactions::new(
            state.app().clone(),
            Arc::clone(&store),
            keys.slack.clone(),
            Arc::new(SystemClock),
            Arc::new(SystemClock),
        ));
    let console = ConsoleState::new(
        state.app().clone(),
        Arc::new(SystemClock),
        Arc::new(SystemClock),
        ConsoleConfig {
            console_base_url: config.console_base_url.to_string(),
            session_keys: keys.sessions.clone(),
        },
    )
    .with_notifier(notifier.clone());
    let console = autolock_console::router(console).layer(axum::middleware::from_fn(client_addr));
    autolock_http::router(state.with_notifier(notifier))
        .merge(autolock_http::catch_panics(console))
        .merge(autolock_http::catch_panics(interactions))
}

/// Tells the console who is asking: the client's address as API Gateway saw it.
async fn client_addr(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let source = match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
        _ => None,
    };
    if let Some(ip) = source {
        request
            .extensions_mut()
            .insert(autolock_console::ClientAddr(ip));
    }
    next.run(request).await
}
