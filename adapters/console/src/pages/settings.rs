//! Settings → Notifications: which roles are emailed about new requests, emails on or off, the
//! webhook (set, replace, remove; its secret shown once), a test send, the delivery log, and the
//! gate's coalescing window.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use autolock_core::ValidationError;
use autolock_core::delivery::{Channel, Delivery, DeliveryStatus};
use autolock_core::ports::{GateSettings, PageRequest, Settings, SignInSettings};
use autolock_core::values::Role;

use super::{NoFields, Notice, PageQuery, after, flash};
use crate::ConsoleState;
use crate::error::{PageError, PageResult};
use crate::layout::{self, Section, badge, csrf_field, role_label, when};
use crate::session::Csrf;
use crate::viewer::Viewer;

/// `GET /settings/notifications`.
pub async fn page(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Query(q): Query<PageQuery>,
) -> PageResult<Response> {
    render(&state, &viewer, q.notice.as_deref(), None, StatusCode::OK).await
}

async fn render(
    state: &ConsoleState,
    viewer: &Viewer,
    done: Option<&str>,
    extra: Option<Markup>,
    status: StatusCode,
) -> PageResult<Response> {
    let app = state.app();
    let actor = &viewer.principal;
    let settings = app.settings().notification_settings(actor).await?;
    let webhook = app.settings().webhook(actor).await?;
    let gate = app.settings().gate_settings(actor).await?;
    let sign_in = app.settings().sign_in_settings(actor).await?;
    let slack = app.settings().slack(actor).await?;
    let slack_deliveries = app
        .settings()
        .deliveries(actor, Channel::Slack, &PageRequest::first(20))
        .await?;
    let sign_in_options = app.sessions().sign_in_options().await?;
    let deliveries = app
        .settings()
        .deliveries(actor, Channel::Webhook, &PageRequest::first(50))
        .await?;
    let body = html! {
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
            h3 { "Webhook deliveries" }
            (delivery_log(&deliveries.items))
            h2 { "Slack" }
            div.card {
                p.muted.small { "New open requests are posted to a Slack channel with Approve and Deny; a click resolves the request as the console would, and the message shows the outcome. Create a Slack app with a bot token (chat:write, users:read, users:read.email), set its Interactivity Request URL to " code { "/integrations/slack/interactions" } " on this server, and invite the bot to the channel." }
                @if let Some(slack) = &slack {
                    p { "Posting to " code { (slack.channel) } ": " @if slack.enabled { "on" } @else { "off" } "." }
                    div.row {
                        form.inline method="post" action="/settings/slack/test" {
                            (csrf_field(viewer)) button type="submit" { "Send a test message" }
                        }
                        form.inline method="post" action="/settings/slack/remove" {
                            (csrf_field(viewer)) button.danger type="submit" { "Remove Slack" }
                        }
                    }
                }
                form method="post" action="/settings/slack" {
                    (csrf_field(viewer))
                    div.row {
                        div {
                            label for="slack-channel" { "Channel (id or name)" }
                            input #slack-channel type="text" name="channel" required placeholder="C0123ABCD" value=[slack.as_ref().map(|s| s.channel.as_str())];
                        }
                        div {
                            label for="slack-token" { "Bot token" }
                            input #slack-token type="password" name="bot_token" autocomplete="off"
                                placeholder=(if slack.as_ref().is_some_and(|s| s.bot_token_set) { "set — leave empty to keep it" } else { "xoxb-…" });
                        }
                        div {
                            label for="slack-secret" { "Signing secret" }
                            input #slack-secret type="password" name="signing_secret" autocomplete="off"
                                placeholder=(if slack.as_ref().is_some_and(|s| s.signing_secret_set) { "set — leave empty to keep it" } else { "from the app's Basic Information" });
                        }
                    }
                    label.check { input type="checkbox" name="enabled" value="on" checked[slack.as_ref().is_none_or(|s| s.enabled)]; "Post new requests" }
                    p.muted.small { "Secrets are stored and never shown again. Where the server is given AUTOLOCK_SLACK_BOT_TOKEN or AUTOLOCK_SLACK_SIGNING_SECRET, those are used instead." }
                    p { button.primary type="submit" { "Save" } }
                }
            }
            h3 { "Slack deliveries" }
            (delivery_log(&slack_deliveries.items))
            h2 { "Gateways" }
            div.card {
                p.muted.small { "A proxy's check at /v1/gate counts as the user's access. To spare the store, a right's usage is written at most once per this many seconds: a right may then lock up to that much early. An allowed decision that needs no write is kept for a few seconds, so that checks in between read nothing: a revocation made in another process takes effect there within that time." }
                form method="post" action="/settings/gate" .row {
                    (csrf_field(viewer))
                    div {
                        label for="usage-window" { "Write usage at most every (seconds, 0 to 3600)" }
                        input #usage-window type="number" name="usage_window_secs" min="0" max="3600" required value=(gate.usage_window_secs);
                    }
                    div {
                        label for="decision-ttl" { "Keep an allowed decision for (seconds, 0 to 60)" }
                        input #decision-ttl type="number" name="decision_ttl_secs" min="0" max="60" required value=(gate.decision_ttl_secs);
                    }
                    div { button.primary type="submit" { "Save" } }
                }
            }
            h2 { "Sign-in" }
            div.card {
                @if sign_in_options.single_sign_on {
                    p.muted.small { "People sign in with single sign-on through your identity provider. Sign-in links by email are the fallback; turned off, the sign-in page offers single sign-on alone." }
                } @else {
                    p.muted.small { "Single sign-on is not configured (AUTOLOCK_OIDC_ISSUER), so sign-in links by email stay on: they are the only way in." }
                }
                form method="post" action="/settings/sign-in" .row {
                    (csrf_field(viewer))
                    label.check { input type="checkbox" name="email_links" value="on" checked[sign_in.email_links] disabled[!sign_in_options.single_sign_on]; "Email sign-in links" }
                    div { button.primary type="submit" disabled[!sign_in_options.single_sign_on] { "Save" } }
                }
            }
    };
    Ok(layout::render_status(
        state,
        viewer,
        Section::Settings,
        "Notifications",
        body,
        status,
    )
    .await)
}

fn status_name(d: &Delivery) -> &'static str {
    match d.status {
        DeliveryStatus::Pending => "pending",
        DeliveryStatus::Sent => "sent",
        DeliveryStatus::Failed => "failed",
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

/// `POST /settings/notifications`: checkboxes send only when checked, and `email_roles` once
/// per role checked, so the form is read as its fields in order.
pub async fn save(
    State(state): State<ConsoleState>,
    Csrf(viewer, fields): Csrf<Vec<(String, String)>>,
) -> PageResult<Redirect> {
    let mut settings = Settings {
        emails_enabled: false,
        email_roles: Vec::new(),
    };
    for (name, value) in fields {
        match name.as_str() {
            "emails_enabled" => settings.emails_enabled = true,
            "email_roles" => settings.email_roles.push(
                Role::parse(&value)
                    .map_err(|_| ValidationError::new("email_roles", "not a role"))?,
            ),
            _ => return Err(ValidationError::new(name, "not a field of this form").into()),
        }
    }
    state
        .app()
        .settings()
        .set_notification_settings(&viewer.principal, settings, state.now())
        .await?;
    Ok(after("/settings/notifications", Notice::SettingsSaved))
}

/// The gate's form.
#[derive(Debug, Deserialize)]
pub struct GateForm {
    #[serde(default)]
    usage_window_secs: String,
    /// Left out (a form of before), the default.
    decision_ttl_secs: Option<String>,
}

/// `POST /settings/gate`: the coalescing window of usage seen by the gate.
pub async fn save_gate(
    State(state): State<ConsoleState>,
    Csrf(viewer, f): Csrf<GateForm>,
) -> PageResult<Redirect> {
    let usage_window_secs = f.usage_window_secs.trim().parse().map_err(|_| {
        ValidationError::new(
            "usage_window_secs",
            "must be a whole number of seconds, 0 to 3600",
        )
    })?;
    let decision_ttl_secs = match f.decision_ttl_secs.as_deref().map(str::trim) {
        None | Some("") => GateSettings::DEFAULT_DECISION_TTL_SECS,
        Some(text) => text.parse().map_err(|_| {
            ValidationError::new(
                "decision_ttl_secs",
                "must be a whole number of seconds, 0 to 60",
            )
        })?,
    };
    state
        .app()
        .settings()
        .set_gate_settings(
            &viewer.principal,
            GateSettings {
                usage_window_secs,
                decision_ttl_secs,
            },
            state.now(),
        )
        .await?;
    Ok(after("/settings/notifications", Notice::SettingsSaved))
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    email_links: Option<String>,
}

/// `POST /settings/sign-in`: whether sign-in links are emailed.
pub async fn save_sign_in(
    State(state): State<ConsoleState>,
    Csrf(viewer, f): Csrf<SignInForm>,
) -> PageResult<Redirect> {
    state
        .app()
        .settings()
        .set_sign_in_settings(
            &viewer.principal,
            SignInSettings {
                email_links: f.email_links.is_some(),
            },
            state.now(),
        )
        .await?;
    Ok(after("/settings/notifications", Notice::SettingsSaved))
}

/// The webhook form.
#[derive(Debug, Deserialize)]
pub struct WebhookForm {
    #[serde(default)]
    url: String,
}

/// `POST /settings/webhook`: sets or replaces the webhook; shows its secret, once.
pub async fn set_webhook(
    State(state): State<ConsoleState>,
    Csrf(viewer, f): Csrf<WebhookForm>,
) -> PageResult<Response> {
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
        Err(e) => Ok(PageError::from(e).into_response()),
    }
}

/// `POST /settings/webhook/remove`.
pub async fn remove_webhook(
    State(state): State<ConsoleState>,
    Csrf(viewer, NoFields {}): Csrf<NoFields>,
) -> PageResult<Redirect> {
    state
        .app()
        .settings()
        .remove_webhook(&viewer.principal, state.now())
        .await?;
    Ok(after("/settings/notifications", Notice::WebhookRemoved))
}

/// The Slack form.
#[derive(Debug, Deserialize)]
pub struct SlackForm {
    #[serde(default)]
    channel: String,
    #[serde(default)]
    bot_token: String,
    #[serde(default)]
    signing_secret: String,
    enabled: Option<String>,
}

/// `POST /settings/slack`: the channel, on or off, and the secrets typed (empty: kept).
pub async fn save_slack(
    State(state): State<ConsoleState>,
    Csrf(viewer, f): Csrf<SlackForm>,
) -> PageResult<Redirect> {
    let given = |s: String| Some(s).filter(|s| !s.trim().is_empty());
    state
        .app()
        .settings()
        .set_slack(
            &viewer.principal,
            autolock_core::service::SlackInput {
                channel: f.channel,
                enabled: f.enabled.is_some(),
                bot_token: given(f.bot_token),
                signing_secret: given(f.signing_secret),
            },
            state.now(),
        )
        .await?;
    Ok(after("/settings/notifications", Notice::SettingsSaved))
}

/// `POST /settings/slack/remove`.
pub async fn remove_slack(
    State(state): State<ConsoleState>,
    Csrf(viewer, NoFields {}): Csrf<NoFields>,
) -> PageResult<Redirect> {
    state
        .app()
        .settings()
        .remove_slack(&viewer.principal, state.now())
        .await?;
    Ok(after("/settings/notifications", Notice::SlackRemoved))
}

/// `POST /settings/slack/test`.
pub async fn test_slack(
    State(state): State<ConsoleState>,
    Csrf(viewer, NoFields {}): Csrf<NoFields>,
) -> PageResult<Redirect> {
    let d = state
        .app()
        .settings()
        .send_test(
            &viewer.principal,
            state.0.notifier.as_ref(),
            Channel::Slack,
            state.now(),
        )
        .await?;
    Ok(after("/settings/notifications", test_notice(&d)))
}

fn test_notice(d: &Delivery) -> Notice {
    match d.status {
        DeliveryStatus::Sent => Notice::TestSent,
        DeliveryStatus::Failed => Notice::TestFailed,
        DeliveryStatus::Pending => Notice::TestPending,
    }
}

/// `POST /settings/webhook/test`.
pub async fn test_webhook(
    State(state): State<ConsoleState>,
    Csrf(viewer, NoFields {}): Csrf<NoFields>,
) -> PageResult<Redirect> {
    let d = state
        .app()
        .settings()
        .send_test_webhook(&viewer.principal, state.0.notifier.as_ref(), state.now())
        .await?;
    Ok(after("/settings/notifications", test_notice(&d)))
}
