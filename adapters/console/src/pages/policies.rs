//! Policies as code in the console: the policy file of every resource and grant, downloaded or
//! edited in place, planned (with who would lock within 1, 7 and 30 days) and applied — the same
//! use cases as `autolock policies` and `/v1/policies`.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use autolock_core::authz::{Capability, may};
use autolock_core::service::PolicyPlan;

use super::{Notice, PageQuery, after, flash};
use crate::ConsoleState;
use crate::error::PageResult;
use crate::layout::{self, Section, csrf_field};
use crate::session::Csrf;
use crate::viewer::Viewer;

fn names(users: &[autolock_core::ids::UserId]) -> String {
    if users.is_empty() {
        "—".to_owned()
    } else {
        users
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn plan_table(plan: &PolicyPlan) -> Markup {
    html! {
        div.table { table {
            thead { tr { th { "Target" } th { "Field" } th { "Now" } th { "In the file" } th { "Would lock within 1 / 7 / 30 days" } } }
            tbody {
                @for t in &plan.changes {
                    @for (i, c) in t.changes.iter().enumerate() {
                        tr {
                            td { @if i == 0 {
                                a href={ "/resources/" (t.resource) } { (t.resource) }
                                @if let Some(g) = &t.group { " / " a href={ "/groups/" (g) } { (g) } } @else { " " span.muted.small { "default" } }
                            } }
                            td { (c.field) }
                            td { (c.before) }
                            td { strong { (c.after) } }
                            td.small { @if i == 0 {
                                (names(&t.lock_within_1_day)) " / " (names(&t.lock_within_7_days)) " / " (names(&t.lock_within_30_days))
                            } }
                        }
                    }
                }
                @if plan.changes.is_empty() { tr { td colspan="5" .muted { "No changes: what is in force is what the file says." } } }
            }
        } }
        @if !plan.unmanaged.is_empty() {
            p.small.muted { "Not in the file, left as they are: " (plan.unmanaged.join(", ")) }
        }
    }
}

/// The page: the file, and the plan of an edited one.
fn page_body(viewer: &Viewer, text: &str, plan: Option<&PolicyPlan>, done: Option<&str>) -> Markup {
    let may_edit = may(&viewer.principal, Capability::Operate);
    html! {
        p.small { a href="/resources" { "← Resources" } }
        h1 { "Policies as code" }
        (flash(done))
        p { "Every resource's default auto-lock policy and its grants' overrides and expiries, as one file. "
            "A grant field left out inherits the resource's default; a resource or grant left out of the file is left as it is. "
            a href="/policies.yaml" download { "Download the file (YAML)" } }
        @if let Some(plan) = plan {
            h2 { "What applying it changes" }
            (plan_table(plan))
            @if !plan.changes.is_empty() {
                form method="post" action="/policies/apply" {
                    (csrf_field(viewer))
                    input type="hidden" name="document" value=(text);
                    p { button.primary type="submit" { "Apply these changes" } }
                }
            }
        }
        @if may_edit {
            form method="post" action="/policies/plan" {
                (csrf_field(viewer))
                label for="document" { "The policy file" }
                textarea #document name="document" rows="20" wrap="off" spellcheck="false" style="width:100%;font-family:monospace" { (text) }
                p { button type="submit" { "Plan" } " " span.small.muted { "Nothing changes until you apply the plan." } }
            }
        } @else {
            pre { (text) }
        }
    }
}

/// `GET /policies`.
pub async fn page(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Query(q): Query<PageQuery>,
) -> PageResult<Response> {
    let doc = state
        .app()
        .policies()
        .export_policies(&viewer.principal)
        .await?;
    let body = page_body(&viewer, &doc.to_yaml(), None, q.notice.as_deref());
    Ok(layout::render(
        &state,
        &viewer,
        Section::Resources,
        "Policies as code",
        body,
    )
    .await)
}

/// `GET /policies.yaml`.
pub async fn download(
    State(state): State<ConsoleState>,
    viewer: Viewer,
) -> PageResult<impl IntoResponse> {
    let doc = state
        .app()
        .policies()
        .export_policies(&viewer.principal)
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/yaml; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"autolock-policies.yaml\"",
            ),
        ],
        doc.to_yaml(),
    ))
}

/// The policy file of a form.
#[derive(Debug, Deserialize)]
pub struct FileForm {
    #[serde(default)]
    document: String,
}

/// `POST /policies/plan`.
pub async fn plan(
    State(state): State<ConsoleState>,
    Csrf(viewer, f): Csrf<FileForm>,
) -> PageResult<Response> {
    let policies = state.app().policies();
    let doc = policies.read_policy_file(&viewer.principal, &f.document)?;
    let plan = policies
        .plan_policies(&viewer.principal, &doc, state.now())
        .await?;
    let body = page_body(&viewer, &f.document, Some(&plan), None);
    Ok(layout::render(
        &state,
        &viewer,
        Section::Resources,
        "Policies as code",
        body,
    )
    .await)
}

/// `POST /policies/apply`.
pub async fn apply(
    State(state): State<ConsoleState>,
    Csrf(viewer, f): Csrf<FileForm>,
) -> PageResult<Redirect> {
    let policies = state.app().policies();
    let doc = policies.read_policy_file(&viewer.principal, &f.document)?;
    policies
        .apply_policies(&viewer.principal, &doc, state.now())
        .await?;
    Ok(after("/policies", Notice::PoliciesApplied))
}
