//! The JSON API through its router: problems name the field, lists page, decisions carry the
//! block link, the OpenAPI document covers every route.

use crate::common;

use autolock_tests::world::{d, h};
use axum::http::{Method, StatusCode};
use common::Harness;
use serde_json::json;

#[tokio::test]
async fn bad_input_is_a_problem_naming_the_field_and_changes_nothing() {
    let t = Harness::new(h(1)).await;
    let admin = t.world.admin.clone();
    let audited_before = t.get("/v1/audit", &admin).await.json()["items"]
        .as_array()
        .unwrap()
        .len();
    let r = t
        .call(
            Method::PATCH,
            "/v1/resources/gitlab/policy",
            Some(&admin),
            Some(json!({"auto_lock_after": "2h"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.content_type, "application/problem+json");
    let p = r.json();
    assert_eq!(p["field"], "auto_lock_after");
    assert!(p["detail"].as_str().unwrap().contains("allowed is"), "{p}");
    assert_eq!(p["status"], 400);
    let r = t
        .call(
            Method::PATCH,
            "/v1/resources/gitlab/policy",
            Some(&admin),
            Some(json!({"approval": "sometimes"})),
        )
        .await;
    assert_eq!(r.json()["field"], "approval");
    let r = t
        .call(
            Method::PATCH,
            "/v1/resources/gitlab/policy",
            Some(&admin),
            Some(json!({"duration": "7d"})),
        )
        .await;
    assert_eq!(r.json()["field"], "duration", "unknown fields are named");
    // A resource's default has nothing to inherit: null is refused, naming the field, and the
    // other field of the same edit is not applied either.
    let r = t
        .call(
            Method::PATCH,
            "/v1/resources/gitlab/policy",
            Some(&admin),
            Some(json!({"auto_lock_after": null, "approval": "automatic"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["field"], "auto_lock_after");
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("null is not allowed"),
        "{}",
        r.json()
    );
    let resource = t.get("/v1/resources/gitlab", &admin).await.json();
    assert_eq!(
        resource["policy"],
        json!({"auto_lock_after": "7d", "approval": "manual"}),
        "unchanged"
    );
    let audit = t.get("/v1/audit", &admin).await.json();
    assert_eq!(
        audit["items"].as_array().unwrap().len(),
        audited_before,
        "nothing audited"
    );

    let r = t.post("/v1/access-events", &t.world.gateway.clone(), json!({"events": [
        {"event_id": "e1", "user_id": "bob", "resource_id": "gitlab", "accessed_at": "2026-01-01T00:30:00Z"},
        {"event_id": "e2", "user_id": "bob", "resource_id": "gitlab", "accessed_at": "yesterday"}
    ]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["field"], "events[1].accessed_at");
    let usage = t
        .world
        .store()
        .usage(&t.world.bob_id(), &t.world.gitlab)
        .await
        .unwrap();
    assert_eq!(
        usage.value.last_access, None,
        "the valid event of a rejected batch was not applied"
    );

    let r = t
        .post(
            "/v1/access-requests",
            &t.world.bob.clone(),
            json!({"resource_id": "gitlab", "reason": "   "}),
        )
        .await;
    assert_eq!(r.json()["field"], "reason");
    let r = t
        .call(
            Method::POST,
            "/v1/users",
            Some(&admin),
            Some(json!({"email": "x@example.com", "display_name": "X", "role": "root"})),
        )
        .await;
    assert_eq!(r.json()["field"], "role");
    let r = t.get("/v1/users?limit=0", &admin).await;
    assert_eq!(r.json()["field"], "limit");
    let r = t.get("/v1/audit?action=access.exploded", &admin).await;
    assert_eq!(r.json()["field"], "action");
    let r = t.call(Method::POST, "/v1/users", Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A path's id that is not an id is named as the route names it, the first or the second.
    let r = t.get("/v1/users/b%20b", &admin).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(r.json()["field"], "user_id");
    let r = t.get("/v1/users/bob/rights/git%24lab", &admin).await;
    assert_eq!(
        (r.status, r.json()["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("resource_id"))
    );
    let r = t
        .call(
            Method::PUT,
            "/v1/groups/eng%21/members/bob",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.json()["field"], "group_id");
    assert!(
        !t.get("/v1/groups", &admin).await.text().contains("eng!"),
        "nothing created"
    );
    // A grant named by its resource and group: each parameter named as the route names it.
    let r = t
        .get("/v1/resources/gitlab/grants/eng%20ineering", &admin)
        .await;
    assert_eq!(
        (r.status, r.json()["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("group_id"))
    );
    let r = t.get("/v1/grants/no%2Fsuch", &admin).await;
    assert_eq!(r.json()["field"], "grant_id");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let t = Harness::new(h(1)).await;
    let huge = "x".repeat(autolock_http::MAX_BODY_BYTES + 1);
    let r = t
        .post(
            "/v1/access-requests",
            &t.world.bob.clone(),
            json!({"resource_id": "gitlab", "reason": huge}),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn lists_page_with_opaque_cursors() {
    let t = Harness::new(h(1)).await;
    let admin = t.world.admin.clone();
    let mut seen = Vec::new();
    let mut path = "/v1/users?limit=2".to_owned();
    loop {
        let page = t.get(&path, &admin).await.json();
        for u in page["items"].as_array().unwrap() {
            seen.push(u["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/users?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["ada", "bob", "carol", "dev", "rita"]);
    let first = t
        .get("/v1/resources/gitlab/rights?limit=1", &admin)
        .await
        .json();
    assert_eq!(first["items"][0]["user"], "bob");
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = t
        .get(
            &format!("/v1/resources/gitlab/rights?limit=1&cursor={cursor}"),
            &admin,
        )
        .await
        .json();
    assert_eq!(second["items"][0]["user"], "carol");
    assert!(
        second.get("next_cursor").is_none(),
        "the resource's rights page too"
    );
    let r = t.get("/v1/users?cursor=not-ours!", &admin).await;
    assert_eq!(r.json()["field"], "cursor");
}

#[tokio::test]
async fn a_locked_decision_carries_a_block_link_and_record_counts_the_access() {
    let t = Harness::new(d(6)).await;
    let gw = t.world.gateway.clone();
    let r = t
        .post(
            "/v1/access/check",
            &gw,
            json!({"user_id": "bob", "resource_id": "gitlab", "record": true}),
        )
        .await
        .json();
    assert_eq!(r["decision"], "allow");
    assert_eq!(
        r["state"]["next_lock"], "2026-01-14T00:00:00Z",
        "the recorded access moved the lock"
    );
    t.clock.set(d(8)).unwrap();
    let r = t
        .post(
            "/v1/access/check",
            &gw,
            json!({"user_id": "carol", "resource_id": "gitlab"}),
        )
        .await
        .json();
    assert_eq!(
        (
            r["decision"].as_str(),
            r["reason"].as_str(),
            r["state"]["approval"].as_str()
        ),
        (Some("deny"), Some("locked"), Some("manual"))
    );
    assert_eq!(r["state"]["locked_at"], "2026-01-08T00:00:00Z");
    assert!(
        r.get("locked_at").is_none() && r.get("approval").is_none(),
        "said once, in the state: {r}"
    );
    assert!(
        r["block_url"]
            .as_str()
            .unwrap()
            .starts_with("https://autolock.test/block/")
    );
    let r = t
        .post(
            "/v1/access/check",
            &gw,
            json!({"user_id": "bob", "resource_id": "gitlab"}),
        )
        .await
        .json();
    assert_eq!(r["decision"], "allow");
    assert!(r.get("block_url").is_none());
    let r = t
        .post(
            "/v1/access/check",
            &gw,
            json!({"user_id": "nobody", "resource_id": "gitlab"}),
        )
        .await
        .json();
    assert_eq!(
        (r["decision"].as_str(), r["reason"].as_str()),
        (Some("deny"), Some("no_access"))
    );
}

#[tokio::test]
async fn grants_are_created_and_overridden_field_by_field() {
    let t = Harness::new(h(1)).await;
    let admin = t.world.admin.clone();
    t.post("/v1/groups", &admin, json!({"id": "ops", "name": "Ops"}))
        .await;
    let r = t.post("/v1/resources/gitlab/grants", &admin, json!({"group_id": "ops", "expires_at": "2026-06-01T00:00:00Z", "policy_override": {"approval": "automatic"}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let g = r.json();
    assert_eq!(
        g["effective_policy"],
        json!({"auto_lock_after": "7d", "approval": "automatic"})
    );
    assert_eq!(g["inherited"], json!(["auto_lock_after"]));
    let id = g["id"].as_str().unwrap().to_owned();
    let again = t
        .post(
            "/v1/resources/gitlab/grants",
            &admin,
            json!({"group_id": "ops"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let r = t
        .call(
            Method::PATCH,
            &format!("/v1/grants/{id}/policy"),
            Some(&admin),
            Some(json!({"auto_lock_after": "36h"})),
        )
        .await
        .json();
    assert_eq!(
        r["policy_override"],
        json!({"auto_lock_after": "36h", "approval": "automatic"}),
        "approval kept"
    );
    let r = t
        .call(
            Method::PATCH,
            &format!("/v1/grants/{id}/policy"),
            Some(&admin),
            Some(json!({"approval": null})),
        )
        .await
        .json();
    assert_eq!(
        r["effective_policy"],
        json!({"auto_lock_after": "36h", "approval": "manual"}),
        "null inherits"
    );
    let r = t
        .call(
            Method::PATCH,
            &format!("/v1/grants/{id}"),
            Some(&admin),
            Some(json!({"expires_at": "2020-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(r.json()["field"], "expires_at");
    let r = t
        .call(
            Method::PATCH,
            &format!("/v1/grants/{id}"),
            Some(&admin),
            Some(json!({"expires_at": null})),
        )
        .await
        .json();
    assert_eq!(r["expires_at"], serde_json::Value::Null);
    let r = t
        .call(
            Method::DELETE,
            &format!("/v1/grants/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        t.call(
            Method::DELETE,
            &format!("/v1/grants/{id}"),
            Some(&admin),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_clock_route_moves_time_forward_only() {
    let t = Harness::new(h(0)).await;
    let admin = t.world.admin.clone();
    let r = t
        .post("/v1/clock/advance", &admin, json!({"by": "8d"}))
        .await
        .json();
    assert_eq!(r["now"], "2026-01-09T00:00:00Z");
    let r = t
        .post(
            "/v1/clock/advance",
            &admin,
            json!({"to": "2026-01-02T00:00:00Z"}),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("to"))
    );
    let r = t
        .post("/v1/clock/advance", &admin, json!({"by": "-1d"}))
        .await;
    assert_eq!(r.json()["field"], "by");
    // A unit of several bytes, a duration past the calendar's end: a clear 400, nothing moved.
    let before = autolock_core::ports::Clock::now(t.clock.as_ref());
    for by in ["7é", "999999999d", "é"] {
        let r = t.post("/v1/clock/advance", &admin, json!({"by": by})).await;
        assert_eq!(
            (r.status, r.json()["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("by")),
            "{by}"
        );
    }
    assert_eq!(autolock_core::ports::Clock::now(t.clock.as_ref()), before);
    // The same through a policy, for anyone signed in: the body is refused, never a panic.
    for who in [&t.world.bob, &t.world.gateway, &admin] {
        let r = t
            .call(
                Method::PATCH,
                "/v1/resources/gitlab/policy",
                Some(who),
                Some(json!({"auto_lock_after": "7é"})),
            )
            .await;
        assert!(
            r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::FORBIDDEN,
            "{}",
            r.status
        );
    }
}

#[tokio::test]
async fn the_openapi_document_covers_every_route_and_needs_no_token() {
    let t = Harness::new(h(0)).await;
    let r = t.get_anonymous("/v1/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert_eq!(
        doc["openapi"].as_str().map(|v| v.starts_with("3.")),
        Some(true)
    );
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/v1/users",
        "/v1/users/{user_id}/rights",
        "/v1/users/{user_id}/rights/{resource_id}/unlock",
        "/v1/groups/{group_id}/members/{user_id}",
        "/v1/resources/{resource_id}/policy",
        "/v1/grants/{grant_id}/policy",
        "/v1/access/check",
        "/v1/access-events",
        "/v1/access-requests",
        "/v1/access-requests/count",
        "/v1/access-requests/{request_id}/approve",
        "/v1/settings/notifications",
        "/v1/settings/webhook",
        "/v1/webhook-deliveries",
        "/v1/audit",
    ] {
        assert!(paths.contains_key(path), "{path} missing");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn the_clock_route_does_not_exist_on_the_real_clock() {
    let t = Harness::new(h(0)).await;
    let state = autolock_http::AppState::new(
        t.world.app.clone(),
        std::sync::Arc::new(autolock_core::ports::SystemClock),
        std::sync::Arc::new(t.tokens.clone()),
        autolock_http::LinkSigner::new(common::link_keys()),
        autolock_http::HttpConfig {
            public_base_url: common::PUBLIC.into(),
            console_base_url: common::PUBLIC.into(),
        },
    );
    let real = Harness {
        router: autolock_http::router(state),
        ..t
    };
    let admin = real.world.admin.clone();
    assert_eq!(
        real.post("/v1/clock/advance", &admin, json!({"by": "8d"}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        real.get("/v1/clock", &admin).await.status,
        StatusCode::NOT_FOUND
    );
}

fn problem_kind(r: &common::Reply) -> String {
    r.json()["type"]
        .as_str()
        .unwrap()
        .trim_start_matches("urn:autolock:problem:")
        .to_owned()
}

#[tokio::test]
async fn conflicts_and_refusals_have_their_own_problem_types() {
    let t = Harness::new(d(8)).await;
    let (admin, dev, rita) = (
        t.world.admin.clone(),
        t.world.devops.clone(),
        t.world.reviewer.clone(),
    );
    // Unlock answers with the lock it lifted; again, the right is not locked.
    let r = t
        .post("/v1/users/bob/rights/gitlab/unlock", &dev, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["lifted_lock"], "2026-01-08T00:00:00Z");
    assert_eq!(r.json()["state"]["state"], "active");
    let r = t
        .post("/v1/users/bob/rights/gitlab/unlock", &dev, json!({}))
        .await;
    assert_eq!(
        (r.status, problem_kind(&r)),
        (StatusCode::CONFLICT, "not_locked".to_owned())
    );
    let r = t
        .post("/v1/users/dev/rights/gitlab/unlock", &dev, json!({}))
        .await;
    assert_eq!(
        (r.status, problem_kind(&r)),
        (StatusCode::FORBIDDEN, "forbidden_self".to_owned())
    );
    // A request resolved once; a second approver meets `already_resolved`.
    let filed = t
        .post(
            "/v1/access-requests",
            &t.world.carol.clone(),
            json!({"resource_id": "gitlab", "reason": "release"}),
        )
        .await
        .json();
    let id = filed["id"].as_str().unwrap().to_owned();
    let r = t
        .post(
            &format!("/v1/access-requests/{id}/approve"),
            &rita,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = t
        .post(&format!("/v1/access-requests/{id}/deny"), &admin, json!({}))
        .await;
    assert_eq!(
        (r.status, problem_kind(&r)),
        (StatusCode::CONFLICT, "already_resolved".to_owned())
    );
    let r = t
        .post("/v1/groups", &admin, json!({"id": "eng", "name": "Again"}))
        .await;
    assert_eq!(
        (r.status, problem_kind(&r)),
        (StatusCode::CONFLICT, "already_exists".to_owned())
    );
}

#[tokio::test]
async fn memberships_are_idempotent_and_new_resources_do_not_lock_unasked() {
    let t = Harness::new(d(1)).await;
    let admin = t.world.admin.clone();
    let first = t
        .call(
            Method::PUT,
            "/v1/groups/eng/members/bob",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "bob is a member already");
    assert_eq!(first.json()["joined_at"], "2026-01-01T00:00:00Z");
    let r = t
        .call(
            Method::DELETE,
            "/v1/groups/eng/members/rita",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    let r = t
        .call(
            Method::PUT,
            "/v1/groups/eng/members/rita",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json()["joined_at"], "2026-01-02T00:00:00Z");

    let r = t
        .post(
            "/v1/resources",
            &admin,
            json!({"id": "wiki", "name": "Wiki", "address": "https://wiki.test"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(
        r.json()["policy"],
        json!({"auto_lock_after": "never", "approval": "manual"})
    );
    let r = t
        .post(
            "/v1/resources",
            &admin,
            json!({"id": "jira", "name": "Jira", "address": "https://jira.test", "policy": {"auto_lock_after": null}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["field"], "policy.auto_lock_after");
    // The policy a resource is created with is audited like an edit.
    let audit = t
        .get(
            "/v1/audit?target=wiki&action=policy.duration_changed",
            &admin,
        )
        .await
        .json();
    assert_eq!(
        audit["items"][0]["details"],
        json!({"before": null, "after": "never"})
    );
}

#[tokio::test]
async fn event_results_say_duplicate_and_name_the_lock_they_reverted() {
    let t = Harness::new(d(7) + chrono::Duration::hours(1)).await;
    let gw = t.world.gateway.clone();
    // The sweep records bob's lock at day 7.
    t.world
        .app
        .sweep()
        .sweep(d(7) + chrono::Duration::hours(1), 100)
        .await
        .unwrap();
    let late = json!({"events": [
        {"event_id": "late-1", "user_id": "bob", "resource_id": "gitlab", "accessed_at": "2026-01-07T23:00:00Z"}
    ]});
    let r = t.post("/v1/access-events", &gw, late.clone()).await.json();
    assert_eq!(r["results"][0]["outcome"], "counted");
    assert_eq!(r["results"][0]["reverted_lock"], "2026-01-08T00:00:00Z");
    let r = t.post("/v1/access-events", &gw, late).await.json();
    assert_eq!(r["results"][0]["outcome"], "duplicate");
    assert!(r["results"][0].get("reverted_lock").is_none());
}

#[tokio::test]
async fn an_inactive_user_is_denied_as_inactive_and_the_right_keeps_its_state() {
    let t = Harness::new(d(8)).await;
    let admin = t.world.admin.clone();
    let r = t
        .call(
            Method::PATCH,
            "/v1/users/carol",
            Some(&admin),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = t
        .post(
            "/v1/access/check",
            &t.world.gateway.clone(),
            json!({"user_id": "carol", "resource_id": "gitlab"}),
        )
        .await
        .json();
    assert_eq!(
        (r["decision"].as_str(), r["reason"].as_str()),
        (Some("deny"), Some("inactive"))
    );
    assert_eq!(r["state"]["state"], "locked");
    assert_eq!(r["state"]["locked_at"], "2026-01-08T00:00:00Z");
    assert!(r.get("block_url").is_none(), "an inactive user cannot ask");
    let rights = t.get("/v1/users/carol/rights", &admin).await.json();
    assert_eq!(rights["items"][0]["state"]["state"], "locked");
}

#[tokio::test]
async fn a_grant_is_read_and_edited_by_its_resource_and_group() {
    let t = Harness::new(d(1)).await;
    let admin = t.world.admin.clone();
    let by_pair = t.get("/v1/resources/gitlab/grants/eng", &admin).await;
    assert_eq!(by_pair.status, StatusCode::OK);
    let id = by_pair.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        t.get(&format!("/v1/grants/{id}"), &admin).await.json(),
        by_pair.json()
    );
    let r = t
        .call(
            Method::PATCH,
            "/v1/resources/gitlab/grants/eng/policy",
            Some(&admin),
            Some(json!({"auto_lock_after": "30d"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["effective_policy"]["auto_lock_after"], "30d");
    let r = t
        .call(
            Method::PATCH,
            "/v1/resources/gitlab/grants/eng",
            Some(&admin),
            Some(json!({"expires_at": "2026-03-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(r.json()["expires_at"], "2026-03-01T00:00:00Z");
    let r = t.get("/v1/resources/gitlab/grants/nobody", &admin).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = t
        .call(
            Method::DELETE,
            "/v1/resources/gitlab/grants/eng",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let doc = t.get("/v1/openapi.json", &admin).await.json();
    assert!(doc["paths"]["/v1/resources/{resource_id}/grants/{group_id}"]["patch"].is_object());
}

#[tokio::test]
async fn a_report_lists_a_group_with_access_and_no_members() {
    let t = Harness::new(d(1)).await;
    let admin = t.world.admin.clone();
    t.post(
        "/v1/groups",
        &admin,
        json!({"id": "auditors", "name": "Auditors"}),
    )
    .await;
    let r = t
        .post(
            "/v1/resources/gitlab/grants",
            &admin,
            json!({"group_id": "auditors", "policy_override": {"auto_lock_after": "90d"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let csv = t
        .get("/v1/resources/gitlab/report", &t.world.reviewer.clone())
        .await
        .text();
    assert!(
        csv.lines()
            .any(|l| l.starts_with("gitlab,Gitlab,auditors,override,90d,manual,,,,")),
        "{csv}"
    );
    let csv = t
        .get("/v1/groups/auditors/report", &t.world.reviewer.clone())
        .await
        .text();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    // The override a grant is created with is audited like an edit.
    let audit = t
        .get(
            "/v1/audit?target=auditors&action=policy.duration_changed",
            &admin,
        )
        .await
        .json();
    assert_eq!(audit["items"][0]["details"]["after"], "90d");
}

#[tokio::test]
async fn a_disabled_service_principals_token_is_refused_at_once() {
    let t = Harness::new(d(8)).await;
    let gw = t.world.gateway.clone();
    let check = json!({"user_id": "bob", "resource_id": "gitlab"});
    assert_eq!(
        t.post("/v1/access/check", &gw, check.clone()).await.status,
        StatusCode::OK
    );
    let off = t
        .call(
            Method::PATCH,
            "/v1/service-principals/gw",
            Some(&t.world.admin),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK);
    assert_eq!(off.json()["active"], false);
    let refused = t.post("/v1/access/check", &gw, check.clone()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json()["type"], "urn:autolock:problem:inactive");
    let on = t
        .call(
            Method::PATCH,
            "/v1/service-principals/gw",
            Some(&t.world.admin),
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(on.status, StatusCode::OK);
    assert_eq!(
        t.post("/v1/access/check", &gw, check).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn dot_segments_are_refused_as_ids_and_create_nothing() {
    let t = Harness::new(h(1)).await;
    let admin = t.world.admin.clone();
    for id in [".", ".."] {
        let r = t
            .post(
                "/v1/users",
                &admin,
                json!({"id": id, "email": "dot@example.com", "display_name": "Dot", "role": "member"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{id}: {}", r.text());
        assert_eq!(r.json()["field"], "id", "{}", r.text());
        let r = t
            .post("/v1/groups", &admin, json!({"id": id, "name": "Dots"}))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{id}: {}", r.text());
    }
    let r = t.get("/v1/users/%2E%2E", &admin).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let users = t.get("/v1/users", &admin).await.json();
    assert!(
        !users["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["email"] == "dot@example.com"),
        "{users}"
    );
}

#[tokio::test]
async fn instants_out_of_range_are_refused_naming_the_field() {
    let t = Harness::new(h(1)).await;
    let (admin, gateway) = (t.world.admin.clone(), t.world.gateway.clone());
    for (path, field) in [
        (
            "/v1/resources/gitlab/analytics?to=-262143-01-01T00:00:00Z",
            "to",
        ),
        (
            "/v1/resources/gitlab/analytics?from=%2B262142-12-31T23:59:59Z",
            "from",
        ),
        ("/v1/audit?to=%2B262142-12-31T00:00:00Z", "to"),
        ("/v1/audit?from=1969-12-31T23:59:59Z", "from"),
    ] {
        let r = t.get(path, &admin).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text());
        assert_eq!(r.json()["field"], field, "{path}");
    }
    let r = t
        .post(
            "/v1/access-events",
            &gateway,
            json!({"events": [{"event_id": "far", "user_id": "bob", "resource_id": "gitlab", "accessed_at": "+262142-12-31T23:59:59Z"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(r.json()["field"], "events[0].accessed_at");
}

/// Every change of who may do what leaves an audit entry with its actor, before and after.
#[tokio::test]
async fn every_change_of_who_may_do_what_is_audited_with_actor_before_and_after() {
    let t = Harness::new(d(1)).await;
    let admin = t.world.admin.clone();
    let audit = |action: &'static str| {
        let t = &t;
        let admin = admin.clone();
        async move {
            t.get(
                &format!("/v1/audit?action={action}&from=2026-01-01T12:00:00Z"),
                &admin,
            )
            .await
            .json()["items"]
                .as_array()
                .unwrap()
                .clone()
        }
    };
    // The trick of the issue: an admin takes a reviewer's address, then gives it back.
    let patch = |email: &'static str| {
        t.call(
            Method::PATCH,
            "/v1/users/rita",
            Some(&admin),
            Some(json!({"email": email})),
        )
    };
    assert_eq!(patch("ada@example.com").await.status, StatusCode::OK);
    assert_eq!(patch("rita@example.com").await.status, StatusCode::OK);
    let changed = audit("user.email_changed").await;
    assert_eq!(changed.len(), 2, "{changed:?}");
    assert_eq!(changed[0]["actor"], "ada");
    assert_eq!(changed[0]["user"], "rita");
    let mut pairs: Vec<(String, String)> = changed
        .iter()
        .map(|e| {
            (
                e["details"]["before"].as_str().unwrap().to_owned(),
                e["details"]["after"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    pairs.sort();
    assert_eq!(
        pairs,
        [
            ("ada@example.com".to_owned(), "rita@example.com".to_owned()),
            ("rita@example.com".to_owned(), "ada@example.com".to_owned()),
        ]
    );

    // Name, role and the active flag.
    let r = t
        .call(
            Method::PATCH,
            "/v1/users/bob",
            Some(&admin),
            Some(json!({"display_name": "Robert", "role": "access_reviewer", "active": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let role = audit("user.role_changed").await;
    assert_eq!(role.len(), 1);
    assert_eq!(role[0]["details"]["before"], "member");
    assert_eq!(role[0]["details"]["after"], "access_reviewer");
    assert_eq!(audit("user.name_changed").await.len(), 1);
    assert_eq!(audit("user.deactivated").await[0]["user"], "bob");
    t.call(
        Method::PATCH,
        "/v1/users/bob",
        Some(&admin),
        Some(json!({"active": true})),
    )
    .await;
    assert_eq!(audit("user.reactivated").await.len(), 1);

    // Users, service principals, groups, memberships, resources, grants and expiries.
    t.post(
        "/v1/users",
        &admin,
        json!({"id": "zoe", "email": "zoe@example.com", "display_name": "Zoe", "role": "member"}),
    )
    .await;
    let created = audit("user.created").await;
    assert_eq!(created[0]["details"]["role"], "member");
    assert_eq!(created[0]["actor"], "ada");
    t.post(
        "/v1/service-principals",
        &admin,
        json!({"id": "gw2", "name": "Edge"}),
    )
    .await;
    t.call(
        Method::PATCH,
        "/v1/service-principals/gw2",
        Some(&admin),
        Some(json!({"active": false})),
    )
    .await;
    t.call(
        Method::PATCH,
        "/v1/service-principals/gw2",
        Some(&admin),
        Some(json!({"active": true})),
    )
    .await;
    assert_eq!(audit("service_principal.created").await[0]["user"], "gw2");
    assert_eq!(audit("service_principal.disabled").await.len(), 1);
    assert_eq!(audit("service_principal.enabled").await.len(), 1);
    t.post("/v1/groups", &admin, json!({"id": "ops", "name": "Ops"}))
        .await;
    assert_eq!(audit("group.created").await[0]["group"], "ops");
    t.call(
        Method::PUT,
        "/v1/groups/ops/members/zoe",
        Some(&admin),
        None,
    )
    .await;
    t.call(
        Method::DELETE,
        "/v1/groups/ops/members/zoe",
        Some(&admin),
        None,
    )
    .await;
    let added = audit("membership.added").await;
    assert_eq!(
        (added[0]["user"].as_str(), added[0]["group"].as_str()),
        (Some("zoe"), Some("ops"))
    );
    assert_eq!(audit("membership.removed").await.len(), 1);
    t.post(
        "/v1/resources",
        &admin,
        json!({"id": "wiki", "name": "Wiki", "address": "https://wiki.example.com"}),
    )
    .await;
    assert_eq!(audit("resource.created").await[0]["resource"], "wiki");
    let grant = t
        .post(
            "/v1/resources/wiki/grants",
            &admin,
            json!({"group_id": "ops"}),
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(audit("grant.created").await[0]["grant"], grant.as_str());
    t.call(
        Method::PATCH,
        &format!("/v1/grants/{grant}"),
        Some(&admin),
        Some(json!({"expires_at": d(30)})),
    )
    .await;
    let expiry = audit("grant.expiry_changed").await;
    assert_eq!(expiry[0]["details"]["before"], json!(null));
    assert_eq!(expiry[0]["details"]["after"], json!(d(30)));
    t.call(
        Method::DELETE,
        &format!("/v1/grants/{grant}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(audit("grant.removed").await[0]["group"], "ops");
}

/// Facts recorded within one second apply in the order they were recorded: a user deactivated
/// and reactivated at t who files a request at t keeps it open, however often it happens.
#[tokio::test]
async fn a_request_filed_after_a_deactivation_and_reactivation_in_the_same_second_stays_open() {
    let t = Harness::new(d(8)).await;
    let (admin, bob) = (t.world.admin.clone(), t.world.bob.clone());
    for round in 0..3 {
        for active in [false, true] {
            let r = t
                .call(
                    Method::PATCH,
                    "/v1/users/bob",
                    Some(&admin),
                    Some(json!({"active": active})),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        }
        let r = t
            .post(
                "/v1/access-requests",
                &bob,
                json!({"resource_id": "gitlab", "reason": format!("round {round}")}),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.text());
        assert_eq!(r.json()["status"], "open", "round {round}: {}", r.text());
        // Out of the group and back in, in the same second: still a path at every instant.
        t.call(
            Method::DELETE,
            "/v1/groups/eng/members/bob",
            Some(&admin),
            None,
        )
        .await;
        t.call(
            Method::PUT,
            "/v1/groups/eng/members/bob",
            Some(&admin),
            None,
        )
        .await;
    }
    // Each request was open until the removal after it cancelled it (recorded order): for the
    // lost path, never for the deactivation before it.
    let resolved = t
        .get("/v1/access-requests?user_id=bob&status=resolved", &admin)
        .await
        .json();
    let reasons: Vec<&str> = resolved["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["cancel_reason"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(reasons, ["no_path"; 3], "{resolved}");
}

#[tokio::test]
async fn an_admin_or_the_user_ends_a_users_console_sessions_and_it_is_audited() {
    let t = Harness::new(h(1)).await;
    let (admin, bob, reviewer) = (
        t.world.admin.clone(),
        t.world.bob.clone(),
        t.world.reviewer.clone(),
    );
    let path = "/v1/users/bob/sessions/end";
    let r = t.call(Method::POST, path, Some(&reviewer), None).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "another's sessions: admins only"
    );
    let stored = || async {
        t.world
            .store()
            .user(&t.world.bob_id())
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(stored().await.sessions_after, None, "nothing changed");
    let r = t.call(Method::POST, path, Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert!(
        stored().await.sessions_after.is_some(),
        "the sessions are ended"
    );
    let audit = t.get("/v1/audit?action=session.ended", &admin).await.json();
    let entries = audit["items"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["actor"], "ada");
    assert_eq!(entries[0]["user"], "bob");
    let r = t.call(Method::POST, path, Some(&bob), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "one's own: anyone");
    let r = t
        .call(
            Method::POST,
            "/v1/users/nobody/sessions/end",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sign_in_links_stay_on_where_single_sign_on_is_not_configured() {
    let t = Harness::new(h(1)).await;
    let admin = &t.world.admin;
    let r = t.get("/v1/settings/sign-in", admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json(), json!({"email_links": true}));
    // Turning links off would leave nobody a way in: a 400 naming the field, nothing changed.
    let r = t
        .call(
            Method::PUT,
            "/v1/settings/sign-in",
            Some(admin),
            Some(json!({"email_links": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(r.json()["field"], "email_links");
    assert!(
        r.text().contains("single sign-on is not configured"),
        "{}",
        r.text()
    );
    assert_eq!(
        t.get("/v1/settings/sign-in", admin).await.json()["email_links"],
        true
    );
    let r = t
        .call(
            Method::PUT,
            "/v1/settings/sign-in",
            Some(admin),
            Some(json!({"email_links": true, "extra": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    // Members may neither read nor change it.
    let r = t.get("/v1/settings/sign-in", &t.world.bob).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = t
        .call(
            Method::PUT,
            "/v1/settings/sign-in",
            Some(&t.world.bob),
            Some(json!({"email_links": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let audit = t
        .get("/v1/audit?action=settings.sign_in_changed", admin)
        .await;
    assert_eq!(audit.json()["items"], json!([]), "nothing was changed");
}

#[tokio::test]
async fn slacks_secrets_are_written_never_shown_and_kept_until_replaced() {
    let t = Harness::new(h(1)).await;
    let admin = &t.world.admin;
    let r = t.get("/v1/settings/slack", admin).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = t
        .call(
            Method::PUT,
            "/v1/settings/slack",
            Some(admin),
            Some(json!({"channel": "C0APPROVALS", "bot_token": "xoxb-1-2-secret-token", "signing_secret": "a-signing-secret-value"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let shown = json!({"channel": "C0APPROVALS", "enabled": true, "bot_token_set": true, "signing_secret_set": true});
    assert_eq!(r.json(), shown);
    // Turned off without giving the secrets again: they stay, and are never shown.
    let r = t
        .call(
            Method::PUT,
            "/v1/settings/slack",
            Some(admin),
            Some(json!({"channel": "C0APPROVALS", "enabled": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = t.get("/v1/settings/slack", admin).await;
    assert_eq!(r.json()["bot_token_set"], true);
    assert_eq!(r.json()["enabled"], false);
    assert!(!r.text().contains("secret-token"), "{}", r.text());
    let audit = t
        .get("/v1/audit?action=settings.slack_changed", admin)
        .await;
    assert_eq!(audit.json()["items"].as_array().unwrap().len(), 2);
    assert!(!audit.text().contains("secret-token"), "{}", audit.text());
    assert!(
        !audit.text().contains("a-signing-secret"),
        "{}",
        audit.text()
    );

    // Bad input names its field and changes nothing.
    for (body, field) in [
        (json!({"channel": "two words"}), "channel"),
        (json!({"channel": "C1", "bot_token": "short"}), "bot_token"),
        (json!({"channel": "C1", "webhook": "x"}), "webhook"),
    ] {
        let r = t
            .call(Method::PUT, "/v1/settings/slack", Some(admin), Some(body))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
        assert!(r.text().contains(field), "{field}: {}", r.text());
    }
    assert_eq!(
        t.get("/v1/settings/slack", admin).await.json()["channel"],
        "C0APPROVALS"
    );
    // Members may do nothing of it.
    assert_eq!(
        t.get("/v1/settings/slack", &t.world.bob).await.status,
        StatusCode::FORBIDDEN
    );
    let r = t
        .call(
            Method::DELETE,
            "/v1/settings/slack",
            Some(&t.world.bob),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = t
        .call(Method::DELETE, "/v1/settings/slack", Some(admin), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        t.get("/v1/settings/slack", admin).await.status,
        StatusCode::NOT_FOUND
    );
}
