//! The gateways' routes: the decision and access events.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use autolock_core::Timestamp;
use autolock_core::ids::{EventId, ResourceId, UserId};
use autolock_core::lock::{AccessEvent, DenyReason, RightState};
use autolock_core::service::{EventInput, EventResult};

use autolock_core::values::instant;

use crate::AppState;
use crate::auth::{Authenticated, Caller};
use crate::extract::JsonBody;
use crate::problem::{ApiError, ApiResult};

/// How many events one batch may carry.
pub const MAX_BATCH: usize = 500;

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/access/check", post(check))
        .route("/access-events", post(access_events))
}

/// A gateway's question.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// Who wants in.
    pub user_id: UserId,
    /// Where.
    pub resource_id: ResourceId,
    /// Also count this access when allowed.
    #[serde(default)]
    pub record: bool,
}

/// The verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessAnswer {
    /// The user may reach the resource.
    Allow,
    /// The user may not.
    Deny,
}

/// The answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResponse {
    /// `allow` or `deny`.
    pub decision: AccessAnswer,
    /// Why not: `locked`, `no_access`, `expired`, `inactive`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<DenyReason>,
    /// The state of the right (when locked: since when, and how to get back in).
    pub state: RightState,
    /// When locked: the signed block page link to send the user to (valid one hour).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_url: Option<String>,
}

/// May this user reach this resource now? (gateways)
#[utoipa::path(post, path = "/v1/access/check", tag = "gateways", request_body = CheckRequest, responses((status = 200, body = CheckResponse)))]
pub async fn check(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(b): JsonBody<CheckRequest>,
) -> ApiResult<Json<CheckResponse>> {
    let now = s.now();
    let d = s
        .app()
        .gateway()
        .decide_for(&caller, &b.user_id, &b.resource_id, b.record, now)
        .await?;
    let block_url = (d.reason == Some(DenyReason::Locked))
        .then(|| block_url(&s, &b.user_id, &b.resource_id, now));
    Ok(Json(CheckResponse {
        decision: if d.allow {
            AccessAnswer::Allow
        } else {
            AccessAnswer::Deny
        },
        reason: d.reason,
        state: d.state,
        block_url,
    }))
}

/// The signed block page link for a locked right, valid an hour from `now`.
pub fn block_url(s: &AppState, user: &UserId, resource: &ResourceId, now: Timestamp) -> String {
    let token = s.links().sign(user, resource, now);
    let base = s.config().public_base_url.trim_end_matches('/');
    format!("{base}/block/{token}")
}

/// One access, as a gateway reports it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessEventInput {
    /// The gateway's id for the event; duplicates change nothing.
    pub event_id: EventId,
    /// Who.
    pub user_id: UserId,
    /// What.
    pub resource_id: ResourceId,
    /// When (RFC 3339).
    #[serde(deserialize_with = "instant::deserialize")]
    pub accessed_at: DateTime<Utc>,
}

/// A batch of accesses.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessEvents {
    /// 1 to 500 events.
    pub events: Vec<AccessEventInput>,
}

/// What became of each event, in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessEventsResponse {
    /// One result per event.
    pub results: Vec<EventResult>,
}

/// Reports accesses (gateways), with a result per event.
#[utoipa::path(post, path = "/v1/access-events", tag = "gateways", request_body = AccessEvents, responses((status = 200, body = AccessEventsResponse)))]
pub async fn access_events(
    State(s): State<AppState>,
    Caller(caller): Caller,
    JsonBody(b): JsonBody<AccessEvents>,
) -> ApiResult<Json<AccessEventsResponse>> {
    if b.events.is_empty() || b.events.len() > MAX_BATCH {
        return Err(ApiError::invalid(
            "events",
            format!("must hold 1 to {MAX_BATCH} events"),
        ));
    }
    let batch = b
        .events
        .into_iter()
        .map(|e| EventInput {
            user: e.user_id,
            resource: e.resource_id,
            event: AccessEvent {
                event_id: e.event_id,
                accessed_at: e.accessed_at,
            },
        })
        .collect();
    Ok(Json(AccessEventsResponse {
        results: s
            .app()
            .gateway()
            .record_events(&caller, batch, s.now())
            .await?,
    }))
}
