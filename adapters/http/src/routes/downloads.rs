//! Downloads: reports (CSV or JSON) and the audit log (CSV or JSON lines), streamed a page at a
//! time as the client reads them (`autolock_core::service::Download`).

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use serde::Deserialize;

use autolock_core::audit::{AuditAction, AuditFilter};
use autolock_core::directory::Principal;
use autolock_core::ids::{GroupId, PrincipalId, ResourceId, UserId};
use autolock_core::report::ReportRow;
use autolock_core::service::{Download, DownloadFormat, DownloadOf, ReportScope};

use autolock_core::values::instant;

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{ApiPath, Query};
use crate::problem::{ApiError, ApiResult};

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/resources/{resource_id}/report", get(resource_report))
        .route("/groups/{group_id}/report", get(group_report))
        .route("/users/{user_id}/report", get(user_report))
        .route("/audit", get(audit))
        .route("/audit/export", get(audit_export))
}

/// `?format=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// `csv` (default) or `json` (reports) / `jsonl` (audit).
    pub format: Option<String>,
}

fn format(q: Option<&str>, json_name: &str) -> ApiResult<DownloadFormat> {
    match q.unwrap_or("csv") {
        "csv" => Ok(DownloadFormat::Csv),
        f if f == json_name => Ok(DownloadFormat::Json),
        other => Err(ApiError::invalid(
            "format",
            format!("{other:?} is not allowed; allowed are \"csv\" and \"{json_name}\""),
        )),
    }
}

/// The download as a streamed attachment: a chunk is read when the client is ready for it,
/// and reading stops when the client goes away.
fn attachment(download: Download) -> Response {
    let headers = [
        (header::CONTENT_TYPE, download.content_type().to_owned()),
        (header::CONTENT_DISPOSITION, download.disposition()),
    ];
    let chunks = download.into_stream().map_err(|e| {
        tracing::warn!(error = %autolock_core::error::chain(&e), "download ended early");
        std::io::Error::other(e.to_string())
    });
    (headers, Body::from_stream(chunks)).into_response()
}

async fn report(
    s: AppState,
    caller: Principal,
    scope: ReportScope,
    q: FormatQuery,
) -> ApiResult<Response> {
    let fmt = format(q.format.as_deref(), "json")?;
    let download = s
        .app()
        .reports()
        .download(&caller, DownloadOf::Report(scope), fmt, s.now())
        .await?;
    Ok(attachment(download))
}

/// The report of a resource: every right on it, and the groups with access and no members
/// (approvers).
#[utoipa::path(get, path = "/v1/resources/{resource_id}/report", tag = "reports", params(("resource_id" = String, Path), FormatQuery), responses((status = 200, description = "CSV (RFC 4180) or a JSON array of report rows", body = [ReportRow])))]
pub async fn resource_report(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<ResourceId>,
    Query(q): Query<FormatQuery>,
) -> ApiResult<Response> {
    report(s, caller, ReportScope::Resource(id), q).await
}

/// The report of a group: every right through it (approvers).
#[utoipa::path(get, path = "/v1/groups/{group_id}/report", tag = "reports", params(("group_id" = String, Path), FormatQuery), responses((status = 200, description = "CSV (RFC 4180) or a JSON array of report rows", body = [ReportRow])))]
pub async fn group_report(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<GroupId>,
    Query(q): Query<FormatQuery>,
) -> ApiResult<Response> {
    report(s, caller, ReportScope::Group(id), q).await
}

/// The report of a user: every right of theirs (approvers).
#[utoipa::path(get, path = "/v1/users/{user_id}/report", tag = "reports", params(("user_id" = String, Path), FormatQuery), responses((status = 200, description = "CSV (RFC 4180) or a JSON array of report rows", body = [ReportRow])))]
pub async fn user_report(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<UserId>,
    Query(q): Query<FormatQuery>,
) -> ApiResult<Response> {
    report(s, caller, ReportScope::User(id), q).await
}

/// Audit filters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// At or after (RFC 3339).
    #[serde(default, deserialize_with = "instant::option")]
    pub from: Option<DateTime<Utc>>,
    /// Before (RFC 3339).
    #[serde(default, deserialize_with = "instant::option")]
    pub to: Option<DateTime<Utc>>,
    /// Done by this principal.
    pub actor: Option<PrincipalId>,
    /// Concerning this user, resource, group, grant or request id.
    pub target: Option<String>,
    /// Of this action, e.g. `access.locked`.
    #[param(value_type = Option<String>)]
    pub action: Option<AuditAction>,
    /// The `next_cursor` of the previous page (the list).
    pub cursor: Option<String>,
    /// Page size, 1 to 1000 (the list).
    #[serde(default, deserialize_with = "crate::extract::number_text::option_u32")]
    #[param(value_type = Option<u32>)]
    pub limit: Option<u32>,
    /// `csv` (default) or `jsonl` (the export).
    pub format: Option<String>,
}

impl AuditQuery {
    /// The filter the query names.
    #[must_use]
    pub fn filter(&self) -> AuditFilter {
        AuditFilter {
            from: self.from,
            to: self.to,
            actor: self.actor.clone(),
            target: self.target.clone(),
            action: self.action,
        }
    }
}

/// The audit log, oldest first (admin, DevOps admin).
#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(AuditQuery), responses((status = 200, body = super::List<autolock_core::audit::AuditEntry>)))]
pub async fn audit(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<AuditQuery>,
) -> ApiResult<axum::Json<super::List<autolock_core::audit::AuditEntry>>> {
    let page = super::Paging {
        cursor: q.cursor.clone(),
        limit: q.limit,
    }
    .page()?;
    let entries = s.app().reports().audit(&caller, &q.filter(), &page).await?;
    Ok(axum::Json(super::List::from_page(entries)))
}

/// The audit log as a file: CSV or JSON lines, with the filters of the list (admin, DevOps admin).
#[utoipa::path(get, path = "/v1/audit/export", tag = "audit", params(AuditQuery), responses((status = 200, description = "CSV (RFC 4180) or JSON lines of audit entries")))]
pub async fn audit_export(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Response> {
    let fmt = format(q.format.as_deref(), "jsonl")?;
    let download = s
        .app()
        .reports()
        .download(&caller, DownloadOf::Audit(q.filter()), fmt, s.now())
        .await?;
    Ok(attachment(download))
}
