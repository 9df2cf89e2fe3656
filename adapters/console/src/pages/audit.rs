//! The audit log: the `access` category (policy changes, locks, unlocks, requests), filtered by
//! target, actor, action and dates, a page at a time, and its export.

use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{NaiveDate, TimeZone, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use autolock_core::Timestamp;
use autolock_core::audit::{AuditAction, AuditFilter};
use autolock_core::ids::PrincipalId;
use autolock_core::ports::PageRequest;

use crate::ConsoleState;
use crate::error::PageResult;
use crate::layout::{self, Section, when};
use crate::urls::query_escape;
use crate::viewer::Viewer;

/// The filters (empty fields are no filter).
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    pub(crate) target: String,
    #[serde(default)]
    pub(crate) actor: String,
    #[serde(default)]
    pub(crate) action: String,
    #[serde(default)]
    pub(crate) from: String,
    #[serde(default)]
    pub(crate) to: String,
    cursor: Option<String>,
}

/// A day of the filter form, as the instant it begins; none when it is not a date in range
/// (the filter is then left out, as an empty field is).
fn day(text: &str) -> Option<Timestamp> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| autolock_core::values::instant::check("day", Utc.from_utc_datetime(&t)).ok())
}

impl AuditQuery {
    /// The filter the fields name; the `to` date is included whole.
    pub(crate) fn filter(&self) -> AuditFilter {
        let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        AuditFilter {
            from: day(&self.from),
            to: day(&self.to).and_then(|t| t.checked_add_signed(chrono::Duration::days(1))),
            actor: some(&self.actor).and_then(|a| PrincipalId::parse(a).ok()),
            target: some(&self.target),
            action: AuditAction::parse(self.action.trim()),
        }
    }

    fn query(&self) -> String {
        format!(
            "target={}&actor={}&action={}&from={}&to={}",
            query_escape(&self.target),
            query_escape(&self.actor),
            query_escape(&self.action),
            query_escape(&self.from),
            query_escape(&self.to)
        )
    }
}

/// An entry's details as people read them: `before → after` first, then the other fields.
fn details(value: &serde_json::Value) -> Markup {
    fn text(v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::Null => "—".to_owned(),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
    let Some(fields) = value.as_object() else {
        return html! { (text(value)) };
    };
    let change = fields.get("before").zip(fields.get("after"));
    html! {
        @if let Some((before, after)) = change {
            div { (text(before)) " → " strong { (text(after)) } }
        }
        @for (key, v) in fields.iter().filter(|(k, _)| change.is_none() || !["before", "after"].contains(&k.as_str())) {
            div { span.muted { (key.replace('_', " ")) ": " } (text(v)) }
        }
    }
}

/// `GET /audit`.
pub async fn page(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Query(q): Query<AuditQuery>,
) -> PageResult<Response> {
    let page = PageRequest {
        after: q.cursor.clone(),
        limit: 100,
    };
    let entries = state
        .app()
        .reports()
        .audit(&viewer.principal, &q.filter(), &page)
        .await?;
    let body = html! {
        h1 { "Audit log" }
        p.muted { "Policy changes, locks, unlocks and requests, oldest first." }
        form method="get" action="/audit" .row .card {
            div { label for="target" { "Concerning" } input #target type="text" name="target" value=(q.target) placeholder="user, resource, group…"; }
            div { label for="actor" { "Done by" } input #actor type="text" name="actor" value=(q.actor) placeholder="user id"; }
            div { label for="action" { "Action" }
                select #action name="action" {
                    option value="" { "Any" }
                    @for a in AuditAction::ALL { option value=(a.as_str()) selected[q.action == a.as_str()] { (a.as_str()) } }
                } }
            div { label for="from" { "From" } input #from type="date" name="from" value=(q.from); }
            div { label for="to" { "To" } input #to type="date" name="to" value=(q.to); }
            div { button type="submit" { "Filter" } }
        }
        p { a href={ "/audit/export.csv?" (q.query()) } download { "Export these entries (CSV)" } }
        div.table { table {
            thead { tr { th { "When" } th { "Action" } th { "By" } th { "Concerning" } th { "Details" } } }
            tbody {
                @for e in &entries.items {
                    tr {
                        td.small { (when(Some(e.at))) }
                        td { code { (e.action.as_str()) } }
                        td { (e.actor.as_ref().map_or("autolock", |a| a.as_str())) }
                        td.small {
                            @if let Some(u) = &e.user { "user " a href={ "/users/" (u) } { (u) } " " }
                            @if let Some(r) = &e.resource { "resource " a href={ "/resources/" (r) } { (r) } " " }
                            @if let Some(g) = &e.group { "group " a href={ "/groups/" (g) } { (g) } " " }
                            @if let (Some(r), Some(u)) = (&e.request, &e.user) {
                                "request " a href={ "/access-requests?user_id=" (u) "&access_request_id=" (r) } { "open" }
                            }
                        }
                        td.small { (details(&e.details)) }
                    }
                }
                @if entries.items.is_empty() { tr { td colspan="5" .muted { "No entries." } } }
            }
        } }
        (layout::next_page(&format!("/audit?{}&", q.query()), entries.next.as_deref()))
    };
    Ok(layout::render(&state, &viewer, Section::Audit, "Audit log", body).await)
}
