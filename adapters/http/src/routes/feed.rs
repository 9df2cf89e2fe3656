//! The usage feed's state (docs/semantics.md §2.10): the feed guard's window, the last arrival
//! of access events, the silence going on and those that ended.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use autolock_core::service::FeedStatus;

use crate::AppState;
use crate::auth::Caller;
use crate::problem::ApiResult;

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new().route("/feed", get(get_feed))
}

/// How the usage feed stands (approvers).
#[utoipa::path(get, path = "/v1/feed", tag = "settings", responses((status = 200, body = FeedStatus)))]
pub async fn get_feed(
    State(s): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<FeedStatus>> {
    Ok(Json(s.app().feed().feed_status(&caller, s.now()).await?))
}
