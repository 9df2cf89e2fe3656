//! docs/semantics.md §6 as a matrix: every route, every role, own and foreign objects. Each cell runs on a
//! fresh world so that no cell's change leaks into another.
//!
//! The world at day 8: bob and carol (members), rita (access reviewer), dev (DevOps admin) and
//! ada (admin) are all in `eng`, granted on gitlab (7 d, manual), so all are locked since day 7
//! and each has filed a request. `gw` is the gateway, `prov` an identity provider's provisioner.
//! "Own" objects are the caller's; "foreign"
//! ones are carol's (bob's when the caller is carol — never used here).

use crate::common;

use autolock_core::directory::Principal;
use autolock_tests::world::d;
use axum::http::{Method, StatusCode};
use common::Harness;
use serde_json::{Value, json};

const ROLES: [&str; 6] = [
    "member",
    "access_reviewer",
    "devops_admin",
    "admin",
    "gateway",
    "provisioner",
];

struct Cell {
    harness: Harness,
    caller: Principal,
    own_request: Option<String>,
    carol_request: String,
    grant: String,
}

async fn cell(role: &str) -> Cell {
    let harness = Harness::new(d(0)).await;
    let w = &harness.world;
    for p in [&w.reviewer, &w.devops] {
        w.app
            .directory()
            .add_member(&w.admin, &w.eng, &p.id, d(0))
            .await
            .unwrap();
    }
    w.app
        .directory()
        .add_member(&w.admin, &w.eng, &w.admin.id, d(0))
        .await
        .unwrap();
    w.app
        .directory()
        .create_group(
            &w.admin,
            Some("ops".parse().unwrap()),
            "Ops".parse().unwrap(),
            d(0),
        )
        .await
        .unwrap();
    w.app
        .directory()
        .create_user(
            &w.admin,
            autolock_core::service::NewUser {
                id: Some("newbie".parse().unwrap()),
                email: "newbie@example.com".parse().unwrap(),
                display_name: "Newbie".parse().unwrap(),
                role: autolock_core::values::Role::Member,
            },
            d(0),
        )
        .await
        .unwrap();
    w.app
        .directory()
        .create_service_principal(
            &w.admin,
            autolock_core::service::NewServicePrincipal {
                id: Some("prov".parse().unwrap()),
                name: "Identity provider".parse().unwrap(),
                role: autolock_core::values::Role::Provisioner,
                identity: Default::default(),
            },
            d(0),
        )
        .await
        .unwrap();
    harness.clock.set(d(8)).unwrap();
    let mut requests = std::collections::HashMap::new();
    for p in [&w.bob, &w.carol, &w.reviewer, &w.devops, &w.admin] {
        let r = w
            .app
            .requests()
            .file_request(p, &w.gitlab, "need it".parse().unwrap(), d(8))
            .await
            .unwrap();
        requests.insert(p.id.to_string(), r.request.id.to_string());
    }
    let caller = match role {
        "member" => w.bob.clone(),
        "access_reviewer" => w.reviewer.clone(),
        "devops_admin" => w.devops.clone(),
        "admin" => w.admin.clone(),
        "provisioner" => Principal {
            id: "prov".parse().unwrap(),
            role: autolock_core::values::Role::Provisioner,
            active: true,
        },
        _ => w.gateway.clone(),
    };
    let grant = w
        .store()
        .current_grant(&w.eng, &w.gitlab)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    Cell {
        own_request: requests.get(caller.id.as_str()).cloned(),
        carol_request: requests["carol"].clone(),
        caller,
        grant,
        harness,
    }
}

/// One row: a request built from the cell, and the expected status per role in ROLES order.
struct Row {
    name: &'static str,
    method: Method,
    path: fn(&Cell) -> String,
    body: Option<fn(&Cell) -> Value>,
    expect: [u16; 6],
}

fn own(c: &Cell) -> String {
    c.caller.id.to_string()
}

fn rows() -> Vec<Row> {
    use Method as M;
    let r =
        |name, method, path: fn(&Cell) -> String, body: Option<fn(&Cell) -> Value>, expect| Row {
            name,
            method,
            path,
            body,
            expect,
        };
    vec![
        r(
            "me",
            M::GET,
            |_| "/v1/me".into(),
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        r(
            "list users",
            M::GET,
            |_| "/v1/users".into(),
            None,
            [403, 200, 200, 200, 403, 200],
        ),
        r(
            "create user",
            M::POST,
            |_| "/v1/users".into(),
            Some(
                |_| json!({"id": "zed", "email": "zed@example.com", "display_name": "Zed", "role": "member"}),
            ),
            [403, 403, 403, 201, 403, 201],
        ),
        r(
            "get own user",
            M::GET,
            |c| format!("/v1/users/{}", own(c)),
            None,
            [200, 200, 200, 200, 403, 404],
        ),
        r(
            "get foreign user",
            M::GET,
            |_| "/v1/users/carol".into(),
            None,
            [404, 200, 200, 200, 403, 200],
        ),
        r(
            "edit user",
            M::PATCH,
            |_| "/v1/users/carol".into(),
            Some(|_| json!({"display_name": "Carol C"})),
            [403, 403, 403, 200, 403, 200],
        ),
        r(
            "give a user a role",
            M::PATCH,
            |_| "/v1/users/carol".into(),
            Some(|_| json!({"role": "access_reviewer"})),
            [403, 403, 403, 200, 403, 403],
        ),
        r(
            "create a user with a role",
            M::POST,
            |_| "/v1/users".into(),
            Some(
                |_| json!({"id": "zoe", "email": "zoe@example.com", "display_name": "Zoe", "role": "devops_admin"}),
            ),
            [403, 403, 403, 201, 403, 403],
        ),
        r(
            "deactivate a user",
            M::PATCH,
            |_| "/v1/users/carol".into(),
            Some(|_| json!({"active": false})),
            [403, 403, 403, 200, 403, 200],
        ),
        r(
            "own rights",
            M::GET,
            |c| format!("/v1/users/{}/rights", own(c)),
            None,
            [200, 200, 200, 200, 403, 403],
        ),
        r(
            "foreign rights",
            M::GET,
            |_| "/v1/users/carol/rights".into(),
            None,
            [404, 200, 200, 200, 403, 403],
        ),
        r(
            "own right",
            M::GET,
            |c| format!("/v1/users/{}/rights/gitlab", own(c)),
            None,
            [200, 200, 200, 200, 403, 403],
        ),
        r(
            "foreign right",
            M::GET,
            |_| "/v1/users/carol/rights/gitlab".into(),
            None,
            [404, 200, 200, 200, 403, 403],
        ),
        r(
            "unlock oneself",
            M::POST,
            |c| format!("/v1/users/{}/rights/gitlab/unlock", own(c)),
            None,
            [403, 403, 403, 403, 403, 403],
        ),
        r(
            "unlock another",
            M::POST,
            |_| "/v1/users/carol/rights/gitlab/unlock".into(),
            None,
            [403, 403, 200, 200, 403, 403],
        ),
        r(
            "create service principal",
            M::POST,
            |_| "/v1/service-principals".into(),
            Some(|_| json!({"id": "gw2", "name": "Gateway 2"})),
            [403, 403, 403, 201, 403, 403],
        ),
        r(
            "get service principal",
            M::GET,
            |_| "/v1/service-principals/gw".into(),
            None,
            [403, 200, 200, 200, 403, 403],
        ),
        r(
            "disable a service principal",
            M::PATCH,
            |_| "/v1/service-principals/gw".into(),
            Some(|_| json!({"active": false})),
            [403, 403, 403, 200, 403, 403],
        ),
        r(
            "list groups",
            M::GET,
            |_| "/v1/groups".into(),
            None,
            [403, 200, 200, 200, 403, 200],
        ),
        r(
            "create group",
            M::POST,
            |_| "/v1/groups".into(),
            Some(|_| json!({"id": "qa", "name": "QA"})),
            [403, 403, 403, 201, 403, 201],
        ),
        r(
            "get group",
            M::GET,
            |_| "/v1/groups/eng".into(),
            None,
            [403, 200, 200, 200, 403, 200],
        ),
        r(
            "add member",
            M::PUT,
            |_| "/v1/groups/eng/members/newbie".into(),
            None,
            [403, 403, 403, 201, 403, 201],
        ),
        r(
            "remove member",
            M::DELETE,
            |_| "/v1/groups/eng/members/carol".into(),
            None,
            [403, 403, 403, 204, 403, 204],
        ),
        r(
            "list resources",
            M::GET,
            |_| "/v1/resources".into(),
            None,
            [403, 200, 200, 200, 403, 403],
        ),
        r(
            "create resource",
            M::POST,
            |_| "/v1/resources".into(),
            Some(|_| json!({"id": "jira", "name": "Jira", "address": "https://jira.example.com"})),
            [403, 403, 403, 201, 403, 403],
        ),
        r(
            "get resource",
            M::GET,
            |_| "/v1/resources/gitlab".into(),
            None,
            [403, 200, 200, 200, 403, 403],
        ),
        r(
            "edit resource policy",
            M::PATCH,
            |_| "/v1/resources/gitlab/policy".into(),
            Some(|_| json!({"auto_lock_after": "30d"})),
            [403, 403, 200, 200, 403, 403],
        ),
        r(
            "rights of a resource",
            M::GET,
            |_| "/v1/resources/gitlab/rights".into(),
            None,
            [403, 200, 200, 200, 403, 403],
        ),
        r(
            "list grants",
            M::GET,
            |_| "/v1/resources/gitlab/grants".into(),
            None,
            [403, 200, 200, 200, 403, 403],
        ),
        r(
            "create grant",
            M::POST,
            |_| "/v1/resources/gitlab/grants".into(),
            Some(|_| json!({"group_id": "ops"})),
            [403, 403, 403, 201, 403, 403],
        ),
        r(
            "get grant",
            M::GET,
            |c| format!("/v1/grants/{}", c.grant),
            None,
            [403, 200, 200, 200, 403, 403],
        ),
        r(
            "set grant expiry",
            M::PATCH,
            |c| format!("/v1/grants/{}", c.grant),
            Some(|_| json!({"expires_at": null})),
            [403, 403, 403, 200, 403, 403],
        ),
        r(
            "remove grant",
            M::DELETE,
            |c| format!("/v1/grants/{}", c.grant),
            None,
            [403, 403, 403, 204, 403, 403],
        ),
        r(
            "edit grant policy",
            M::PATCH,
            |c| format!("/v1/grants/{}/policy", c.grant),
            Some(|_| json!({"approval": "automatic"})),
            [403, 403, 200, 200, 403, 403],
        ),
        r(
            "decision",
            M::POST,
            |_| "/v1/access/check".into(),
            Some(|_| json!({"user_id": "bob", "resource_id": "gitlab"})),
            [403, 403, 403, 403, 200, 403],
        ),
        r(
            "access events",
            M::POST,
            |_| "/v1/access-events".into(),
            Some(
                |_| json!({"events": [{"event_id": "x1", "user_id": "bob", "resource_id": "gitlab", "accessed_at": "2026-01-09T00:00:00Z"}]}),
            ),
            [403, 403, 403, 403, 200, 403],
        ),
        r(
            "file own request",
            M::POST,
            |_| "/v1/access-requests".into(),
            Some(|_| json!({"resource_id": "gitlab", "reason": "again"})),
            [200, 200, 200, 200, 403, 403],
        ),
        r(
            "list own requests",
            M::GET,
            |_| "/v1/access-requests".into(),
            None,
            [200, 200, 200, 200, 403, 403],
        ),
        r(
            "list foreign requests",
            M::GET,
            |_| "/v1/access-requests?user_id=carol".into(),
            None,
            [404, 200, 200, 200, 403, 403],
        ),
        r(
            "count requests",
            M::GET,
            |_| "/v1/access-requests/count".into(),
            None,
            [403, 200, 200, 200, 403, 403],
        ),
        r(
            "get own request",
            M::GET,
            |c| {
                format!(
                    "/v1/access-requests/{}",
                    c.own_request
                        .clone()
                        .unwrap_or_else(|| c.carol_request.clone())
                )
            },
            None,
            [200, 200, 200, 200, 403, 403],
        ),
        r(
            "get foreign request",
            M::GET,
            |c| format!("/v1/access-requests/{}", c.carol_request),
            None,
            [404, 200, 200, 200, 403, 403],
        ),
        r(
            "approve own request",
            M::POST,
            |c| {
                format!(
                    "/v1/access-requests/{}/approve",
                    c.own_request
                        .clone()
                        .unwrap_or_else(|| c.carol_request.clone())
                )
            },
            None,
            [403, 403, 403, 403, 403, 403],
        ),
        r(
            "approve foreign request",
            M::POST,
            |c| format!("/v1/access-requests/{}/approve", c.carol_request),
            None,
            [403, 200, 200, 200, 403, 403],
        ),
        r(
            "deny own request",
            M::POST,
            |c| {
                format!(
                    "/v1/access-requests/{}/deny",
                    c.own_request
                        .clone()
                        .unwrap_or_else(|| c.carol_request.clone())
                )
            },
            None,
            [403, 403, 403, 403, 403, 403],
        ),
        r(
            "deny foreign request",
            M::POST,
            |c| format!("/v1/access-requests/{}/deny", c.carol_request),
            None,
            [403, 200, 200, 200, 403, 403],
        ),
        r(
            "read settings",
            M::GET,
            |_| "/v1/settings/notifications".into(),
            None,
            [403, 403, 403, 200, 403, 403],
        ),
        r(
            "write settings",
            M::PUT,
            |_| "/v1/settings/notifications".into(),
            Some(|_| json!({"emails_enabled": true, "email_roles": ["admin", "access_reviewer"]})),
            [403, 403, 403, 200, 403, 403],
        ),
        r(
            "resource report",
            M::GET,
            |_| "/v1/resources/gitlab/report".into(),
            None,
            [403, 200, 200, 200, 403, 403],
        ),
        r(
            "group report",
            M::GET,
            |_| "/v1/groups/eng/report".into(),
            None,
            [403, 200, 200, 200, 403, 403],
        ),
        r(
            "user report",
            M::GET,
            |_| "/v1/users/carol/report".into(),
            None,
            [403, 200, 200, 200, 403, 403],
        ),
        r(
            "analytics",
            M::GET,
            |_| "/v1/resources/gitlab/analytics".into(),
            None,
            [403, 200, 200, 200, 403, 403],
        ),
        r(
            "preview a resource policy",
            M::POST,
            |_| "/v1/resources/gitlab/policy/preview".into(),
            Some(|_| json!({"auto_lock_after": "1d"})),
            [403, 403, 200, 200, 403, 403],
        ),
        r(
            "preview a grant policy",
            M::POST,
            |c| format!("/v1/grants/{}/policy/preview", c.grant),
            Some(|_| json!({"auto_lock_after": "1d"})),
            [403, 403, 200, 200, 403, 403],
        ),
        r(
            "audit export",
            M::GET,
            |_| "/v1/audit/export".into(),
            None,
            [403, 403, 200, 200, 403, 403],
        ),
        r(
            "set the webhook",
            M::PUT,
            |_| "/v1/settings/webhook".into(),
            Some(|_| json!({"url": "https://hooks.example.com/autolock"})),
            [403, 403, 403, 200, 403, 403],
        ),
        r(
            "remove the webhook",
            M::DELETE,
            |_| "/v1/settings/webhook".into(),
            None,
            [403, 403, 403, 204, 403, 403],
        ),
        r(
            "webhook deliveries",
            M::GET,
            |_| "/v1/webhook-deliveries".into(),
            None,
            [403, 403, 403, 200, 403, 403],
        ),
        r(
            "audit log",
            M::GET,
            |_| "/v1/audit".into(),
            None,
            [403, 403, 200, 200, 403, 403],
        ),
        r(
            "read the clock",
            M::GET,
            |_| "/v1/clock".into(),
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        r(
            "move the clock",
            M::POST,
            |_| "/v1/clock/advance".into(),
            Some(|_| json!({"by": "1h"})),
            [403, 403, 403, 200, 403, 403],
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_every_role_own_and_foreign() {
    let mut failures = Vec::new();
    let rows = rows();
    for (i, role) in ROLES.iter().enumerate() {
        for row in &rows {
            let c = cell(role).await;
            let path = (row.path)(&c);
            let body = row.body.map(|b| b(&c));
            let reply = c
                .harness
                .call(row.method.clone(), &path, Some(&c.caller), body)
                .await;
            if reply.status.as_u16() != row.expect[i] {
                failures.push(format!(
                    "{role:>16} {:<26} {} {path}: expected {}, got {} {}",
                    row.name,
                    row.method,
                    row.expect[i],
                    reply.status.as_u16(),
                    reply.text()
                ));
            }
            if reply.status == StatusCode::FORBIDDEN || reply.status == StatusCode::NOT_FOUND {
                assert_eq!(
                    reply.content_type, "application/problem+json",
                    "{} {path}",
                    row.name
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells disagree with docs/semantics.md §6:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn every_route_without_a_token_is_401_and_an_unknown_or_inactive_principal_is_refused() {
    let c = cell("member").await;
    for row in rows() {
        let path = (row.path)(&c);
        let reply = c
            .harness
            .call(row.method.clone(), &path, None, row.body.map(|b| b(&c)))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{} {path}",
            row.name
        );
    }
    let stranger = Principal {
        id: "stranger".parse().unwrap(),
        role: autolock_core::values::Role::Admin,
        active: true,
    };
    assert_eq!(
        c.harness.get("/v1/me", &stranger).await.status,
        StatusCode::UNAUTHORIZED,
        "a token for someone not in the directory"
    );
    // The gateway's decision reads its caller with the right: the same refusal, nothing read
    // for the stranger.
    let check = c
        .harness
        .post(
            "/v1/access/check",
            &Principal {
                role: autolock_core::values::Role::Gateway,
                ..stranger.clone()
            },
            serde_json::json!({"user_id": "bob", "resource_id": "gitlab"}),
        )
        .await;
    assert_eq!(check.status, StatusCode::UNAUTHORIZED);
    assert_eq!(check.json()["type"], "urn:autolock:problem:unauthenticated");
    let forged = c
        .harness
        .send(
            axum::http::Request::builder()
                .uri("/v1/me")
                .header("authorization", "Bearer not.a.token")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    let w = &c.harness.world;
    w.app
        .directory()
        .set_user_active(&w.admin, &w.carol.id, false, d(8))
        .await
        .unwrap();
    assert_eq!(
        c.harness.get("/v1/me", &w.carol.clone()).await.status,
        StatusCode::FORBIDDEN,
        "deactivated users are refused"
    );
}
