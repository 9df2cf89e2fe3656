//! Groups: the list, and a group's page — its members (add, remove), the resources it has
//! access to with their duration, approval and expiry, and the summary download.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use autolock_core::Error;
use autolock_core::authz::{Capability, may};
use autolock_core::exemption::ExemptionFilter;
use autolock_core::ids::{GroupId, UserId};
use autolock_core::ports::PageRequest;

use super::{ListQuery, Notice, PageQuery, after, flash, or_error};
use crate::ConsoleState;
use crate::layout::{self, Section, approval_label, csrf_field, duration_label, when};
use crate::session::Viewer;

/// `GET /groups`.
pub async fn list(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> Response {
    let page = PageRequest {
        after: q.cursor,
        limit: 100,
    };
    let groups = match state
        .app()
        .directory()
        .groups(&viewer.principal, &page)
        .await
    {
        Ok(g) => g,
        Err(e) => return layout::error_page(Some(&viewer), &e),
    };
    let body = html! {
        h1 { "Groups" }
        div.table { table {
            thead { tr { th { "Group" } th { "Created" } } }
            tbody {
                @for g in &groups.items {
                    tr { td { a href={ "/groups/" (g.id) } { (g.name) } br; span.muted.small { (g.id) } }
                         td { (when(Some(g.created_at))) } }
                }
                @if groups.items.is_empty() { tr { td colspan="2" .muted { "No groups yet." } } }
            }
        } }
        (layout::next_page("/groups?", groups.next.as_deref()))
    };
    layout::render(&state, &viewer, Section::Groups, "Groups", body).await
}

/// `GET /groups/{id}`.
pub async fn page(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let body = async {
        let id = or_error(GroupId::parse(id).map_err(Error::from), &viewer)?;
        let app = state.app();
        let actor = &viewer.principal;
        let group = or_error(app.directory().group(actor, &id).await, &viewer)?;
        let may_admin = may(actor, Capability::Administer);
        let users = or_error(
            app.directory()
                .users(actor, &PageRequest::first(1000))
                .await,
            &viewer,
        )?
        .items;
        let name_of = |id: &UserId| {
            users
                .iter()
                .find(|u| &u.id == id)
                .map(|u| u.display_name.to_string())
        };
        let exempt = or_error(
            app.exemptions()
                .list_exemptions(
                    actor,
                    &ExemptionFilter::Group(id.clone()),
                    false,
                    state.now(),
                )
                .await,
            &viewer,
        )?;
        let grant_choices = group
            .grants
            .iter()
            .map(|g| (g.id.clone(), format!("{} on {}", id, g.resource_id)))
            .collect();
        let here = format!("/groups/{id}");
        Ok::<_, Response>(html! {
            p.small { a href="/groups" { "← Groups" } }
            h1 { (group.group.name) " " span.muted.small { (group.group.id) } }
            (flash(q.notice.as_deref()))
            p { a href={ (here) "/summary.csv" } download { "Download summary (CSV)" } }
            h2 { "Members (" (group.members.len()) ")" }
            div.table { table {
                thead { tr { th { "User" } th { "" } } }
                tbody {
                    @for m in &group.members {
                        tr { td { a href={ "/users/" (m) } { (name_of(m).unwrap_or_else(|| m.to_string())) } " " span.muted.small { (m) } }
                             td.actions { @if may_admin {
                                form.inline method="post" action={ (here) "/members/" (m) "/remove" } {
                                    (csrf_field(&viewer))
                                    button.danger type="submit" aria-label={ "Remove " (m) " from " (id) } { "Remove" }
                                }
                             } } }
                    }
                    @if group.members.is_empty() { tr { td colspan="2" .muted { "No members." } } }
                }
            } }
            @if may_admin {
                form method="post" action={ (here) "/members" } .row {
                    (csrf_field(&viewer))
                    div { label for="member" { "Add a member" }
                        select #member name="user_id" required {
                            @for u in users.iter().filter(|u| !group.members.contains(&u.id)) {
                                option value=(u.id) { (u.display_name) " (" (u.id) ")" }
                            }
                        } }
                    div { button.primary type="submit" { "Add" } }
                }
            }
            h2 { "Access" }
            div.table { table {
                thead { tr { th { "Resource" } th { "Auto-lock" } th { "Approval" } th { "Expires" } } }
                tbody {
                    @for g in &group.grants {
                        tr {
                            td { a href={ "/resources/" (g.resource_id) } { (g.resource_id) } }
                            td { (duration_label(g.effective_policy.auto_lock_after))
                                 @if g.policy_override.auto_lock_after.is_none() { " " span.muted.small { "inherited" } } }
                            td { (approval_label(g.effective_policy.approval))
                                 @if g.policy_override.approval.is_none() { " " span.muted.small { "inherited" } } }
                            td { (when(g.expires_at)) }
                        }
                    }
                    @if group.grants.is_empty() { tr { td colspan="4" .muted { "No access to any resource." } } }
                }
            } }
            (super::exemptions::section(&viewer, &exempt, &here, may(actor, Capability::Operate), super::exemptions::Choices::Grants(grant_choices)))
        })
    };
    layout::render_result(&state, &viewer, Section::Groups, "Group", body.await).await
}

/// The add-member form.
#[derive(Debug, Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user_id: String,
}

/// `POST /groups/{id}/members`.
pub async fn add_member(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<MemberForm>,
) -> Response {
    if !viewer.csrf_ok(&state, &f.csrf) {
        return layout::csrf_refused();
    }
    let result = async {
        let (group, user) = (GroupId::parse(id)?, UserId::parse(f.user_id)?);
        state
            .app()
            .directory()
            .add_member(&viewer.principal, &group, &user, state.now())
            .await?;
        Ok::<_, Error>((group, user))
    };
    match result.await {
        Ok((group, _)) => after(&format!("/groups/{group}"), Notice::MemberAdded),
        Err(e) => layout::error_page(Some(&viewer), &e),
    }
}

/// `POST /groups/{id}/members/{user}/remove`.
pub async fn remove_member(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Path((id, user)): Path<(String, String)>,
    Form(f): Form<super::sign_in::CsrfOnly>,
) -> Response {
    if !viewer.csrf_ok(&state, &f.csrf) {
        return layout::csrf_refused();
    }
    let result = async {
        let (group, user) = (GroupId::parse(id)?, UserId::parse(user)?);
        state
            .app()
            .directory()
            .remove_member(&viewer.principal, &group, &user, state.now())
            .await?;
        Ok::<_, Error>((group, user))
    };
    match result.await {
        Ok((group, _)) => after(&format!("/groups/{group}"), Notice::MemberRemoved),
        Err(e) => layout::error_page(Some(&viewer), &e),
    }
}
