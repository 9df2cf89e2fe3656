//! The summary downloads of a resource, a group and a user, and the audit export: the same CSV
//! as the JSON API's (`autolock_core::service::Download`), through the session.

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;

use autolock_core::ids::{GroupId, ResourceId, UserId};
use autolock_core::service::{DownloadFormat, DownloadOf, ReportScope};

use super::audit::AuditQuery;
use crate::ConsoleState;
use crate::error::PageResult;
use crate::extract::PagePath;
use crate::viewer::Viewer;

/// Opens the download and streams it as an attachment, a chunk when the browser is ready for
/// it; a refusal or a missing object is answered by its page before any byte is sent.
async fn attachment(state: &ConsoleState, viewer: &Viewer, of: DownloadOf) -> PageResult<Response> {
    let download = state
        .app()
        .reports()
        .download(&viewer.principal, of, DownloadFormat::Csv, state.now())
        .await?;
    let headers = [
        (header::CONTENT_TYPE, download.content_type().to_owned()),
        (header::CONTENT_DISPOSITION, download.disposition()),
    ];
    let chunks = download.into_stream().map_err(|e| {
        tracing::warn!(error = %autolock_core::error::chain(&e), "download ended early");
        std::io::Error::other(e.to_string())
    });
    Ok((headers, Body::from_stream(chunks)).into_response())
}

/// `GET /resources/{id}/summary.csv`.
pub async fn resource_summary(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    PagePath(id): PagePath<ResourceId>,
) -> PageResult<Response> {
    let of = DownloadOf::Report(ReportScope::Resource(id));
    attachment(&state, &viewer, of).await
}

/// `GET /groups/{id}/summary.csv`.
pub async fn group_summary(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    PagePath(id): PagePath<GroupId>,
) -> PageResult<Response> {
    attachment(&state, &viewer, DownloadOf::Report(ReportScope::Group(id))).await
}

/// `GET /users/{id}/summary.csv`.
pub async fn user_summary(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    PagePath(id): PagePath<UserId>,
) -> PageResult<Response> {
    attachment(&state, &viewer, DownloadOf::Report(ReportScope::User(id))).await
}

/// `GET /audit/export.csv`: the entries the filters of the audit page name.
pub async fn audit_export(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Query(q): Query<AuditQuery>,
) -> PageResult<Response> {
    attachment(&state, &viewer, DownloadOf::Audit(q.filter())).await
}
