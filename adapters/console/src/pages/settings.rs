//! Settings → Notifications: which roles are emailed about new requests, emails on or off, the
//! webhook (set, replace, remove; its secret shown once), a test send, and the delivery log.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use autolock_core::authz::{Capability, require};
use autolock_core::delivery::{Channel, Delivery};
use autolock_core::ports::{PageRequest, Settings};
use autolock_core::values::Role;

use super::{Notice, PageQuery, after, flash, or_error};
use crate::ConsoleState;
use crate::layout::{self, Section, badge, csrf_field, role_label, when};
use crate::session::Viewer;

/// `GET /settings/notifications`.
pub async fn page(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Query(q): Query<PageQuery>,
) -> Response {
    render(&state, &viewer, q.notice.as_deref(), None, StatusCode::OK).await
}

async fn render(
    state: &ConsoleState,
    viewer: &Viewer,
    done: Option<&str>,
    extra: Option<Markup>,
    status: StatusCode,
) -> Response {
    let body = async {
        let app = state.app();
        let actor = &viewer.principal;
        let settings = or_error(app.settings().notification_settings(actor).await, viewer)?;
        let webhook = or_error(app.settings().webhook(actor).await, viewer)?;
        let deliveries = or_error(
            app.settings()
                .deliveries(actor, Channel::Webhook, &PageRequest::first(50))
                .await,
            viewer,
        )?;
        Ok::<_, Response>(html! {
            h1 { "Notifications" }
            (flash(done))
            @if let Some(extra) = extra { (extra) }
            h2 { "Emails about new requests" }
            div.card {
                form method="post" action="/settings/notifications" {
                    (csrf_field(viewer))
                    label.check { input type="checkbox" name="emails_enabled" value="on" checked[settings.emails_enabled]; "Email approvers about new open requests" }
                    p.muted.small { "Which approvers:" }
                    @for role in Role::APPROVERS {
                        label.check {
                            input type="checkbox" name="email_roles" value=(role.as_str()) checked[settings.email_roles.contains(&role)];
                            (role_label(role)) "s"
                        }
                    }
                    p { button.primary type="submit" { "Save" } }
                }
            }
            h2 { "Webhook" }
            div.card {
                @if let Some(url) = &webhook {
                    p { "New open requests are POSTed to " code { (url) } ", signed with its secret." }
                    div.row {
                        form.inline method="post" action="/settings/webhook/test" {
                            (csrf_field(viewer)) button type="submit" { "Send a test" }
                        }
                        form.inline method="post" action="/settings/webhook/remove" {
                            (csrf_field(viewer)) button.danger type="submit" { "Remove the webhook" }
                        }
                    }
                } @else {
                    p.muted { "No webhook is set." }
                }
                form method="post" action="/settings/webhook" .row {
                    (csrf_field(viewer))
                    div style="flex:1" {
                        label for="webhook-url" { @if webhook.is_some() { "Replace with (a new secret is made)" } @else { "Webhook URL (https)" } }
                        input #webhook-url type="url" name="url" required placeholder="https://hooks.example.com/autolock" style="width:100%";
                    }
                    div { button.primary type="submit" { @if webhook.is_some() { "Replace" } @else { "Set" } } }
                }
            }
            h2 { "Deliveries" }
            (delivery_log(&deliveries.items))
        })
    };
    match body.await {
        Ok(body) => {
            layout::render_status(
                state,
                viewer,
                Section::Settings,
                "Notifications",
                body,
                status,
            )
            .await
        }
        Err(response) => response,
    }
}

fn status_name(d: &Delivery) -> &'static str {
    match d.status {
        autolock_core::delivery::DeliveryStatus::Pending => "pending",
        autolock_core::delivery::DeliveryStatus::Sent => "sent",
        autolock_core::delivery::DeliveryStatus::Failed => "failed",
    }
}

fn delivery_log(deliveries: &[Delivery]) -> Markup {
    html! {
        div.table { table {
            thead { tr { th { "Created" } th { "To" } th { "Status" } th { "Attempts" } } }
            tbody {
                @for d in deliveries {
                    tr {
                        td { (when(Some(d.created_at))) }
                        td.small style="word-break:break-all" { (d.recipient) }
                        td { (badge(status_name(d)))
                             @if let Some(next) = d.next_attempt_at { @if status_name(d) == "pending" { br; span.muted.small { "next " (when(Some(next))) } } } }
                        td.small {
                            @for a in &d.attempts {
                                div { (when(Some(a.at))) " — "
                                    @if let Some(s) = a.status { "HTTP " (s) } @else { "no answer" }
                                    " in " (a.latency_ms) " ms"
                                    @if let Some(e) = &a.error { " · " (e) } }
                            }
                        }
                    }
                }
                @if deliveries.is_empty() { tr { td colspan="4" .muted { "Nothing delivered yet." } } }
            }
        } }
    }
}

/// The notification form: checkboxes send only when checked.
#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    csrf: String,
    emails_enabled: Option<String>,
    #[serde(default)]
    email_roles: Vec<Role>,
}

/// `POST /settings/notifications`.
pub async fn save(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    body: axum::body::Bytes,
) -> Response {
    // Repeated fields (`email_roles`) read as a list.
    let Ok(f) = serde_html_form(&body) else {
        return layout::message_page(
            StatusCode::BAD_REQUEST,
            "That did not work",
            "The form was not understood.",
        );
    };
    if !viewer.csrf_ok(&state, &f.csrf) {
        return layout::csrf_refused();
    }
    let settings = Settings {
        emails_enabled: f.emails_enabled.is_some(),
        email_roles: f.email_roles,
    };
    match state
        .app()
        .settings()
        .set_notification_settings(&viewer.principal, settings, state.now())
        .await
    {
        Ok(_) => after("/settings/notifications", Notice::SettingsSaved),
        Err(e) => layout::error_page(Some(&viewer), &e),
    }
}

/// A form body with repeated fields, as `SettingsForm`.
fn serde_html_form(body: &[u8]) -> Result<SettingsForm, ()> {
    let mut form = SettingsForm {
        csrf: String::new(),
        emails_enabled: None,
        email_roles: Vec::new(),
    };
    for (k, v) in form_urlencoded::parse(body) {
        match k.as_ref() {
            "csrf" => form.csrf = v.into_owned(),
            "emails_enabled" => form.emails_enabled = Some(v.into_owned()),
            "email_roles" => form.email_roles.push(Role::parse(&v).map_err(|_| ())?),
            _ => return Err(()),
        }
    }
    Ok(form)
}

/// The webhook form.
#[derive(Debug, Deserialize)]
pub struct WebhookForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    url: String,
}

/// `POST /settings/webhook`: sets or replaces the webhook; shows its secret, once.
pub async fn set_webhook(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Form(f): Form<WebhookForm>,
) -> Response {
    if !viewer.csrf_ok(&state, &f.csrf) {
        return layout::csrf_refused();
    }
    match state
        .app()
        .settings()
        .set_webhook(&viewer.principal, f.url.trim(), state.now())
        .await
    {
        Ok(hook) => {
            let shown = html! {
                div.flash role="status" {
                    p { "The webhook is set. Its signing secret is shown this once: keep it where your receiver can read it." }
                    p.secret { (hook.secret.reveal()) }
                }
            };
            render(&state, &viewer, None, Some(shown), StatusCode::OK).await
        }
        Err(autolock_core::Error::Invalid(v)) => {
            let shown = html! { div.flash.error role="alert" { (v.field) ": " (v.message) } };
            render(&state, &viewer, None, Some(shown), StatusCode::BAD_REQUEST).await
        }
        Err(e) => layout::error_page(Some(&viewer), &e),
    }
}

/// `POST /settings/webhook/remove`.
pub async fn remove_webhook(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Form(f): Form<super::sign_in::CsrfOnly>,
) -> Response {
    if !viewer.csrf_ok(&state, &f.csrf) {
        return layout::csrf_refused();
    }
    match state
        .app()
        .settings()
        .remove_webhook(&viewer.principal, state.now())
        .await
    {
        Ok(()) => after("/settings/notifications", Notice::WebhookRemoved),
        Err(e) => layout::error_page(Some(&viewer), &e),
    }
}

/// `POST /settings/webhook/test`.
pub async fn test_webhook(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Form(f): Form<super::sign_in::CsrfOnly>,
) -> Response {
    if !viewer.csrf_ok(&state, &f.csrf) {
        return layout::csrf_refused();
    }
    if let Err(e) = require(&viewer.principal, Capability::Administer) {
        return layout::error_page(Some(&viewer), &e);
    }
    let Some(notifier) = &state.0.notifier else {
        return layout::message_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "No notifier",
            "This deployment sends no notifications from the console.",
        );
    };
    match state
        .app()
        .settings()
        .send_test_webhook(&viewer.principal, notifier, state.now())
        .await
    {
        Ok(d) => after(
            "/settings/notifications",
            match d.status {
                autolock_core::delivery::DeliveryStatus::Sent => Notice::TestSent,
                autolock_core::delivery::DeliveryStatus::Failed => Notice::TestFailed,
                autolock_core::delivery::DeliveryStatus::Pending => Notice::TestPending,
            },
        ),
        Err(e) => layout::error_page(Some(&viewer), &e),
    }
}
