//! Exemptions (docs/semantics.md §2.9): set on one right or one grant until a date, moved,
//! ended early, listed by resource, user or group.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use autolock_core::exemption::{Exemption, ExemptionFilter};
use autolock_core::ids::{ExemptionId, GroupId, ResourceId, UserId};
use autolock_core::service::NewExemption;

use super::List;
use autolock_core::values::instant;

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{ApiPath, JsonBody, Query, number_text};
use crate::problem::{ApiError, ApiResult};

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/exemptions", get(list_exemptions).post(create_exemption))
        .route(
            "/exemptions/{exemption_id}",
            get(get_exemption).patch(patch_exemption),
        )
        .route("/exemptions/{exemption_id}/end", post(end_exemption))
}

/// Which exemptions to list: exactly one of `resource_id`, `user_id`, `group_id`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExemptionQuery {
    /// Every exemption on this resource (of its rights and of its grants).
    pub resource_id: Option<ResourceId>,
    /// The exemptions of this user's rights.
    pub user_id: Option<UserId>,
    /// The exemptions of this group's grants.
    pub group_id: Option<GroupId>,
    /// Also those that ended (`true`); by default only those in force.
    #[serde(default, deserialize_with = "number_text::option_bool")]
    #[param(value_type = Option<bool>)]
    pub include_ended: Option<bool>,
}

/// Lists exemptions, newest first (approvers).
#[utoipa::path(get, path = "/v1/exemptions", tag = "exemptions", params(ExemptionQuery), responses((status = 200, body = List<Exemption>), (status = 400, body = crate::problem::Problem)))]
pub async fn list_exemptions(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<ExemptionQuery>,
) -> ApiResult<Json<List<Exemption>>> {
    let filter = match (q.resource_id, q.user_id, q.group_id) {
        (Some(r), None, None) => ExemptionFilter::Resource(r),
        (None, Some(u), None) => ExemptionFilter::User(u),
        (None, None, Some(g)) => ExemptionFilter::Group(g),
        _ => {
            return Err(ApiError::invalid(
                "resource_id",
                "give exactly one of resource_id, user_id, group_id",
            ));
        }
    };
    let list = s
        .app()
        .exemptions()
        .list_exemptions(&caller, &filter, q.include_ended.unwrap_or(false), s.now())
        .await?;
    Ok(Json(List::of(list)))
}

/// Exempts one right (`user_id` and `resource_id`) or one grant (`grant_id`) from auto-lock
/// until `until` (at most 90 days ahead), with a reason (admin, DevOps admin). It never lifts a
/// lock in force.
#[utoipa::path(post, path = "/v1/exemptions", tag = "exemptions", request_body = NewExemption, responses((status = 201, body = Exemption), (status = 400, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)))]
pub async fn create_exemption(
    State(s): State<AppState>,
    Caller(caller): Caller,
    JsonBody(b): JsonBody<NewExemption>,
) -> ApiResult<impl IntoResponse> {
    let e = s
        .app()
        .exemptions()
        .create_exemption(&caller, b, s.now())
        .await?;
    Ok((StatusCode::CREATED, Json(e)))
}

/// An exemption (approvers).
#[utoipa::path(get, path = "/v1/exemptions/{exemption_id}", tag = "exemptions", params(("exemption_id" = String, Path)), responses((status = 200, body = Exemption), (status = 404, body = crate::problem::Problem)))]
pub async fn get_exemption(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<ExemptionId>,
) -> ApiResult<Json<Exemption>> {
    Ok(Json(s.app().exemptions().exemption(&caller, &id).await?))
}

/// A new end for an exemption in force.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchExemption {
    /// In the future, at most 90 days ahead.
    #[serde(deserialize_with = "instant::deserialize")]
    pub until: DateTime<Utc>,
}

/// Moves the end of an exemption in force (admin, DevOps admin); 409 once it has ended.
#[utoipa::path(patch, path = "/v1/exemptions/{exemption_id}", tag = "exemptions", params(("exemption_id" = String, Path)), request_body = PatchExemption, responses((status = 200, body = Exemption), (status = 409, body = crate::problem::Problem)))]
pub async fn patch_exemption(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<ExemptionId>,
    JsonBody(b): JsonBody<PatchExemption>,
) -> ApiResult<Json<Exemption>> {
    Ok(Json(
        s.app()
            .exemptions()
            .change_exemption(&caller, &id, b.until, s.now())
            .await?,
    ))
}

/// Ends an exemption in force now (admin, DevOps admin): the grace rule runs from now; 409 once
/// it has ended.
#[utoipa::path(post, path = "/v1/exemptions/{exemption_id}/end", tag = "exemptions", params(("exemption_id" = String, Path)), responses((status = 200, body = Exemption), (status = 409, body = crate::problem::Problem)))]
pub async fn end_exemption(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<ExemptionId>,
) -> ApiResult<Json<Exemption>> {
    Ok(Json(
        s.app()
            .exemptions()
            .end_exemption(&caller, &id, s.now())
            .await?,
    ))
}
