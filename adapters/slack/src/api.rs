//! Slack's Web API, as autolock calls it: a method, the bot token, arguments; the answer's
//! HTTP status, `Retry-After` and JSON (`ok`, `error`, the rest).

use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use autolock_core::delivery::{Attempt, AttemptOutcome, classify};
use autolock_core::ports::Sent;

/// How long a call may take.
const TIMEOUT: Duration = Duration::from_secs(5);
/// The largest answer read.
const MAX_ANSWER: usize = 256 * 1024;

/// Slack's Web API at a base URL.
#[derive(Clone)]
pub struct SlackApi {
    base: String,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for SlackApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackApi")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// One call's answer, or why there was none.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackAnswer {
    /// The HTTP status, or `None` on a network error.
    pub status: Option<u16>,
    /// `Retry-After`, in seconds (Slack's rate limits).
    pub retry_after: Option<u64>,
    /// The JSON answered.
    pub body: Option<Value>,
    /// How long it took.
    pub latency_ms: u64,
    /// What went wrong: the network error, or Slack's `error`.
    pub error: Option<String>,
}

impl SlackAnswer {
    /// Whether Slack did it: 200 and `ok: true`.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.status == Some(200)
            && self
                .body
                .as_ref()
                .and_then(|b| b.get("ok"))
                .and_then(Value::as_bool)
                == Some(true)
    }

    /// A string field of the answer.
    #[must_use]
    pub fn field(&self, name: &str) -> Option<&str> {
        self.body.as_ref()?.get(name)?.as_str()
    }

    /// The answer as the delivery log records an attempt at `now`: delivered when Slack did
    /// it; a rate limit (`429`, or `error: ratelimited`), a 5xx or a network error retried;
    /// any other refusal (`channel_not_found`, `invalid_auth`, …) final.
    #[must_use]
    pub fn sent(&self, now: autolock_core::Timestamp) -> Sent {
        let outcome = if self.ok() {
            AttemptOutcome::Delivered
        } else if self.error.as_deref() == Some("ratelimited") {
            AttemptOutcome::Retry
        } else if self.status == Some(200) {
            AttemptOutcome::Final
        } else {
            classify(self.status)
        };
        Sent {
            attempt: Attempt {
                at: now,
                status: self.status,
                latency_ms: self.latency_ms,
                error: self.error.clone(),
            },
            outcome,
            retry_after: self.retry_after,
        }
    }
}

impl SlackApi {
    /// The Web API at `base` (e.g. `https://slack.com/api`): https with the Mozilla roots
    /// shipped in the binary, http too (a fake Slack on loopback in tests).
    #[must_use]
    pub fn new(base: &str) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(TIMEOUT));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Self {
            base: base.trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new()).build(https),
        }
    }

    /// Calls `method` with a JSON body (the write methods: `chat.postMessage`, `chat.update`,
    /// `chat.postEphemeral`).
    pub async fn call_json(&self, method: &str, token: &str, args: &Value) -> SlackAnswer {
        self.call(
            method,
            token,
            "application/json; charset=utf-8",
            args.to_string(),
        )
        .await
    }

    /// Calls `method` with form arguments (the read methods: `users.info`).
    pub async fn call_form(&self, method: &str, token: &str, args: &[(&str, &str)]) -> SlackAnswer {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(args)
            .finish();
        self.call(method, token, "application/x-www-form-urlencoded", body)
            .await
    }

    async fn call(&self, method: &str, token: &str, kind: &str, body: String) -> SlackAnswer {
        let started = Instant::now();
        let elapsed = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let failed = |error: String| SlackAnswer {
            status: None,
            retry_after: None,
            body: None,
            latency_ms: elapsed(),
            error: Some(error),
        };
        let request = hyper::Request::post(format!("{}/{method}", self.base))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", kind)
            .header("user-agent", "autolock-slack/1")
            .body(Full::new(Bytes::from(body)));
        let request = match request {
            Ok(r) => r,
            Err(e) => return failed(e.to_string()),
        };
        let answer = tokio::time::timeout(TIMEOUT, async {
            let response = self.client.request(request).await.map_err(|e| {
                let mut text = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    text = format!("{text}: {s}");
                    source = s.source();
                }
                text
            })?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok());
            let bytes = Limited::new(response.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>((status, retry_after, bytes))
        })
        .await;
        match answer {
            Err(_) => failed(format!("no answer within {TIMEOUT:?}")),
            Ok(Err(e)) => failed(e),
            Ok(Ok((status, retry_after, bytes))) => {
                let body: Option<Value> = serde_json::from_slice(&bytes).ok();
                let error = match (&body, status) {
                    (Some(b), _) if b.get("ok").and_then(Value::as_bool) == Some(true) => None,
                    (Some(b), _) => Some(
                        b.get("error")
                            .and_then(Value::as_str)
                            .unwrap_or("not ok")
                            .to_owned(),
                    ),
                    (None, _) => Some(format!("HTTP {status}, not JSON")),
                };
                SlackAnswer {
                    status: Some(status),
                    retry_after,
                    body,
                    latency_ms: elapsed(),
                    error,
                }
            }
        }
    }
}
