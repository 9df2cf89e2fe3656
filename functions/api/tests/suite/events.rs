//! The sample API Gateway v2 requests of `events/` through the API handler, on DynamoDB.

use std::sync::Arc;

use autolock_api::handler::router;
use autolock_tests::world::World;
use axum::http::StatusCode;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

async fn raw(app: &axum::Router, sample: &str) -> (StatusCode, Vec<u8>) {
    let request = lambda_http::request::from_str(sample).expect("sample request parses");
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    (
        status,
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
}

async fn call(app: &axum::Router, sample: &str) -> (StatusCode, Value) {
    let (status, bytes) = raw(app, sample).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn every_sample_request_is_served_with_identity_from_the_authorizer_only() {
    let (store, teardown) = autolock_dynamodb::testing::fresh().await;
    let store = Arc::new(store);
    let world = World::seed(store.clone()).await;
    let config = crate::common::config(store.tables().clone());
    let app = router(
        store,
        &config,
        &crate::common::keys(autolock_slack::DEFAULT_API_URL),
    );

    // Bob has been idle since the seed (2026-01-01): on the real clock his right is locked.
    let (status, rights) = call(&app, include_str!("../../../../events/api-get-rights.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rights["items"][0]["resource"], "gitlab");
    assert_eq!(rights["items"][0]["state"]["state"], "locked");

    let (status, check) = call(&app, include_str!("../../../../events/api-post-check.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (check["decision"].as_str(), check["reason"].as_str()),
        (Some("deny"), Some("locked"))
    );
    assert!(
        check["block_url"]
            .as_str()
            .unwrap()
            .starts_with("https://autolock.acme.example.com/block/")
    );

    // A proxy's gate check, authenticated by the gate's authorizer (X-Autolock-Token): carol,
    // idle since the seed, is locked; her browser is sent to the block page.
    let gate =
        lambda_http::request::from_str(include_str!("../../../../events/api-gate-check.json"))
            .expect("sample request parses");
    let response = app.clone().oneshot(gate).await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let headers = response.headers();
    assert_eq!(headers["x-autolock-user"], "carol");
    assert_eq!(headers["x-autolock-state"], "locked");
    assert!(
        headers["location"]
            .to_str()
            .unwrap()
            .starts_with("https://autolock.acme.example.com/block/")
    );
    assert_eq!(headers["location"], headers["x-autolock-block-url"]);

    let (status, filed) = call(
        &app,
        include_str!("../../../../events/api-post-access-request.json"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");
    assert_eq!(filed["status"], "open");

    let (status, open) = call(
        &app,
        include_str!("../../../../events/api-get-open-requests.json"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(open["items"][0]["id"], filed["id"]);

    let (status, doc) = call(
        &app,
        include_str!("../../../../events/api-get-openapi.json"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["paths"]["/v1/access/check"].is_object());

    let (status, problem) = call(
        &app,
        include_str!("../../../../events/api-get-rights-foreign.json"),
    )
    .await;
    assert_eq!(
        (status, problem["status"].as_u64()),
        (StatusCode::NOT_FOUND, Some(404))
    );

    // Rita downloads the resource's report, streamed from DynamoDB.
    let (status, csv) = raw(
        &app,
        include_str!("../../../../events/api-get-resource-report.json"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert!(
        lines[0].starts_with("resource_id,resource_name,group_id,policy_source,"),
        "{csv}"
    );
    assert_eq!(lines.len(), 3, "a header, then bob and carol: {csv}");
    assert!(lines[1].starts_with("gitlab,Gitlab,eng,inherited,7d,manual,,bob,bob@example.com,true,locked,true,2026-01-08T00:00:00Z,"), "{}", lines[1]);

    // The approver email's link reaches the console, outside the authorizer: it asks for the
    // console's own sign-in, coming back to the request afterwards.
    let (status, _) = raw(
        &app,
        include_str!("../../../../events/api-get-console-request.json"),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // An identity provider creates a user over SCIM, as its provisioner.
    world
        .app
        .directory()
        .create_service_principal(
            &world.admin,
            autolock_core::service::NewServicePrincipal {
                id: Some("idp".parse().unwrap()),
                name: "Okta".parse().unwrap(),
                role: autolock_core::values::Role::Provisioner,
                identity: Default::default(),
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let (status, fay) = call(
        &app,
        include_str!("../../../../events/api-scim-create-user.json"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{fay}");
    assert_eq!(fay["userName"], "fay@example.com");
    let id: autolock_core::ids::UserId = fay["id"].as_str().unwrap().parse().unwrap();
    let user = world.store().user(&id).await.unwrap().unwrap();
    assert_eq!(
        (user.email.as_str(), user.role),
        ("fay@example.com", autolock_core::values::Role::Member)
    );

    // Without the authorizer's claims nobody is anybody, whatever the headers say.
    let mut unauthorized: Value =
        serde_json::from_str(include_str!("../../../../events/api-get-rights.json")).unwrap();
    unauthorized["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    let (status, _) = call(&app, &unauthorized.to_string()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    teardown.run().await;
}
