//! Resources, their default policy and its preview, and their analytics.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use autolock_core::directory::Resource;
use autolock_core::ids::ResourceId;
use autolock_core::policy::PolicyPatch;
use autolock_core::service::{Analytics, NewResource, Preview, PreviewTarget};
use autolock_core::values::Name;

use super::{List, Paging};
use autolock_core::values::instant;

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{ApiPath, JsonBody, Query};
use crate::problem::ApiResult;

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/resources", get(list_resources).post(create_resource))
        .route("/resources/{resource_id}", get(get_resource))
        .route(
            "/resources/{resource_id}/policy",
            patch(patch_resource_policy),
        )
        .route(
            "/resources/{resource_id}/policy/preview",
            post(preview_resource_policy),
        )
        .route("/resources/{resource_id}/analytics", get(analytics))
}

/// A resource to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateResource {
    /// The id; generated when absent.
    pub id: Option<ResourceId>,
    pub name: Name,
    /// Where it is reached: a URL (the block page continues there) or a host.
    pub address: String,
    /// The default policy: each field omitted is `"never"` and `manual` (auto-lock is opted
    /// into); `null` is refused.
    pub policy: Option<PolicyPatch>,
}

/// Lists resources (approvers).
#[utoipa::path(get, path = "/v1/resources", tag = "directory", params(Paging), responses((status = 200, body = List<Resource>)))]
pub async fn list_resources(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Query(p): Query<Paging>,
) -> ApiResult<Json<List<Resource>>> {
    Ok(Json(List::from_page(
        s.app().directory().resources(&caller, &p.page()?).await?,
    )))
}

/// Creates a resource with its default policy (admin).
#[utoipa::path(post, path = "/v1/resources", tag = "directory", request_body = CreateResource, responses((status = 201, body = Resource)))]
pub async fn create_resource(
    State(s): State<AppState>,
    Caller(caller): Caller,
    JsonBody(b): JsonBody<CreateResource>,
) -> ApiResult<impl IntoResponse> {
    let new = NewResource {
        id: b.id,
        name: b.name,
        address: b.address,
        policy: b.policy.unwrap_or_default().or_new_resource_default(),
    };
    let r = s
        .app()
        .directory()
        .create_resource(&caller, new, s.now())
        .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// A resource (approvers).
#[utoipa::path(get, path = "/v1/resources/{resource_id}", tag = "directory", params(("resource_id" = String, Path)), responses((status = 200, body = Resource)))]
pub async fn get_resource(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<ResourceId>,
) -> ApiResult<Json<Resource>> {
    Ok(Json(s.app().directory().resource(&caller, &id).await?))
}

/// Edits a resource's default policy (admin, DevOps admin). Audited; nobody locks sooner than
/// the new duration after the change.
#[utoipa::path(patch, path = "/v1/resources/{resource_id}/policy", tag = "policies", params(("resource_id" = String, Path)), request_body = PolicyPatch, responses((status = 200, body = Resource)))]
pub async fn patch_resource_policy(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<ResourceId>,
    JsonBody(patch): JsonBody<PolicyPatch>,
) -> ApiResult<Json<Resource>> {
    Ok(Json(
        s.app()
            .policies()
            .set_resource_policy(&caller, &id, patch, s.now())
            .await?,
    ))
}

/// What a proposed resource default would do; nothing changes (admin, DevOps admin).
#[utoipa::path(post, path = "/v1/resources/{resource_id}/policy/preview", tag = "policies", params(("resource_id" = String, Path)), request_body = PolicyPatch, responses((status = 200, body = Preview)))]
pub async fn preview_resource_policy(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<ResourceId>,
    JsonBody(patch): JsonBody<PolicyPatch>,
) -> ApiResult<Json<Preview>> {
    let target = PreviewTarget::Resource(id, patch);
    Ok(Json(
        s.app()
            .policies()
            .preview(&caller, &target, s.now())
            .await?,
    ))
}

/// The analytics window.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WindowQuery {
    /// Start (RFC 3339); default 30 days before `to`.
    #[serde(default, deserialize_with = "instant::option")]
    pub from: Option<DateTime<Utc>>,
    /// End, excluded (RFC 3339); default now.
    #[serde(default, deserialize_with = "instant::option")]
    pub to: Option<DateTime<Utc>>,
}

/// Analytics of a resource over a window of at most 90 days (approvers).
#[utoipa::path(get, path = "/v1/resources/{resource_id}/analytics", tag = "reports", params(("resource_id" = String, Path), WindowQuery), responses((status = 200, body = Analytics)))]
pub async fn analytics(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<ResourceId>,
    Query(q): Query<WindowQuery>,
) -> ApiResult<Json<Analytics>> {
    let to = q.to.unwrap_or_else(|| s.now());
    let from = q.from.unwrap_or(to - chrono::Duration::days(30));
    Ok(Json(
        s.app().reports().analytics(&caller, &id, from, to).await?,
    ))
}
