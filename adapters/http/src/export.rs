//! Streaming downloads: reports (CSV or JSON) and the audit export (CSV or JSON lines). Rows are
//! computed a right (or an audit page) at a time and sent through a bounded channel, so memory
//! stays flat however much a download covers.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use autolock_core::audit::{AuditAction, AuditEntry, AuditFilter};
use autolock_core::directory::Principal;
use autolock_core::directory::{Resource, User};
use autolock_core::ids::{GroupId, PrincipalId, ResourceId, UserId};
use autolock_core::ports::{Page, PageRequest};
use autolock_core::report::{CSV_HEADER, csv_record};
use autolock_core::service::{Autolock, Capability, ReportScope, require};

use crate::AppState;
use crate::auth::Caller;
use crate::extract::Params;
use crate::problem::{ApiError, ApiResult};

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

type Chunks = mpsc::Sender<Result<String, std::io::Error>>;

fn download(
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

/// The rights of a report per page.
pub const REPORT_PAGE: u32 = 1000;

/// Writes a report into `out`: the rows of every right of `scope`, a page of rights at a time
/// from `first` on, so memory stays flat however many rights the report covers.
pub async fn write_report(
    app: &Autolock,
    actor: &Principal,
    scope: &ReportScope,
    first: Page<(UserId, ResourceId)>,
    now: autolock_core::Timestamp,
    fmt: Format,
    out: &Chunks,
) -> Result<(), String> {
    let send = |s: String| async move {
        out.send(Ok(s))
            .await
            .map_err(|_| "the client went away".to_owned())
    };
    match fmt {
        Format::Csv => send(csv_record(CSV_HEADER)).await?,
        Format::Json => send("[".to_owned()).await?,
    }
    let mut first_row = true;
    let mut resource: Option<Resource> = None;
    let mut chunk = String::new();
    let mut page = first;
    loop {
        for (user_id, resource_id) in std::mem::take(&mut page.items) {
            if resource.as_ref().is_none_or(|r| r.id != resource_id) {
                resource = app
                    .store()
                    .resource(&resource_id)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            let user: Option<User> = app
                .store()
                .user(&user_id)
                .await
                .map_err(|e| e.to_string())?;
            let (Some(r), Some(u)) = (&resource, &user) else {
                continue;
            };
            for row in app
                .report_rows(scope, u, r, now)
                .await
                .map_err(|e| e.to_string())?
            {
                push_row(&mut chunk, &mut first_row, fmt, &row)?;
            }
            if chunk.len() > 32 * 1024 {
                send(std::mem::take(&mut chunk)).await?;
            }
        }
        let Some(after) = page.next.take() else { break };
        let request = PageRequest {
            after: Some(after),
            limit: REPORT_PAGE,
        };
        page = app
            .report_rights(actor, scope, &request)
            .await
            .map_err(|e| e.to_string())?;
    }
    for row in app
        .report_memberless_groups(actor, scope, now)
        .await
        .map_err(|e| e.to_string())?
    {
        push_row(&mut chunk, &mut first_row, fmt, &row)?;
    }
    if fmt == Format::Json {
        chunk.push(']');
    }
    send(chunk).await
}

/// Appends one report row to `chunk` in `fmt`.
fn push_row(
    chunk: &mut String,
    first_row: &mut bool,
    fmt: Format,
    row: &autolock_core::report::ReportRow,
) -> Result<(), String> {
    match fmt {
        Format::Csv => chunk.push_str(&row.to_csv()),
        Format::Json => {
            if !*first_row {
                chunk.push(',');
            }
            chunk.push_str(&serde_json::to_string(row).map_err(|e| e.to_string())?);
        }
    }
    *first_row = false;
    Ok(())
}

async fn report(
    s: AppState,
    caller: autolock_core::directory::Principal,
    scope: ReportScope,
    q: FormatQuery,
    name: String,
) -> ApiResult<Response> {
    let fmt = format(q.format.as_deref(), "json")?;
    let first = s
        .app()
        .report_rights(&caller, &scope, &PageRequest::first(REPORT_PAGE))
        .await?;
    let (tx, rx) = mpsc::channel(8);
    let now = s.now();
    let app = s.app().clone();
    tokio::spawn(async move {
        if let Err(e) = write_report(&app, &caller, &scope, first, now, fmt, &tx).await {
            tracing::warn!(error = %e, "report stream ended early");
            let _ = tx.send(Err(std::io::Error::other(e))).await;
        }
    });
    Ok(match fmt {
        Format::Csv => download(rx, "text/csv; charset=utf-8", &format!("{name}.csv")),
        Format::Json => download(rx, "application/json", &format!("{name}.json")),
    })
}

/// The report of a resource: every right on it (approvers).
#[utoipa::path(get, path = "/v1/resources/{resource_id}/report", tag = "reports", params(("resource_id" = String, Path), FormatQuery), responses((status = 200, description = "CSV (RFC 4180) or a JSON array of report rows", body = [autolock_core::report::ReportRow])))]
pub async fn resource_report(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Params(q): Params<FormatQuery>,
) -> ApiResult<Response> {
    let id = ResourceId::parse(id)?;
    report(
        s,
        caller,
        ReportScope::Resource(id.clone()),
        q,
        format!("resource-{id}"),
    )
    .await
}

/// The report of a group: every right through it (approvers).
#[utoipa::path(get, path = "/v1/groups/{group_id}/report", tag = "reports", params(("group_id" = String, Path), FormatQuery), responses((status = 200, description = "CSV (RFC 4180) or a JSON array of report rows", body = [autolock_core::report::ReportRow])))]
pub async fn group_report(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Params(q): Params<FormatQuery>,
) -> ApiResult<Response> {
    let id = GroupId::parse(id)?;
    report(
        s,
        caller,
        ReportScope::Group(id.clone()),
        q,
        format!("group-{id}"),
    )
    .await
}

/// The report of a user: every right of theirs (approvers).
#[utoipa::path(get, path = "/v1/users/{user_id}/report", tag = "reports", params(("user_id" = String, Path), FormatQuery), responses((status = 200, description = "CSV (RFC 4180) or a JSON array of report rows", body = [autolock_core::report::ReportRow])))]
pub async fn user_report(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Params(q): Params<FormatQuery>,
) -> ApiResult<Response> {
    let id = UserId::parse(id)?;
    report(
        s,
        caller,
        ReportScope::User(id.clone()),
        q,
        format!("user-{id}"),
    )
    .await
}

/// The audit CSV header.
pub const AUDIT_CSV_HEADER: [&str; 11] = [
    "id", "at", "category", "action", "actor", "user", "resource", "group", "grant", "request",
    "details",
];

fn audit_csv(e: &AuditEntry) -> String {
    let at = e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let opt = |v: Option<String>| v.unwrap_or_default();
    let (actor, user, resource, group, grant, request) = (
        opt(e.actor.as_ref().map(ToString::to_string)),
        opt(e.user.as_ref().map(ToString::to_string)),
        opt(e.resource.as_ref().map(ToString::to_string)),
        opt(e.group.as_ref().map(ToString::to_string)),
        opt(e.grant.as_ref().map(ToString::to_string)),
        opt(e.request.as_ref().map(ToString::to_string)),
    );
    let details = e.details.to_string();
    csv_record([
        e.id.as_str(),
        &at,
        &e.category,
        e.action.as_str(),
        &actor,
        &user,
        &resource,
        &group,
        &grant,
        &request,
        &details,
    ])
}

/// Audit export filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditExportQuery {
    /// `csv` (default) or `jsonl`.
    pub format: Option<String>,
    /// At or after (RFC 3339).
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Before (RFC 3339).
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// Done by.
    pub actor: Option<PrincipalId>,
    /// Concerning this id.
    pub target: Option<String>,
    /// Of this action.
    pub action: Option<String>,
}

/// Writes the audit entries passing `filter` into `out`, a page at a time.
pub async fn write_audit(
    app: &Autolock,
    filter: AuditFilter,
    fmt: Format,
    out: &Chunks,
) -> Result<(), String> {
    let send = |s: String| async move {
        out.send(Ok(s))
            .await
            .map_err(|_| "the client went away".to_owned())
    };
    if fmt == Format::Csv {
        send(csv_record(AUDIT_CSV_HEADER)).await?;
    }
    let mut page = PageRequest::first(1000);
    loop {
        let p = app
            .store()
            .audit(&filter, &page)
            .await
            .map_err(|e| e.to_string())?;
        let mut chunk = String::new();
        for e in &p.items {
            match fmt {
                Format::Csv => chunk.push_str(&audit_csv(e)),
                Format::Json => {
                    chunk.push_str(&serde_json::to_string(e).map_err(|e| e.to_string())?);
                    chunk.push('\n');
                }
            }
        }
        send(chunk).await?;
        match p.next {
            Some(next) => page.after = Some(next),
            None => return Ok(()),
        }
    }
}

/// The audit log as a file: CSV or JSON lines, with the filters of the list (admin, DevOps admin).
#[utoipa::path(get, path = "/v1/audit/export", tag = "audit", params(AuditExportQuery), responses((status = 200, description = "CSV (RFC 4180) or JSON lines of audit entries")))]
pub async fn audit_export(
    State(s): State<AppState>,
    Caller(caller): Caller,
    Params(q): Params<AuditExportQuery>,
) -> ApiResult<Response> {
    require(&caller, Capability::Operate)?;
    let fmt = format(q.format.as_deref(), "jsonl")?;
    let action = q
        .action
        .as_deref()
        .map(|a| {
            AuditAction::parse(a)
                .ok_or_else(|| ApiError::invalid("action", format!("{a:?} is not an audit action")))
        })
        .transpose()?;
    let filter = AuditFilter {
        from: q.from,
        to: q.to,
        actor: q.actor,
        target: q.target,
        action,
    };
    let (tx, rx) = mpsc::channel(8);
    let app = s.app().clone();
    tokio::spawn(async move {
        if let Err(e) = write_audit(&app, filter, fmt, &tx).await {
            tracing::warn!(error = %e, "audit export ended early");
            let _ = tx.send(Err(std::io::Error::other(e))).await;
        }
    });
    Ok(match fmt {
        Format::Csv => download(rx, "text/csv; charset=utf-8", "audit.csv"),
        Format::Json => download(rx, "application/jsonl", "audit.jsonl"),
    })
}
