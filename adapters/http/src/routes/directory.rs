//! The directory: the caller, users, service principals, groups and memberships.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;

use autolock_core::directory::{GateIdentity, Group, Principal, ServicePrincipal, User};
use autolock_core::ids::{GroupId, PrincipalId, UserId};
use autolock_core::ports::Clock;
use autolock_core::service::{GroupView, Membership, NewServicePrincipal, NewUser, UserPatch};
use autolock_core::values::{Email, Name, Role};

use super::{List, Paging};
use crate::AppState;
use crate::auth::Caller;
use crate::extract::{ApiPath, JsonBody, Query};
use crate::problem::ApiResult;

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/users", get(list_users).post(create_user))
        .route("/users/{user_id}", get(get_user).patch(patch_user))
        .route("/users/{user_id}/sessions/end", post(end_sessions))
        .route("/service-principals", post(create_service_principal))
        .route(
            "/service-principals/{principal_id}",
            get(get_service_principal).patch(patch_service_principal),
        )
        .route("/groups", get(list_groups).post(create_group))
        .route("/groups/{group_id}", get(get_group))
        .route(
            "/groups/{group_id}/members/{user_id}",
            put(add_member).delete(remove_member),
        )
}

/// The caller as the directory knows them.
#[utoipa::path(get, path = "/v1/me", tag = "directory", responses((status = 200, body = Principal)))]
pub async fn me(Caller(caller): Caller) -> Json<Principal> {
    Json(caller)
}

/// A user to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// The id (the token's `sub`); generated when absent.
    pub id: Option<UserId>,
    /// The email address.
    pub email: Email,
    pub display_name: Name,
    /// `member`, `admin`, `devops_admin` or `access_reviewer`.
    pub role: Role,
}

/// Lists users (approvers).
#[utoipa::path(get, path = "/v1/users", tag = "directory", params(Paging), responses((status = 200, body = List<User>)))]
pub async fn list_users(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Query(p): Query<Paging>,
) -> ApiResult<Json<List<User>>> {
    Ok(Json(List::from_page(
        s.app().directory().users(&caller, &p.page()?).await?,
    )))
}

/// Creates a user (admin).
#[utoipa::path(post, path = "/v1/users", tag = "directory", request_body = CreateUser, responses((status = 201, body = User), (status = 409, body = crate::problem::Problem)))]
pub async fn create_user(
    State(s): State<AppState>,
    Caller(caller): Caller,
    JsonBody(b): JsonBody<CreateUser>,
) -> ApiResult<impl IntoResponse> {
    let new = NewUser {
        id: b.id,
        email: b.email,
        display_name: b.display_name,
        role: b.role,
    };
    let user = s
        .app()
        .directory()
        .create_user(&caller, new, s.now())
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// A user (the user themselves or an approver).
#[utoipa::path(get, path = "/v1/users/{user_id}", tag = "directory", params(("user_id" = String, Path)), responses((status = 200, body = User), (status = 404, body = crate::problem::Problem)))]
pub async fn get_user(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<User>> {
    Ok(Json(s.app().directory().user(&caller, &id).await?))
}

/// Changes a user (admin). Deactivation cancels the user's open requests.
#[utoipa::path(patch, path = "/v1/users/{user_id}", tag = "directory", params(("user_id" = String, Path)), request_body = UserPatch, responses((status = 200, body = User)))]
pub async fn patch_user(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<UserId>,
    JsonBody(patch): JsonBody<UserPatch>,
) -> ApiResult<Json<User>> {
    Ok(Json(
        s.app()
            .directory()
            .patch_user(&caller, &id, patch, s.now())
            .await?,
    ))
}

/// Ends every console session of a user: they sign in again to continue (admin, or the user
/// themselves). Audited.
#[utoipa::path(post, path = "/v1/users/{user_id}/sessions/end", tag = "directory", params(("user_id" = String, Path)), responses((status = 204), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)))]
pub async fn end_sessions(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<StatusCode> {
    // Sessions run on real time, whatever the deployment's clock; the audit on the deployment's.
    let real_now = autolock_core::ports::SystemClock.now();
    s.app()
        .sessions()
        .end_sessions(&caller, &id, real_now, s.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A gateway's service principal to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateServicePrincipal {
    /// The id (the token's `sub`); generated when absent.
    pub id: Option<PrincipalId>,
    /// A label.
    pub name: Name,
    /// `gateway` (the default: decisions, gate checks, access events) or `provisioner` (users,
    /// groups and memberships, as an identity provider keeps them).
    #[serde(default = "autolock_core::directory::default_service_role")]
    pub role: Role,
    /// For a gateway: which header of a gate check names the user, and whether it holds their
    /// id or email (by default `X-Forwarded-User` with a user id).
    #[serde(default)]
    pub identity: GateIdentity,
}

/// Creates a service principal for a gateway or an identity provider (admin).
#[utoipa::path(post, path = "/v1/service-principals", tag = "directory", request_body = CreateServicePrincipal, responses((status = 201, body = ServicePrincipal)))]
pub async fn create_service_principal(
    State(s): State<AppState>,
    Caller(caller): Caller,
    JsonBody(b): JsonBody<CreateServicePrincipal>,
) -> ApiResult<impl IntoResponse> {
    let sp = s
        .app()
        .directory()
        .create_service_principal(
            &caller,
            NewServicePrincipal {
                id: b.id,
                name: b.name,
                role: b.role,
                identity: b.identity,
            },
            s.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(sp)))
}

/// A service principal (approvers).
#[utoipa::path(get, path = "/v1/service-principals/{principal_id}", tag = "directory", params(("principal_id" = String, Path)), responses((status = 200, body = ServicePrincipal)))]
pub async fn get_service_principal(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<PrincipalId>,
) -> ApiResult<Json<ServicePrincipal>> {
    Ok(Json(
        s.app().directory().service_principal(&caller, &id).await?,
    ))
}

/// A change to a service principal.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServicePrincipalPatch {
    /// False disables it: its tokens are refused at once.
    pub active: bool,
}

/// Enables or disables a service principal (admin).
#[utoipa::path(patch, path = "/v1/service-principals/{principal_id}", tag = "directory", params(("principal_id" = String, Path)), request_body = ServicePrincipalPatch, responses((status = 200, body = ServicePrincipal)))]
pub async fn patch_service_principal(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<PrincipalId>,
    JsonBody(b): JsonBody<ServicePrincipalPatch>,
) -> ApiResult<Json<ServicePrincipal>> {
    Ok(Json(
        s.app()
            .directory()
            .set_service_principal_active(&caller, &id, b.active, s.now())
            .await?,
    ))
}

/// A group to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    /// The id; generated when absent.
    pub id: Option<GroupId>,
    pub name: Name,
}

/// Lists groups (approvers).
#[utoipa::path(get, path = "/v1/groups", tag = "directory", params(Paging), responses((status = 200, body = List<Group>)))]
pub async fn list_groups(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Query(p): Query<Paging>,
) -> ApiResult<Json<List<Group>>> {
    Ok(Json(List::from_page(
        s.app().directory().groups(&caller, &p.page()?).await?,
    )))
}

/// Creates a group (admin).
#[utoipa::path(post, path = "/v1/groups", tag = "directory", request_body = CreateGroup, responses((status = 201, body = Group)))]
pub async fn create_group(
    State(s): State<AppState>,
    Caller(caller): Caller,
    JsonBody(b): JsonBody<CreateGroup>,
) -> ApiResult<impl IntoResponse> {
    let g = s
        .app()
        .directory()
        .create_group(&caller, b.id, b.name, s.now())
        .await?;
    Ok((StatusCode::CREATED, Json(g)))
}

/// A group with members and grants (approvers).
#[utoipa::path(get, path = "/v1/groups/{group_id}", tag = "directory", params(("group_id" = String, Path)), responses((status = 200, body = GroupView)))]
pub async fn get_group(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<GroupId>,
) -> ApiResult<Json<GroupView>> {
    Ok(Json(s.app().directory().group(&caller, &id).await?))
}

/// Adds a user to a group (admin): 201 with the new membership; 200 with the membership as it
/// is (its `joined_at` kept) when the user is a member already.
#[utoipa::path(put, path = "/v1/groups/{group_id}/members/{user_id}", tag = "directory", params(("group_id" = String, Path), ("user_id" = String, Path)), responses((status = 201, body = Membership), (status = 200, body = Membership)))]
pub async fn add_member(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath((group, user)): ApiPath<(GroupId, UserId)>,
) -> ApiResult<impl IntoResponse> {
    let (membership, created) = s
        .app()
        .directory()
        .add_member(&caller, &group, &user, s.now())
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(membership)))
}

/// Removes a user from a group (admin); 404 when the user is not a member.
#[utoipa::path(delete, path = "/v1/groups/{group_id}/members/{user_id}", tag = "directory", params(("group_id" = String, Path), ("user_id" = String, Path)), responses((status = 204), (status = 404, body = crate::problem::Problem)))]
pub async fn remove_member(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath((group, user)): ApiPath<(GroupId, UserId)>,
) -> ApiResult<StatusCode> {
    s.app()
        .directory()
        .remove_member(&caller, &group, &user, s.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
