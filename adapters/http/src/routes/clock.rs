//! The manual clock of demos and tests (routed only when the server runs with one).

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use autolock_core::service::{TickReport, clock_move};

use autolock_core::values::instant;

use crate::AppState;
use crate::auth::Caller;
use crate::extract::JsonBody;
use crate::problem::{ApiError, ApiResult};

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/clock", get(get_clock))
        .route("/clock/advance", post(advance_clock))
}

/// The manual clock's time.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClockView {
    /// Now, by autolock's clock.
    pub now: DateTime<Utc>,
    /// What the tick run at the new instant did (after a move).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tick: Option<TickReport>,
}

/// The manual clock (only when the server runs with one).
#[utoipa::path(get, path = "/v1/clock", tag = "clock", responses((status = 200, body = ClockView)))]
pub async fn get_clock(State(s): State<AppState>, Caller(_caller): Caller) -> Json<ClockView> {
    Json(ClockView {
        now: s.now(),
        tick: None,
    })
}

/// How far to move the manual clock: `{"by": "8d"}` (units d, h, m, s) or `{"to": "..."}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceClock {
    /// A duration like `8d`, `36h`, `15m` or `30s`.
    pub by: Option<String>,
    /// An instant to move to (never backward).
    #[serde(default, deserialize_with = "instant::option")]
    pub to: Option<DateTime<Utc>>,
}

/// Moves the manual clock forward (admin; only when the server runs with a manual clock), then
/// runs the tick at the new instant (sweep, outbox, deliveries due) before answering, so the
/// answer's world has its locks recorded and its notifications sent.
#[utoipa::path(post, path = "/v1/clock/advance", tag = "clock", request_body = AdvanceClock, responses((status = 200, body = ClockView)))]
pub async fn advance_clock(
    State(s): State<AppState>,
    Caller(caller): Caller,
    JsonBody(b): JsonBody<AdvanceClock>,
) -> ApiResult<Json<ClockView>> {
    let clock = s
        .clock()
        .as_manual()
        .ok_or_else(|| ApiError::not_found("route"))?;
    let step = clock_move(b.by.as_deref(), b.to)?;
    let now = s.app().settings().move_clock(&caller, clock, step)?;
    let tick = match s.ticker() {
        Some(ticker) => Some(ticker.tick(now, &|| true).await?),
        None => None,
    };
    Ok(Json(ClockView { now, tick }))
}
