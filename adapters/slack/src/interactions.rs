//! `POST /integrations/slack/interactions`: a click on Approve or Deny in Slack.
//!
//! 1. The signature is verified before anything else is read: `X-Slack-Signature` must be
//!    `v0=` + hex HMAC-SHA256 of `v0:{X-Slack-Request-Timestamp}:{raw body}` under the signing
//!    secret, compared in constant time, and the timestamp within 5 minutes of now (real time),
//!    so that a captured click cannot be replayed later. Otherwise 401, and nothing happens.
//! 2. The clicker is mapped to an autolock user: the one remembered for their Slack id, else
//!    the one with their Slack profile's address (`users.info`), then remembered.
//! 3. The verdict goes through the same use case as the console's (roles, never one's own
//!    request, once only). The message is updated through the outbox, as for a request resolved
//!    anywhere else. A clicker who may not, or is not known, gets an ephemeral message saying
//!    why (`chat.postEphemeral`), and nothing changes.
//!
//! Slack is answered 200 within 3 seconds whatever happens after the signature: the work is
//! bounded to 2.5 seconds.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

use autolock_core::delivery::SlackSettings;
use autolock_core::error::{Conflict, Error};
use autolock_core::ids::RequestId;
use autolock_core::ports::{Clock, Store, VerifiedIdentity};
use autolock_core::request::Verdict;
use autolock_core::service::Autolock;
use autolock_core::values::Email;

use crate::{SlackApi, SlackConfig};

/// The path Slack's Interactivity Request URL names.
pub const PATH: &str = "/integrations/slack/interactions";
/// How old a request's timestamp may be, either way.
pub const MAX_AGE_SECS: i64 = 300;
/// How long the work after the signature may take: Slack wants an answer within 3 seconds.
const WORK_WITHIN: Duration = Duration::from_millis(2500);
/// The largest interaction read.
const MAX_BODY: usize = 256 * 1024;

/// What the endpoint needs.
#[derive(Clone)]
pub struct Interactions {
    app: Autolock,
    store: Arc<dyn Store>,
    api: SlackApi,
    config: SlackConfig,
    clock: Arc<dyn Clock>,
    real_time: Arc<dyn Clock>,
}

impl std::fmt::Debug for Interactions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interactions")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Interactions {
    /// The endpoint over the use cases and the store, on the deployment's `clock` (verdicts)
    /// and `real_time` (signatures).
    #[must_use]
    pub fn new(
        app: Autolock,
        store: Arc<dyn Store>,
        config: SlackConfig,
        clock: Arc<dyn Clock>,
        real_time: Arc<dyn Clock>,
    ) -> Self {
        Self {
            app,
            store,
            api: SlackApi::new(&config.api_url),
            config,
            clock,
            real_time,
        }
    }
}

/// The endpoint's route, with its state.
pub fn router(state: Interactions) -> Router {
    Router::new()
        .route(PATH, post(interaction))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Arc::new(state))
}

/// `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}` under `secret`: Slack's signature.
#[must_use]
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// Why a request is not Slack's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No timestamp or signature header, or not in their form.
    Missing,
    /// The timestamp is more than 5 minutes from now.
    Stale,
    /// The signature is not the secret's over this body.
    Wrong,
}

/// Whether the headers sign `body` under `secret` at `now` (seconds since the epoch).
pub fn verify(secret: &str, headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), Refusal> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(timestamp), Some(given)) = (
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
    ) else {
        return Err(Refusal::Missing);
    };
    let at: i64 = timestamp.trim().parse().map_err(|_| Refusal::Missing)?;
    if (now - at).abs() > MAX_AGE_SECS {
        return Err(Refusal::Stale);
    }
    let tag = given
        .strip_prefix("v0=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(Refusal::Missing)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac.verify_slice(&tag).map_err(|_| Refusal::Wrong)
}

fn answer(status: StatusCode, text: &str) -> Response {
    (status, text.to_owned()).into_response()
}

async fn interaction(
    State(s): State<Arc<Interactions>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let settings = match s.store.slack().await {
        Ok(settings) => settings,
        Err(e) => {
            tracing::error!(error = %e, "reading Slack's settings");
            return answer(StatusCode::SERVICE_UNAVAILABLE, "try again");
        }
    };
    let Some(secret) = s.config.signing_secret(settings.as_ref()) else {
        return answer(StatusCode::NOT_FOUND, "Slack is not set up here");
    };
    if let Err(why) = verify(secret, &headers, &body, s.real_time.now().timestamp()) {
        tracing::warn!(?why, "a Slack interaction refused");
        return answer(StatusCode::UNAUTHORIZED, "not signed by Slack");
    }
    let Some(payload) = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "payload")
        .and_then(|(_, v)| serde_json::from_str::<Payload>(&v).ok())
    else {
        return answer(StatusCode::BAD_REQUEST, "no interaction payload");
    };
    let Some(settings) = settings else {
        return answer(StatusCode::OK, "");
    };
    if tokio::time::timeout(WORK_WITHIN, s.act(&payload, &settings))
        .await
        .is_err()
    {
        tracing::warn!("a Slack interaction took longer than it may");
    }
    answer(StatusCode::OK, "")
}

/// What autolock reads of an interaction.
#[derive(Debug, Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: String,
    user: SlackUser,
    #[serde(default)]
    team: Option<Team>,
    #[serde(default)]
    channel: Option<SlackChannelRef>,
    #[serde(default)]
    actions: Vec<Action>,
}

#[derive(Debug, Deserialize)]
struct SlackUser {
    id: String,
    #[serde(default)]
    team_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Team {
    id: String,
}

#[derive(Debug, Deserialize)]
struct SlackChannelRef {
    id: String,
}

#[derive(Debug, Deserialize)]
struct Action {
    action_id: String,
    #[serde(default)]
    value: Option<String>,
}

impl Interactions {
    async fn act(&self, payload: &Payload, settings: &SlackSettings) {
        if payload.kind != "block_actions" {
            return;
        }
        let Some(action) = payload.actions.first() else {
            return;
        };
        let verdict = match action.action_id.as_str() {
            "approve" => Verdict::Approve,
            "deny" => Verdict::Deny,
            // "Open in autolock" is a link: Slack reports its click too.
            _ => return,
        };
        let Some(token) = self.config.bot_token(settings).map(str::to_owned) else {
            tracing::warn!("a Slack click, and no bot token to answer it with");
            return;
        };
        let tell = |text: String| {
            let token = token.clone();
            async move {
                let Some(channel) = payload.channel.as_ref() else {
                    return;
                };
                let answer = self
                    .api
                    .call_json(
                        "chat.postEphemeral",
                        &token,
                        &json!({"channel": channel.id, "user": payload.user.id, "text": text}),
                    )
                    .await;
                if !answer.ok() {
                    tracing::warn!(error = ?answer.error, "Slack refused an ephemeral message");
                }
            }
        };
        let Some(request) = action
            .value
            .as_deref()
            .and_then(|v| RequestId::parse(v).ok())
        else {
            return tell("That button names no request autolock knows.".into()).await;
        };
        let principal = match self.clicker(payload, &token).await {
            Ok(p) => p,
            Err(why) => return tell(why).await,
        };
        // Decided already (by this clicker too): the outcome recorded, and nothing changes.
        if let Ok(Some(stored)) = self.store.request(&request).await {
            if !stored.is_open() {
                return tell(self.already(&request).await).await;
            }
        }
        let now = self.clock.now();
        match self
            .app
            .requests()
            .resolve(&principal, &request, verdict, now)
            .await
        {
            Ok(_) => {}
            Err(Error::ForbiddenSelf(_)) => {
                tell("You may not decide your own request: another approver will.".into()).await;
            }
            Err(Error::Forbidden(_)) => {
                tell(format!(
                    "Your autolock role ({}) may not approve or deny requests.",
                    principal.role.as_str()
                ))
                .await;
            }
            Err(Error::Conflict(Conflict::AlreadyResolved, _)) => {
                tell(self.already(&request).await).await;
            }
            Err(Error::NotFound(_)) => {
                tell("This request no longer exists in autolock.".into()).await;
            }
            Err(e) => {
                tracing::error!(error = %e, "a Slack verdict failed");
                tell(format!("autolock could not record that: {e}. Try again.")).await;
            }
        }
    }

    /// The autolock user who clicked, or why there is none.
    async fn clicker(
        &self,
        payload: &Payload,
        token: &str,
    ) -> Result<autolock_core::directory::Principal, String> {
        let team = payload
            .team
            .as_ref()
            .map(|t| t.id.clone())
            .or_else(|| payload.user.team_id.clone())
            .unwrap_or_default();
        let issuer = format!("https://slack.com/{team}");
        let subject = payload.user.id.clone();
        let known = self
            .store
            .user_of_sign_in_identity(&issuer, &subject)
            .await
            .map_err(|e| format!("autolock could not look you up: {e}"))?;
        let identity = if known.is_some() {
            VerifiedIdentity {
                issuer,
                subject,
                email: None,
                email_verified: false,
            }
        } else {
            let info = self
                .api
                .call_form("users.info", token, &[("user", &payload.user.id)])
                .await;
            if !info.ok() {
                return Err(format!(
                    "autolock could not look you up in Slack ({}).",
                    info.error.as_deref().unwrap_or("no answer")
                ));
            }
            let email = info
                .body
                .as_ref()
                .and_then(|b| b.pointer("/user/profile/email"))
                .and_then(serde_json::Value::as_str)
                .and_then(|e| Email::parse(e).ok());
            if email.is_none() {
                return Err(
                    "Slack did not give autolock your address (the app needs the users:read.email scope)."
                        .into(),
                );
            }
            VerifiedIdentity {
                issuer,
                subject,
                email,
                // Slack confirms an account's address before it is used.
                email_verified: true,
            }
        };
        self.app
            .sessions()
            .identify(&identity)
            .await
            .map_err(|e| match e {
                Error::Unauthenticated(why) => format!("You are not an autolock user: {why}."),
                Error::Inactive(why) => format!("You may not decide requests: {why}."),
                other => format!("autolock could not look you up: {other}"),
            })
    }

    /// What to tell a clicker whose request was resolved already: its outcome, and who.
    async fn already(&self, id: &RequestId) -> String {
        let Ok(Some(request)) = self.store.request(id).await else {
            return "This request was resolved already.".into();
        };
        let who = crate::decider(self.store.as_ref(), &request)
            .await
            .unwrap_or_else(|_| request.resolved_by.as_ref().map(ToString::to_string))
            .unwrap_or_else(|| "autolock".into());
        format!(
            "This request was {} already, by {who}.",
            request.status.as_str().replace('_', " ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(timestamp: &str, signature: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-slack-request-timestamp", timestamp.parse().unwrap());
        h.insert("x-slack-signature", signature.parse().unwrap());
        h
    }

    #[test]
    fn slacks_documented_example_verifies() {
        // The example of Slack's "Verifying requests from Slack" page.
        let secret = "8f742231b10e8888abcd99yyyzzz85a5";
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        assert_eq!(signature(secret, "1531420618", body), expected);
        let h = headers("1531420618", expected);
        assert_eq!(verify(secret, &h, body, 1_531_420_618 + 60), Ok(()));
        assert_eq!(
            verify(secret, &h, body, 1_531_420_618 + 301),
            Err(Refusal::Stale)
        );
        assert_eq!(
            verify(secret, &h, b"token=other", 1_531_420_618),
            Err(Refusal::Wrong)
        );
        assert_eq!(
            verify("another secret", &h, body, 1_531_420_618),
            Err(Refusal::Wrong)
        );
        assert_eq!(
            verify(secret, &HeaderMap::new(), body, 1_531_420_618),
            Err(Refusal::Missing)
        );
    }
}
