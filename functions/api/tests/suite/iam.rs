//! The API function's IAM policy in `infra/template.yaml` allows exactly the AWS operations its
//! code performs, recorded by an interceptor on its clients while it serves, through API
//! Gateway envelopes, the directory edits, policy edits, the gateway's calls, requests, unlocks,
//! settings, reports, the audit log and a console sign-in by email (through the outbox); and its
//! keys, read from SSM Parameter Store.

use std::sync::Arc;

use autolock_api::config::Config;
use autolock_api::handler::router;
use autolock_aws::testing::{Recorder, assert_policy_is_exact};
use autolock_tests::world::World;
use axum::http::StatusCode;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// An API Gateway v2 envelope for `method path` with `body`, as `sub` (none: no authorizer, as
/// for the console and the block page), with `cookie`.
fn envelope(
    method: &str,
    path: &str,
    sub: Option<&str>,
    body: Option<String>,
    cookie: Option<&str>,
) -> String {
    let mut e: Value =
        serde_json::from_str(include_str!("../../../../events/api-post-check.json")).unwrap();
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    e["rawPath"] = path.into();
    e["rawQueryString"] = query.into();
    e["requestContext"]["http"]["method"] = method.into();
    e["requestContext"]["http"]["path"] = path.into();
    match sub {
        Some(sub) => e["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = sub.into(),
        None => {
            e["requestContext"]
                .as_object_mut()
                .unwrap()
                .remove("authorizer");
        }
    }
    e["body"] = body.map_or(Value::Null, Value::String);
    if let Some(c) = cookie {
        e["headers"]["cookie"] = c.into();
    }
    e.to_string()
}

struct Api {
    app: axum::Router,
}

impl Api {
    async fn send(&self, envelope: &str) -> (StatusCode, Vec<String>, String) {
        let request = lambda_http::request::from_str(envelope).unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let cookies = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
            .collect();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, cookies, String::from_utf8_lossy(&body).into_owned())
    }

    async fn call(&self, method: &str, path: &str, sub: &str, body: Option<Value>) -> Value {
        let (status, _, text) = self
            .send(&envelope(
                method,
                path,
                Some(sub),
                body.map(|b| b.to_string()),
                None,
            ))
            .await;
        assert!(
            status.is_success(),
            "{method} {path} as {sub}: {status} {text}"
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

#[tokio::test]
async fn the_api_functions_policy_allows_exactly_what_it_does() {
    let recorder = Recorder::default();
    let sdk = autolock_aws::sdk_config().await;
    let (store, teardown) = autolock_dynamodb::testing::fresh_recorded(&recorder).await;
    let store = Arc::new(store);
    World::seed(store.clone()).await;
    let config = Config {
        feed_guard: Some(
            autolock_core::service::FeedWindow::new(chrono::Duration::hours(6)).unwrap(),
        ),
        ..crate::common::config(store.tables().clone())
    };
    // The keys live in SSM Parameter Store, read at cold start.
    let ssm_admin = aws_sdk_ssm::Client::new(&sdk);
    let prefix = format!("/autolock/{}", autolock_core::ids::GroupId::generate());
    let config = Config {
        block_link_key_parameter: format!("{prefix}/block-link-key"),
        session_key_parameter: format!("{prefix}/session-key"),
        // Single sign-on, its client secret in SSM too (the provider is not asked anything
        // before a sign-in).
        sign_on: Some(autolock_api::config::SignOn {
            issuer: "https://login.acme.example.com".into(),
            client_id: "autolock-console".into(),
            client_secret_parameter: Some(format!("{prefix}/oidc-client-secret")),
        }),
        // Slack's token in SSM; its signing secret left to the settings (no parameter).
        slack: autolock_aws::SlackParameters {
            api_url: "http://127.0.0.1:9/api".into(),
            bot_token_parameter: format!("{prefix}/slack-bot-token"),
            signing_secret_parameter: format!("{prefix}/slack-signing-secret"),
        },
        ..config
    };
    let secret_parameter = format!("{prefix}/oidc-client-secret");
    for (name, value) in [
        (
            &config.block_link_key_parameter,
            "a block-link key of 32 bytes or more",
        ),
        (
            &config.session_key_parameter,
            "a new session key of 32 bytes or more\nthe old session key of 32 bytes or more",
        ),
        (&secret_parameter, "the console's client secret"),
        (
            &config.slack.bot_token_parameter,
            "xoxb-a-bot-token-from-ssm",
        ),
    ] {
        ssm_admin
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .unwrap();
    }
    let ssm = aws_sdk_ssm::Client::from_conf(
        aws_sdk_ssm::config::Builder::from(&sdk)
            .interceptor(recorder.for_service("ssm", None))
            .build(),
    );
    recorder.start();
    let keys = autolock_api::config::Keys::read(&ssm, &config)
        .await
        .unwrap();
    assert!(keys.sign_on.is_some(), "single sign-on is configured");
    assert_eq!(
        keys.slack
            .bot_token
            .as_ref()
            .map(autolock_core::delivery::SecretText::reveal),
        Some("xoxb-a-bot-token-from-ssm")
    );
    assert!(keys.slack.signing_secret.is_none(), "no such parameter");
    let api = Api {
        app: router(store.clone(), &config, &keys),
    };

    // The directory and the policies.
    api.call("POST", "/v1/users", "ada", Some(json!({"id": "dora", "email": "dora@example.com", "display_name": "Dora", "role": "member"}))).await;
    api.call(
        "PATCH",
        "/v1/users/dora",
        "ada",
        Some(json!({"display_name": "Dora D."})),
    )
    .await;
    api.call(
        "POST",
        "/v1/groups",
        "ada",
        Some(json!({"id": "ops", "name": "Ops"})),
    )
    .await;
    api.call("PUT", "/v1/groups/ops/members/dora", "ada", None)
        .await;
    api.call("POST", "/v1/resources", "ada", Some(json!({"id": "wiki", "name": "Wiki", "address": "https://wiki.example.com", "policy": {"auto_lock_after": "7d", "approval": "manual"}}))).await;
    api.call(
        "POST",
        "/v1/resources/wiki/grants",
        "ada",
        Some(json!({"group_id": "ops"})),
    )
    .await;
    api.call(
        "PATCH",
        "/v1/resources/wiki/grants/ops/policy",
        "dev",
        Some(json!({"approval": "automatic"})),
    )
    .await;
    api.call(
        "PATCH",
        "/v1/resources/wiki/policy",
        "dev",
        Some(json!({"auto_lock_after": "30d"})),
    )
    .await;
    api.call("DELETE", "/v1/resources/wiki/grants/ops", "ada", None)
        .await;
    api.call("DELETE", "/v1/groups/ops/members/dora", "ada", None)
        .await;
    api.call(
        "PATCH",
        "/v1/users/dora",
        "ada",
        Some(json!({"active": false})),
    )
    .await;
    api.call(
        "PATCH",
        "/v1/service-principals/gw",
        "ada",
        Some(json!({"active": true})),
    )
    .await;
    // The gateway, a request, its approval, an unlock.
    api.call(
        "POST",
        "/v1/access/check",
        "gw",
        Some(json!({"user_id": "bob", "resource_id": "gitlab", "record": true})),
    )
    .await;
    api.call("POST", "/v1/access-events", "gw", Some(json!({"events": [{"event_id": "e1", "user_id": "carol", "resource_id": "gitlab", "accessed_at": chrono::Utc::now().to_rfc3339()}]}))).await;
    let filed = api
        .call(
            "POST",
            "/v1/access-requests",
            "bob",
            Some(json!({"resource_id": "gitlab", "reason": "release"})),
        )
        .await;
    api.call("GET", "/v1/access-requests?status=open", "rita", None)
        .await;
    api.call("GET", "/v1/access-requests/count", "rita", None)
        .await;
    api.call(
        "POST",
        &format!(
            "/v1/access-requests/{}/approve",
            filed["id"].as_str().unwrap()
        ),
        "rita",
        None,
    )
    .await;
    // Settings and what admins read.
    api.call(
        "PUT",
        "/v1/settings/notifications",
        "ada",
        Some(json!({"emails_enabled": true, "email_roles": ["admin"]})),
    )
    .await;
    api.call(
        "PUT",
        "/v1/settings/webhook",
        "ada",
        Some(json!({"url": "https://hooks.example.com/autolock"})),
    )
    .await;
    api.call("DELETE", "/v1/settings/webhook", "ada", None)
        .await;
    api.call("GET", "/v1/webhook-deliveries", "ada", None).await;
    api.call("GET", "/v1/audit", "ada", None).await;
    api.call("GET", "/v1/resources/gitlab/analytics", "rita", None)
        .await;
    api.call("GET", "/v1/resources/gitlab/rights", "rita", None)
        .await;
    api.call("GET", "/v1/users/bob/rights", "bob", None).await;
    let (status, _, _) = api
        .send(&envelope(
            "GET",
            "/v1/resources/gitlab/report",
            Some("rita"),
            None,
            None,
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    // The console: the sign-in page asks for a link, through the outbox (the notifier sends it).
    let (_, cookies, page) = api
        .send(&envelope("GET", "/sign-in", None, None, None))
        .await;
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = page[at..].split('"').next().unwrap();
    let form = format!("csrf={csrf}&email=ada%40example.com&next=%2F");
    let mut e: Value = serde_json::from_str(&envelope(
        "POST",
        "/sign-in",
        None,
        Some(form),
        Some(&cookies.join("; ")),
    ))
    .unwrap();
    e["headers"]["content-type"] = "application/x-www-form-urlencoded".into();
    let (status, _, text) = api.send(&e.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    recorder.stop();

    let pending = autolock_core::ports::OutboxReader::pending(store.as_ref(), 1000)
        .await
        .unwrap();
    assert!(
        pending.iter().any(|e| e.event.name() == "signin.requested"),
        "the sign-in request waits in the outbox"
    );
    assert!(recorder.actions().contains("ssm:GetParameter"));
    assert_policy_is_exact("ApiFunction", &recorder.actions());
    teardown.run().await;
}
