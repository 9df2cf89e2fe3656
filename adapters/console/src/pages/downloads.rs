//! The summary downloads of a resource, a group and a user, and the audit export: the same
//! streamed CSV as the JSON API's, through the session.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use tokio::sync::mpsc;

use autolock_core::Error;
use autolock_core::ids::{GroupId, ResourceId, UserId};
use autolock_core::ports::PageRequest;
use autolock_core::service::ReportScope;
use autolock_http::routes::downloads::{Format, download, write_audit, write_report};

use super::audit::AuditQuery;
use crate::ConsoleState;
use crate::layout;
use crate::session::Viewer;

async fn summary(state: ConsoleState, viewer: Viewer, scope: ReportScope, name: String) -> Response {
    let now = state.now();
    // The first page answers a missing object or a refusal before the download starts.
    if let Err(e) = state
        .app()
        .report_page(&viewer.principal, &scope, None, now)
        .await
    {
        return layout::error_page(Some(&viewer), &e);
    }
    let (tx, rx) = mpsc::channel(8);
    let app = state.app().clone();
    let actor = viewer.principal;
    tokio::spawn(async move {
        if let Err(e) = write_report(&app, &actor, &scope, now, Format::Csv, &tx).await {
            tracing::warn!(error = %e, "summary download ended early");
            let _ = tx.send(Err(std::io::Error::other(e))).await;
        }
    });
    download(rx, "text/csv; charset=utf-8", &format!("{name}.csv"))
}

fn not_found(viewer: &Viewer, what: &str) -> Response {
    layout::error_page(Some(viewer), &Error::NotFound(what.to_owned()))
}

/// `GET /resources/{id}/summary.csv`.
pub async fn resource_summary(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    match ResourceId::parse(id) {
        Ok(id) => {
            let name = format!("resource-{id}");
            summary(state, viewer, ReportScope::Resource(id), name).await
        }
        Err(_) => not_found(&viewer, "resource"),
    }
}

/// `GET /groups/{id}/summary.csv`.
pub async fn group_summary(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    match GroupId::parse(id) {
        Ok(id) => {
            let name = format!("group-{id}");
            summary(state, viewer, ReportScope::Group(id), name).await
        }
        Err(_) => not_found(&viewer, "group"),
    }
}

/// `GET /users/{id}/summary.csv`.
pub async fn user_summary(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    match UserId::parse(id) {
        Ok(id) => {
            let name = format!("user-{id}");
            summary(state, viewer, ReportScope::User(id), name).await
        }
        Err(_) => not_found(&viewer, "user"),
    }
}

/// `GET /audit/export.csv`: the entries the filters of the audit page name.
pub async fn audit_export(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Query(q): Query<AuditQuery>,
) -> Response {
    let filter = q.filter();
    if let Err(e) = state
        .app()
        .audit(&viewer.principal, &filter, &PageRequest::first(1))
        .await
    {
        return layout::error_page(Some(&viewer), &e);
    }
    let (tx, rx) = mpsc::channel(8);
    let app = state.app().clone();
    let actor = viewer.principal;
    tokio::spawn(async move {
        if let Err(e) = write_audit(&app, &actor, filter, Format::Csv, &tx).await {
            tracing::warn!(error = %e, "audit export ended early");
            let _ = tx.send(Err(std::io::Error::other(e))).await;
        }
    });
    download(rx, "text/csv; charset=utf-8", "audit.csv")
}
