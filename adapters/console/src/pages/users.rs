//! Users: the list, and a user's page — every right with its state and why, Unlock (with a
//! confirmation) where the viewer may, the user's open requests with approve and deny,
//! activation, and the summary download.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use autolock_core::Error;
use autolock_core::authz::{Capability, may};
use autolock_core::exemption::ExemptionFilter;
use autolock_core::ids::{ResourceId, UserId};
use autolock_core::lock::RightState;
use autolock_core::ports::{PageRequest, RequestFilter};
use autolock_core::service::{RequestList, UserPatch};

use super::{ListQuery, Notice, PageQuery, after, flash, or_error};
use crate::ConsoleState;
use crate::layout::{
    self, Section, badge, csrf_field, duration_label, role_label, state_cell, when,
};
use crate::session::Viewer;

/// `GET /users`.
pub async fn list(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> Response {
    let page = PageRequest {
        after: q.cursor,
        limit: 100,
    };
    let users = match state
        .app()
        .directory()
        .users(&viewer.principal, &page)
        .await
    {
        Ok(u) => u,
        Err(e) => return layout::error_page(Some(&viewer), &e),
    };
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
    layout::render(&state, &viewer, Section::Users, "Users", body).await
}

/// `GET /users/{id}`.
pub async fn page(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let body = async {
        let id = or_error(UserId::parse(id).map_err(Error::from), &viewer)?;
        let app = state.app();
        let actor = &viewer.principal;
        let now = state.now();
        let user = or_error(app.directory().user(actor, &id).await, &viewer)?;
        let rights = or_error(app.rights().rights_of_user(actor, &id, now).await, &viewer)?;
        let filter = RequestFilter {
            user: Some(id.clone()),
            resource: None,
        };
        let open = or_error(
            app.requests()
                .requests(
                    actor,
                    RequestList::Open,
                    filter,
                    &PageRequest::first(200),
                    now,
                )
                .await,
            &viewer,
        )?;
        let exempt = or_error(
            app.exemptions()
                .list_exemptions(actor, &ExemptionFilter::User(id.clone()), false, now)
                .await,
            &viewer,
        )?;
        let held: Vec<ResourceId> = rights
            .iter()
            .filter(|r| !r.paths.is_empty())
            .map(|r| r.resource.clone())
            .collect();
        let may_unlock = may(actor, Capability::Operate) && actor.id != id;
        let may_admin = may(actor, Capability::Administer);
        let here = format!("/users/{id}");
        Ok::<_, Response>(html! {
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
            (super::requests::table(&viewer, &open.items, None, &here))
        })
    };
    layout::render_result(&state, &viewer, Section::Users, "User", body.await).await
}

/// `POST /users/{id}/rights/{resource}/unlock`.
pub async fn unlock(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Path((id, resource)): Path<(String, String)>,
    Form(f): Form<super::sign_in::CsrfOnly>,
) -> Response {
    if !viewer.csrf_ok(&state, &f.csrf) {
        return layout::csrf_refused();
    }
    let result = async {
        let (user, resource) = (UserId::parse(id)?, ResourceId::parse(resource)?);
        state
            .app()
            .requests()
            .unlock(&viewer.principal, &user, &resource, state.now())
            .await?;
        Ok::<_, Error>((user, resource))
    };
    match result.await {
        Ok((user, _)) => after(&format!("/users/{user}"), Notice::Unlocked),
        Err(e) => layout::error_page(Some(&viewer), &e),
    }
}

/// The activation form.
#[derive(Debug, Deserialize)]
pub struct ActiveForm {
    #[serde(default)]
    csrf: String,
    active: bool,
}

/// `POST /users/{id}/active`.
pub async fn set_active(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<ActiveForm>,
) -> Response {
    if !viewer.csrf_ok(&state, &f.csrf) {
        return layout::csrf_refused();
    }
    let result = async {
        let user = UserId::parse(id)?;
        let patch = UserPatch {
            active: Some(f.active),
            ..UserPatch::default()
        };
        state
            .app()
            .directory()
            .patch_user(&viewer.principal, &user, patch, state.now())
            .await
    };
    match result.await {
        Ok(user) => after(
            &format!("/users/{}", user.id),
            if user.active {
                Notice::Reactivated
            } else {
                Notice::Deactivated
            },
        ),
        Err(e) => layout::error_page(Some(&viewer), &e),
    }
}

/// `POST /users/{id}/sessions/end`: ends every console session of the user (admin).
pub async fn end_sessions(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<super::sign_in::CsrfOnly>,
) -> Response {
    if !viewer.csrf_ok(&state, &f.csrf) {
        return layout::csrf_refused();
    }
    let result = async {
        let user = UserId::parse(id)?;
        state
            .app()
            .sessions()
            .end_sessions(&viewer.principal, &user, chrono::Utc::now(), state.now())
            .await?;
        Ok::<_, autolock_core::error::Error>(user)
    };
    match result.await {
        Ok(user) => after(&format!("/users/{user}"), Notice::SessionsEnded),
        Err(e) => layout::error_page(Some(&viewer), &e),
    }
}
