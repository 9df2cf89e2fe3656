//! My access, for everyone: one's own rights, their state and next lock, the request form for a
//! locked right (the block page's), and one's own requests.

use axum::extract::{Query, State};
use axum::response::{Redirect, Response};
use maud::html;
use serde::Deserialize;

use autolock_core::ids::ResourceId;
use autolock_core::lock::RightState;
use autolock_core::policy::ApprovalMode;
use autolock_core::ports::{PageRequest, RequestFilter};
use autolock_core::request::RequestStatus;
use autolock_core::service::RequestList;
use autolock_core::values::Reason;

use super::{Notice, PageQuery, after, flash};
use crate::ConsoleState;
use crate::error::PageResult;
use crate::layout::{self, Section, csrf_field, state_cell, when};
use crate::session::Csrf;
use crate::viewer::Viewer;

/// `GET /me`.
pub async fn page(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Query(q): Query<PageQuery>,
) -> PageResult<Response> {
    let app = state.app();
    let me = &viewer.principal;
    let now = state.now();
    let rights = app.rights().rights_of_user(me, &me.id, now).await?;
    let mine = RequestFilter {
        user: Some(me.id.clone()),
        resource: None,
    };
    let page = PageRequest::first(100);
    let open = app
        .requests()
        .requests(me, RequestList::Open, mine.clone(), &page, now)
        .await?;
    let resolved = app
        .requests()
        .requests(me, RequestList::Resolved, mine, &page, now)
        .await?;
    let body = html! {
        h1 { "My access" }
        (flash(q.notice.as_deref()))
        div.table { table {
            thead { tr { th { "Resource" } th { "State" } th { "Last access" } } }
            tbody {
                @for r in &rights {
                    tr {
                        td { (r.resource) }
                        td {
                            (state_cell(&r.state))
                            @if let Some(until) = r.paths.iter().filter_map(|p| p.exempt_until).max() {
                                p.small.muted { "Exempt from auto-lock until " (when(Some(until))) "." }
                            }
                            @if matches!(r.state, RightState::Locked { .. }) {
                                @if r.open_request.is_some() {
                                    p.small.muted { "Your request is waiting for an approver." }
                                } @else {
                                    form method="post" action="/me/requests" style="margin-top:.5rem" {
                                        (csrf_field(&viewer))
                                        input type="hidden" name="resource_id" value=(r.resource);
                                        label for={ "reason-" (r.resource) } { "Why do you need access to " (r.resource) "?" }
                                        textarea id={ "reason-" (r.resource) } name="reason" maxlength="1000" required {}
                                        @if matches!(r.state, RightState::Locked { approval: ApprovalMode::Automatic, .. }) {
                                            button.primary type="submit" { "Get back in" }
                                        } @else {
                                            button.primary type="submit" { "Ask an approver" }
                                        }
                                    }
                                }
                            }
                        }
                        td { (when(r.last_access)) }
                    }
                }
                @if rights.is_empty() { tr { td colspan="3" .muted { "You have no access to any resource." } } }
            }
        } }
        h2 { "My requests" }
        div.table { table {
            thead { tr { th { "Resource" } th { "Reason" } th { "Requested" } th { "Status" } } }
            tbody {
                @for r in open.items.iter().chain(&resolved.items) {
                    tr {
                        td { (r.resource) }
                        td style="white-space:pre-wrap" { (r.reason.as_str()) }
                        td { (when(Some(r.requested_at))) }
                        td { (layout::badge(r.status.as_str())) @if let Some(at) = r.resolved_at { br; span.muted.small { (when(Some(at))) } } }
                    }
                }
                @if open.items.is_empty() && resolved.items.is_empty() { tr { td colspan="4" .muted { "None." } } }
            }
        } }
        h2 { "Sessions" }
        form.everywhere method="post" action="/sign-out" {
            (layout::csrf_field(&viewer))
            input type="hidden" name="scope" value="everywhere";
            p { button type="submit" { "Sign out everywhere" } " "
                span.small.muted { "Ends your console sessions in every browser, this one included." } }
        }
    };
    Ok(layout::render(&state, &viewer, Section::Me, "My access", body).await)
}

/// The request form.
#[derive(Debug, Deserialize)]
pub struct RequestForm {
    resource_id: ResourceId,
    #[serde(default)]
    reason: String,
}

/// `POST /me/requests`: a reason that does not do is asked again on the page, as a note.
pub async fn file_request(
    State(state): State<ConsoleState>,
    Csrf(viewer, f): Csrf<RequestForm>,
) -> PageResult<Redirect> {
    let Ok(reason) = Reason::parse(&f.reason) else {
        return Ok(after("/me", Notice::ReasonNeeded));
    };
    let filed = state
        .app()
        .requests()
        .file_request(&viewer.principal, &f.resource_id, reason, state.now())
        .await?;
    Ok(if filed.request.status == RequestStatus::AutoApproved {
        after("/me", Notice::AccessRestored)
    } else {
        after("/me", Notice::RequestSent)
    })
}
