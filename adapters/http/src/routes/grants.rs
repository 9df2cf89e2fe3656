//! Grants: a group's access to a resource, with its expiry and policy override — reached by
//! the grant's id or by its resource and group.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use autolock_core::directory::Principal;
use autolock_core::ids::{GrantId, GroupId, ResourceId};
use autolock_core::policy::{FieldPatch, OverridePatch, PolicyOverride};
use autolock_core::service::{GrantView, NewGrant, Preview, PreviewTarget};

use super::List;
use autolock_core::values::instant;

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{ApiPath, JsonBody};
use crate::problem::{ApiError, ApiResult};

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/resources/{resource_id}/grants",
            get(list_grants).post(create_grant),
        )
        .route(
            "/grants/{grant_id}",
            get(get_grant).patch(patch_grant).delete(delete_grant),
        )
        .route("/grants/{grant_id}/policy", patch(patch_grant_policy))
        .route(
            "/grants/{grant_id}/policy/preview",
            post(preview_grant_policy),
        )
        .route(
            "/resources/{resource_id}/grants/{group_id}",
            get(get_grant).patch(patch_grant).delete(delete_grant),
        )
        .route(
            "/resources/{resource_id}/grants/{group_id}/policy",
            patch(patch_grant_policy),
        )
}

/// A grant named by its id (`/v1/grants/{grant_id}`) or by its resource and group
/// (`/v1/resources/{resource_id}/grants/{group_id}`, the group's current grant on it).
#[derive(Debug, Deserialize)]
pub struct GrantPath {
    grant_id: Option<GrantId>,
    resource_id: Option<ResourceId>,
    group_id: Option<GroupId>,
}

impl GrantPath {
    async fn resolve(self, s: &AppState, caller: &Principal) -> ApiResult<GrantId> {
        match (self.grant_id, self.resource_id, self.group_id) {
            (Some(id), _, _) => Ok(id),
            (None, Some(resource), Some(group)) => Ok(s
                .app()
                .directory()
                .grant_of(caller, &resource, &group)
                .await?
                .id),
            _ => Err(ApiError::not_found("route")),
        }
    }
}

/// The grants on a resource (approvers).
#[utoipa::path(get, path = "/v1/resources/{resource_id}/grants", tag = "directory", params(("resource_id" = String, Path)), responses((status = 200, body = List<GrantView>)))]
pub async fn list_grants(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<ResourceId>,
) -> ApiResult<Json<List<GrantView>>> {
    Ok(Json(List::of(
        s.app().directory().grants_of_resource(&caller, &id).await?,
    )))
}

/// A grant to create: `{"group_id": "...", "expires_at": "2026-03-01T00:00:00Z" | null,
/// "policy_override": {"auto_lock_after": "30d" | null, "approval": "automatic" | null}}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGrant {
    /// The group to give access.
    pub group_id: GroupId,
    /// When the access expires, if ever.
    #[serde(default, deserialize_with = "instant::option")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Fields that override the resource default; omitted or `null` ones inherit it.
    #[serde(default)]
    pub policy_override: Option<OverridePatch>,
}

/// Grants a group access to a resource (admin).
#[utoipa::path(post, path = "/v1/resources/{resource_id}/grants", tag = "directory", params(("resource_id" = String, Path)), request_body = CreateGrant, responses((status = 201, body = GrantView), (status = 409, body = crate::problem::Problem)))]
pub async fn create_grant(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<ResourceId>,
    JsonBody(b): JsonBody<CreateGrant>,
) -> ApiResult<impl IntoResponse> {
    let new = NewGrant {
        group: b.group_id,
        resource: id,
        expires_at: b.expires_at,
        policy_override: b
            .policy_override
            .unwrap_or_default()
            .apply(PolicyOverride::default()),
    };
    let grant = s
        .app()
        .directory()
        .create_grant(&caller, new, s.now())
        .await?;
    let view = s.app().directory().grant(&caller, &grant.id).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// A grant (approvers).
#[utoipa::path(get, path = "/v1/grants/{grant_id}", tag = "directory", params(("grant_id" = String, Path)), responses((status = 200, body = GrantView)))]
pub async fn get_grant(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(key): ApiPath<GrantPath>,
) -> ApiResult<Json<GrantView>> {
    let id = key.resolve(&s, &caller).await?;
    Ok(Json(s.app().directory().grant(&caller, &id).await?))
}

/// An edit of a grant's expiry: `{"expires_at": "..." | null}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpiryPatch {
    /// The new expiry (RFC 3339), or `null` for none; required.
    #[serde(default)]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub expires_at: FieldPatch<DateTime<Utc>>,
}

/// Sets or clears a grant's expiry (admin).
#[utoipa::path(patch, path = "/v1/grants/{grant_id}", tag = "directory", params(("grant_id" = String, Path)), request_body = ExpiryPatch, responses((status = 200, body = GrantView)))]
pub async fn patch_grant(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(key): ApiPath<GrantPath>,
    JsonBody(b): JsonBody<ExpiryPatch>,
) -> ApiResult<Json<GrantView>> {
    let expires_at = match b.expires_at {
        FieldPatch::Keep => {
            return Err(ApiError::invalid(
                "expires_at",
                "is required: an RFC 3339 instant, or null for no expiry",
            ));
        }
        FieldPatch::Inherit => None,
        FieldPatch::Set(t) => Some(instant::check("expires_at", t)?),
    };
    let id = key.resolve(&s, &caller).await?;
    let g = s
        .app()
        .directory()
        .set_grant_expiry(&caller, &id, expires_at, s.now())
        .await?;
    Ok(Json(s.app().directory().grant(&caller, &g.id).await?))
}

/// Removes a grant (admin).
#[utoipa::path(delete, path = "/v1/grants/{grant_id}", tag = "directory", params(("grant_id" = String, Path)), responses((status = 204)))]
pub async fn delete_grant(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(key): ApiPath<GrantPath>,
) -> ApiResult<StatusCode> {
    let id = key.resolve(&s, &caller).await?;
    s.app()
        .directory()
        .remove_grant(&caller, &id, s.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Edits a grant's override field by field (admin, DevOps admin): a value overrides, `null`
/// inherits the resource default, an omitted field keeps what it was.
#[utoipa::path(patch, path = "/v1/grants/{grant_id}/policy", tag = "policies", params(("grant_id" = String, Path)), request_body = OverridePatch, responses((status = 200, body = GrantView)))]
pub async fn patch_grant_policy(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(key): ApiPath<GrantPath>,
    JsonBody(patch): JsonBody<OverridePatch>,
) -> ApiResult<Json<GrantView>> {
    let id = key.resolve(&s, &caller).await?;
    let g = s
        .app()
        .policies()
        .set_grant_override(&caller, &id, patch, s.now())
        .await?;
    Ok(Json(s.app().directory().grant(&caller, &g.id).await?))
}

/// What a proposed grant override would do; nothing changes (admin, DevOps admin).
#[utoipa::path(post, path = "/v1/grants/{grant_id}/policy/preview", tag = "policies", params(("grant_id" = String, Path)), request_body = OverridePatch, responses((status = 200, body = Preview)))]
pub async fn preview_grant_policy(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<GrantId>,
    JsonBody(patch): JsonBody<OverridePatch>,
) -> ApiResult<Json<Preview>> {
    let target = PreviewTarget::Grant(id, patch);
    Ok(Json(
        s.app()
            .policies()
            .preview(&caller, &target, s.now())
            .await?,
    ))
}
