//! A fake Slack Web API on loopback: it answers `chat.postMessage`, `chat.update`,
//! `chat.postEphemeral` and `users.info` as Slack documents them, and records every call (the
//! method, the bearer token, the arguments), so that tests see what autolock sent.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One call as Slack received it.
#[derive(Debug, Clone)]
pub struct Call {
    /// The method, e.g. `chat.postMessage`.
    pub method: String,
    /// The bearer token.
    pub token: String,
    /// The arguments (a JSON body, or a form as an object of strings).
    pub args: Value,
}

/// The fake Slack: its base URL, what it was sent, and how it answers.
#[derive(Clone)]
pub struct FakeSlack {
    /// The Web API's base URL (`http://127.0.0.1:PORT/api`).
    pub url: String,
    calls: Arc<Mutex<Vec<Call>>>,
    rate_limited: Arc<AtomicUsize>,
    emails: Arc<HashMap<String, String>>,
    posted: Arc<AtomicUsize>,
}

impl std::fmt::Debug for FakeSlack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeSlack").field("url", &self.url).finish()
    }
}

impl FakeSlack {
    /// Starts it; `users` are the workspace's members, (Slack id, profile email).
    ///
    /// # Panics
    /// When no port is free on loopback.
    pub async fn start(users: &[(&str, &str)]) -> Self {
        let fake = Self {
            url: String::new(),
            calls: Arc::default(),
            rate_limited: Arc::default(),
            emails: Arc::new(
                users
                    .iter()
                    .map(|(id, email)| ((*id).to_owned(), (*email).to_owned()))
                    .collect(),
            ),
            posted: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/api/{method}", axum::routing::post(answer))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let url = format!("http://{}/api", listener.local_addr().expect("bound"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serves") });
        Self { url, ..fake }
    }

    /// Every call so far, in order.
    ///
    /// # Panics
    /// Never (a poisoned lock aside).
    #[must_use]
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("not poisoned").clone()
    }

    /// The calls of one method.
    #[must_use]
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method)
            .collect()
    }

    /// Answers the next `n` posts with Slack's rate limit: 429, `Retry-After: 120`.
    pub fn rate_limit_posts(&self, n: usize) {
        self.rate_limited.store(n, Ordering::SeqCst);
    }
}

async fn answer(
    State(fake): State<FakeSlack>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let args = if json_body {
        serde_json::from_str(&body).unwrap_or(Value::Null)
    } else {
        Value::Object(
            form_urlencoded::parse(body.as_bytes())
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect(),
        )
    };
    fake.calls.lock().expect("not poisoned").push(Call {
        method: method.clone(),
        token,
        args: args.clone(),
    });
    let ok = |extra: Value| {
        let mut v = json!({"ok": true});
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        axum::Json(v).into_response()
    };
    match method.as_str() {
        "chat.postMessage" => {
            let limited = fake
                .rate_limited
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if limited {
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, "120")],
                    axum::Json(json!({"ok": false, "error": "ratelimited"})),
                )
                    .into_response();
            }
            let n = fake.posted.fetch_add(1, Ordering::SeqCst) + 1;
            // Slack answers the channel's id (a name given is resolved) and the message's ts.
            ok(json!({"channel": "C0APPROVALS", "ts": format!("1767225600.{n:06}")}))
        }
        "chat.update" => ok(json!({"channel": args["channel"], "ts": args["ts"]})),
        "chat.postEphemeral" => ok(json!({"message_ts": "1767225600.999999"})),
        "users.info" => {
            let id = args["user"].as_str().unwrap_or_default();
            match fake.emails.get(id) {
                Some(email) => ok(json!({"user": {"id": id, "profile": {"email": email}}})),
                None => axum::Json(json!({"ok": false, "error": "user_not_found"})).into_response(),
            }
        }
        _ => axum::Json(json!({"ok": false, "error": "unknown_method"})).into_response(),
    }
}
