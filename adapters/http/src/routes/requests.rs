//! Access requests: filed by the locked user, listed, counted, approved and denied.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use autolock_core::ids::{RequestId, ResourceId, UserId};
use autolock_core::ports::RequestFilter;
use autolock_core::request::{AccessRequest, Verdict};
use autolock_core::service::RequestList;
use autolock_core::values::Reason;

use super::{List, Paging};
use crate::AppState;
use crate::auth::Caller;
use crate::extract::{ApiPath, JsonBody, Query, number_text};
use crate::problem::ApiResult;

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/access-requests", get(list_requests).post(file_request))
        .route("/access-requests/count", get(count_requests))
        .route("/access-requests/{request_id}", get(get_request))
        .route("/access-requests/{request_id}/approve", post(approve))
        .route("/access-requests/{request_id}/deny", post(deny))
}

/// A request to regain a locked right.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileRequest {
    /// The locked resource.
    pub resource_id: ResourceId,
    /// Why (1 to 1000 characters after trimming).
    pub reason: Reason,
}

/// Files a request for one's own locked right: 201 with a new request (auto-approved under
/// automatic approval), 200 with the open one on a repeated submission.
#[utoipa::path(post, path = "/v1/access-requests", tag = "requests", request_body = FileRequest, responses((status = 201, body = AccessRequest), (status = 200, body = AccessRequest), (status = 409, body = crate::problem::Problem)))]
pub async fn file_request(
    State(s): State<AppState>,
    Caller(caller): Caller,
    JsonBody(b): JsonBody<FileRequest>,
) -> ApiResult<impl IntoResponse> {
    let filed = s
        .app()
        .requests()
        .file_request(&caller, &b.resource_id, b.reason, s.now())
        .await?;
    let status = if filed.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(filed.request)))
}

/// Which requests a list shows.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Open requests, oldest first.
    #[default]
    Open,
    /// Requests resolved within the last 90 days, newest first.
    Resolved,
}

/// Which requests to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestQuery {
    /// `open` (default) or `resolved` (resolved within the last 90 days).
    #[serde(default)]
    #[param(inline)]
    pub status: Status,
    /// Of this requester.
    pub user_id: Option<UserId>,
    /// On this resource.
    pub resource_id: Option<ResourceId>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 1000.
    #[serde(default, deserialize_with = "number_text::option_u32")]
    #[param(value_type = Option<u32>)]
    pub limit: Option<u32>,
}

/// Lists requests: approvers see all, everyone else their own.
#[utoipa::path(get, path = "/v1/access-requests", tag = "requests", params(RequestQuery), responses((status = 200, body = List<AccessRequest>)))]
pub async fn list_requests(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<RequestQuery>,
) -> ApiResult<Json<List<AccessRequest>>> {
    let filter = RequestFilter {
        user: q.user_id,
        resource: q.resource_id,
    };
    let page = Paging {
        cursor: q.cursor,
        limit: q.limit,
    }
    .page()?;
    let list = match q.status {
        Status::Open => RequestList::Open,
        Status::Resolved => RequestList::Resolved,
    };
    let result = s
        .app()
        .requests()
        .requests(&caller, list, filter, &page, s.now())
        .await?;
    Ok(Json(List::from_page(result)))
}

/// How many requests are open.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestCount {
    /// Open requests the caller may resolve (all but their own).
    pub open: u64,
}

/// The count for the console's bell (approvers).
#[utoipa::path(get, path = "/v1/access-requests/count", tag = "requests", responses((status = 200, body = RequestCount)))]
pub async fn count_requests(
    State(s): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<RequestCount>> {
    Ok(Json(RequestCount {
        open: s.app().requests().count_open_requests(&caller).await?,
    }))
}

/// A request (its requester or an approver).
#[utoipa::path(get, path = "/v1/access-requests/{request_id}", tag = "requests", params(("request_id" = String, Path)), responses((status = 200, body = AccessRequest), (status = 404, body = crate::problem::Problem)))]
pub async fn get_request(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<RequestId>,
) -> ApiResult<Json<AccessRequest>> {
    Ok(Json(s.app().requests().request(&caller, &id).await?))
}

async fn resolve(
    s: &AppState,
    caller: &autolock_core::directory::Principal,
    id: RequestId,
    verdict: Verdict,
) -> ApiResult<Json<AccessRequest>> {
    Ok(Json(
        s.app()
            .requests()
            .resolve(caller, &id, verdict, s.now())
            .await?,
    ))
}

/// Approves a request: the right is unlocked (approvers, never their own).
#[utoipa::path(post, path = "/v1/access-requests/{request_id}/approve", tag = "requests", params(("request_id" = String, Path)), responses((status = 200, body = AccessRequest), (status = 409, body = crate::problem::Problem)))]
pub async fn approve(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<RequestId>,
) -> ApiResult<Json<AccessRequest>> {
    resolve(&s, &caller, id, Verdict::Approve).await
}

/// Denies a request: the right stays locked (approvers, never their own).
#[utoipa::path(post, path = "/v1/access-requests/{request_id}/deny", tag = "requests", params(("request_id" = String, Path)), responses((status = 200, body = AccessRequest), (status = 409, body = crate::problem::Problem)))]
pub async fn deny(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<RequestId>,
) -> ApiResult<Json<AccessRequest>> {
    resolve(&s, &caller, id, Verdict::Deny).await
}
