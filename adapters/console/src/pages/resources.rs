//! Resources: the list, and a resource's page — its auto-lock policy (previewed before it is
//! saved), the groups with access (each with an options menu for its duration, approval and
//! expiry), adding a group, the users with their state, the open requests, the analytics over a
//! window and the summary download.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, TimeZone, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use autolock_core::Timestamp;
use autolock_core::ValidationError;
use autolock_core::authz::{Capability, may};
use autolock_core::directory::{Group, Resource};
use autolock_core::exemption::ExemptionFilter;
use autolock_core::ids::{GroupId, ResourceId};
use autolock_core::policy::{
    ApprovalMode, AutoLockAfter, FieldPatch, OverridePatch, PolicyOverride, PolicyPatch,
};
use autolock_core::ports::{PageRequest, RequestFilter};
use autolock_core::service::{Analytics, GrantView, NewGrant, Preview, PreviewTarget, RightView};

use super::{ListQuery, Notice, after, flash};
use crate::ConsoleState;
use crate::error::PageResult;
use crate::extract::PagePath;
use crate::layout::{
    self, Section, approval_label, approval_options, csrf_field, duration_label, duration_options,
    state_cell, when,
};
use crate::session::Csrf;
use crate::viewer::Viewer;

/// `GET /resources`.
pub async fn list(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> PageResult<Response> {
    let page = PageRequest {
        after: q.cursor,
        limit: 100,
    };
    let resources = state
        .app()
        .directory()
        .resources(&viewer.principal, &page)
        .await?;
    let body = html! {
        h1 { "Resources" }
        p { a href="/policies" { "Policies as code" } " — every policy as one file: download it, edit, plan and apply." }
        div.table { table {
            thead { tr { th { "Resource" } th { "Address" } th { "Auto-lock" } th { "Approval" } } }
            tbody {
                @for r in &resources.items {
                    tr {
                        td { a href={ "/resources/" (r.id) } { (r.name) } br; span.muted.small { (r.id) } }
                        td.small { (r.address) }
                        td { (duration_label(r.policy.auto_lock_after)) }
                        td { (approval_label(r.policy.approval)) }
                    }
                }
                @if resources.items.is_empty() { tr { td colspan="4" .muted { "No resources yet." } } }
            }
        } }
        (layout::next_page("/resources?", resources.next.as_deref()))
    };
    Ok(layout::render(&state, &viewer, Section::Resources, "Resources", body).await)
}

/// `?window=&notice=`.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    window: Option<i64>,
    notice: Option<String>,
}

/// `GET /resources/{id}`.
pub async fn page(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    PagePath(id): PagePath<ResourceId>,
    Query(q): Query<PageQuery>,
) -> PageResult<Response> {
    let extras = Extras {
        window: q.window,
        preview: None,
        notice: q.notice,
    };
    render(&state, &viewer, &id, extras).await
}

fn parse_duration(field: &str, text: &str) -> Result<FieldPatch<AutoLockAfter>, ValidationError> {
    match text {
        "inherit" => Ok(FieldPatch::Inherit),
        t => AutoLockAfter::parse(t)
            .map(FieldPatch::Set)
            .map_err(|e| e.in_field(field)),
    }
}

fn parse_approval(field: &str, text: &str) -> Result<FieldPatch<ApprovalMode>, ValidationError> {
    match text {
        "inherit" => Ok(FieldPatch::Inherit),
        t => ApprovalMode::parse(t)
            .map(FieldPatch::Set)
            .map_err(|e| e.in_field(field)),
    }
}

/// A date of a form (`yyyy-mm-dd`), as the instant it begins; empty is none.
fn parse_date(text: &str) -> Result<Option<Timestamp>, ValidationError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let t = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Utc.from_utc_datetime(&t))
        .ok_or_else(|| ValidationError::new("expires_on", "must be a date like 2026-03-01"))?;
    Ok(Some(autolock_core::values::instant::check(
        "expires_on",
        t,
    )?))
}

fn date_value(t: Option<Timestamp>) -> String {
    t.map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

fn preview_table(p: &Preview) -> Markup {
    let groups = [
        ("within a day", &p.within_1_day),
        ("within 7 days", &p.within_7_days),
        ("within 30 days", &p.within_30_days),
    ];
    html! {
        p.muted.small { "Nobody locks at once: " (p.grace) "." }
        div.stats {
            @for (label, locks) in groups {
                div.card { div.n { (locks.len()) } div.muted { "would lock " (label) } }
            }
        }
        @if !p.within_30_days.is_empty() {
            div.table { table {
                thead { tr { th { "User" } th { "Would lock" } th { "Under the current policy" } } }
                tbody { @for l in &p.within_30_days {
                    tr { td { a href={ "/users/" (l.user) } { (l.user) } } td { (when(Some(l.lock_at))) } td { (when(l.today)) } }
                } }
            } }
        }
    }
}

/// What the Resource page shows besides the resource itself.
struct Extras {
    /// The analytics window, in days.
    window: Option<i64>,
    /// A proposed policy change and its preview.
    preview: Option<(PolicyPatch, Preview)>,
    /// The note a form left.
    notice: Option<String>,
}

async fn render(
    state: &ConsoleState,
    viewer: &Viewer,
    id: &ResourceId,
    extras: Extras,
) -> PageResult<Response> {
    let app = state.app();
    let actor = &viewer.principal;
    let now = state.now();
    let resource = app.directory().resource(actor, id).await?;
    let grants = app.directory().grants_of_resource(actor, id).await?;
    let rights = app
        .rights()
        .rights_of_resource(actor, id, &PageRequest::first(500), now)
        .await?;
    let filter = RequestFilter {
        user: None,
        resource: Some(id.clone()),
    };
    let open = super::requests::open_of(state, viewer, filter).await?;
    let days = extras
        .window
        .filter(|d| [7, 30, 90].contains(d))
        .unwrap_or(30);
    let analytics = app
        .reports()
        .analytics(actor, id, now - chrono::Duration::days(days), now)
        .await?;
    let may_edit = may(actor, Capability::Operate);
    let groups = if may(actor, Capability::Administer) {
        app.directory()
            .groups(actor, &PageRequest::first(1000))
            .await?
            .items
    } else {
        Vec::new()
    };
    let exempt = app
        .exemptions()
        .list_exemptions(actor, &ExemptionFilter::Resource(id.clone()), false, now)
        .await?;
    let grant_choices = grants
        .iter()
        .map(|g| (g.id.clone(), format!("{} on {}", g.group_id, id)))
        .collect();
    let here = format!("/resources/{id}");
    let body = html! {
        p.small { a href="/resources" { "← Resources" } }
        h1 { (resource.name) " " span.muted.small { (resource.id) } }
        (flash(extras.notice.as_deref()))
        p.muted { "Reached at " (resource.address) " · " a href={ (here) "/summary.csv" } download { "Download summary (CSV)" } }
        (policy_section(viewer, &resource, extras.preview.as_ref()))
        (grants_section(viewer, &resource, &grants, &groups))
        (super::exemptions::section(viewer, &exempt, &here, may_edit, super::exemptions::Choices::Grants(grant_choices)))
        (users_section(&rights.items))
        h2 { "Open requests" }
        (super::requests::table(viewer, &open, None, &here))
        (analytics_section(&here, days, &analytics))
    };
    Ok(layout::render(state, viewer, Section::Resources, id.as_str(), body).await)
}

/// The policy, the form that changes it, and the preview of a proposed change.
fn policy_section(
    viewer: &Viewer,
    resource: &Resource,
    preview: Option<&(PolicyPatch, Preview)>,
) -> Markup {
    html! {
        h2 { "Auto-lock policy" }
        div.card {
            p {
                "Users who have not used " (resource.name) " for "
                strong { (duration_label(resource.policy.auto_lock_after)) }
                " are locked out; they get back in by "
                strong { (approval_label(resource.policy.approval)) } " approval."
            }
            @if may(&viewer.principal, Capability::Operate) {
                (policy_form(viewer, resource, preview.map(|p| &p.0)))
            }
            @if let Some((patch, p)) = preview {
                h2 { "Preview of the change" }
                (preview_table(p))
                form method="post" action={ "/resources/" (resource.id) "/policy" } {
                    (csrf_field(viewer))
                    input type="hidden" name="auto_lock_after" value=(patch.auto_lock_after.unwrap_or(resource.policy.auto_lock_after).to_string());
                    input type="hidden" name="approval" value=(patch.approval.unwrap_or(resource.policy.approval).as_str());
                    input type="hidden" name="action" value="save";
                    button.primary type="submit" { "Save the change" }
                }
            }
        }
    }
}

/// The groups with access, each with its options, and the form that gives one access.
fn grants_section(
    viewer: &Viewer,
    resource: &Resource,
    grants: &[GrantView],
    groups: &[Group],
) -> Markup {
    let may_edit = may(&viewer.principal, Capability::Operate);
    let may_admin = may(&viewer.principal, Capability::Administer);
    let here = format!("/resources/{}", resource.id);
    let granted: Vec<&GroupId> = grants.iter().map(|g| &g.group_id).collect();
    html! {
        h2 { "Groups with access" }
        div.table { table {
            thead { tr { th { "Group" } th { "Auto-lock" } th { "Approval" } th { "Expires" } th { "" } } }
            tbody {
                @for g in grants {
                    @let o = g.policy_override;
                    tr {
                        td { a href={ "/groups/" (g.group_id) } { (g.group_id) } }
                        td { (duration_label(g.effective_policy.auto_lock_after))
                             @if o.auto_lock_after.is_none() { " " span.muted.small { "inherited" } } }
                        td { (approval_label(g.effective_policy.approval))
                             @if o.approval.is_none() { " " span.muted.small { "inherited" } } }
                        td { (when(g.expires_at)) }
                        td {
                            @if may_edit {
                                details.menu {
                                    summary aria-label={ "Options of " (g.group_id) } { "Options ▾" }
                                    div {
                                        form method="post" action={ (here) "/grants/" (g.group_id) } {
                                            (csrf_field(viewer))
                                            (grant_fields(&format!("g-{}", g.group_id), o, resource, may_admin.then_some(g.expires_at)))
                                            p { button.primary type="submit" name="action" value="save" { "Save" }
                                                @if may_admin { " " button.danger type="submit" name="action" value="remove" { "Remove access" } } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if grants.is_empty() { tr { td colspan="5" .muted { "No group has access." } } }
            }
        } }
        @if may_admin {
            details.menu {
                summary { "+ Give a group access" }
                div {
                    form method="post" action={ (here) "/grants" } {
                        (csrf_field(viewer))
                        label for="new-group" { "Group" }
                        select #new-group name="group_id" required {
                            @for g in groups.iter().filter(|g| !granted.contains(&&g.id)) {
                                option value=(g.id) { (g.name) " (" (g.id) ")" }
                            }
                        }
                        (grant_fields("new", PolicyOverride::default(), resource, Some(None)))
                        p { button.primary type="submit" { "Give access" } }
                    }
                }
            }
        }
    }
}

/// The users who hold or held access, with their state.
fn users_section(rights: &[RightView]) -> Markup {
    html! {
        h2 { "Users" }
        div.table { table {
            thead { tr { th { "User" } th { "State" } th { "Last access" } th { "Open request" } } }
            tbody {
                @for r in rights {
                    tr {
                        td { a href={ "/users/" (r.user) } { (r.user) } }
                        td { (state_cell(&r.state)) }
                        td { (when(r.last_access)) }
                        td { @if let Some(req) = &r.open_request {
                            a href={ "/access-requests?user_id=" (r.user) "&access_request_id=" (req) } { "open" } } }
                    }
                }
                @if rights.is_empty() { tr { td colspan="4" .muted { "Nobody has held access yet." } } }
            }
        } }
    }
}

/// The analytics over the last `days`, with the window's picker.
fn analytics_section(here: &str, days: i64, analytics: &Analytics) -> Markup {
    html! {
        h2 { "Analytics" }
        form method="get" action=(here) .row {
            div { label for="window" { "Window" }
                select #window name="window" {
                    @for d in [7i64, 30, 90] { option value=(d) selected[d == days] { "Last " (d) " days" } }
                } }
            div { button type="submit" { "Show" } }
        }
        div.stats style="margin-top:.75rem" {
            div.card { div.n { (analytics.locks) } div.muted { "locks" } }
            @for (status, n) in &analytics.requests_by_outcome {
                div.card { div.n { (n) } div.muted { (status.replace('_', " ")) " requests" } }
            }
            div.card { div.n { (analytics.median_seconds_to_resolution.map_or_else(|| "—".to_owned(), human_seconds)) }
                div.muted { "median time to a person's decision" } }
        }
        @if !analytics.auto_approved.is_empty() {
            h2 { "Automatic approvals and their reasons" }
            div.table { table {
                thead { tr { th { "User" } th { "When" } th { "Reason" } } }
                tbody { @for a in &analytics.auto_approved {
                    tr { td { (a.user) } td { (when(Some(a.at))) } td style="white-space:pre-wrap" { (a.reason) } }
                } }
            } }
        }
    }
}

fn human_seconds(s: i64) -> String {
    match s {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

fn policy_form(viewer: &Viewer, resource: &Resource, proposed: Option<&PolicyPatch>) -> Markup {
    let duration = proposed
        .and_then(|p| p.auto_lock_after)
        .unwrap_or(resource.policy.auto_lock_after);
    let approval = proposed
        .and_then(|p| p.approval)
        .unwrap_or(resource.policy.approval);
    html! {
        form method="post" action={ "/resources/" (resource.id) "/policy" } .row {
            (csrf_field(viewer))
            div { label for="auto_lock_after" { "Lock after" }
                select #auto_lock_after name="auto_lock_after" { (duration_options(Some(duration), None)) } }
            div { label for="approval" { "Approval" }
                select #approval name="approval" { (approval_options(Some(approval), None)) } }
            div { button type="submit" name="action" value="preview" { "Preview the change" } }
        }
    }
}

fn grant_fields(
    prefix: &str,
    o: PolicyOverride,
    resource: &Resource,
    expiry: Option<Option<Timestamp>>,
) -> Markup {
    html! {
        div.row {
            div { label for={ (prefix) "-duration" } { "Lock after" }
                select id={ (prefix) "-duration" } name="auto_lock_after" {
                    (duration_options(o.auto_lock_after, Some(resource.policy.auto_lock_after))) } }
            div { label for={ (prefix) "-approval" } { "Approval" }
                select id={ (prefix) "-approval" } name="approval" {
                    (approval_options(o.approval, Some(resource.policy.approval))) } }
            @if let Some(expires) = expiry {
                div { label for={ (prefix) "-expires" } { "Expires on (empty: never)" }
                    input type="date" id={ (prefix) "-expires" } name="expires_on" value=(date_value(expires)); }
            }
        }
    }
}

/// What the policy form asks for: a preview, or the change saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyAction {
    Preview,
    Save,
}

/// The policy form.
#[derive(Debug, Deserialize)]
pub struct PolicyForm {
    auto_lock_after: AutoLockAfter,
    approval: ApprovalMode,
    action: PolicyAction,
}

/// `POST /resources/{id}/policy`: previews the change, or saves it.
pub async fn policy(
    State(state): State<ConsoleState>,
    PagePath(id): PagePath<ResourceId>,
    Csrf(viewer, f): Csrf<PolicyForm>,
) -> PageResult<Response> {
    let patch = PolicyPatch {
        auto_lock_after: Some(f.auto_lock_after),
        approval: Some(f.approval),
    };
    let app = state.app();
    if f.action == PolicyAction::Save {
        app.policies()
            .set_resource_policy(&viewer.principal, &id, patch, state.now())
            .await?;
        return Ok(after(&format!("/resources/{id}"), Notice::PolicySaved).into_response());
    }
    let target = PreviewTarget::Resource(id.clone(), patch);
    let preview = app
        .policies()
        .preview(&viewer.principal, &target, state.now())
        .await?;
    let extras = Extras {
        window: None,
        preview: Some((patch, preview)),
        notice: None,
    };
    render(&state, &viewer, &id, extras).await
}

/// What a grant's options form asks for: its options saved, or the grant removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GrantAction {
    Save,
    Remove,
}

/// A grant's options form (and the form that gives a group access): a duration or approval
/// is `inherit` or a value.
#[derive(Debug, Deserialize)]
pub struct GrantForm {
    group_id: Option<GroupId>,
    auto_lock_after: String,
    approval: String,
    expires_on: Option<String>,
    action: Option<GrantAction>,
}

impl GrantForm {
    fn patch(&self) -> Result<OverridePatch, ValidationError> {
        Ok(OverridePatch {
            auto_lock_after: parse_duration("auto_lock_after", &self.auto_lock_after)?,
            approval: parse_approval("approval", &self.approval)?,
        })
    }
}

/// `POST /resources/{id}/grants`: gives a group access (admin).
pub async fn add_grant(
    State(state): State<ConsoleState>,
    PagePath(id): PagePath<ResourceId>,
    Csrf(viewer, f): Csrf<GrantForm>,
) -> PageResult<Redirect> {
    let new = NewGrant {
        group: f
            .group_id
            .clone()
            .ok_or_else(|| ValidationError::new("group_id", "is required"))?,
        resource: id.clone(),
        expires_at: parse_date(f.expires_on.as_deref().unwrap_or(""))?,
        policy_override: f.patch()?.apply(PolicyOverride::default()),
    };
    state
        .app()
        .directory()
        .create_grant(&viewer.principal, new, state.now())
        .await?;
    Ok(after(&format!("/resources/{id}"), Notice::GrantAdded))
}

/// `POST /resources/{id}/grants/{group}`: a grant's options — its duration and approval
/// (admin, DevOps admin), its expiry or its removal (admin).
pub async fn edit_grant(
    State(state): State<ConsoleState>,
    PagePath((resource, group)): PagePath<(ResourceId, GroupId)>,
    Csrf(viewer, f): Csrf<GrantForm>,
) -> PageResult<Redirect> {
    let app = state.app();
    let actor = &viewer.principal;
    let now = state.now();
    let grant = app.directory().grant_of(actor, &resource, &group).await?;
    let here = format!("/resources/{resource}");
    if f.action == Some(GrantAction::Remove) {
        app.directory().remove_grant(actor, &grant.id, now).await?;
        return Ok(after(&here, Notice::GrantRemoved));
    }
    // Duration, approval and expiry: one change, made whole or not at all.
    let expires_at = f.expires_on.as_deref().map(parse_date).transpose()?;
    app.policies()
        .edit_grant(actor, &grant.id, Some(f.patch()?), expires_at, now)
        .await?;
    Ok(after(&here, Notice::GrantSaved))
}
