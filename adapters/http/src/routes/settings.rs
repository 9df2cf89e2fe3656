//! The admin's settings: notification roles, the webhook, the delivery log, a test send.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use autolock_core::delivery::{Channel, Delivery};
use autolock_core::ports::{GateSettings, Settings, SignInSettings};
use autolock_core::service::{SlackInput, SlackView};

use super::{List, Paging};
use crate::AppState;
use crate::auth::Caller;
use crate::extract::{JsonBody, Query};
use crate::problem::{ApiError, ApiResult};

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/settings/notifications",
            get(get_settings).put(put_settings),
        )
        .route("/settings/gate", get(get_gate).put(put_gate))
        .route("/settings/sign-in", get(get_sign_in).put(put_sign_in))
        .route(
            "/settings/webhook",
            get(get_webhook).put(put_webhook).delete(delete_webhook),
        )
        .route("/settings/webhook/test", post(test_webhook))
        .route("/webhook-deliveries", get(list_webhook_deliveries))
        .route(
            "/settings/slack",
            get(get_slack).put(put_slack).delete(delete_slack),
        )
        .route("/settings/slack/test", post(test_slack))
        .route("/slack-deliveries", get(list_slack_deliveries))
}

/// Notification settings (admin).
#[utoipa::path(get, path = "/v1/settings/notifications", tag = "settings", responses((status = 200, body = Settings)))]
pub async fn get_settings(
    State(s): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Settings>> {
    Ok(Json(
        s.app().settings().notification_settings(&caller).await?,
    ))
}

/// Replaces the notification settings (admin): which roles are emailed about new requests.
#[utoipa::path(put, path = "/v1/settings/notifications", tag = "settings", request_body = Settings, responses((status = 200, body = Settings)))]
pub async fn put_settings(
    State(s): State<AppState>,
    Caller(caller): Caller,
    JsonBody(b): JsonBody<Settings>,
) -> ApiResult<Json<Settings>> {
    Ok(Json(
        s.app()
            .settings()
            .set_notification_settings(&caller, b, s.now())
            .await?,
    ))
}

/// The gate's settings (admin): the coalescing window of usage seen by the gate.
#[utoipa::path(get, path = "/v1/settings/gate", tag = "settings", responses((status = 200, body = GateSettings)))]
pub async fn get_gate(
    State(s): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<GateSettings>> {
    Ok(Json(s.app().settings().gate_settings(&caller).await?))
}

/// Replaces the gate's settings (admin): `usage_window_secs`, 0 to 3600 (docs/gateways).
#[utoipa::path(put, path = "/v1/settings/gate", tag = "settings", request_body = GateSettings, responses((status = 200, body = GateSettings)))]
pub async fn put_gate(
    State(s): State<AppState>,
    Caller(caller): Caller,
    JsonBody(b): JsonBody<GateSettings>,
) -> ApiResult<Json<GateSettings>> {
    Ok(Json(
        s.app()
            .settings()
            .set_gate_settings(&caller, b, s.now())
            .await?,
    ))
}

/// How people sign in to the console (admin).
#[utoipa::path(get, path = "/v1/settings/sign-in", tag = "settings", responses((status = 200, body = SignInSettings)))]
pub async fn get_sign_in(
    State(s): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<SignInSettings>> {
    Ok(Json(s.app().settings().sign_in_settings(&caller).await?))
}

/// Replaces how people sign in (admin): `email_links` may be false only where single sign-on
/// is configured.
#[utoipa::path(put, path = "/v1/settings/sign-in", tag = "settings", request_body = SignInSettings, responses((status = 200, body = SignInSettings)))]
pub async fn put_sign_in(
    State(s): State<AppState>,
    Caller(caller): Caller,
    JsonBody(b): JsonBody<SignInSettings>,
) -> ApiResult<Json<SignInSettings>> {
    Ok(Json(
        s.app()
            .settings()
            .set_sign_in_settings(&caller, b, s.now())
            .await?,
    ))
}

/// The webhook as shown: its URL (the secret is shown once, when set).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    /// Where deliveries are POSTed.
    pub url: String,
    /// The signing secret (`whsec_...`): only in the answer that set it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// A webhook to set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutWebhook {
    /// An https URL.
    pub url: String,
}

/// The webhook (admin).
#[utoipa::path(get, path = "/v1/settings/webhook", tag = "settings", responses((status = 200, body = WebhookView), (status = 404, body = crate::problem::Problem)))]
pub async fn get_webhook(
    State(s): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<WebhookView>> {
    let url = s
        .app()
        .settings()
        .webhook(&caller)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    Ok(Json(WebhookView {
        url: url.to_string(),
        secret: None,
    }))
}

/// Sets the webhook (admin): a new signing secret is generated and shown in this answer only.
#[utoipa::path(put, path = "/v1/settings/webhook", tag = "settings", request_body = PutWebhook, responses((status = 200, body = WebhookView)))]
pub async fn put_webhook(
    State(s): State<AppState>,
    Caller(caller): Caller,
    JsonBody(b): JsonBody<PutWebhook>,
) -> ApiResult<Json<WebhookView>> {
    let hook = s
        .app()
        .settings()
        .set_webhook(&caller, &b.url, s.now())
        .await?;
    Ok(Json(WebhookView {
        url: hook.url.to_string(),
        secret: Some(hook.secret.reveal().to_owned()),
    }))
}

/// Removes the webhook (admin).
#[utoipa::path(delete, path = "/v1/settings/webhook", tag = "settings", responses((status = 204)))]
pub async fn delete_webhook(
    State(s): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<StatusCode> {
    s.app().settings().remove_webhook(&caller, s.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a test delivery to the webhook now and answers it with its attempt (admin).
#[utoipa::path(post, path = "/v1/settings/webhook/test", tag = "settings", responses((status = 200, body = Delivery)))]
pub async fn test_webhook(
    State(s): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Delivery>> {
    Ok(Json(
        s.app()
            .settings()
            .send_test_webhook(&caller, s.notifier(), s.now())
            .await?,
    ))
}

/// Webhook deliveries with every attempt, newest first (admin).
#[utoipa::path(get, path = "/v1/webhook-deliveries", tag = "settings", params(Paging), responses((status = 200, body = List<Delivery>)))]
pub async fn list_webhook_deliveries(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Query(p): Query<Paging>,
) -> ApiResult<Json<List<Delivery>>> {
    let page = s
        .app()
        .settings()
        .deliveries(&caller, Channel::Webhook, &p.page()?)
        .await?;
    Ok(Json(List::from_page(page)))
}

/// Slack (admin): the channel, on or off, and whether its secrets are set (never the secrets).
#[utoipa::path(get, path = "/v1/settings/slack", tag = "settings", responses((status = 200, body = SlackView), (status = 404, body = crate::problem::Problem)))]
pub async fn get_slack(
    State(s): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<SlackView>> {
    Ok(Json(
        s.app()
            .settings()
            .slack(&caller)
            .await?
            .ok_or_else(|| ApiError::not_found("slack"))?,
    ))
}

/// Sets Slack (admin): `channel`, `enabled`, and `bot_token` and `signing_secret` when they
/// change (left out, the stored ones stay; they are never shown again).
#[utoipa::path(put, path = "/v1/settings/slack", tag = "settings", request_body = SlackInput, responses((status = 200, body = SlackView)))]
pub async fn put_slack(
    State(s): State<AppState>,
    Caller(caller): Caller,
    JsonBody(b): JsonBody<SlackInput>,
) -> ApiResult<Json<SlackView>> {
    Ok(Json(
        s.app().settings().set_slack(&caller, b, s.now()).await?,
    ))
}

/// Removes Slack (admin), its stored secrets with it.
#[utoipa::path(delete, path = "/v1/settings/slack", tag = "settings", responses((status = 204)))]
pub async fn delete_slack(
    State(s): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<StatusCode> {
    s.app().settings().remove_slack(&caller, s.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Posts a test message to Slack's channel now and answers it with its attempt (admin).
#[utoipa::path(post, path = "/v1/settings/slack/test", tag = "settings", responses((status = 200, body = Delivery)))]
pub async fn test_slack(
    State(s): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Delivery>> {
    Ok(Json(
        s.app()
            .settings()
            .send_test(&caller, s.notifier(), Channel::Slack, s.now())
            .await?,
    ))
}

/// Slack deliveries with every attempt, newest first (admin).
#[utoipa::path(get, path = "/v1/slack-deliveries", tag = "settings", params(Paging), responses((status = 200, body = List<Delivery>)))]
pub async fn list_slack_deliveries(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Query(p): Query<Paging>,
) -> ApiResult<Json<List<Delivery>>> {
    let page = s
        .app()
        .settings()
        .deliveries(&caller, Channel::Slack, &p.page()?)
        .await?;
    Ok(Json(List::from_page(page)))
}
