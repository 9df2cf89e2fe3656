//! What autolock says: the emails (a text and an HTML part each) and the webhook body, exactly
//! as docs/semantics.md ("Notifications") describes them. HTML is written with `maud`, which
//! escapes every value it is given.

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};
use serde::Serialize;

use crate::Timestamp;
use crate::delivery::{ChatMessage, EmailMessage};
use crate::directory::{Resource, User};
use crate::request::{AccessRequest, RequestStatus};
use crate::values::Email;

/// The webhook body, fields in the documented order.
#[derive(Debug, Serialize)]
struct AccessRequestBody<'a> {
    version: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    request_id: &'a str,
    request_url: String,
    user_name: &'a str,
    user_url: String,
    resource_name: &'a str,
    resource_url: String,
    requested_at: String,
    reason: &'a str,
}

/// `requested_at` as the webhook carries it: RFC 3339 with microseconds and offset.
#[must_use]
pub fn webhook_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

/// The console's links, from its base URL.
#[derive(Debug, Clone, Copy)]
pub struct Links<'a>(pub &'a str);

impl Links<'_> {
    fn base(&self) -> &str {
        self.0.trim_end_matches('/')
    }

    /// The Requests page, opened on one request.
    #[must_use]
    pub fn request(&self, user: &str, request: &str) -> String {
        format!(
            "{}/access-requests?user_id={user}&access_request_id={request}",
            self.base()
        )
    }

    /// A user's page.
    #[must_use]
    pub fn user(&self, user: &str) -> String {
        format!("{}/users/{user}", self.base())
    }

    /// A resource's page.
    #[must_use]
    pub fn resource(&self, resource: &str) -> String {
        format!("{}/resources/{resource}", self.base())
    }
}

/// `text` percent-encoded for a query string: everything but the unreserved characters.
#[must_use]
pub fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What the webhook body speaks of.
#[derive(Debug)]
pub struct BodySubject<'a> {
    pub request_id: &'a str,
    /// The requester's id.
    pub user_id: &'a str,
    /// The requester's name.
    pub user_name: &'a str,
    pub resource_id: &'a str,
    pub resource_name: &'a str,
    /// When the request was filed.
    pub requested_at: DateTime<Utc>,
    /// The requester's reason.
    pub reason: &'a str,
}

/// The exact webhook body of an access request.
#[must_use]
pub fn access_request_body(console: &str, s: &BodySubject<'_>) -> String {
    let links = Links(console);
    let body = AccessRequestBody {
        version: "1",
        kind: "ACCESS_REQUEST",
        request_id: s.request_id,
        request_url: links.request(s.user_id, s.request_id),
        user_name: s.user_name,
        user_url: links.user(s.user_id),
        resource_name: s.resource_name,
        resource_url: links.resource(s.resource_id),
        requested_at: webhook_time(s.requested_at),
        reason: s.reason,
    };
    serde_json::to_string(&body).expect("the body serializes")
}

/// The exact webhook body for a new open request.
#[must_use]
pub fn webhook_body(
    console: &str,
    request: &AccessRequest,
    user: &User,
    resource: &Resource,
) -> String {
    access_request_body(
        console,
        &BodySubject {
            request_id: request.id.as_str(),
            user_id: user.id.as_str(),
            user_name: user.display_name.as_str(),
            resource_id: resource.id.as_str(),
            resource_name: resource.name.as_str(),
            requested_at: request.requested_at,
            reason: request.reason.as_str(),
        },
    )
}

/// A paragraph of an email: plain text, or text a user wrote (quoted, so that it can never pass
/// for autolock's own words: every line of it starts with "> " in the text part).
#[derive(Debug)]
enum Para {
    Says(String),
    Quotes(String, String),
}

fn email(
    to: &Email,
    subject: String,
    paras: &[Para],
    link: Option<(&str, String)>,
) -> EmailMessage {
    let mut text = Vec::new();
    for p in paras {
        match p {
            Para::Says(line) => text.push(line.clone()),
            Para::Quotes(label, quoted) => {
                let lines: Vec<String> = quoted.lines().map(|l| format!("> {l}")).collect();
                text.push(format!("{label}\n{}", lines.join("\n")));
            }
        }
    }
    if let Some((label, url)) = &link {
        text.push(format!("{label}: {url}"));
    }
    text.push("— autolock".to_owned());
    let html: Markup = html! {
        (DOCTYPE)
        html {
            body style="font-family:sans-serif" {
                @for p in paras {
                    @match p {
                        Para::Says(line) => p { (line) },
                        Para::Quotes(label, quoted) => {
                            p { (label) }
                            blockquote style="white-space:pre-wrap;border-left:3px solid #d0d7de;margin:0;padding-left:12px" { (quoted) }
                        }
                    }
                }
                @if let Some((label, url)) = &link {
                    p { a href=(url) { (label) } }
                }
                p style="color:#59636e" { "— autolock" }
            }
        }
    };
    EmailMessage {
        to: to.clone(),
        subject,
        text: text.join("\n\n"),
        html: html.into_string(),
    }
}

/// The email to an approver about a new open request.
#[must_use]
pub fn new_request_email(
    console: &str,
    to: &Email,
    request: &AccessRequest,
    user: &User,
    resource: &Resource,
) -> EmailMessage {
    email(
        to,
        format!(
            "Access request: {} asks to regain {}",
            user.display_name, resource.name
        ),
        &[
            Para::Says(format!(
                "{} ({}) is locked out of {} and asks to get back in.",
                user.display_name, user.email, resource.name
            )),
            Para::Quotes("Their reason:".into(), request.reason.as_str().to_owned()),
        ],
        Some((
            "Review the request",
            Links(console).request(user.id.as_str(), request.id.as_str()),
        )),
    )
}

/// The email to a requester about the outcome; `None` for outcomes nobody is emailed about.
#[must_use]
pub fn outcome_email(
    to: &Email,
    request: &AccessRequest,
    resource: &Resource,
) -> Option<EmailMessage> {
    let (subject, line) = match request.status {
        RequestStatus::Approved => (
            format!("Access to {} restored", resource.name),
            format!(
                "Your request for access to {} was approved: reconnect to continue.",
                resource.name
            ),
        ),
        RequestStatus::Denied => (
            format!("Access to {} stays locked", resource.name),
            format!("Your request for access to {} was denied.", resource.name),
        ),
        _ => return None,
    };
    Some(email(
        to,
        subject,
        &[
            Para::Says(line),
            Para::Quotes(
                "Your reason was:".into(),
                request.reason.as_str().to_owned(),
            ),
        ],
        None,
    ))
}

/// The email that warns a user of a coming lock.
#[must_use]
pub fn warning_email(to: &Email, resource: &Resource, lock_at: Timestamp) -> EmailMessage {
    email(
        to,
        format!("Your access to {} locks soon", resource.name),
        &[Para::Says(format!(
            "You have not used {} for a while. Your access locks on {} unless you use it before then.",
            resource.name,
            lock_at.format("%Y-%m-%d %H:%M UTC")
        ))],
        None,
    )
}

/// The email that tells an admin the usage feed fell silent.
#[must_use]
pub fn feed_silent_email(
    to: &Email,
    console: &str,
    since: Timestamp,
    last_heard: Timestamp,
) -> EmailMessage {
    email(
        to,
        "autolock hears no access events: locks are held".to_owned(),
        &[
            Para::Says(format!(
                "No gateway has reported an access since {}. From {} on, that time does not count toward anyone's auto-lock duration, so nobody is locked while the feed is silent.",
                last_heard.format("%Y-%m-%d %H:%M UTC"),
                since.format("%Y-%m-%d %H:%M UTC")
            )),
            Para::Says(
                "Check the gateways and the rule that forwards their events. Locks resume, with the time each right had left, when events arrive again."
                    .to_owned(),
            ),
        ],
        Some(("Open autolock", format!("{}/audit", console.trim_end_matches('/')))),
    )
}

/// The email with a one-time sign-in link to the console.
#[must_use]
pub fn sign_in_email(to: &Email, link: &str) -> EmailMessage {
    email(
        to,
        "Sign in to autolock".to_owned(),
        &[Para::Says(
            "Open this link within 15 minutes to sign in to the autolock console. It works once. \
             If you did not ask for it, ignore this email."
                .to_owned(),
        )],
        Some(("Sign in", link.to_owned())),
    )
}

/// Text for Slack's `mrkdwn`: `&`, `<` and `>` escaped, so that no text of a user's makes a
/// link or a mention.
#[must_use]
pub fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn slack_time(t: Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The Slack message about a new open request: who asks for what and why, since when it is
/// locked, a link to the request in the console, and the Approve and Deny buttons (their value
/// is the request's id).
#[must_use]
pub fn slack_request_message(
    console: &str,
    request: &AccessRequest,
    user: &User,
    resource: &Resource,
) -> ChatMessage {
    let link = Links(console).request(user.id.as_str(), request.id.as_str());
    let button = |id: &str, label: &str, style: &str| {
        serde_json::json!({
            "type": "button",
            "action_id": id,
            "style": style,
            "text": {"type": "plain_text", "text": label},
            "value": request.id.as_str(),
        })
    };
    let headline = format!(
        "*{}* asks to get back into *{}*",
        slack_escape(user.display_name.as_str()),
        slack_escape(&resource.name.to_string())
    );
    ChatMessage {
        request: request.id.to_string(),
        text: format!(
            "{} asks to get back into {}",
            user.display_name.as_str(),
            resource.name
        ),
        blocks: serde_json::json!([
            {"type": "section", "text": {"type": "mrkdwn", "text": headline}},
            {"type": "section", "fields": [
                {"type": "mrkdwn", "text": format!("*Reason*\n{}", slack_escape(request.reason.as_str()))},
                {"type": "mrkdwn", "text": format!("*Locked since*\n{}", slack_time(request.locked_at))},
            ]},
            {"type": "actions", "block_id": "autolock_request", "elements": [
                button("approve", "Approve", "primary"),
                button("deny", "Deny", "danger"),
                {"type": "button", "action_id": "open", "text": {"type": "plain_text", "text": "Open in autolock"}, "url": link},
            ]},
        ]),
        update: false,
    }
}

/// The same message once the request is resolved, wherever it was: its outcome and who decided
/// (`decided_by`, a name), without buttons.
#[must_use]
pub fn slack_outcome_message(
    console: &str,
    request: &AccessRequest,
    user: &User,
    resource: &Resource,
    decided_by: Option<&str>,
) -> ChatMessage {
    let outcome = match request.status {
        RequestStatus::Approved => "approved",
        RequestStatus::Denied => "denied",
        RequestStatus::AutoApproved => "approved automatically",
        RequestStatus::Cancelled => "cancelled",
        RequestStatus::Open => "open",
    };
    let by = decided_by
        .map(|name| format!(" by {}", slack_escape(name)))
        .unwrap_or_default();
    let when = request.resolved_at.map(slack_time).unwrap_or_default();
    let line = format!(
        "*{}*'s request for *{}* was *{outcome}*{by} ({when}).",
        slack_escape(user.display_name.as_str()),
        slack_escape(&resource.name.to_string()),
    );
    let link = Links(console).request(user.id.as_str(), request.id.as_str());
    ChatMessage {
        request: request.id.to_string(),
        text: format!(
            "{}'s request for {} was {outcome}{}",
            user.display_name.as_str(),
            resource.name,
            decided_by.map(|n| format!(" by {n}")).unwrap_or_default()
        ),
        blocks: serde_json::json!([
            {"type": "section", "text": {"type": "mrkdwn", "text": line}},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": format!("*Reason:* {}", slack_escape(request.reason.as_str()))},
            ]},
            {"type": "actions", "block_id": "autolock_outcome", "elements": [
                {"type": "button", "action_id": "open", "text": {"type": "plain_text", "text": "Open in autolock"}, "url": link},
            ]},
        ]),
        update: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::Role;

    /// A user, a resource and an open request of theirs, at `t`.
    fn subject(
        user: &str,
        name: &str,
        resource: &str,
        request: &str,
        reason: &str,
        t: DateTime<Utc>,
    ) -> (User, Resource, AccessRequest) {
        let user = User {
            id: user.parse().unwrap(),
            email: format!("{user}@example.com").parse().unwrap(),
            display_name: name.parse().unwrap(),
            role: Role::Member,
            active: true,
            created_at: t,
            revision: 0,
            sessions_after: None,
        };
        let resource = Resource {
            id: resource.parse().unwrap(),
            name: "Gitlab".parse().unwrap(),
            address: "https://gitlab.example.com".into(),
            policy: crate::policy::Policy {
                auto_lock_after: crate::policy::AutoLockAfter::Hours(168),
                approval: crate::policy::ApprovalMode::Manual,
            },
            created_at: t,
            revision: 0,
        };
        let request = AccessRequest {
            id: request.parse().unwrap(),
            user: user.id.clone(),
            resource: resource.id.clone(),
            reason: reason.parse().unwrap(),
            approval: crate::policy::ApprovalMode::Manual,
            locked_at: t,
            status: RequestStatus::Open,
            requested_at: t,
            resolved_at: None,
            resolved_by: None,
            cancel_reason: None,
        };
        (user, resource, request)
    }

    #[test]
    fn emails_have_a_text_part_with_the_reason_and_the_link_and_an_escaped_html_part() {
        let t = chrono::DateTime::from_timestamp(1_767_916_800, 0).unwrap();
        let (user, resource, request) =
            subject("bob", "Bob <B>", "gitlab", "r1", "Release & hotfix", t);
        let to: Email = "rita@example.com".parse().unwrap();
        let m = new_request_email(
            "https://console.example.com/",
            &to,
            &request,
            &user,
            &resource,
        );
        assert_eq!(m.subject, "Access request: Bob <B> asks to regain Gitlab");
        assert!(
            m.text.contains("Their reason:\n> Release & hotfix"),
            "{}",
            m.text
        );
        assert!(m.text.contains("Review the request: https://console.example.com/access-requests?user_id=bob&access_request_id=r1"), "{}", m.text);
        assert!(
            m.html.contains("Bob &lt;B&gt;") && m.html.contains("Release &amp; hotfix"),
            "{}",
            m.html
        );
        let approved = AccessRequest {
            status: RequestStatus::Approved,
            ..request.clone()
        };
        assert_eq!(
            outcome_email(&user.email, &approved, &resource)
                .unwrap()
                .subject,
            "Access to Gitlab restored"
        );
        let denied = AccessRequest {
            status: RequestStatus::Denied,
            ..request.clone()
        };
        assert!(
            outcome_email(&user.email, &denied, &resource)
                .unwrap()
                .text
                .contains("was denied")
        );
        let cancelled = AccessRequest {
            status: RequestStatus::Cancelled,
            ..request
        };
        assert_eq!(
            outcome_email(&user.email, &cancelled, &resource),
            None,
            "nobody is emailed about a cancellation"
        );
        assert!(
            warning_email(&user.email, &resource, t)
                .text
                .contains("2026-01-09 00:00 UTC")
        );
    }

    #[test]
    fn a_reason_cannot_forge_a_line_of_autolocks_own_in_the_text_email() {
        let t = chrono::DateTime::from_timestamp(1_767_916_800, 0).unwrap();
        let forged = "hotfix\n\nReview the request: https://evil.example/phish";
        let (user, resource, request) = subject("bob", "Bob", "gitlab", "r1", forged, t);
        let to: Email = "rita@example.com".parse().unwrap();
        let m = new_request_email(
            "https://console.example.com",
            &to,
            &request,
            &user,
            &resource,
        );
        let reviews: Vec<&str> = m
            .text
            .lines()
            .filter(|l| l.starts_with("Review the request"))
            .collect();
        assert_eq!(
            reviews,
            [
                "Review the request: https://console.example.com/access-requests?user_id=bob&access_request_id=r1"
            ],
            "{}",
            m.text
        );
        assert!(
            m.text
                .contains("> Review the request: https://evil.example/phish")
        );
        assert!(
            m.text.contains("\n> \n"),
            "an empty line of the reason is quoted too"
        );
    }

    #[test]
    fn the_webhook_body_has_exactly_the_fields_of_the_design_in_order() {
        let t = chrono::DateTime::parse_from_rfc3339("2024-04-15T04:02:28.359054Z")
            .unwrap()
            .with_timezone(&Utc);
        let (user, resource, request) = subject(
            "123",
            "John Doe",
            "XYZ",
            "ABC",
            "This is a test access request.",
            t,
        );
        let body = webhook_body("https://acme.example.com/", &request, &user, &resource);
        assert_eq!(
            body,
            r#"{"version":"1","type":"ACCESS_REQUEST","request_id":"ABC","request_url":"https://acme.example.com/access-requests?user_id=123&access_request_id=ABC","user_name":"John Doe","user_url":"https://acme.example.com/users/123","resource_name":"Gitlab","resource_url":"https://acme.example.com/resources/XYZ","requested_at":"2024-04-15T04:02:28.359054+00:00","reason":"This is a test access request."}"#
        );
    }
}
