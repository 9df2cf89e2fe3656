//! Exemptions on the Resource, Group and User pages (docs/semantics.md §2.9): the ones in force
//! with who set them, why and until when, "End now" where the viewer may, and a form to set
//! one — on a grant from the Resource and Group pages, on one right from the User page.

use axum::extract::State;
use axum::response::Redirect;
use chrono::{NaiveDateTime, TimeZone, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use autolock_core::ValidationError;
use autolock_core::exemption::Exemption;
use autolock_core::ids::{ExemptionId, GrantId, ResourceId, UserId};
use autolock_core::service::NewExemption;
use autolock_core::values::Reason;

use super::{Notice, after, back};
use crate::ConsoleState;
use crate::error::PageResult;
use crate::extract::PagePath;
use crate::layout::{csrf_field, when};
use crate::session::Csrf;
use crate::viewer::Viewer;

/// What a new exemption may cover on a page.
pub enum Choices<'a> {
    /// One of these grants, each with its label (the Resource and Group pages).
    Grants(Vec<(GrantId, String)>),
    /// One of this user's rights (the User page).
    Rights(&'a UserId, Vec<ResourceId>),
}

/// The section: the exemptions in force, and the form to set one when the viewer may.
pub fn section(
    viewer: &Viewer,
    list: &[Exemption],
    here: &str,
    may_edit: bool,
    choices: Choices<'_>,
) -> Markup {
    html! {
        h2 { "Exemptions from auto-lock" }
        div.table { table {
            thead { tr { th { "Covers" } th { "Resource" } th { "Until" } th { "Reason" } th { "Set by" } th { "" } } }
            tbody {
                @for e in list {
                    tr {
                        td { @if let Some(u) = &e.user { "user " a href={ "/users/" (u) } { (u) } }
                             @if let Some(g) = &e.group { "group " a href={ "/groups/" (g) } { (g) } } }
                        td { a href={ "/resources/" (e.resource) } { (e.resource) } }
                        td { (when(Some(e.until))) }
                        td.small { (e.reason.as_str()) }
                        td.small { (e.created_by) " · " (when(Some(e.start))) }
                        td.actions { @if may_edit {
                            form.inline method="post" action={ "/exemptions/" (e.id) "/end" } {
                                (csrf_field(viewer))
                                input type="hidden" name="back" value=(here);
                                button.danger type="submit" aria-label={ "End the exemption " (e.id) " now" } { "End now" }
                            }
                        } }
                    }
                }
                @if list.is_empty() { tr { td colspan="6" .muted { "None in force: every path locks after its duration." } } }
            }
        } }
        @if may_edit {
            details.menu {
                summary { "+ Exempt from auto-lock" }
                div {
                    form method="post" action="/exemptions" {
                        (csrf_field(viewer))
                        input type="hidden" name="back" value=(here);
                        @match &choices {
                            Choices::Grants(grants) => {
                                label for="ex-grant" { "Every member of" }
                                select #ex-grant name="grant_id" required {
                                    @for (id, label) in grants { option value=(id) { (label) } }
                                }
                            }
                            Choices::Rights(user, resources) => {
                                input type="hidden" name="user_id" value=(user);
                                label for="ex-resource" { "On" }
                                select #ex-resource name="resource_id" required {
                                    @for r in resources { option value=(r) { (r) } }
                                }
                            }
                        }
                        label for="ex-until" { "Until (UTC, at most 90 days ahead)" }
                        input #ex-until type="datetime-local" name="until" required;
                        label for="ex-reason" { "Reason" }
                        textarea #ex-reason name="reason" maxlength="1000" rows="2" required placeholder="On call over the weekend" {}
                        p.small.muted { "The paths stay open until then; afterwards each has its full duration again. A lock in force stays." }
                        p { button.primary type="submit" { "Exempt" } }
                    }
                }
            }
        }
    }
}

/// The form that sets an exemption: on a grant, or on one user's right.
#[derive(Debug, Deserialize)]
pub struct NewForm {
    #[serde(default)]
    back: Option<String>,
    #[serde(default)]
    grant_id: Option<GrantId>,
    #[serde(default)]
    user_id: Option<UserId>,
    #[serde(default)]
    resource_id: Option<ResourceId>,
    #[serde(default)]
    until: String,
    #[serde(default)]
    reason: String,
}

/// A `datetime-local` field's value, read as UTC.
fn parse_until(text: &str) -> Result<chrono::DateTime<Utc>, ValidationError> {
    let text = text.trim();
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| ValidationError::new("until", "give a date and time, e.g. 2026-12-24T18:00"))
        .and_then(|t| autolock_core::values::instant::check("until", Utc.from_utc_datetime(&t)))
}

/// `POST /exemptions`.
pub async fn create(
    State(state): State<ConsoleState>,
    Csrf(viewer, f): Csrf<NewForm>,
) -> PageResult<Redirect> {
    let new = NewExemption {
        user: f.user_id,
        resource: f.resource_id,
        grant: f.grant_id,
        until: parse_until(&f.until)?,
        reason: Reason::parse(&f.reason)?,
    };
    state
        .app()
        .exemptions()
        .create_exemption(&viewer.principal, new, state.now())
        .await?;
    Ok(after(
        &back(f.back.as_deref(), "/resources"),
        Notice::ExemptionSet,
    ))
}

/// The form that ends an exemption.
#[derive(Debug, Deserialize)]
pub struct EndForm {
    #[serde(default)]
    back: Option<String>,
}

/// `POST /exemptions/{id}/end`.
pub async fn end(
    State(state): State<ConsoleState>,
    PagePath(id): PagePath<ExemptionId>,
    Csrf(viewer, f): Csrf<EndForm>,
) -> PageResult<Redirect> {
    state
        .app()
        .exemptions()
        .end_exemption(&viewer.principal, &id, state.now())
        .await?;
    Ok(after(
        &back(f.back.as_deref(), "/resources"),
        Notice::ExemptionEnded,
    ))
}
