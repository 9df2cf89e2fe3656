//! Policies as code: export every resource's and grant's policy as one document, plan a
//! document against what is in force, apply it (docs/semantics.md §7).

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};

use autolock_core::service::{PolicyDocument, PolicyPlan};

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{JsonBytes, parse_json};
use crate::problem::ApiResult;

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/policies", get(export_policies))
        .route("/policies/plan", post(plan_policies))
        .route("/policies/apply", post(apply_policies))
}

/// Every resource's default policy and its grants' overrides and expiries (approvers).
#[utoipa::path(get, path = "/v1/policies", tag = "policies", responses((status = 200, body = PolicyDocument)))]
pub async fn export_policies(
    State(s): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<PolicyDocument>> {
    Ok(Json(s.app().policies().export_policies(&caller).await?))
}

/// What applying a document would change, with who would lock within 1, 7 and 30 days; nothing
/// changes (admin, DevOps admin).
#[utoipa::path(post, path = "/v1/policies/plan", tag = "policies", request_body = PolicyDocument, responses((status = 200, body = PolicyPlan), (status = 400, body = crate::problem::Problem)))]
pub async fn plan_policies(
    State(s): State<AppState>,
    Caller(caller): Caller,
    body: JsonBytes,
) -> ApiResult<Json<PolicyPlan>> {
    // The role first: a document is read only for those who may send one.
    s.app().policies().may_send_policies(&caller)?;
    let doc: PolicyDocument = parse_json(&body.0)?;
    Ok(Json(
        s.app()
            .policies()
            .plan_policies(&caller, &doc, s.now())
            .await?,
    ))
}

/// Applies a document: each change audited as the caller; applying it again changes nothing
/// (admin, DevOps admin; an expiry change needs an admin).
#[utoipa::path(post, path = "/v1/policies/apply", tag = "policies", request_body = PolicyDocument, responses((status = 200, body = PolicyPlan), (status = 400, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem)))]
pub async fn apply_policies(
    State(s): State<AppState>,
    Caller(caller): Caller,
    body: JsonBytes,
) -> ApiResult<Json<PolicyPlan>> {
    s.app().policies().may_send_policies(&caller)?;
    let doc: PolicyDocument = parse_json(&body.0)?;
    Ok(Json(
        s.app()
            .policies()
            .apply_policies(&caller, &doc, s.now())
            .await?,
    ))
}
