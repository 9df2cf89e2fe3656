//! The console's page shell — the header with who is signed in, the sections they may open and
//! the bell — its stylesheet, and the pieces pages share. Everything is written with `maud`,
//! which escapes every value it is given.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use autolock_core::Timestamp;
use autolock_core::authz::{Capability, may};
use autolock_core::error::Error;
use autolock_core::lock::RightState;
use autolock_core::policy::{ApprovalMode, AutoLockAfter};

use crate::ConsoleState;
use crate::urls::query_escape;
use crate::viewer::Viewer;

/// The sections of the console, in the order of the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Requests,
    Resources,
    Groups,
    Users,
    Audit,
    Settings,
    Me,
}

impl Section {
    const ALL: [Section; 7] = [
        Self::Requests,
        Self::Resources,
        Self::Groups,
        Self::Users,
        Self::Audit,
        Self::Settings,
        Self::Me,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Requests => "Requests",
            Self::Resources => "Resources",
            Self::Groups => "Groups",
            Self::Users => "Users",
            Self::Audit => "Audit log",
            Self::Settings => "Settings",
            Self::Me => "My access",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Self::Requests => "/access-requests",
            Self::Resources => "/resources",
            Self::Groups => "/groups",
            Self::Users => "/users",
            Self::Audit => "/audit",
            Self::Settings => "/settings/notifications",
            Self::Me => "/me",
        }
    }

    /// What a viewer needs to open the section.
    fn capability(self) -> Capability {
        match self {
            Self::Requests | Self::Resources | Self::Groups | Self::Users => Capability::Review,
            Self::Audit => Capability::Operate,
            Self::Settings => Capability::Administer,
            Self::Me => Capability::OwnRights,
        }
    }
}

const STYLE: &str = r#"
:root { --ink:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#f6f8fa; --accent:#0969da; --warn:#9a6700; --bad:#cf222e; --good:#1a7f37; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif; color:var(--ink); background:var(--bg); }
a { color:var(--accent); text-decoration:none; } a:hover { text-decoration:underline; }
header.top { background:#24292f; color:#fff; padding:.6rem 1.25rem; display:flex; flex-wrap:wrap; align-items:center; gap:.5rem 1.25rem; }
header.top .brand { font-weight:700; font-size:1.1rem; color:#fff; margin-right:.5rem; }
header.top nav { display:flex; flex-wrap:wrap; gap:.25rem .9rem; flex:1; }
header.top nav a { color:#d0d7de; padding:.15rem 0; border-bottom:2px solid transparent; }
header.top nav a.on { color:#fff; border-bottom-color:#fd8c73; }
header.top .who { display:flex; align-items:center; gap:.75rem; color:#d0d7de; font-size:.9rem; }
header.top .who form { margin:0; }
header.top .who button { background:transparent; color:#d0d7de; border:1px solid #57606a; padding:.15rem .6rem; border-radius:6px; font-size:.85rem; }
a.bell { color:#fff; background:#57606a; border-radius:999px; padding:.1rem .6rem; font-weight:600; font-size:.85rem; }
a.bell.some { background:#bf3989; }
main { max-width:72rem; margin:1.5rem auto; padding:0 1rem; }
h1 { font-size:1.5rem; margin:.2rem 0 1rem; } h2 { font-size:1.1rem; margin:1.75rem 0 .6rem; }
.card { background:#fff; border:1px solid var(--line); border-radius:10px; padding:1rem 1.25rem; margin:0 0 1rem; }
.muted { color:var(--muted); } .small { font-size:.85rem; }
.table { overflow-x:auto; background:#fff; border:1px solid var(--line); border-radius:10px; margin:0 0 1rem; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:.5rem .75rem; border-bottom:1px solid #eaeef2; vertical-align:top; }
th { font-size:.8rem; text-transform:uppercase; letter-spacing:.03em; color:var(--muted); background:#fafbfc; }
tr:last-child td { border-bottom:0; }
td.actions { text-align:right; white-space:nowrap; }
tr.highlight td { background:#fff8c5; }
.badge { display:inline-block; font-size:.78rem; font-weight:600; padding:.05rem .5rem; border-radius:999px; border:1px solid transparent; white-space:nowrap; }
.badge.active, .badge.approved, .badge.sent { background:#dafbe1; color:var(--good); }
.badge.locked, .badge.denied, .badge.failed { background:#ffebe9; color:var(--bad); }
.badge.open, .badge.pending { background:#fff8c5; color:var(--warn); }
.badge.no_access, .badge.expired, .badge.cancelled, .badge.inactive, .badge.auto_approved { background:#eaeef2; color:var(--muted); }
form.inline { display:inline; margin:0; }
label { display:block; font-weight:600; font-size:.9rem; margin:.6rem 0 .25rem; }
label.check { display:flex; gap:.4rem; align-items:center; font-weight:400; margin:.3rem 0; }
input[type=text], input[type=email], input[type=url], input[type=date], input[type=password], input[type=number], select, textarea { font:inherit; padding:.4rem .55rem; border:1px solid var(--line); border-radius:6px; background:#fff; max-width:100%; }
textarea { width:100%; min-height:5rem; }
button { font:inherit; font-weight:600; padding:.35rem .9rem; border-radius:6px; border:1px solid rgba(31,35,40,.15); background:#f6f8fa; color:var(--ink); cursor:pointer; }
a.button { display:inline-block; font-weight:600; padding:.35rem .9rem; border-radius:6px; border:1px solid rgba(31,35,40,.15); text-decoration:none; }
button.primary, a.button.primary { background:#1f883d; color:#fff; } button.danger { background:#fff; color:var(--bad); border-color:#cf222e66; }
.row { display:flex; flex-wrap:wrap; gap:.5rem 1.25rem; align-items:flex-end; }
.row > div { min-width:10rem; }
details.menu { display:inline-block; } details.menu > summary { cursor:pointer; color:var(--accent); list-style:none; }
details.menu > summary::-webkit-details-marker { display:none; }
details.menu[open] > div { margin-top:.5rem; padding:.75rem; border:1px solid var(--line); border-radius:8px; background:#fff; }
.flash { padding:.6rem .9rem; border-radius:8px; margin:0 0 1rem; background:#ddf4ff; border:1px solid #54aeff66; }
.flash.error { background:#ffebe9; border-color:#ff818266; }
.banner { background:#fff8c5; border-bottom:1px solid #d4a72c66; padding:.6rem 1rem; }
.secret { font-family:ui-monospace,monospace; background:#fff8c5; padding:.5rem; border-radius:6px; word-break:break-all; }
.stats { display:flex; flex-wrap:wrap; gap:1rem; } .stats .card { flex:1; min-width:9rem; margin:0; }
.stats .n { font-size:1.6rem; font-weight:700; }
@media (max-width: 40rem) { main { margin:1rem auto; } th, td { padding:.4rem .5rem; } }
"#;

fn document(title: &str, header: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · autolock" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                (header)
                main { (body) }
            }
        }
    }
}

fn respond(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

/// A page of the console for `viewer`, in `section`, with the header and the bell.
pub async fn render(
    state: &ConsoleState,
    viewer: &Viewer,
    section: Section,
    title: &str,
    body: Markup,
) -> Response {
    render_status(state, viewer, section, title, body, StatusCode::OK).await
}

/// The link to a list's next page, when there is one: `base` (ending in `?` or `&`) and the
/// cursor.
pub fn next_page(base: &str, next: Option<&str>) -> Markup {
    html! {
        @if let Some(next) = next {
            p { a href={ (base) "cursor=" (query_escape(next)) } { "Next page →" } }
        }
    }
}

/// [`render`] with another status (a form sent back with its errors).
pub async fn render_status(
    state: &ConsoleState,
    viewer: &Viewer,
    section: Section,
    title: &str,
    body: Markup,
    status: StatusCode,
) -> Response {
    let bell = if may(&viewer.principal, Capability::Review) {
        state
            .app()
            .requests()
            .count_open_requests(&viewer.principal)
            .await
            .ok()
    } else {
        None
    };
    // The feed guard's banner: while no access events arrive, nothing locks (§2.10).
    let silent = if may(&viewer.principal, Capability::Review) {
        state
            .app()
            .feed()
            .silent_since(state.now())
            .await
            .ok()
            .flatten()
    } else {
        None
    };
    let header = html! {
        header.top {
            a.brand href="/" { "autolock" }
            nav aria-label="Sections" {
                @for s in Section::ALL {
                    @if may(&viewer.principal, s.capability()) {
                        a class=(if s == section { "on" } else { "" }) href=(s.path()) { (s.label()) }
                    }
                }
            }
            div.who {
                @if let Some(n) = bell {
                    a class=(if n > 0 { "bell some" } else { "bell" }) href="/access-requests"
                        title="Open requests you may resolve" aria-label={ (n) " open requests you may resolve" } {
                        (BELL) " " (n)
                    }
                }
                span { (viewer.user.display_name) " · " (role_label(viewer.principal.role)) }
                form.inline method="post" action="/sign-out" {
                    (csrf_field(viewer))
                    button type="submit" { "Sign out" }
                }
            }
        }
        @if let Some(since) = silent {
            div.banner role="alert" {
                strong { "The usage feed is silent since " (when(Some(since))) "." }
                " No gateway has reported an access for the feed guard's window, so nobody locks: this time does not count toward anyone's auto-lock duration until accesses are reported again. Check the gateways and the rule that forwards their events."
            }
        }
    };
    respond(status, document(title, header, body))
}

/// The bell's icon, drawn inline so that it needs no font and no request.
const BELL: PreEscaped<&str> = PreEscaped(
    r#"<svg aria-hidden="true" width="14" height="14" viewBox="0 0 16 16" fill="currentColor" style="vertical-align:-2px"><path d="M8 16a2 2 0 0 0 1.985-1.75h-3.97A2 2 0 0 0 8 16ZM3 5a5 5 0 0 1 10 0v2.947c0 .05.015.098.042.139l1.703 2.555A1.518 1.518 0 0 1 13.482 13H2.518a1.516 1.516 0 0 1-1.263-2.36l1.703-2.554A.255.255 0 0 0 3 7.947Z"/></svg>"#,
);

fn plain_header() -> Markup {
    html! { header.top { a.brand href="/" { "autolock" } } }
}

/// A page outside any session (sign-in, errors).
pub fn plain(status: StatusCode, title: &str, body: Markup) -> Response {
    respond(status, document(title, plain_header(), body))
}

/// A short message page.
pub fn message_page(status: StatusCode, title: &str, text: &str) -> Response {
    plain(
        status,
        title,
        html! { div.card { h1 { (title) } p { (text) } p { a href="/" { "Back to the console" } } } },
    )
}

/// The page a failed use case answers: not found, forbidden, a conflict, bad input.
pub fn error_page(e: &Error) -> Response {
    let (status, title) = match e {
        Error::Invalid(_) => (StatusCode::BAD_REQUEST, "That did not work"),
        Error::NotFound(_) => (StatusCode::NOT_FOUND, "Not found"),
        Error::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "Sign in again"),
        Error::Forbidden(_) | Error::ForbiddenSelf(_) | Error::Inactive(_) => {
            (StatusCode::FORBIDDEN, "Not allowed")
        }
        Error::Conflict(..) => (StatusCode::CONFLICT, "That changed meanwhile"),
        Error::Unavailable(..) => (StatusCode::SERVICE_UNAVAILABLE, "Not available here"),
        Error::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "Try again in a moment"),
    };
    let text = match e {
        Error::Store(err) => {
            tracing::error!(error = %autolock_core::error::chain(err), "console");
            "The store failed; nothing was changed.".to_owned()
        }
        Error::Invalid(v) => format!("{}: {}", v.field, v.message),
        other => {
            let s = other.to_string();
            s.strip_prefix("forbidden: ")
                .or_else(|| s.strip_prefix("conflict: "))
                .unwrap_or(&s)
                .to_owned()
        }
    };
    message_page(status, title, &text)
}

/// The hidden CSRF field of a form.
pub fn csrf_field(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name="csrf" value=(viewer.csrf); }
}

/// A role as people read it.
pub fn role_label(role: autolock_core::values::Role) -> &'static str {
    use autolock_core::values::Role;
    match role {
        Role::Member => "member",
        Role::Admin => "admin",
        Role::DevopsAdmin => "DevOps admin",
        Role::AccessReviewer => "access reviewer",
        Role::Gateway => "gateway",
        Role::Provisioner => "provisioner",
    }
}

/// An instant as people read it, or a dash.
pub fn when(t: Option<Timestamp>) -> String {
    t.map_or_else(
        || "—".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// A duration as people read it.
pub fn duration_label(d: AutoLockAfter) -> String {
    match d {
        AutoLockAfter::Never => "never".to_owned(),
        AutoLockAfter::Hours(24) => "1 day".to_owned(),
        AutoLockAfter::Hours(h) if h % 24 == 0 => format!("{} days", h / 24),
        AutoLockAfter::Hours(h) => format!("{h} hours"),
    }
}

/// An approval method as people read it.
pub fn approval_label(a: ApprovalMode) -> &'static str {
    match a {
        ApprovalMode::Manual => "manual",
        ApprovalMode::Automatic => "automatic",
    }
}

/// A badge of a state or a status (its wire name picks the colour).
pub fn badge(name: &str) -> Markup {
    html! { span class={ "badge " (name) } { (name.replace('_', " ")) } }
}

/// A right's state as a badge, with what it means.
pub fn state_cell(state: &RightState) -> Markup {
    html! {
        (badge(state.name()))
        @match state {
            RightState::Locked { locked_at, approval } => {
                " " span.muted.small { "since " (when(Some(*locked_at))) ", " (approval_label(*approval)) " approval" }
            }
            RightState::Active { next_lock: Some(l) } => {
                " " span.muted.small { "locks " (when(Some(*l))) " unless used" }
            }
            RightState::Active { next_lock: None } => { " " span.muted.small { "never locks" } }
            RightState::NoAccess => { " " span.muted.small { "no group gives access" } }
            RightState::Expired => { " " span.muted.small { "the access expired" } }
        }
    }
}

/// The options of a duration picker: 1, 7, 30, 60, 90 days and never, plus `current` shown as
/// it is when it is another value (set through the API); `inherit` adds "inherit" first.
pub fn duration_options(current: Option<AutoLockAfter>, inherit: Option<AutoLockAfter>) -> Markup {
    let mut choices: Vec<AutoLockAfter> = AutoLockAfter::CONSOLE_PRESETS.to_vec();
    choices.push(AutoLockAfter::Never);
    if let Some(c) = current {
        if !choices.contains(&c) {
            choices.push(c);
        }
    }
    html! {
        @if let Some(default) = inherit {
            option value="inherit" selected[current.is_none()] { "Inherit (" (duration_label(default)) ")" }
        }
        @for d in choices {
            option value=(d.to_string()) selected[current == Some(d)] {
                (duration_label(d))
                @if !d.is_console_preset() && d != AutoLockAfter::Never { " (set through the API)" }
            }
        }
    }
}

/// The options of an approval-method picker; `inherit` adds "inherit" first.
pub fn approval_options(current: Option<ApprovalMode>, inherit: Option<ApprovalMode>) -> Markup {
    html! {
        @if let Some(default) = inherit {
            option value="inherit" selected[current.is_none()] { "Inherit (" (approval_label(default)) ")" }
        }
        @for a in [ApprovalMode::Manual, ApprovalMode::Automatic] {
            option value=(a.as_str()) selected[current == Some(a)] { (approval_label(a)) }
        }
    }
}
