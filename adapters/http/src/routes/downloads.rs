//! Downloads: reports (CSV or JSON) and the audit log (CSV or JSON lines), streamed a page at a
//! time through a bounded channel, so memory stays flat however much a download covers, and
//! the work stops when the client goes away.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use autolock_core::Timestamp;
use autolock_core::audit::{AUDIT_CSV_HEADER, AuditAction, AuditFilter};
use autolock_core::directory::Principal;
use autolock_core::ids::{GroupId, PrincipalId, ResourceId, UserId};
use autolock_core::ports::PageRequest;
use autolock_core::report::{CSV_HEADER, ReportRow, csv_record};
use autolock_core::service::{Autolock, ReportScope};

use crate::AppState;
use crate::auth::Caller;
use crate::extract::Query;
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

/// How a download is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180 CSV with a header row.
    Csv,
    /// A JSON array (reports) or JSON lines (the audit export).
    Json,
}

/// `?format=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// `csv` (default) or `json` (reports) / `jsonl` (audit).
    pub format: Option<String>,
}

fn format(q: Option<&str>, json_name: &str) -> ApiResult<Format> {
    match q.unwrap_or("csv") {
        "csv" => Ok(Format::Csv),
        f if f == json_name => Ok(Format::Json),
        other => Err(ApiError::invalid(
            "format",
            format!("{other:?} is not allowed; allowed are \"csv\" and \"{json_name}\""),
        )),
    }
}

/// Where a download's chunks go.
pub type Chunks = mpsc::Sender<Result<String, std::io::Error>>;

/// A streamed download of what arrives on `rx`, named `filename`.
pub fn download(
    rx: mpsc::Receiver<Result<String, std::io::Error>>,
    content_type: &'static str,
    filename: &str,
) -> Response {
    let mut response = Body::from_stream(ReceiverStream::new(rx)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

async fn send(out: &Chunks, chunk: String) -> Result<(), String> {
    out.send(Ok(chunk))
        .await
        .map_err(|_| "the client went away".to_owned())
}

/// Appends one report row to `chunk` in `fmt`.
fn push_row(chunk: &mut String, first_row: &mut bool, fmt: Format, row: &ReportRow) {
    match fmt {
        Format::Csv => chunk.push_str(&row.to_csv()),
        Format::Json => {
            if !*first_row {
                chunk.push(',');
            }
            chunk.push_str(&serde_json::to_string(row).expect("a report row serializes"));
        }
    }
    *first_row = false;
}

/// Writes a report into `out`, a page of rights at a time. Stops when `out` is closed.
pub async fn write_report(
    app: &Autolock,
    actor: &Principal,
    scope: &ReportScope,
    now: Timestamp,
    fmt: Format,
    out: &Chunks,
) -> Result<(), String> {
    let mut chunk = match fmt {
        Format::Csv => csv_record(CSV_HEADER),
        Format::Json => "[".to_owned(),
    };
    let mut first_row = true;
    let mut after = None;
    loop {
        let page = app
            .report_page(actor, scope, after, now)
            .await
            .map_err(|e| e.to_string())?;
        for row in &page.rows {
            push_row(&mut chunk, &mut first_row, fmt, row);
        }
        send(out, std::mem::take(&mut chunk)).await?;
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    if fmt == Format::Json {
        send(out, "]".to_owned()).await?;
    }
    Ok(())
}

async fn report(
    s: AppState,
    caller: Principal,
    scope: ReportScope,
    q: FormatQuery,
    name: String,
) -> ApiResult<Response> {
    let fmt = format(q.format.as_deref(), "json")?;
    // The first page answers a missing object or a refusal before the download starts.
    let now = s.now();
    s.app().report_page(&caller, &scope, None, now).await?;
    let (tx, rx) = mpsc::channel(8);
    let app = s.app().clone();
    tokio::spawn(async move {
        if let Err(e) = write_report(&app, &caller, &scope, now, fmt, &tx).await {
            tracing::warn!(error = %e, "report stream ended early");
            let _ = tx.send(Err(std::io::Error::other(e))).await;
        }
    });
    Ok(match fmt {
        Format::Csv => download(rx, "text/csv; charset=utf-8", &format!("{name}.csv")),
        Format::Json => download(rx, "application/json", &format!("{name}.json")),
    })
}

/// The report of a resource: every right on it, and the groups with access and no members
/// (approvers).
#[utoipa::path(get, path = "/v1/resources/{resource_id}/report", tag = "reports", params(("resource_id" = String, Path), FormatQuery), responses((status = 200, description = "CSV (RFC 4180) or a JSON array of report rows", body = [ReportRow])))]
pub async fn resource_report(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Query(q): Query<FormatQuery>,
) -> ApiResult<Response> {
    let id = ResourceId::parse(id)?;
    let name = format!("resource-{id}");
    report(s, caller, ReportScope::Resource(id), q, name).await
}

/// The report of a group: every right through it (approvers).
#[utoipa::path(get, path = "/v1/groups/{group_id}/report", tag = "reports", params(("group_id" = String, Path), FormatQuery), responses((status = 200, description = "CSV (RFC 4180) or a JSON array of report rows", body = [ReportRow])))]
pub async fn group_report(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Query(q): Query<FormatQuery>,
) -> ApiResult<Response> {
    let id = GroupId::parse(id)?;
    let name = format!("group-{id}");
    report(s, caller, ReportScope::Group(id), q, name).await
}

/// The report of a user: every right of theirs (approvers).
#[utoipa::path(get, path = "/v1/users/{user_id}/report", tag = "reports", params(("user_id" = String, Path), FormatQuery), responses((status = 200, description = "CSV (RFC 4180) or a JSON array of report rows", body = [ReportRow])))]
pub async fn user_report(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Query(q): Query<FormatQuery>,
) -> ApiResult<Response> {
    let id = UserId::parse(id)?;
    let name = format!("user-{id}");
    report(s, caller, ReportScope::User(id), q, name).await
}

/// Audit filters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
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
    let entries = s.app().audit(&caller, &q.filter(), &page).await?;
    Ok(axum::Json(super::List::from_page(entries)))
}

/// Writes the audit entries passing `filter` into `out`, a page at a time. Stops when `out` is
/// closed.
pub async fn write_audit(
    app: &Autolock,
    actor: &Principal,
    filter: AuditFilter,
    fmt: Format,
    out: &Chunks,
) -> Result<(), String> {
    if fmt == Format::Csv {
        send(out, csv_record(AUDIT_CSV_HEADER)).await?;
    }
    let mut page = PageRequest::first(1000);
    loop {
        let p = app
            .audit(actor, &filter, &page)
            .await
            .map_err(|e| e.to_string())?;
        let mut chunk = String::new();
        for e in &p.items {
            match fmt {
                Format::Csv => chunk.push_str(&e.to_csv()),
                Format::Json => {
                    chunk.push_str(&serde_json::to_string(e).map_err(|e| e.to_string())?);
                    chunk.push('\n');
                }
            }
        }
        send(out, chunk).await?;
        match p.next {
            Some(next) => page.after = Some(next),
            None => return Ok(()),
        }
    }
}

/// The audit log as a file: CSV or JSON lines, with the filters of the list (admin, DevOps admin).
#[utoipa::path(get, path = "/v1/audit/export", tag = "audit", params(AuditQuery), responses((status = 200, description = "CSV (RFC 4180) or JSON lines of audit entries")))]
pub async fn audit_export(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Response> {
    let fmt = format(q.format.as_deref(), "jsonl")?;
    let filter = q.filter();
    // A refusal is answered before the download starts.
    s.app()
        .audit(&caller, &filter, &PageRequest::first(1))
        .await?;
    let (tx, rx) = mpsc::channel(8);
    let app = s.app().clone();
    tokio::spawn(async move {
        if let Err(e) = write_audit(&app, &caller, filter, fmt, &tx).await {
            tracing::warn!(error = %e, "audit export ended early");
            let _ = tx.send(Err(std::io::Error::other(e))).await;
        }
    });
    Ok(match fmt {
        Format::Csv => download(rx, "text/csv; charset=utf-8", "audit.csv"),
        Format::Json => download(rx, "application/jsonl", "audit.jsonl"),
    })
}
