//! The Requests page: open requests across all resources with approve and deny, requests
//! resolved in the last 90 days, and one request opened from a link (highlighted).

use axum::extract::{Query, State};
use axum::response::{Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use autolock_core::authz::may_resolve_for;
use autolock_core::ids::{RequestId, ResourceId, UserId};
use autolock_core::ports::{PageRequest, RequestFilter};
use autolock_core::request::{AccessRequest, RequestStatus, Verdict};
use autolock_core::service::RequestList;

use super::{Notice, after, back, flash};
use crate::ConsoleState;
use crate::error::PageResult;
use crate::extract::PagePath;
use crate::layout::{self, Section, badge, csrf_field, when};
use crate::session::Csrf;
use crate::viewer::Viewer;

/// The page's query.
#[derive(Debug, Deserialize)]
pub struct RequestsQuery {
    user_id: Option<String>,
    access_request_id: Option<String>,
    resource_id: Option<String>,
    notice: Option<String>,
}

/// A table of requests, with approve and deny where the viewer may resolve them.
pub fn table(
    viewer: &Viewer,
    requests: &[AccessRequest],
    highlight: Option<&RequestId>,
    back_to: &str,
) -> Markup {
    html! {
        div.table {
            table {
                thead { tr {
                    th { "Requester" } th { "Resource" } th { "Reason" } th { "Requested" }
                    th { "Status" } th { "" }
                } }
                tbody {
                    @for r in requests {
                        tr id={ "request-" (r.id) } class=(if highlight == Some(&r.id) { "highlight" } else { "" }) {
                            td { a href={ "/users/" (r.user) } { (r.user) } }
                            td { a href={ "/resources/" (r.resource) } { (r.resource) } }
                            td style="white-space:pre-wrap;max-width:24rem" { (r.reason.as_str()) }
                            td { (when(Some(r.requested_at))) br; span.muted.small { "locked " (when(Some(r.locked_at))) } }
                            td {
                                (badge(r.status.as_str()))
                                @if let Some(by) = &r.resolved_by {
                                    br; span.muted.small { "by " (by) ", " (when(r.resolved_at)) }
                                } @else if let Some(at) = r.resolved_at {
                                    br; span.muted.small { (when(Some(at))) }
                                }
                                @if let Some(reason) = r.cancel_reason {
                                    br; span.muted.small { (format!("{reason:?}").to_lowercase()) }
                                }
                            }
                            td.actions {
                                @if r.status == RequestStatus::Open && may_resolve_for(&viewer.principal, &r.user) {
                                    form.inline method="post" action={ "/access-requests/" (r.id) "/approve" } {
                                        (csrf_field(viewer))
                                        input type="hidden" name="back" value=(back_to);
                                        button.primary type="submit" aria-label={ "Approve the request of " (r.user) " for " (r.resource) } { "Approve" }
                                    }
                                    " "
                                    form.inline method="post" action={ "/access-requests/" (r.id) "/deny" } {
                                        (csrf_field(viewer))
                                        input type="hidden" name="back" value=(back_to);
                                        button.danger type="submit" aria-label={ "Deny the request of " (r.user) " for " (r.resource) } { "Deny" }
                                    }
                                }
                            }
                        }
                    }
                    @if requests.is_empty() {
                        tr { td colspan="6" .muted { "None." } }
                    }
                }
            }
        }
    }
}

/// The open requests of a user or on a resource (the first 200), for the Users and Resources
/// pages.
pub(crate) async fn open_of(
    state: &ConsoleState,
    viewer: &Viewer,
    filter: RequestFilter,
) -> PageResult<Vec<AccessRequest>> {
    let page = PageRequest::first(200);
    let list = state
        .app()
        .requests()
        .requests(
            &viewer.principal,
            RequestList::Open,
            filter,
            &page,
            state.now(),
        )
        .await?;
    Ok(list.items)
}

/// `GET /access-requests`.
pub async fn page(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Query(q): Query<RequestsQuery>,
) -> PageResult<Response> {
    let parse = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
    let wanted = parse(&q.access_request_id).and_then(|id| RequestId::parse(id).ok());
    // A link to one request names its requester too: the lists stay whole around it.
    let filter = RequestFilter {
        user: parse(&q.user_id)
            .filter(|_| wanted.is_none())
            .and_then(|u| UserId::parse(u).ok()),
        resource: parse(&q.resource_id).and_then(|r| ResourceId::parse(r).ok()),
    };
    let app = state.app();
    let now = state.now();
    let queue = app
        .requests()
        .queue(
            &viewer.principal,
            filter.clone(),
            &PageRequest::first(200),
            now,
        )
        .await?;
    let (open, resolved) = (queue.open, queue.resolved);
    // A request opened from a link shows first, whatever its state.
    let opened = match &wanted {
        Some(id) => Some(app.requests().request(&viewer.principal, id).await),
        None => None,
    };
    let here = "/access-requests";
    let body = html! {
        h1 { "Access requests" }
        (flash(q.notice.as_deref()))
        @if filter.user.is_some() || filter.resource.is_some() {
            p.muted {
                "Showing requests"
                @if let Some(u) = &filter.user { " of " strong { (u) } }
                @if let Some(r) = &filter.resource { " on " strong { (r) } }
                ". " a href="/access-requests" { "Show all" }
            }
        }
        @match &opened {
            Some(Ok(r)) => {
                h2 { "This request" }
                (table(&viewer, std::slice::from_ref(r), wanted.as_ref(), here))
            }
            Some(Err(_)) => {
                div.flash.error role="alert" { "That request does not exist (any more): requests are kept 90 days after they are resolved." }
            }
            None => {}
        }
        h2 { "Open (" (open.items.len()) ")" }
        (table(&viewer, &open.items, wanted.as_ref(), here))
        h2 { "Resolved in the last 90 days" }
        (table(&viewer, &resolved.items, wanted.as_ref(), here))
    };
    Ok(layout::render(&state, &viewer, Section::Requests, "Access requests", body).await)
}

/// An approve or deny form.
#[derive(Debug, Deserialize)]
pub struct VerdictForm {
    back: Option<String>,
}

/// `POST /access-requests/{id}/approve|deny`.
pub async fn resolve(
    State(state): State<ConsoleState>,
    PagePath((id, verdict)): PagePath<(RequestId, Verdict)>,
    Csrf(viewer, f): Csrf<VerdictForm>,
) -> PageResult<Redirect> {
    let r = state
        .app()
        .requests()
        .resolve(&viewer.principal, &id, verdict, state.now())
        .await?;
    Ok(after(
        &back(f.back.as_deref(), "/access-requests"),
        if r.status == RequestStatus::Denied {
            Notice::RequestDenied
        } else {
            Notice::RequestApproved
        },
    ))
}
