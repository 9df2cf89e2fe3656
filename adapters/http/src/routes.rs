//! The JSON API's handlers. Each one authenticates the caller ([`Caller`]), checks the
//! capability of DESIGN §6 and, where an object belongs to someone, the object too: a member
//! asking for another user's right or request gets 404 as if it did not exist.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use autolock_core::Error;
use autolock_core::audit::{AuditAction, AuditEntry, AuditFilter};
use autolock_core::directory::{Grant, Group, Principal, Resource, ServicePrincipal, User};
use autolock_core::ids::{EventId, GrantId, GroupId, PrincipalId, RequestId, ResourceId, UserId};
use autolock_core::lock::{AccessEvent, DenyReason, RightState};
use autolock_core::policy::{OverridePatch, Policy, PolicyOverride};
use autolock_core::ports::{Page, PageRequest, RequestFilter, Settings};
use autolock_core::request::{AccessRequest, Verdict};
use autolock_core::service::{
    Capability, EventInput, EventResult, Membership, NewGrant, NewResource, NewUser, PolicyPatch,
    RightView, Unlocked, require,
};
use autolock_core::values::{Email, Name, Reason, Role};

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{Body, Params, number_text, parse_json};
use crate::problem::{ApiError, ApiResult};

/// How many events one batch may carry.
pub const MAX_BATCH: usize = 500;
/// How long resolved requests stay listed.
pub const RESOLVED_WINDOW_DAYS: i64 = 90;

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T: ToSchema> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> List<T> {
    fn of(items: Vec<T>) -> Self {
        Self {
            items,
            next_cursor: None,
        }
    }

    fn from_page<U>(page: Page<U>, map: impl FnMut(U) -> T) -> Self {
        Self {
            items: page.items.into_iter().map(map).collect(),
            next_cursor: page.next.map(|c| URL_SAFE_NO_PAD.encode(c)),
        }
    }
}

/// Paging parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[serde(default, deserialize_with = "number_text::option_u32")]
    #[param(value_type = Option<u32>)]
    pub limit: Option<u32>,
}

impl Paging {
    fn page(&self) -> ApiResult<PageRequest> {
        let after = self
            .cursor
            .as_deref()
            .map(|c| {
                URL_SAFE_NO_PAD
                    .decode(c)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| ApiError::invalid("cursor", "not a cursor this API returned"))
            })
            .transpose()?;
        if self.limit.is_some_and(|l| l == 0 || l > 1000) {
            return Err(ApiError::invalid("limit", "must be 1 to 1000"));
        }
        Ok(PageRequest {
            after,
            limit: self.limit.unwrap_or(100),
        })
    }
}

fn check_own_or_review(caller: &Principal, user: &UserId) -> ApiResult<()> {
    require(caller, Capability::OwnRights)?;
    if caller.id == *user || caller.role.is_approver() {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("user {user}")))
    }
}

// ---- me and users ------------------------------------------------------------------------------

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
    /// The display name.
    pub display_name: Name,
    /// `member`, `admin`, `devops_admin` or `access_reviewer`.
    pub role: Role,
}

/// Lists users (approvers).
#[utoipa::path(get, path = "/v1/users", tag = "directory", params(Paging), responses((status = 200, body = List<User>)))]
pub async fn list_users(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Params(p): Params<Paging>,
) -> ApiResult<Json<List<User>>> {
    require(&caller, Capability::Review)?;
    Ok(Json(List::from_page(
        s.app().store().users(&p.page()?).await?,
        |u| u,
    )))
}

/// Creates a user (admin).
#[utoipa::path(post, path = "/v1/users", tag = "directory", request_body = CreateUser, responses((status = 201, body = User), (status = 409, body = crate::problem::Problem)))]
pub async fn create_user(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Body(b): Body<CreateUser>,
) -> ApiResult<impl IntoResponse> {
    let user = s
        .app()
        .create_user(
            &caller,
            NewUser {
                id: b.id,
                email: b.email,
                display_name: b.display_name,
                role: b.role,
            },
            s.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// A user (the user themselves or an approver).
#[utoipa::path(get, path = "/v1/users/{user_id}", tag = "directory", params(("user_id" = String, Path)), responses((status = 200, body = User), (status = 404, body = crate::problem::Problem)))]
pub async fn get_user(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<User>> {
    let id = UserId::parse(id)?;
    check_own_or_review(&caller, &id)?;
    Ok(Json(s.app().store().user(&id).await?.ok_or_else(|| {
        ApiError::not_found(format!("user {id}"))
    })?))
}

/// A change of a user: each field given replaces.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchUser {
    /// New address.
    pub email: Option<Email>,
    /// New name.
    pub display_name: Option<Name>,
    /// New role.
    pub role: Option<Role>,
    /// Deactivate (`false`) or reactivate (`true`).
    pub active: Option<bool>,
}

/// Changes a user (admin). Deactivation cancels the user's open requests.
#[utoipa::path(patch, path = "/v1/users/{user_id}", tag = "directory", params(("user_id" = String, Path)), request_body = PatchUser, responses((status = 200, body = User)))]
pub async fn patch_user(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Body(b): Body<PatchUser>,
) -> ApiResult<Json<User>> {
    let id = UserId::parse(id)?;
    require(&caller, Capability::Administer)?;
    let mut user = s
        .app()
        .store()
        .user(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {id}")))?;
    let now = s.now();
    if b.email.is_some() || b.display_name.is_some() || b.role.is_some() {
        user.email = b.email.unwrap_or(user.email);
        user.display_name = b.display_name.unwrap_or(user.display_name);
        user.role = b.role.unwrap_or(user.role);
        user = s.app().update_user(&caller, user).await?;
    }
    if let Some(active) = b.active {
        user = s.app().set_user_active(&caller, &id, active, now).await?;
    }
    Ok(Json(user))
}

/// Every right of a user (the user themselves or an approver).
#[utoipa::path(get, path = "/v1/users/{user_id}/rights", tag = "rights", params(("user_id" = String, Path)), responses((status = 200, body = List<RightView>)))]
pub async fn user_rights(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<List<RightView>>> {
    let id = UserId::parse(id)?;
    check_own_or_review(&caller, &id)?;
    Ok(Json(List::of(
        s.app().rights_of_user(&caller, &id, s.now()).await?,
    )))
}

/// One right of a user (the user themselves or an approver).
#[utoipa::path(get, path = "/v1/users/{user_id}/rights/{resource_id}", tag = "rights", params(("user_id" = String, Path), ("resource_id" = String, Path)), responses((status = 200, body = RightView)))]
pub async fn user_right(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path((id, resource)): Path<(String, String)>,
) -> ApiResult<Json<RightView>> {
    let (id, resource) = (UserId::parse(id)?, ResourceId::parse(resource)?);
    check_own_or_review(&caller, &id)?;
    s.app()
        .store()
        .resource(&resource)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("resource {resource}")))?;
    Ok(Json(s.app().right(&caller, &id, &resource, s.now()).await?))
}

/// Lifts a user's lock (admin, DevOps admin; never oneself), also one kept while the user has no
/// path; answers the right and the lock instant lifted. 409 `not_locked` when not locked, 403
/// `forbidden_self` for oneself.
#[utoipa::path(post, path = "/v1/users/{user_id}/rights/{resource_id}/unlock", tag = "rights", params(("user_id" = String, Path), ("resource_id" = String, Path)), responses((status = 200, body = Unlocked), (status = 403, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem)))]
pub async fn unlock(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path((id, resource)): Path<(String, String)>,
) -> ApiResult<Json<Unlocked>> {
    let (id, resource) = (UserId::parse(id)?, ResourceId::parse(resource)?);
    Ok(Json(
        s.app().unlock(&caller, &id, &resource, s.now()).await?,
    ))
}

// ---- service principals and groups -------------------------------------------------------------

/// A gateway's service principal to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateServicePrincipal {
    /// The id (the token's `sub`); generated when absent.
    pub id: Option<PrincipalId>,
    /// A label.
    pub name: Name,
}

/// Creates a service principal for a gateway (admin).
#[utoipa::path(post, path = "/v1/service-principals", tag = "directory", request_body = CreateServicePrincipal, responses((status = 201, body = ServicePrincipal)))]
pub async fn create_service_principal(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Body(b): Body<CreateServicePrincipal>,
) -> ApiResult<impl IntoResponse> {
    let sp = s
        .app()
        .create_service_principal(&caller, b.id, b.name, s.now())
        .await?;
    Ok((StatusCode::CREATED, Json(sp)))
}

/// A service principal (approvers).
#[utoipa::path(get, path = "/v1/service-principals/{principal_id}", tag = "directory", params(("principal_id" = String, Path)), responses((status = 200, body = ServicePrincipal)))]
pub async fn get_service_principal(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ServicePrincipal>> {
    require(&caller, Capability::Review)?;
    let id = PrincipalId::parse(id)?;
    Ok(Json(
        s.app()
            .store()
            .service_principal(&id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("service principal {id}")))?,
    ))
}

/// A group to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    /// The id; generated when absent.
    pub id: Option<GroupId>,
    /// The name.
    pub name: Name,
}

/// A group with its current members and grants.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupView {
    /// The group.
    #[serde(flatten)]
    pub group: Group,
    /// The current members.
    pub members: Vec<UserId>,
    /// The grants not removed.
    pub grants: Vec<GrantView>,
}

/// Lists groups (approvers).
#[utoipa::path(get, path = "/v1/groups", tag = "directory", params(Paging), responses((status = 200, body = List<Group>)))]
pub async fn list_groups(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Params(p): Params<Paging>,
) -> ApiResult<Json<List<Group>>> {
    require(&caller, Capability::Review)?;
    Ok(Json(List::from_page(
        s.app().store().groups(&p.page()?).await?,
        |g| g,
    )))
}

/// Creates a group (admin).
#[utoipa::path(post, path = "/v1/groups", tag = "directory", request_body = CreateGroup, responses((status = 201, body = Group)))]
pub async fn create_group(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Body(b): Body<CreateGroup>,
) -> ApiResult<impl IntoResponse> {
    let g = s.app().create_group(&caller, b.id, b.name, s.now()).await?;
    Ok((StatusCode::CREATED, Json(g)))
}

/// A group with members and grants (approvers).
#[utoipa::path(get, path = "/v1/groups/{group_id}", tag = "directory", params(("group_id" = String, Path)), responses((status = 200, body = GroupView)))]
pub async fn get_group(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<GroupView>> {
    require(&caller, Capability::Review)?;
    let id = GroupId::parse(id)?;
    let store = s.app().store();
    let group = store
        .group(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("group {id}")))?;
    let members = store.members(&id).await?;
    let mut grants = Vec::new();
    for g in store.grants_of_group(&id).await? {
        grants.push(grant_view(&s, g).await?);
    }
    Ok(Json(GroupView {
        group,
        members,
        grants,
    }))
}

/// Adds a user to a group (admin): 201 with the new membership; 200 with the membership as it
/// is (its `joined_at` kept) when the user is a member already.
#[utoipa::path(put, path = "/v1/groups/{group_id}/members/{user_id}", tag = "directory", params(("group_id" = String, Path), ("user_id" = String, Path)), responses((status = 201, body = Membership), (status = 200, body = Membership)))]
pub async fn add_member(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path((group, user)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let (group, user) = (GroupId::parse(group)?, UserId::parse(user)?);
    let (membership, created) = s.app().add_member(&caller, &group, &user, s.now()).await?;
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
    Path((group, user)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (group, user) = (GroupId::parse(group)?, UserId::parse(user)?);
    s.app()
        .remove_member(&caller, &group, &user, s.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- resources, policies and grants ------------------------------------------------------------

/// A resource to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateResource {
    /// The id; generated when absent.
    pub id: Option<ResourceId>,
    /// The name.
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
    Params(p): Params<Paging>,
) -> ApiResult<Json<List<Resource>>> {
    require(&caller, Capability::Review)?;
    Ok(Json(List::from_page(
        s.app().store().resources(&p.page()?).await?,
        |r| r,
    )))
}

/// Creates a resource with its default policy (admin).
#[utoipa::path(post, path = "/v1/resources", tag = "directory", request_body = CreateResource, responses((status = 201, body = Resource)))]
pub async fn create_resource(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Body(b): Body<CreateResource>,
) -> ApiResult<impl IntoResponse> {
    let policy = b.policy.unwrap_or_default().or_new_resource_default();
    let r = s
        .app()
        .create_resource(
            &caller,
            NewResource {
                id: b.id,
                name: b.name,
                address: b.address,
                policy,
            },
            s.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// A resource (approvers).
#[utoipa::path(get, path = "/v1/resources/{resource_id}", tag = "directory", params(("resource_id" = String, Path)), responses((status = 200, body = Resource)))]
pub async fn get_resource(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Resource>> {
    require(&caller, Capability::Review)?;
    let id = ResourceId::parse(id)?;
    Ok(Json(s.app().store().resource(&id).await?.ok_or_else(
        || ApiError::not_found(format!("resource {id}")),
    )?))
}

/// Edits a resource's default policy (admin, DevOps admin). Audited; nobody locks sooner than
/// the new duration after the change.
#[utoipa::path(patch, path = "/v1/resources/{resource_id}/policy", tag = "policies", params(("resource_id" = String, Path)), request_body = PolicyPatch, responses((status = 200, body = Resource)))]
pub async fn patch_resource_policy(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Body(patch): Body<PolicyPatch>,
) -> ApiResult<Json<Resource>> {
    let id = ResourceId::parse(id)?;
    Ok(Json(
        s.app()
            .set_resource_policy(&caller, &id, patch, s.now())
            .await?,
    ))
}

/// Every right on a resource (approvers).
#[utoipa::path(get, path = "/v1/resources/{resource_id}/rights", tag = "rights", params(("resource_id" = String, Path), Paging), responses((status = 200, body = List<RightView>)))]
pub async fn resource_rights(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Params(p): Params<Paging>,
) -> ApiResult<Json<List<RightView>>> {
    let id = ResourceId::parse(id)?;
    let page = s
        .app()
        .rights_of_resource(&caller, &id, &p.page()?, s.now())
        .await?;
    Ok(Json(List::from_page(page, |v| v)))
}

/// A grant as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    /// The grant's id.
    pub id: GrantId,
    /// The group with access.
    pub group_id: GroupId,
    /// The resource.
    pub resource_id: ResourceId,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was removed.
    pub removed_at: Option<DateTime<Utc>>,
    /// When it expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// The override: a field set overrides the resource default, null inherits.
    pub policy_override: PolicyOverride,
    /// The policy in effect: the override over the resource default.
    pub effective_policy: Policy,
    /// Which fields are inherited from the resource default.
    pub inherited: Vec<String>,
}

async fn grant_view(s: &AppState, g: Grant) -> ApiResult<GrantView> {
    let default = s
        .app()
        .store()
        .resource(&g.resource)
        .await?
        .map(|r| r.policy)
        .ok_or_else(|| ApiError::not_found(format!("resource {}", g.resource)))?;
    let o = g.current_override();
    let mut inherited = Vec::new();
    if o.auto_lock_after.is_none() {
        inherited.push("auto_lock_after".to_owned());
    }
    if o.approval.is_none() {
        inherited.push("approval".to_owned());
    }
    Ok(GrantView {
        expires_at: g.current_expiry(),
        effective_policy: o.over(default),
        policy_override: o,
        inherited,
        id: g.id,
        group_id: g.group,
        resource_id: g.resource,
        created_at: g.span.start,
        removed_at: g.span.end,
    })
}

/// The grants on a resource (approvers).
#[utoipa::path(get, path = "/v1/resources/{resource_id}/grants", tag = "directory", params(("resource_id" = String, Path)), responses((status = 200, body = List<GrantView>)))]
pub async fn list_grants(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<List<GrantView>>> {
    require(&caller, Capability::Review)?;
    let id = ResourceId::parse(id)?;
    s.app()
        .store()
        .resource(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("resource {id}")))?;
    let mut out = Vec::new();
    for g in s.app().store().grants_of_resource(&id).await? {
        out.push(grant_view(&s, g).await?);
    }
    Ok(Json(List::of(out)))
}

fn optional_instant(
    value: Option<&serde_json::Value>,
    field: &str,
) -> ApiResult<Option<DateTime<Utc>>> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| {
                ApiError::invalid(
                    field,
                    format!("{s:?} is not an RFC 3339 instant like \"2026-03-01T00:00:00Z\""),
                )
            }),
        Some(other) => Err(ApiError::invalid(
            field,
            format!("{other} is not an RFC 3339 instant or null"),
        )),
    }
}

/// A grant to create: `{"group_id": "...", "expires_at": "2026-03-01T00:00:00Z" | null,
/// "policy_override": {"auto_lock_after": "30d" | null, "approval": "automatic" | null}}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateGrant {
    /// The group to give access.
    pub group_id: GroupId,
    /// When the access expires, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// Fields that override the resource default.
    pub policy_override: Option<PolicyOverride>,
}

/// Grants a group access to a resource (admin).
#[utoipa::path(post, path = "/v1/resources/{resource_id}/grants", tag = "directory", params(("resource_id" = String, Path)), request_body = CreateGrant, responses((status = 201, body = GrantView), (status = 409, body = crate::problem::Problem)))]
pub async fn create_grant(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<impl IntoResponse> {
    let resource = ResourceId::parse(id)?;
    let raw: serde_json::Value = parse_json(&body)?;
    let object = raw
        .as_object()
        .ok_or_else(|| ApiError::invalid("body", "must be a JSON object"))?;
    if let Some(unknown) = object
        .keys()
        .find(|k| !["group_id", "expires_at", "policy_override"].contains(&k.as_str()))
    {
        return Err(ApiError::invalid(
            unknown.clone(),
            "is not a grant field; allowed are group_id, expires_at, policy_override",
        ));
    }
    let group = object
        .get("group_id")
        .and_then(|g| g.as_str())
        .ok_or_else(|| ApiError::invalid("group_id", "is required: the group to give access"))
        .and_then(|g| GroupId::parse(g).map_err(|e| ApiError::invalid("group_id", e.message)))?;
    let expires_at = optional_instant(object.get("expires_at"), "expires_at")?;
    let policy_override = match object.get("policy_override") {
        None | Some(serde_json::Value::Null) => PolicyOverride::default(),
        Some(v) => OverridePatch::from_json(v)
            .map_err(|e| ApiError::invalid(format!("policy_override.{}", e.field), e.message))?
            .apply(PolicyOverride::default()),
    };
    let grant = s
        .app()
        .create_grant(
            &caller,
            NewGrant {
                group,
                resource,
                expires_at,
                policy_override,
            },
            s.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(grant_view(&s, grant).await?)))
}

/// A grant named by its id (`/v1/grants/{grant_id}`) or by its resource and group
/// (`/v1/resources/{resource_id}/grants/{group_id}`, the group's current grant on it).
#[derive(Debug, Deserialize)]
pub struct GrantPath {
    grant_id: Option<String>,
    resource_id: Option<String>,
    group_id: Option<String>,
}

impl GrantPath {
    async fn resolve(self, s: &AppState, caller: &Principal) -> ApiResult<GrantId> {
        match (self.grant_id, self.resource_id, self.group_id) {
            (Some(id), _, _) => Ok(GrantId::parse(id)?),
            (None, Some(resource), Some(group)) => {
                let (resource, group) = (ResourceId::parse(resource)?, GroupId::parse(group)?);
                Ok(s.app().grant_of(caller, &resource, &group).await?.id)
            }
            _ => Err(ApiError::not_found("route")),
        }
    }
}

/// A grant (approvers).
#[utoipa::path(get, path = "/v1/grants/{grant_id}", tag = "directory", params(("grant_id" = String, Path)), responses((status = 200, body = GrantView)))]
pub async fn get_grant(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(key): Path<GrantPath>,
) -> ApiResult<Json<GrantView>> {
    require(&caller, Capability::Review)?;
    let id = key.resolve(&s, &caller).await?;
    let g = s
        .app()
        .store()
        .grant(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("grant {id}")))?;
    Ok(Json(grant_view(&s, g).await?))
}

/// Sets or clears a grant's expiry (admin): `{"expires_at": "..." | null}`.
#[utoipa::path(patch, path = "/v1/grants/{grant_id}", tag = "directory", params(("grant_id" = String, Path)), request_body = serde_json::Value, responses((status = 200, body = GrantView)))]
pub async fn patch_grant(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(key): Path<GrantPath>,
    body: axum::body::Bytes,
) -> ApiResult<Json<GrantView>> {
    let id = key.resolve(&s, &caller).await?;
    let raw: serde_json::Value = parse_json(&body)?;
    let object = raw
        .as_object()
        .ok_or_else(|| ApiError::invalid("body", "must be a JSON object"))?;
    if let Some(unknown) = object.keys().find(|k| k.as_str() != "expires_at") {
        return Err(ApiError::invalid(
            unknown.clone(),
            "is not an editable grant field; allowed is expires_at (policies: PATCH /v1/grants/{id}/policy)",
        ));
    }
    if !object.contains_key("expires_at") {
        return Err(ApiError::invalid(
            "expires_at",
            "is required: an RFC 3339 instant, or null for no expiry",
        ));
    }
    let expires_at = optional_instant(object.get("expires_at"), "expires_at")?;
    let g = s
        .app()
        .set_grant_expiry(&caller, &id, expires_at, s.now())
        .await?;
    Ok(Json(grant_view(&s, g).await?))
}

/// Removes a grant (admin).
#[utoipa::path(delete, path = "/v1/grants/{grant_id}", tag = "directory", params(("grant_id" = String, Path)), responses((status = 204)))]
pub async fn delete_grant(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(key): Path<GrantPath>,
) -> ApiResult<StatusCode> {
    let id = key.resolve(&s, &caller).await?;
    s.app().remove_grant(&caller, &id, s.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Edits a grant's override field by field (admin, DevOps admin): a value overrides, `null`
/// inherits the resource default, an omitted field keeps what it was.
#[utoipa::path(patch, path = "/v1/grants/{grant_id}/policy", tag = "policies", params(("grant_id" = String, Path)), request_body = PolicyOverride, responses((status = 200, body = GrantView)))]
pub async fn patch_grant_policy(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(key): Path<GrantPath>,
    body: axum::body::Bytes,
) -> ApiResult<Json<GrantView>> {
    let id = key.resolve(&s, &caller).await?;
    let raw: serde_json::Value = parse_json(&body)?;
    let patch = OverridePatch::from_json(&raw)?;
    let g = s
        .app()
        .set_grant_override(&caller, &id, patch, s.now())
        .await?;
    Ok(Json(grant_view(&s, g).await?))
}

// ---- gateways ----------------------------------------------------------------------------------

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

/// The answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResponse {
    /// `allow` or `deny`.
    pub decision: String,
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
    Caller(caller): Caller,
    Body(b): Body<CheckRequest>,
) -> ApiResult<Json<CheckResponse>> {
    let now = s.now();
    let d = s
        .app()
        .decide(&caller, &b.user_id, &b.resource_id, b.record, now)
        .await?;
    let block_url = (d.reason == Some(DenyReason::Locked)).then(|| {
        let token = s.links().sign(&b.user_id, &b.resource_id, now);
        let base = s.config().public_base_url.trim_end_matches('/');
        format!("{base}/block/{token}")
    });
    Ok(Json(CheckResponse {
        decision: if d.allow { "allow" } else { "deny" }.to_owned(),
        reason: d.reason,
        state: d.state,
        block_url,
    }))
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
    Body(b): Body<AccessEvents>,
) -> ApiResult<Json<AccessEventsResponse>> {
    require(&caller, Capability::Gateway)?;
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
        results: s.app().record_events(&caller, batch, s.now()).await?,
    }))
}

// ---- access requests ---------------------------------------------------------------------------

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
    Body(b): Body<FileRequest>,
) -> ApiResult<impl IntoResponse> {
    let filed = s
        .app()
        .file_request(&caller, &b.resource_id, b.reason, s.now())
        .await?;
    let status = if filed.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(filed.request)))
}

/// Which requests to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestQuery {
    /// `open` (default) or `resolved` (resolved within the last 90 days).
    pub status: Option<String>,
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
    Params(q): Params<RequestQuery>,
) -> ApiResult<Json<List<AccessRequest>>> {
    require(&caller, Capability::OwnRights)?;
    let mut filter = RequestFilter {
        user: q.user_id,
        resource: q.resource_id,
    };
    if !caller.role.is_approver() {
        match &filter.user {
            Some(u) if *u != caller.id => return Err(ApiError::not_found(format!("user {u}"))),
            _ => filter.user = Some(caller.id.clone()),
        }
    }
    let page = Paging {
        cursor: q.cursor,
        limit: q.limit,
    }
    .page()?;
    let store = s.app().store();
    let result = match q.status.as_deref().unwrap_or("open") {
        "open" => store.open_requests(&filter, &page).await?,
        "resolved" => {
            let since = s.now() - chrono::Duration::days(RESOLVED_WINDOW_DAYS);
            store.resolved_requests(since, &filter, &page).await?
        }
        other => {
            return Err(ApiError::invalid(
                "status",
                format!("{other:?} is not allowed; allowed are \"open\" and \"resolved\""),
            ));
        }
    };
    Ok(Json(List::from_page(result, |r| r)))
}

/// How many requests are open.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestCount {
    /// Open requests across all resources.
    pub open: u64,
}

/// The count for the console's bell (approvers).
#[utoipa::path(get, path = "/v1/access-requests/count", tag = "requests", responses((status = 200, body = RequestCount)))]
pub async fn count_requests(
    State(s): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<RequestCount>> {
    require(&caller, Capability::Review)?;
    Ok(Json(RequestCount {
        open: s.app().store().count_open().await?,
    }))
}

/// A request (its requester or an approver).
#[utoipa::path(get, path = "/v1/access-requests/{request_id}", tag = "requests", params(("request_id" = String, Path)), responses((status = 200, body = AccessRequest), (status = 404, body = crate::problem::Problem)))]
pub async fn get_request(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AccessRequest>> {
    require(&caller, Capability::OwnRights)?;
    let id = RequestId::parse(id)?;
    Ok(Json(s.app().request(&caller, &id).await?))
}

async fn resolve(
    s: &AppState,
    caller: &Principal,
    id: String,
    verdict: Verdict,
) -> ApiResult<Json<AccessRequest>> {
    let id = RequestId::parse(id)?;
    match s.app().resolve(caller, &id, verdict, s.now()).await {
        // A requester poking at their own request learns nothing new; others must not learn it exists.
        Err(Error::NotFound(what)) => Err(ApiError::not_found(what)),
        other => Ok(Json(other?)),
    }
}

/// Approves a request: the right is unlocked (approvers, never their own).
#[utoipa::path(post, path = "/v1/access-requests/{request_id}/approve", tag = "requests", params(("request_id" = String, Path)), responses((status = 200, body = AccessRequest), (status = 409, body = crate::problem::Problem)))]
pub async fn approve(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AccessRequest>> {
    resolve(&s, &caller, id, Verdict::Approve).await
}

/// Denies a request: the right stays locked (approvers, never their own).
#[utoipa::path(post, path = "/v1/access-requests/{request_id}/deny", tag = "requests", params(("request_id" = String, Path)), responses((status = 200, body = AccessRequest), (status = 409, body = crate::problem::Problem)))]
pub async fn deny(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AccessRequest>> {
    resolve(&s, &caller, id, Verdict::Deny).await
}

// ---- settings, audit, clock --------------------------------------------------------------------

/// Notification settings (admin).
#[utoipa::path(get, path = "/v1/settings/notifications", tag = "settings", responses((status = 200, body = Settings)))]
pub async fn get_settings(
    State(s): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Settings>> {
    require(&caller, Capability::Administer)?;
    Ok(Json(s.app().store().settings().await?))
}

/// Replaces the notification settings (admin): which roles are emailed about new requests.
#[utoipa::path(put, path = "/v1/settings/notifications", tag = "settings", request_body = Settings, responses((status = 200, body = Settings)))]
pub async fn put_settings(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Body(b): Body<Settings>,
) -> ApiResult<Json<Settings>> {
    require(&caller, Capability::Administer)?;
    if let Some(bad) = b.email_roles.iter().find(|r| !r.is_approver()) {
        return Err(ApiError::invalid(
            "email_roles",
            format!(
                "{bad:?} is not allowed; allowed are \"admin\", \"devops_admin\", \"access_reviewer\""
            ),
        ));
    }
    let mut settings = b;
    settings.email_roles.sort_by_key(|r| r.as_str());
    settings.email_roles.dedup();
    s.app().store().put_settings(&settings).await?;
    Ok(Json(settings))
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
    require(&caller, Capability::Administer)?;
    let hook = s
        .app()
        .store()
        .webhook()
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    Ok(Json(WebhookView {
        url: hook.url,
        secret: None,
    }))
}

/// Sets the webhook (admin): a new signing secret is generated and shown in this answer only.
#[utoipa::path(put, path = "/v1/settings/webhook", tag = "settings", request_body = PutWebhook, responses((status = 200, body = WebhookView)))]
pub async fn put_webhook(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Body(b): Body<PutWebhook>,
) -> ApiResult<Json<WebhookView>> {
    require(&caller, Capability::Administer)?;
    autolock_core::notify::validate_webhook_url(&b.url, s.config().allow_local_webhooks)?;
    let hook = autolock_core::notify::WebhookSettings {
        url: b.url,
        secret: autolock_core::notify::generate_secret(),
    };
    s.app().store().put_webhook(Some(&hook)).await?;
    Ok(Json(WebhookView {
        url: hook.url,
        secret: Some(hook.secret),
    }))
}

/// Removes the webhook (admin).
#[utoipa::path(delete, path = "/v1/settings/webhook", tag = "settings", responses((status = 204)))]
pub async fn delete_webhook(
    State(s): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<StatusCode> {
    require(&caller, Capability::Administer)?;
    s.app().store().put_webhook(None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a test delivery to the webhook now and answers it with its attempt (admin).
#[utoipa::path(post, path = "/v1/settings/webhook/test", tag = "settings", responses((status = 200, body = autolock_core::notify::Delivery)))]
pub async fn test_webhook(
    State(s): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<autolock_core::notify::Delivery>> {
    require(&caller, Capability::Administer)?;
    let notifier = s.notifier().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_notifier",
            "this deployment sends no notifications from the API",
        )
    })?;
    Ok(Json(notifier.send_test(s.now()).await?))
}

/// Webhook deliveries with every attempt, newest first (admin).
#[utoipa::path(get, path = "/v1/webhook-deliveries", tag = "settings", params(Paging), responses((status = 200, body = List<autolock_core::notify::Delivery>)))]
pub async fn list_webhook_deliveries(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Params(p): Params<Paging>,
) -> ApiResult<Json<List<autolock_core::notify::Delivery>>> {
    require(&caller, Capability::Administer)?;
    let page = s
        .app()
        .store()
        .deliveries(autolock_core::notify::Channel::Webhook, &p.page()?)
        .await?;
    Ok(Json(List::from_page(page, |d| d)))
}

/// Audit filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// At or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Done by this principal.
    pub actor: Option<PrincipalId>,
    /// Concerning this user, resource, group, grant or request id.
    pub target: Option<String>,
    /// Of this action, e.g. `access.locked`.
    pub action: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 1000.
    #[serde(default, deserialize_with = "number_text::option_u32")]
    #[param(value_type = Option<u32>)]
    pub limit: Option<u32>,
}

/// The audit log, oldest first (admin, DevOps admin).
#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(AuditQuery), responses((status = 200, body = List<AuditEntry>)))]
pub async fn audit(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Params(q): Params<AuditQuery>,
) -> ApiResult<Json<List<AuditEntry>>> {
    require(&caller, Capability::Operate)?;
    let action = q
        .action
        .as_deref()
        .map(|a| {
            AuditAction::parse(a).ok_or_else(|| {
                let allowed: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
                ApiError::invalid(
                    "action",
                    format!("{a:?} is not allowed; allowed are {}", allowed.join(", ")),
                )
            })
        })
        .transpose()?;
    let filter = AuditFilter {
        from: q.from,
        to: q.to,
        actor: q.actor,
        target: q.target,
        action,
    };
    let page = Paging {
        cursor: q.cursor,
        limit: q.limit,
    }
    .page()?;
    Ok(Json(List::from_page(
        s.app().store().audit(&filter, &page).await?,
        |e| e,
    )))
}

/// The manual clock's time.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClockView {
    /// Now, by autolock's clock.
    pub now: DateTime<Utc>,
    /// What the tick run at the new instant did (after a move).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tick: Option<autolock_core::service::TickReport>,
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
    pub to: Option<DateTime<Utc>>,
}

fn parse_step(text: &str) -> Option<chrono::Duration> {
    let (n, unit) = text.split_at(text.len().checked_sub(1)?);
    let n: i64 = n.parse().ok().filter(|n| *n >= 0)?;
    match unit {
        "d" => chrono::Duration::try_days(n),
        "h" => chrono::Duration::try_hours(n),
        "m" => chrono::Duration::try_minutes(n),
        "s" => chrono::Duration::try_seconds(n),
        _ => None,
    }
}

/// Moves the manual clock forward (admin; only when the server runs with a manual clock), then
/// runs the tick at the new instant (sweep, outbox, deliveries due) before answering, so the
/// answer's world has its locks recorded and its notifications sent.
#[utoipa::path(post, path = "/v1/clock/advance", tag = "clock", request_body = AdvanceClock, responses((status = 200, body = ClockView)))]
pub async fn advance_clock(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Body(b): Body<AdvanceClock>,
) -> ApiResult<Json<ClockView>> {
    require(&caller, Capability::Administer)?;
    let clock = s
        .clock()
        .as_manual()
        .ok_or_else(|| ApiError::not_found("route"))?;
    let now = match (b.by, b.to) {
        (Some(by), None) => {
            let step = parse_step(&by).ok_or_else(|| {
                ApiError::invalid(
                    "by",
                    format!("{by:?} is not a duration like \"8d\", \"36h\", \"15m\" or \"30s\""),
                )
            })?;
            clock.advance(step)?
        }
        (None, Some(to)) => clock.set(to)?,
        _ => {
            return Err(ApiError::invalid(
                "by",
                "give exactly one of \"by\" and \"to\"",
            ));
        }
    };
    let tick = match s.ticker() {
        Some(ticker) => Some(ticker.tick(now, &|| true).await?),
        None => None,
    };
    Ok(Json(ClockView { now, tick }))
}

// ---- preview and analytics -----------------------------------------------------------------

/// What a proposed resource default would do; nothing changes (admin, DevOps admin).
#[utoipa::path(post, path = "/v1/resources/{resource_id}/policy/preview", tag = "policies", params(("resource_id" = String, Path)), request_body = PolicyPatch, responses((status = 200, body = autolock_core::service::Preview)))]
pub async fn preview_resource_policy(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Body(patch): Body<PolicyPatch>,
) -> ApiResult<Json<autolock_core::service::Preview>> {
    let id = ResourceId::parse(id)?;
    let target = autolock_core::service::PreviewTarget::Resource(id, patch);
    Ok(Json(s.app().preview(&caller, &target, s.now()).await?))
}

/// What a proposed grant override would do; nothing changes (admin, DevOps admin).
#[utoipa::path(post, path = "/v1/grants/{grant_id}/policy/preview", tag = "policies", params(("grant_id" = String, Path)), request_body = PolicyOverride, responses((status = 200, body = autolock_core::service::Preview)))]
pub async fn preview_grant_policy(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<autolock_core::service::Preview>> {
    let id = GrantId::parse(id)?;
    let patch = OverridePatch::from_json(&parse_json::<Value>(&body)?)?;
    let target = autolock_core::service::PreviewTarget::Grant(id, patch);
    Ok(Json(s.app().preview(&caller, &target, s.now()).await?))
}

/// The analytics window.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WindowQuery {
    /// Start (RFC 3339); default 30 days before `to`.
    pub from: Option<DateTime<Utc>>,
    /// End, excluded (RFC 3339); default now.
    pub to: Option<DateTime<Utc>>,
}

/// Analytics of a resource over a window of at most 90 days (approvers).
#[utoipa::path(get, path = "/v1/resources/{resource_id}/analytics", tag = "reports", params(("resource_id" = String, Path), WindowQuery), responses((status = 200, body = autolock_core::service::Analytics)))]
pub async fn analytics(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Params(q): Params<WindowQuery>,
) -> ApiResult<Json<autolock_core::service::Analytics>> {
    let id = ResourceId::parse(id)?;
    let to = q.to.unwrap_or_else(|| s.now());
    let from = q.from.unwrap_or(to - chrono::Duration::days(30));
    Ok(Json(s.app().analytics(&caller, &id, from, to).await?))
}
