//! The summary downloads of a resource, a group and a user, and the audit export: the same CSV
//! as the JSON API's (`autolock_core::service::Download`), through the session.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;

use autolock_core::Error;
use autolock_core::ids::{GroupId, ResourceId, UserId};
use autolock_core::service::{DownloadFormat, DownloadOf, ReportScope};

use super::audit::AuditQuery;
use crate::ConsoleState;
use crate::layout;
use crate::session::Viewer;

/// Opens the download and streams it as an attachment, a chunk when the browser is ready for
/// it; a refusal or a missing object is answered by its page before any byte is sent.
async fn attachment(state: &ConsoleState, viewer: &Viewer, of: DownloadOf) -> Response {
    let download = match state
        .app()
        .reports()
        .download(&viewer.principal, of, DownloadFormat::Csv, state.now())
        .await
    {
        Ok(d) => d,
        Err(e) => return layout::error_page(Some(viewer), &e),
    };
    let headers = [
        (header::CONTENT_TYPE, download.content_type().to_owned()),
        (header::CONTENT_DISPOSITION, download.disposition()),
    ];
    let chunks = download.into_stream().map_err(|e| {
        tracing::warn!(error = %e, "download ended early");
        std::io::Error::other(e.to_string())
    });
    (headers, Body::from_stream(chunks)).into_response()
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
            attachment(
                &state,
                &viewer,
                DownloadOf::Report(ReportScope::Resource(id)),
            )
            .await
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
        Ok(id) => attachment(&state, &viewer, DownloadOf::Report(ReportScope::Group(id))).await,
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
        Ok(id) => attachment(&state, &viewer, DownloadOf::Report(ReportScope::User(id))).await,
        Err(_) => not_found(&viewer, "user"),
    }
}

/// `GET /audit/export.csv`: the entries the filters of the audit page name.
pub async fn audit_export(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Query(q): Query<AuditQuery>,
) -> Response {
    attachment(&state, &viewer, DownloadOf::Audit(q.filter())).await
}
