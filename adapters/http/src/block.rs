//! The block page: where a gateway sends a locked user. A signed link names the user, the
//! resource and an expiry (one hour); `GET` shows why access is locked and a reason form,
//! `POST` files the request — once per link. Plain HTML, no JavaScript.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use maud::{DOCTYPE, Markup, html};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use autolock_core::Timestamp;
use autolock_core::error::Conflict;
use autolock_core::ids::{ResourceId, UserId};
use autolock_core::lock::RightState;
use autolock_core::policy::{ApprovalMode, AutoLockAfter};
use autolock_core::ports::ConsumedLink;
use autolock_core::request::RequestStatus;
use autolock_core::service::BlockView;
use autolock_core::values::Reason;
use autolock_core::{Error, ValidationError};

use crate::AppState;

/// How long a block link stays valid.
pub const LINK_TTL: chrono::Duration = chrono::Duration::hours(1);

/// What a block link says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockLink {
    #[serde(rename = "u")]
    pub user: UserId,
    #[serde(rename = "r")]
    pub resource: ResourceId,
    /// Expiry, seconds since the epoch (autolock's clock).
    #[serde(rename = "e")]
    pub expires: i64,
}

/// Signs block links with the deployment's current key and verifies them with it or the
/// previous one (during a rotation).
#[derive(Clone)]
pub struct LinkSigner {
    keys: autolock_core::values::SigningKeys,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSigner(..)")
    }
}

/// Why a link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// Malformed or not signed by this deployment.
    Invalid,
    /// Past its hour.
    Expired,
}

impl LinkSigner {
    /// A signer with `keys`.
    #[must_use]
    pub fn new(keys: autolock_core::values::SigningKeys) -> Self {
        Self { keys }
    }

    fn mac(key: &[u8], payload: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(b"autolock-block-link.");
        mac.update(payload.as_bytes());
        mac
    }

    /// A link token for (user, resource), valid for an hour from `now`.
    #[must_use]
    pub fn sign(&self, user: &UserId, resource: &ResourceId, now: Timestamp) -> String {
        let link = BlockLink {
            user: user.clone(),
            resource: resource.clone(),
            expires: (now + LINK_TTL).timestamp(),
        };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&link).expect("serializes"));
        let signature = URL_SAFE_NO_PAD.encode(
            Self::mac(self.keys.current(), &payload)
                .finalize()
                .into_bytes(),
        );
        format!("{payload}.{signature}")
    }

    /// The link a token stands for, if it is ours and not expired at `now`.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<BlockLink, LinkError> {
        let (payload, signature) = token.split_once('.').ok_or(LinkError::Invalid)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| LinkError::Invalid)?;
        if !self
            .keys
            .verifying()
            .any(|key| Self::mac(key, payload).verify_slice(&signature).is_ok())
        {
            return Err(LinkError::Invalid);
        }
        let link: BlockLink = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|p| serde_json::from_slice(&p).ok())
            .ok_or(LinkError::Invalid)?;
        if now.timestamp() >= link.expires {
            return Err(LinkError::Expired);
        }
        Ok(link)
    }
}

const STYLE: &str = r#"
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; background: #f4f5f7; color: #1f2328; margin: 0; }
main { max-width: 34rem; margin: 4rem auto; background: #fff; border-radius: 12px; padding: 2rem 2.25rem; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
h1 { font-size: 1.4rem; margin: 0 0 .75rem; }
p { line-height: 1.5; }
.badge { display: inline-block; font-size: .8rem; padding: .15rem .55rem; border-radius: 999px; background: #fff1e5; color: #9a4b00; font-weight: 600; }
.muted { color: #59636e; font-size: .9rem; }
label { display: block; font-weight: 600; margin: 1.25rem 0 .4rem; }
textarea { width: 100%; box-sizing: border-box; min-height: 6rem; padding: .6rem; font: inherit; border: 1px solid #d1d9e0; border-radius: 8px; }
button, a.button { display: inline-block; margin-top: 1rem; background: #1f6feb; color: #fff; border: 0; border-radius: 8px; padding: .6rem 1.2rem; font: inherit; font-weight: 600; cursor: pointer; text-decoration: none; }
.error { color: #b42318; font-weight: 600; }
"#;

/// A block page: bearer links, so nothing is cached, sent on as a referrer, or framed.
fn page(status: StatusCode, title: &str, body: Markup) -> Response {
    let html = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · autolock" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body { main { (body) } }
        }
    };
    let mut response = (status, axum::response::Html(html.into_string())).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
    );
    headers.insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("DENY"),
    );
    response
}

fn message(status: StatusCode, title: &str, text: &str) -> Response {
    page(status, title, html! { h1 { (title) } p { (text) } })
}

/// Access restored, and on to the resource: a page that goes there at once (`Refresh`) with a
/// link to follow if it does not. Not a redirect: a browser would refuse one, after a form, to
/// another origin than the page's (`form-action 'self'`).
fn continue_to(name: &impl std::fmt::Display, address: &str) -> Response {
    let title = "Access restored";
    let mut response = page(
        StatusCode::OK,
        title,
        html! {
            h1 { (title) }
            p { "Access to " (name) " is restored." }
            p { a.button href=(address) { "Continue to " (name) } }
        },
    );
    if let Ok(refresh) = header::HeaderValue::from_str(&format!("0; url={address}")) {
        response.headers_mut().insert(header::REFRESH, refresh);
    }
    response
}

fn link_problem(e: LinkError) -> Response {
    match e {
        LinkError::Invalid => message(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "This link is not valid. Reach the resource again to get a new one.",
        ),
        LinkError::Expired => message(
            StatusCode::GONE,
            "Link expired",
            "This link has expired. Reach the resource again to get a new one.",
        ),
    }
}

fn human(d: AutoLockAfter) -> String {
    match d {
        AutoLockAfter::Never => "never".to_owned(),
        AutoLockAfter::Hours(24) => "1 day".to_owned(),
        AutoLockAfter::Hours(h) if h % 24 == 0 => format!("{} days", h / 24),
        AutoLockAfter::Hours(h) => format!("{h} hours"),
    }
}

fn since_text(t: Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn gone() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "Not found",
        "The user or resource of this link no longer exists.",
    )
}

fn deactivated() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "Account deactivated",
        "Your account is deactivated: ask an admin to reactivate it.",
    )
}

fn went_wrong(e: &Error) -> Response {
    tracing::error!(error = %autolock_core::error::chain(e), "block page");
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Try again in a moment.",
    )
}

async fn render_form(
    state: &AppState,
    token: &str,
    link: &BlockLink,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let view = match state
        .app()
        .rights()
        .block_view(&link.user, &link.resource, state.now())
        .await
    {
        Ok(BlockView::Right(b)) => (b.resource, b.right),
        Ok(BlockView::Gone) => return gone(),
        Ok(BlockView::Deactivated) => return deactivated(),
        Err(e) => return went_wrong(&e),
    };
    let (resource, right) = view;
    let RightState::Locked {
        locked_at,
        approval,
    } = right.state
    else {
        let text = match right.state {
            RightState::Active { .. } => format!(
                "Your access to {} is active: reconnect to continue.",
                resource.name
            ),
            _ => format!("You do not have access to {}.", resource.name),
        };
        return message(StatusCode::OK, "Access is not locked", &text);
    };
    let durations: Vec<String> = right
        .paths
        .iter()
        .map(|p| human(p.policy.auto_lock_after))
        .collect();
    let last_use = right.last_access.map_or_else(
        || "never used it".to_owned(),
        |t| format!("last used it on {}", since_text(t)),
    );
    let (method, action) = match approval {
        ApprovalMode::Automatic => (
            "Automatic approval: state why you need access and you will continue to the resource at once.",
            "Continue",
        ),
        ApprovalMode::Manual => (
            "Manual approval: your request goes to the approvers, and you will be emailed when it is decided.",
            "Send request",
        ),
    };
    let name = resource.name.as_str();
    let body = html! {
        span class="badge" { "Locked" }
        h1 { "Your access to " (name) " is locked" }
        p {
            "Access locks after a period without use (auto-lock after " (durations.join(" / ")) "). "
            "You " (last_use) "; access locked on " (since_text(locked_at)) "."
        }
        p class="muted" { (method) }
        @if let Some(e) = error {
            p class="error" role="alert" { (e) }
        }
        form method="post" action={ "/block/" (token) } {
            label for="reason" { "Why do you need access to " (name) "?" }
            textarea id="reason" name="reason" maxlength="1000" required {}
            button type="submit" { (action) }
        }
    };
    page(status, &format!("Access to {name} is locked"), body)
}

/// `GET /block/{token}`: why access is locked, and the reason form.
pub async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match state.links().verify(&token, state.now()) {
        Ok(link) => render_form(&state, &token, &link, None, StatusCode::OK).await,
        Err(e) => link_problem(e),
    }
}

/// The block page's form.
#[derive(Debug, Deserialize)]
pub struct ReasonForm {
    /// The reason text.
    #[serde(default)]
    pub reason: String,
}

/// `POST /block/{token}`: files the request, once per link.
pub async fn submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    axum::Form(form): axum::Form<ReasonForm>,
) -> Response {
    let now = state.now();
    let link = match state.links().verify(&token, now) {
        Ok(link) => link,
        Err(e) => return link_problem(e),
    };
    let reason = match Reason::parse(&form.reason) {
        Ok(r) => r,
        Err(ValidationError { message, .. }) => {
            let text = format!("Please give a reason: it {message}.");
            return render_form(&state, &token, &link, Some(&text), StatusCode::BAD_REQUEST).await;
        }
    };
    let (principal, resource) = match state
        .app()
        .rights()
        .block_view(&link.user, &link.resource, now)
        .await
    {
        Ok(BlockView::Right(b)) => (b.user, b.resource),
        Ok(BlockView::Gone) => return gone(),
        Ok(BlockView::Deactivated) => return deactivated(),
        Err(e) => return went_wrong(&e),
    };
    let consumed = ConsumedLink {
        id: token.rsplit('.').next().unwrap_or_default().to_owned(),
        expires_at: chrono::DateTime::from_timestamp(link.expires, 0).unwrap_or(now),
    };
    match state
        .app()
        .requests()
        .file_request_via(&principal, &link.resource, reason, Some(consumed), now)
        .await
    {
        Ok(filed) if filed.request.status == RequestStatus::AutoApproved => {
            let address = resource.address.trim();
            if address.starts_with("https://") || address.starts_with("http://") {
                continue_to(&resource.name, address)
            } else {
                message(
                    StatusCode::OK,
                    "Access restored",
                    &format!(
                        "Access to {} is restored: reconnect to continue.",
                        resource.name
                    ),
                )
            }
        }
        Ok(_) => message(
            StatusCode::OK,
            "Request sent",
            &format!(
                "Your request for access to {} was sent to the approvers. You will be emailed when it is decided.",
                resource.name
            ),
        ),
        Err(Error::Conflict(Conflict::LinkUsed, _)) => message(
            StatusCode::CONFLICT,
            "Link already used",
            "This link was used already. Reach the resource again to get a new one.",
        ),
        Err(Error::Conflict(..)) => message(
            StatusCode::CONFLICT,
            "Access is not locked",
            "Your access is not locked any more: reconnect to continue.",
        ),
        Err(Error::Forbidden(_)) => deactivated(),
        Err(e) => went_wrong(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_767_225_600 + s, 0).unwrap()
    }

    fn keys(current: &str, previous: Option<&str>) -> autolock_core::values::SigningKeys {
        autolock_core::values::SigningKeys::new(
            format!("{current:-<32}").as_bytes(),
            previous
                .map(|p| format!("{p:-<32}"))
                .as_deref()
                .map(str::as_bytes),
        )
        .unwrap()
    }

    #[test]
    fn links_name_user_and_resource_expire_after_an_hour_and_resist_tampering() {
        let signer = LinkSigner::new(keys("key", None));
        let (bob, gitlab): (UserId, ResourceId) =
            ("bob".parse().unwrap(), "gitlab".parse().unwrap());
        let token = signer.sign(&bob, &gitlab, t(0));
        let link = signer.verify(&token, t(3599)).unwrap();
        assert_eq!((link.user, link.resource), (bob.clone(), gitlab.clone()));
        assert_eq!(signer.verify(&token, t(3600)), Err(LinkError::Expired));
        let other: ResourceId = "jira".parse().unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&BlockLink {
                user: bob,
                resource: other,
                expires: t(3600).timestamp(),
            })
            .unwrap(),
        );
        let signature = token.split_once('.').unwrap().1;
        assert_eq!(
            signer.verify(&format!("{forged_payload}.{signature}"), t(1)),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            LinkSigner::new(keys("other", None)).verify(&token, t(1)),
            Err(LinkError::Invalid)
        );
    }

    #[test]
    fn a_rotated_key_still_verifies_the_links_it_signed_until_it_is_dropped() {
        let (bob, gitlab): (UserId, ResourceId) =
            ("bob".parse().unwrap(), "gitlab".parse().unwrap());
        let old = LinkSigner::new(keys("old", None)).sign(&bob, &gitlab, t(0));
        let rotating = LinkSigner::new(keys("new", Some("old")));
        assert!(
            rotating.verify(&old, t(1)).is_ok(),
            "signed before the rotation"
        );
        let new = rotating.sign(&bob, &gitlab, t(0));
        assert!(
            LinkSigner::new(keys("new", None))
                .verify(&new, t(1))
                .is_ok()
        );
        assert_eq!(
            LinkSigner::new(keys("new", None)).verify(&old, t(1)),
            Err(LinkError::Invalid),
            "the previous key dropped"
        );
    }
}
