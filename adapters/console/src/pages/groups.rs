//! Groups: the list, and a group's page — its members (add, remove), the resources it has
//! access to with their duration, approval and expiry, and the summary download.

use axum::extract::{Query, State};
use axum::response::{Redirect, Response};
use maud::html;
use serde::Deserialize;

use autolock_core::authz::{Capability, may};
use autolock_core::exemption::ExemptionFilter;
use autolock_core::ids::{GroupId, UserId};
use autolock_core::ports::PageRequest;

use super::{ListQuery, NoFields, Notice, PageQuery, after, flash};
use crate::ConsoleState;
use crate::error::PageResult;
use crate::extract::PagePath;
use crate::layout::{self, Section, approval_label, csrf_field, duration_label, when};
use crate::session::Csrf;
use crate::viewer::Viewer;

/// `GET /groups`.
pub async fn list(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> PageResult<Response> {
    let page = PageRequest {
        after: q.cursor,
        limit: 100,
    };
    let groups = state
        .app()
        .directory()
        .groups(&viewer.principal, &page)
        .await?;
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
    Ok(layout::render(&state, &viewer, Section::Groups, "Groups", body).await)
}

/// `GET /groups/{id}`.
pub async fn page(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    PagePath(id): PagePath<GroupId>,
    Query(q): Query<PageQuery>,
) -> PageResult<Response> {
    let app = state.app();
    let actor = &viewer.principal;
    let group = app.directory().group(actor, &id).await?;
    let may_admin = may(actor, Capability::Administer);
    let users = app
        .directory()
        .users(actor, &PageRequest::first(1000))
        .await?
        .items;
    let name_of = |id: &UserId| {
        users
            .iter()
            .find(|u| &u.id == id)
            .map(|u| u.display_name.to_string())
    };
    let exempt = app
        .exemptions()
        .list_exemptions(
            actor,
            &ExemptionFilter::Group(id.clone()),
            false,
            state.now(),
        )
        .await?;
    let grant_choices = group
        .grants
        .iter()
        .map(|g| (g.id.clone(), format!("{} on {}", id, g.resource_id)))
        .collect();
    let here = format!("/groups/{id}");
    let body = html! {
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
    };
    Ok(layout::render(&state, &viewer, Section::Groups, "Group", body).await)
}

/// The add-member form.
#[derive(Debug, Deserialize)]
pub struct MemberForm {
    user_id: UserId,
}

/// `POST /groups/{id}/members`.
pub async fn add_member(
    State(state): State<ConsoleState>,
    PagePath(group): PagePath<GroupId>,
    Csrf(viewer, f): Csrf<MemberForm>,
) -> PageResult<Redirect> {
    state
        .app()
        .directory()
        .add_member(&viewer.principal, &group, &f.user_id, state.now())
        .await?;
    Ok(after(&format!("/groups/{group}"), Notice::MemberAdded))
}

/// `POST /groups/{id}/members/{user}/remove`.
pub async fn remove_member(
    State(state): State<ConsoleState>,
    PagePath((group, user)): PagePath<(GroupId, UserId)>,
    Csrf(viewer, NoFields {}): Csrf<NoFields>,
) -> PageResult<Redirect> {
    state
        .app()
        .directory()
        .remove_member(&viewer.principal, &group, &user, state.now())
        .await?;
    Ok(after(&format!("/groups/{group}"), Notice::MemberRemoved))
}
