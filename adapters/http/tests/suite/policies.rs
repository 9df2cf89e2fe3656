//! Policies as code through the API: export, plan, apply; bad documents name the field.

use crate::common;

use autolock_tests::world::h;
use axum::http::StatusCode;
use common::Harness;
use serde_json::json;

#[tokio::test]
async fn a_pipeline_exports_plans_and_applies_the_policies() {
    let t = Harness::new(h(1)).await;
    let (admin, reviewer) = (t.world.admin.clone(), t.world.reviewer.clone());
    let mut doc = t.get("/v1/policies", &reviewer).await.json();
    assert_eq!(doc["resources"]["gitlab"]["auto_lock_after"], "7d");

    doc["resources"]["gitlab"]["auto_lock_after"] = json!("30d");
    let r = t.post("/v1/policies/plan", &reviewer, doc.clone()).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "reviewers read, they do not plan"
    );
    let plan = t
        .post("/v1/policies/plan", &admin, doc.clone())
        .await
        .json();
    assert_eq!(plan["applied"], false);
    assert_eq!(
        plan["changes"][0]["changes"][0],
        json!({"field": "auto_lock_after", "before": "7d", "after": "30d"})
    );

    let applied = t.post("/v1/policies/apply", &admin, doc.clone()).await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.text());
    assert_eq!(applied.json()["applied"], true);
    let again = t
        .post("/v1/policies/apply", &admin, doc.clone())
        .await
        .json();
    assert_eq!(again["changes"], json!([]), "idempotent");
    assert_eq!(
        t.get("/v1/resources/gitlab", &reviewer).await.json()["policy"]["auto_lock_after"],
        "30d"
    );

    doc["resources"]["gitlab"]["grants"]["eng"] = json!({"auto_lock_after": "2 weeks"});
    let bad = t.post("/v1/policies/apply", &admin, doc).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.json()["field"],
        "resources.gitlab.grants.eng.auto_lock_after"
    );
}

#[tokio::test]
async fn a_member_is_refused_before_the_document_is_read() {
    let t = Harness::new(h(1)).await;
    let bob = t.world.bob.clone();
    // Not even JSON: a member hears 403, not what is wrong with the body.
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/v1/policies/plan")
        .header("authorization", format!("Bearer {}", t.token(&bob)))
        .header("content-type", "application/json")
        .body(axum::body::Body::from("resources: &a {x: *a}"))
        .unwrap();
    let r = t.send(request).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
}
