//! Users: the list, and a user's page — every right with its state and why, Unlock (with a
//! confirmation) where the viewer may, the user's open requests with approve and deny,
//! activation, and the summary download.

use axum::extract::{Query, State};
use axum::response::{Redirect, Response};
use maud::html;
use serde::Deserialize;

use autolock_core::authz::{Capability, may};
use autolock_core::exemption::ExemptionFilter;
use autolock_core::ids::{ResourceId, UserId};
use autolock_core::lock::RightState;
use autolock_core::ports::{PageRequest, RequestFilter};
use autolock_core::service::UserPatch;

use super::{ListQuery, NoFields, Notice, PageQuery, after, flash};
use crate::ConsoleState;
use crate::error::PageResult;
use crate::extract::PagePath;
use crate::layout::{
    self, Section, badge, csrf_field, duration_label, role_label, state_cell, when,
};
use crate::session::Csrf;
use crate::viewer::Viewer;

/// `GET /users`.
pub async fn list(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> PageResult<Response> {
    let page = PageRequest {
        after: q.cursor,
        limit: 100,
    };
    let users = state
        .app()
        .directory()
        .users(&viewer.principal, &page)
        .await?;
    let body = html! {
        h1 { "Users" }
        div.table { table {
            thead { tr { th { "User" } th { "Email" } th { "Role" } th { "Status" } } }
            tbody {
                @for u in &users.items {
                    tr {
                        td { a href={ "/users/" (u.id) } { (u.display_name) } br; span.muted.small { (u.id) } }
                        td.small { (u.email) }
                        td { (role_label(u.role)) }
                        td { @if u.active { (badge("active")) } @else { (badge("inactive")) } }
                    }
                }
            }
        } }
        (layout::next_page("/users?", users.next.as_deref()))
    };
    Ok(layout::render(&state, &viewer, Section::Users, "Users", body).await)
}

/// `GET /users/{id}`.
pub async fn page(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    PagePath(id): PagePath<UserId>,
    Query(q): Query<PageQuery>,
) -> PageResult<Response> {
    let app = state.app();
    let actor = &viewer.principal;
    let now = state.now();
    let user = app.directory().user(actor, &id).await?;
    let rights = app.rights().rights_of_user(actor, &id, now).await?;
    let filter = RequestFilter {
        user: Some(id.clone()),
        resource: None,
    };
    let open = super::requests::open_of(&state, &viewer, filter).await?;
    let exempt = app
        .exemptions()
        .list_exemptions(actor, &ExemptionFilter::User(id.clone()), false, now)
        .await?;
    let held: Vec<ResourceId> = rights
        .iter()
        .filter(|r| !r.paths.is_empty())
        .map(|r| r.resource.clone())
        .collect();
    let may_unlock = may(actor, Capability::Operate) && actor.id != id;
    let may_admin = may(actor, Capability::Administer);
    let here = format!("/users/{id}");
    let body = html! {
        p.small { a href="/users" { "← Users" } }
        h1 { (user.display_name) " " span.muted.small { (user.id) } }
        (flash(q.notice.as_deref()))
        p {
            (user.email) " · " (role_label(user.role)) " · "
            @if user.active { (badge("active")) } @else { (badge("inactive")) }
            " · " a href={ (here) "/summary.csv" } download { "Download summary (CSV)" }
        }
        @if !user.active {
            p.flash.error { "This user is deactivated: every gateway denies them, whatever their rights." }
        }
        @if may_admin && actor.id != id {
            form.inline method="post" action={ (here) "/sessions/end" } {
                (csrf_field(&viewer))
                button type="submit" { "End their console sessions" }
            }
            " "
            form.inline method="post" action={ (here) "/active" } {
                (csrf_field(&viewer))
                @if user.active {
                    input type="hidden" name="active" value="false";
                    button.danger type="submit" { "Deactivate" }
                } @else {
                    input type="hidden" name="active" value="true";
                    button.primary type="submit" { "Reactivate" }
                }
            }
        }
        h2 { "Access" }
        div.table { table {
            thead { tr { th { "Resource" } th { "State" } th { "Through" } th { "Last access" } th { "" } } }
            tbody {
                @for r in &rights {
                    tr {
                        td { a href={ "/resources/" (r.resource) } { (r.resource) } }
                        td { (state_cell(&r.state)) }
                        td.small { @for p in &r.paths {
                            a href={ "/groups/" (p.group) } { (p.group) } " (" (duration_label(p.policy.auto_lock_after)) ") "
                            @if let Some(until) = p.exempt_until { span.badge { "exempt until " (when(Some(until))) } " " } } }
                        td { (when(r.last_access)) }
                        td {
                            @if may_unlock && matches!(r.state, RightState::Locked { .. }) {
                                details.menu {
                                    summary aria-label={ "Unlock " (id) " on " (r.resource) } { "Unlock…" }
                                    div {
                                        p { "Unlock " strong { (user.display_name) } " on " strong { (r.resource) } " now?" }
                                        form method="post" action={ (here) "/rights/" (r.resource) "/unlock" } {
                                            (csrf_field(&viewer))
                                            button.primary type="submit" { "Yes, unlock" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if rights.is_empty() { tr { td colspan="5" .muted { "No access to any resource." } } }
            }
        } }
        (super::exemptions::section(&viewer, &exempt, &here, may(actor, Capability::Operate), super::exemptions::Choices::Rights(&id, held)))
        h2 { "Open requests" }
        (super::requests::table(&viewer, &open, None, &here))
    };
    Ok(layout::render(&state, &viewer, Section::Users, "User", body).await)
}

/// `POST /users/{id}/rights/{resource}/unlock`.
pub async fn unlock(
    State(state): State<ConsoleState>,
    PagePath((user, resource)): PagePath<(UserId, ResourceId)>,
    Csrf(viewer, NoFields {}): Csrf<NoFields>,
) -> PageResult<Redirect> {
    state
        .app()
        .requests()
        .unlock(&viewer.principal, &user, &resource, state.now())
        .await?;
    Ok(after(&format!("/users/{user}"), Notice::Unlocked))
}

/// The activation form.
#[derive(Debug, Deserialize)]
pub struct ActiveForm {
    active: bool,
}

/// `POST /users/{id}/active`.
pub async fn set_active(
    State(state): State<ConsoleState>,
    PagePath(user): PagePath<UserId>,
    Csrf(viewer, f): Csrf<ActiveForm>,
) -> PageResult<Redirect> {
    let patch = UserPatch {
        active: Some(f.active),
        ..UserPatch::default()
    };
    let user = state
        .app()
        .directory()
        .patch_user(&viewer.principal, &user, patch, state.now())
        .await?;
    let notice = if user.active {
        Notice::Reactivated
    } else {
        Notice::Deactivated
    };
    Ok(after(&format!("/users/{}", user.id), notice))
}

/// `POST /users/{id}/sessions/end`: ends every console session of the user (admin).
pub async fn end_sessions(
    State(state): State<ConsoleState>,
    PagePath(user): PagePath<UserId>,
    Csrf(viewer, NoFields {}): Csrf<NoFields>,
) -> PageResult<Redirect> {
    state
        .app()
        .sessions()
        .end_sessions(&viewer.principal, &user, state.real_now(), state.now())
        .await?;
    Ok(after(&format!("/users/{user}"), Notice::SessionsEnded))
}
