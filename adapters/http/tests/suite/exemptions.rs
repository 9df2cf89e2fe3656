//! Exemptions through the API: set, listed, moved, ended, shown on the right; bad input is a
//! problem naming the field; only admins and DevOps admins change them.

use crate::common;

use autolock_tests::world::d;
use axum::http::{Method, StatusCode};
use common::Harness;
use serde_json::json;

#[tokio::test]
async fn an_exemption_is_set_shown_on_the_right_moved_and_ended() {
    let t = Harness::new(d(1)).await;
    let (devops, reviewer, bob) = (
        t.world.devops.clone(),
        t.world.reviewer.clone(),
        t.world.bob.clone(),
    );
    let body =
        json!({"user_id": "bob", "resource_id": "gitlab", "until": d(20), "reason": "on call"});

    let r = t.post("/v1/exemptions", &reviewer, body.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = t
        .post(
            "/v1/exemptions",
            &devops,
            json!({"user_id": "bob", "resource_id": "gitlab", "until": d(200), "reason": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["field"], "until");
    let r = t
        .post(
            "/v1/exemptions",
            &devops,
            json!({"user_id": "bob", "until": d(9), "reason": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["field"], "grant");
    let r = t
        .post(
            "/v1/exemptions",
            &devops,
            json!({"user_id": "bob", "resource_id": "gitlab", "until": d(9), "reason": " "}),
        )
        .await;
    assert_eq!(r.json()["field"], "reason");
    assert!(
        t.get(
            "/v1/exemptions?resource_id=gitlab&include_ended=true",
            &reviewer
        )
        .await
        .json()["items"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing was set by bad input"
    );

    let r = t.post("/v1/exemptions", &devops, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let e = r.json();
    let id = e["id"].as_str().unwrap().to_owned();
    assert_eq!(e["user_id"], "bob");
    assert_eq!(e["created_by"], "dev");

    // Bob's right shows the exemption on its path, and stays active past its 7 days.
    let right = t.get("/v1/users/bob/rights/gitlab", &bob).await.json();
    assert_eq!(right["paths"][0]["exempt_until"], json!(d(20)), "{right}");
    t.clock.set(d(10)).unwrap();
    assert_eq!(
        t.get("/v1/users/bob/rights/gitlab", &bob).await.json()["state"]["state"],
        "active"
    );

    let listed = t.get("/v1/exemptions?user_id=bob", &reviewer).await.json();
    assert_eq!(listed["items"][0]["id"], id.as_str());
    let r = t
        .get("/v1/exemptions?user_id=bob&group_id=eng", &reviewer)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        t.get("/v1/exemptions?user_id=bob", &bob).await.status,
        StatusCode::FORBIDDEN
    );

    let r = t
        .call(
            Method::PATCH,
            &format!("/v1/exemptions/{id}"),
            Some(&devops),
            Some(json!({"until": d(30)})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["until"], json!(d(30)));

    let r = t
        .post(&format!("/v1/exemptions/{id}/end"), &devops, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["ended_at"], json!(d(10)));
    let r = t
        .post(&format!("/v1/exemptions/{id}/end"), &devops, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // Ended at d(10): a week's grace from then, not locked at once.
    assert_eq!(
        t.get("/v1/users/bob/rights/gitlab", &bob).await.json()["state"]["state"],
        "active"
    );
    t.clock.set(d(17)).unwrap();
    assert_eq!(
        t.get("/v1/users/bob/rights/gitlab", &bob).await.json()["state"]["state"],
        "locked"
    );
    assert!(
        t.get("/v1/exemptions?resource_id=gitlab", &reviewer)
            .await
            .json()["items"]
            .as_array()
            .unwrap()
            .is_empty(),
        "ended ones are listed only on asking"
    );
    let audit = t
        .get("/v1/audit?action=exemption.ended", &devops)
        .await
        .json();
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
}

#[tokio::test]
async fn nobody_exempts_their_own_right_or_a_grant_they_hold_a_path_through() {
    let t = Harness::new(d(1)).await;
    let (admin, devops) = (t.world.admin.clone(), t.world.devops.clone());
    // The DevOps admin joins eng, which holds gitlab.
    let r = t
        .call(
            Method::PUT,
            "/v1/groups/eng/members/dev",
            Some(&admin),
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    let grant = t
        .get("/v1/resources/gitlab/grants/eng", &admin)
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let own = json!({"user_id": "dev", "resource_id": "gitlab", "until": d(80), "reason": "mine"});
    let r = t.post("/v1/exemptions", &devops, own.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(r.json()["type"], "urn:autolock:problem:forbidden_self");
    let r = t
        .post(
            "/v1/exemptions",
            &devops,
            json!({"grant_id": grant, "until": d(80), "reason": "ours"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(r.json()["type"], "urn:autolock:problem:forbidden_self");
    assert!(
        t.get("/v1/exemptions?resource_id=gitlab", &admin)
            .await
            .json()["items"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing was set"
    );

    // Another admin may exempt it; the DevOps admin may not move that exemption's end.
    let r = t.post("/v1/exemptions", &admin, own).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let r = t
        .call(
            Method::PATCH,
            &format!("/v1/exemptions/{id}"),
            Some(&devops),
            Some(json!({"until": d(85)})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(r.json()["type"], "urn:autolock:problem:forbidden_self");
}
