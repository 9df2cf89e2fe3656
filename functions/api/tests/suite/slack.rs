//! Slack's clicks through the API function, on DynamoDB: API Gateway passes them outside the
//! JWT authorizer, and the signature alone lets one in. A fake Slack Web API on loopback answers
//! the function's calls.

use std::sync::Arc;

use autolock_api::handler::router;
use autolock_core::ports::RequestReader;
use autolock_core::request::RequestStatus;
use autolock_core::service::SlackInput;
use autolock_tests::slack::FakeSlack;
use autolock_tests::world::World;
use axum::http::StatusCode;
use serde_json::{Value, json};
use tower::ServiceExt;

const SECRET: &str = "a-signing-secret-from-ssm-or-settings";

/// API Gateway's envelope of Slack's POST: no authorizer, the form body, Slack's headers.
fn envelope(body: &str, timestamp: &str, signature: &str) -> String {
    let mut e: Value =
        serde_json::from_str(include_str!("../../../../events/api-post-check.json")).unwrap();
    e["rawPath"] = "/integrations/slack/interactions".into();
    e["rawQueryString"] = "".into();
    e["requestContext"]["http"]["method"] = "POST".into();
    e["requestContext"]["http"]["path"] = "/integrations/slack/interactions".into();
    e["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    e["headers"] = json!({
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": signature,
    });
    e["body"] = body.into();
    e["isBase64Encoded"] = false.into();
    e.to_string()
}

#[tokio::test]
async fn the_api_function_takes_a_signed_click_and_refuses_an_unsigned_one() {
    let (store, teardown) = autolock_dynamodb::testing::fresh().await;
    let store = Arc::new(store);
    let w = World::seed(store.clone()).await;
    let fake = FakeSlack::start(&[("URITA", "rita@example.com")]).await;
    w.app
        .settings()
        .set_slack(
            &w.admin,
            SlackInput {
                channel: "C0APPROVALS".into(),
                enabled: true,
                bot_token: Some("xoxb-a-token-in-the-settings".into()),
                signing_secret: Some(SECRET.into()),
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let filed = w
        .app
        .requests()
        .file_request(
            &w.bob,
            &w.gitlab,
            "Release 4.2 needs a hotfix".parse().unwrap(),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let config = crate::common::config(store.tables().clone());
    let keys = crate::common::keys(&fake.url);
    let app = router(store.clone(), &config, &keys);
    let payload = json!({
        "type": "block_actions",
        "team": {"id": "T0ACME"},
        "user": {"id": "URITA", "team_id": "T0ACME"},
        "channel": {"id": "C0APPROVALS"},
        "actions": [{"action_id": "approve", "value": filed.request.id.as_str()}],
    });
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish();
    let send = |envelope: String| {
        let app = app.clone();
        async move {
            let request = lambda_http::request::from_str(&envelope).unwrap();
            app.oneshot(request).await.unwrap().status()
        }
    };

    let now = chrono::Utc::now().timestamp().to_string();
    let forged = envelope(&body, &now, "v0=00000000000000000000000000000000");
    assert_eq!(send(forged).await, StatusCode::UNAUTHORIZED);
    let stored = store.request(&filed.request.id).await.unwrap().unwrap();
    assert_eq!(stored.status, RequestStatus::Open, "nothing changed");
    assert!(fake.calls().is_empty(), "Slack not even asked");

    let signed = envelope(
        &body,
        &now,
        &autolock_slack::interactions::signature(SECRET, &now, body.as_bytes()),
    );
    assert_eq!(send(signed).await, StatusCode::OK);
    let stored = store.request(&filed.request.id).await.unwrap().unwrap();
    assert_eq!(stored.status, RequestStatus::Approved);
    assert_eq!(stored.resolved_by.unwrap().as_str(), "rita");
    assert_eq!(fake.calls_of("users.info").len(), 1);
    teardown.run().await;
}
