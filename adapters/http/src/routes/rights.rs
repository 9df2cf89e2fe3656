//! Rights as they stand — a user's, a resource's — and the unlock.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};

use autolock_core::ids::{ResourceId, UserId};
use autolock_core::service::{RightView, Unlocked};

use super::{List, Paging};
use crate::AppState;
use crate::auth::Caller;
use crate::extract::{ApiPath, Query};
use crate::problem::ApiResult;

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users/{user_id}/rights", get(user_rights))
        .route("/users/{user_id}/rights/{resource_id}", get(user_right))
        .route("/users/{user_id}/rights/{resource_id}/unlock", post(unlock))
        .route("/resources/{resource_id}/rights", get(resource_rights))
}

/// Every right of a user (the user themselves or an approver).
#[utoipa::path(get, path = "/v1/users/{user_id}/rights", tag = "rights", params(("user_id" = String, Path)), responses((status = 200, body = List<RightView>)))]
pub async fn user_rights(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<List<RightView>>> {
    Ok(Json(List::of(
        s.app()
            .rights()
            .rights_of_user(&caller, &id, s.now())
            .await?,
    )))
}

/// One right of a user (the user themselves or an approver).
#[utoipa::path(get, path = "/v1/users/{user_id}/rights/{resource_id}", tag = "rights", params(("user_id" = String, Path), ("resource_id" = String, Path)), responses((status = 200, body = RightView)))]
pub async fn user_right(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, resource)): ApiPath<(UserId, ResourceId)>,
) -> ApiResult<Json<RightView>> {
    Ok(Json(
        s.app()
            .rights()
            .right(&caller, &id, &resource, s.now())
            .await?,
    ))
}

/// Lifts a user's lock (admin, DevOps admin; never oneself), also one kept while the user has no
/// path; answers the right and the lock instant lifted. 409 `not_locked` when not locked, 403
/// `forbidden_self` for oneself.
#[utoipa::path(post, path = "/v1/users/{user_id}/rights/{resource_id}/unlock", tag = "rights", params(("user_id" = String, Path), ("resource_id" = String, Path)), responses((status = 200, body = Unlocked), (status = 403, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem)))]
pub async fn unlock(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, resource)): ApiPath<(UserId, ResourceId)>,
) -> ApiResult<Json<Unlocked>> {
    Ok(Json(
        s.app()
            .requests()
            .unlock(&caller, &id, &resource, s.now())
            .await?,
    ))
}

/// Every right on a resource (approvers).
#[utoipa::path(get, path = "/v1/resources/{resource_id}/rights", tag = "rights", params(("resource_id" = String, Path), Paging), responses((status = 200, body = List<RightView>)))]
pub async fn resource_rights(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<ResourceId>,
    Query(p): Query<Paging>,
) -> ApiResult<Json<List<RightView>>> {
    let page = s
        .app()
        .rights()
        .rights_of_resource(&caller, &id, &p.page()?, s.now())
        .await?;
    Ok(Json(List::from_page(page)))
}
