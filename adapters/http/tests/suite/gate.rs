//! The gate (`/v1/gate`): the answers a proxy acts on, the headers it reads, who may ask, and
//! usage written at most once per coalescing window. The request shapes of Traefik's
//! `ForwardAuth` and Envoy's `ext_authz` (HTTP service) are sent here as those proxies send them;
//! nginx and Caddy themselves drive the gate in functions/local's proxy tests.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

use autolock_core::directory::Principal;
use autolock_tests::world::{d, h, id};

use crate::common::{Harness, Reply};

/// A gate check sent as a proxy sends it: the gateway's token in `X-Autolock-Token` (when
/// `gateway` is given), and `headers`.
async fn gate(
    t: &Harness,
    method: Method,
    path: &str,
    gateway: Option<&Principal>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(gw) = gateway {
        b = b.header("X-Autolock-Token", t.token(gw));
    }
    for (name, value) in headers {
        b = b.header(*name, *value);
    }
    t.send(b.body(Body::empty()).unwrap()).await
}

async fn check(t: &Harness, user: &str) -> Reply {
    gate(
        t,
        Method::GET,
        "/v1/gate?resource=gitlab",
        Some(&t.world.gateway),
        &[("X-Forwarded-User", user)],
    )
    .await
}

#[tokio::test]
async fn an_active_user_is_let_through_with_who_and_until_when_and_the_access_counts() {
    let t = Harness::new(h(1)).await;
    let r = check(&t, "bob").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("x-autolock-user"), Some("bob"));
    assert_eq!(r.header("x-autolock-resource"), Some("gitlab"));
    assert_eq!(r.header("x-autolock-state"), Some("active"));
    assert_eq!(r.header("x-autolock-lock-at"), Some("2026-01-08T01:00:00Z"));
    assert_eq!(t.world.bob_usage().await.value.last_access, Some(h(1)));
    // Any method, any path under the gate: a proxy may send the client's.
    let r = gate(
        &t,
        Method::DELETE,
        "/v1/gate/",
        Some(&t.world.gateway),
        &[
            ("X-Forwarded-User", "bob"),
            ("X-Autolock-Resource", "gitlab"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn without_the_gateway_token_the_answer_is_401_whatever_else_is_sent() {
    let t = Harness::new(h(1)).await;
    // A client's own Authorization header (which proxies forward), even a valid gateway token
    // there, is not the gateway's credential.
    let forged = format!("Bearer {}", t.token(&t.world.gateway));
    let r = gate(
        &t,
        Method::GET,
        "/v1/gate?resource=gitlab",
        None,
        &[("X-Forwarded-User", "bob"), ("Authorization", &forged)],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    assert!(r.text().contains("X-Autolock-Token"), "{}", r.text());
    assert_eq!(t.world.bob_usage().await.value.last_access, None);
    // A token that is not a gateway's: a user's.
    let r = gate(
        &t,
        Method::GET,
        "/v1/gate?resource=gitlab",
        Some(&t.world.bob),
        &[("X-Forwarded-User", "bob")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(t.world.bob_usage().await.value.last_access, None);
}

#[tokio::test]
async fn without_an_identity_the_answer_is_401() {
    let t = Harness::new(h(1)).await;
    let r = gate(
        &t,
        Method::GET,
        "/v1/gate?resource=gitlab",
        Some(&t.world.gateway),
        &[("X-Auth-Request-User", "bob")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    assert!(r.text().contains("X-Forwarded-User"), "{}", r.text());
}

#[tokio::test]
async fn a_locked_browser_is_redirected_to_the_block_page_and_other_clients_get_403() {
    let t = Harness::new(d(8)).await;
    let browser = gate(
        &t,
        Method::GET,
        "/v1/gate?resource=gitlab",
        Some(&t.world.gateway),
        &[
            ("X-Forwarded-User", "bob"),
            ("Accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
        ],
    )
    .await;
    assert_eq!(browser.status, StatusCode::FOUND, "{}", browser.text());
    let location = browser.location.clone().unwrap();
    assert!(
        location.starts_with("https://autolock.test/block/"),
        "{location}"
    );
    assert_eq!(
        browser.header("x-autolock-block-url"),
        Some(location.as_str())
    );
    assert_eq!(browser.header("x-autolock-state"), Some("locked"));
    // The block page the link opens says the access is locked.
    let page = t
        .get_anonymous(location.trim_start_matches("https://autolock.test"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Gitlab"), "{}", page.text());

    let api = check(&t, "bob").await;
    assert_eq!(api.status, StatusCode::FORBIDDEN);
    assert_eq!(api.content_type, "application/problem+json");
    assert_eq!(api.json()["type"], "urn:autolock:problem:locked");
    assert!(
        api.header("x-autolock-block-url")
            .is_some_and(|u| u.starts_with("https://autolock.test/block/"))
    );
    // Denied checks count no access.
    assert_eq!(t.world.bob_usage().await.value.last_access, None);
}

#[tokio::test]
async fn a_user_without_a_path_an_inactive_user_and_an_unknown_user_get_403() {
    let t = Harness::new(h(1)).await;
    let r = check(&t, "dev").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["type"], "urn:autolock:problem:no_access");
    assert_eq!(r.header("x-autolock-block-url"), None);
    let r = check(&t, "nobody").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["type"], "urn:autolock:problem:no_access");
    let off = t
        .call(
            Method::PATCH,
            "/v1/users/carol",
            Some(&t.world.admin),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.text());
    let r = check(&t, "carol").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["type"], "urn:autolock:problem:inactive");
}

#[tokio::test]
async fn the_resource_comes_from_the_auth_url_a_header_or_the_forwarded_host() {
    let t = Harness::new(h(1)).await;
    let gw = Some(&t.world.gateway);
    for headers in [
        vec![("X-Autolock-Resource", "gitlab")],
        vec![("X-Forwarded-Host", "GitLab.example.com")],
        vec![("Host", "gitlab.example.com:443")],
    ] {
        let mut all = vec![("X-Forwarded-User", "bob")];
        all.extend(headers.iter().copied());
        let r = gate(&t, Method::GET, "/v1/gate", gw, &all).await;
        assert_eq!(r.status, StatusCode::OK, "{headers:?}: {}", r.text());
        assert_eq!(r.header("x-autolock-resource"), Some("gitlab"));
    }
    // Unknown: a clear 404, nothing counted.
    let r = gate(
        &t,
        Method::GET,
        "/v1/gate?resource=wiki",
        gw,
        &[("X-Forwarded-User", "carol")],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert!(r.text().contains("wiki"));
    let r = gate(
        &t,
        Method::GET,
        "/v1/gate",
        gw,
        &[
            ("X-Forwarded-User", "carol"),
            ("X-Forwarded-Host", "wiki.example.com"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert!(r.text().contains("wiki.example.com"), "{}", r.text());
    // A resource created now is found by its host at once.
    let created = t
        .post(
            "/v1/resources",
            &t.world.admin,
            json!({"id": "wiki", "name": "Wiki", "address": "https://wiki.example.com/start",
                   "policy": {"auto_lock_after": "7d", "approval": "automatic"}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let r = gate(
        &t,
        Method::GET,
        "/v1/gate",
        gw,
        &[
            ("X-Forwarded-User", "carol"),
            ("X-Forwarded-Host", "wiki.example.com"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(r.header("x-autolock-resource"), Some("wiki"));
}

#[tokio::test]
async fn bad_identity_and_resource_headers_are_400s_that_change_nothing() {
    let t = Harness::new(h(1)).await;
    let gw = Some(&t.world.gateway);
    let long = "b".repeat(300);
    for (headers, field) in [
        (
            vec![("X-Forwarded-User", "bob"), ("X-Forwarded-User", "carol")],
            "X-Forwarded-User",
        ),
        (
            vec![("X-Forwarded-User", long.as_str())],
            "X-Forwarded-User",
        ),
        (vec![("X-Forwarded-User", "bob bob")], "X-Forwarded-User"),
        (
            vec![
                ("X-Forwarded-User", "bob"),
                ("X-Autolock-Resource", long.as_str()),
            ],
            "X-Autolock-Resource",
        ),
    ] {
        let r = gate(&t, Method::GET, "/v1/gate", gw, &headers).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{headers:?}: {}",
            r.text()
        );
        assert_eq!(r.json()["field"], field, "{}", r.text());
    }
    let r = gate(
        &t,
        Method::GET,
        "/v1/gate?resource=gitlab&resource=wiki",
        gw,
        &[("X-Forwarded-User", "bob")],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["field"], "resource");
    // The same value twice is one value.
    let r = gate(
        &t,
        Method::GET,
        "/v1/gate?resource=gitlab",
        gw,
        &[("X-Forwarded-User", "carol"), ("X-Forwarded-User", "carol")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(t.world.bob_usage().await.value.last_access, None);
}

#[tokio::test]
async fn usage_is_written_at_most_once_per_window_and_the_window_is_a_setting() {
    let t = Harness::new(h(1)).await;
    assert_eq!(check(&t, "bob").await.status, StatusCode::OK);
    let first = t.world.bob_usage().await;
    assert_eq!(first.value.last_access, Some(h(1)));
    // Within the default window (60 s): no write at all.
    t.clock.advance(chrono::Duration::seconds(59)).unwrap();
    assert_eq!(check(&t, "bob").await.status, StatusCode::OK);
    let within = t.world.bob_usage().await;
    assert_eq!(
        within.version, first.version,
        "a check within the window wrote"
    );
    assert_eq!(within.value.last_access, Some(h(1)));
    // The window past: written.
    t.clock.advance(chrono::Duration::seconds(2)).unwrap();
    assert_eq!(check(&t, "bob").await.status, StatusCode::OK);
    let after = t.world.bob_usage().await;
    assert_eq!(
        after.value.last_access,
        Some(h(1) + chrono::Duration::seconds(61))
    );

    // Out of range: a 400 naming the field, nothing changed.
    let admin = &t.world.admin;
    let r = t
        .call(
            Method::PUT,
            "/v1/settings/gate",
            Some(admin),
            Some(json!({"usage_window_secs": 3601})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["field"], "usage_window_secs");
    let r = t.get("/v1/settings/gate", admin).await;
    assert_eq!(r.json()["usage_window_secs"], 60);
    // Members may not read or change it.
    let r = t.get("/v1/settings/gate", &t.world.bob).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // 0: every allowed check is written.
    let r = t
        .call(
            Method::PUT,
            "/v1/settings/gate",
            Some(admin),
            Some(json!({"usage_window_secs": 0})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    t.clock.advance(chrono::Duration::seconds(1)).unwrap();
    assert_eq!(check(&t, "bob").await.status, StatusCode::OK);
    assert_eq!(
        t.world.bob_usage().await.value.last_access,
        Some(h(1) + chrono::Duration::seconds(62))
    );
    let audit = t.get("/v1/audit?action=settings.gate_changed", admin).await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.text());
    assert!(
        audit.text().contains("settings.gate_changed"),
        "{}",
        audit.text()
    );
    assert!(
        audit.text().contains("\"usage_window_secs\":0"),
        "{}",
        audit.text()
    );
}

#[tokio::test]
async fn traefiks_forward_auth_request_is_understood() {
    // Traefik sends GET to the configured address with the client's headers and its own
    // X-Forwarded-* set from the request it holds (the client's method and URI among them).
    let t = Harness::new(h(1)).await;
    let r = gate(
        &t,
        Method::GET,
        "/v1/gate?resource=gitlab",
        Some(&t.world.gateway),
        &[
            ("X-Forwarded-Method", "POST"),
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "gitlab.example.com"),
            ("X-Forwarded-Uri", "/api/v4/projects?resource=other"),
            ("X-Forwarded-For", "203.0.113.7"),
            ("X-Forwarded-User", "bob"),
            ("Authorization", "Basic Ym9iOnNlY3JldA=="),
            ("Accept", "application/json"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("x-autolock-user"), Some("bob"));
}

#[tokio::test]
async fn envoys_ext_authz_request_is_understood_and_its_query_is_the_clients() {
    // Envoy's HTTP ext_authz service appends the client's path (and query) to the path prefix
    // and keeps the client's method and Host; the route's config adds the token and resource.
    let t = Harness::new(h(1)).await;
    let gw = Some(&t.world.gateway);
    let r = gate(
        &t,
        Method::POST,
        "/v1/gate/api/v4/projects?per_page=5",
        gw,
        &[
            ("Host", "gitlab.example.com"),
            ("X-Autolock-Resource", "gitlab"),
            ("X-Forwarded-User", "bob"),
            ("X-Envoy-Expected-Rq-Timeout-Ms", "200"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // A client cannot pick the resource by a query of its own: under /v1/gate the query is
    // the client's, and the host decides.
    let r = gate(
        &t,
        Method::GET,
        "/v1/gate/?resource=secret",
        gw,
        &[("Host", "gitlab.example.com"), ("X-Forwarded-User", "bob")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("x-autolock-resource"), Some("gitlab"));
}

#[tokio::test]
async fn a_provisioner_is_not_a_gateway_and_a_user_role_is_not_a_service_principals() {
    let t = Harness::new(h(1)).await;
    let admin = &t.world.admin;
    let r = t
        .post(
            "/v1/service-principals",
            admin,
            json!({"id": "okta", "name": "Okta", "role": "provisioner"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["role"], "provisioner");
    let okta = Principal {
        id: id("okta"),
        role: autolock_core::values::Role::Provisioner,
        active: true,
    };
    let r = gate(
        &t,
        Method::GET,
        "/v1/gate?resource=gitlab",
        Some(&okta),
        &[("X-Forwarded-User", "bob")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = t
        .post(
            "/v1/service-principals",
            admin,
            json!({"id": "odd", "name": "Odd", "role": "admin"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(r.json()["field"], "role");
}

#[tokio::test]
async fn a_gateway_may_vouch_by_email_and_a_disabled_gateway_is_refused_at_once() {
    let t = Harness::new(h(1)).await;
    let admin = &t.world.admin;
    let r = t
        .post(
            "/v1/service-principals",
            admin,
            json!({"id": "oauth2-proxy", "name": "oauth2-proxy",
                   "identity": {"header": "X-Auth-Request-Email", "holds": "email"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["identity"]["header"], "X-Auth-Request-Email");
    let proxy = Principal {
        id: id("oauth2-proxy"),
        role: autolock_core::values::Role::Gateway,
        active: true,
    };
    let ask = |email: &'static str| {
        let t = &t;
        let proxy = proxy.clone();
        async move {
            gate(
                t,
                Method::GET,
                "/v1/gate?resource=gitlab",
                Some(&proxy),
                &[
                    ("X-Auth-Request-Email", email),
                    ("X-Forwarded-User", "carol"),
                ],
            )
            .await
        }
    };
    let r = ask("bob@example.com").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("x-autolock-user"), Some("bob"));
    let r = ask("nobody@example.com").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["type"], "urn:autolock:problem:no_access");
    let r = ask("not-an-email").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["field"], "X-Auth-Request-Email");

    let off = t
        .call(
            Method::PATCH,
            "/v1/service-principals/oauth2-proxy",
            Some(admin),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.text());
    let r = ask("bob@example.com").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(r.json()["type"], "urn:autolock:problem:inactive");
}

#[tokio::test]
async fn an_allowed_decision_is_kept_seconds_a_revocation_elsewhere_reaches_it_within_them() {
    let t = Harness::new(h(1)).await;
    let admin = &t.world.admin;
    let seconds = chrono::Duration::seconds;
    // Another process over the same store: a cache of its own.
    let elsewhere = autolock_core::service::Autolock::new(t.world.store().clone());
    assert_eq!(check(&t, "bob").await.status, StatusCode::OK);
    elsewhere
        .directory()
        .remove_member(admin, &t.world.eng, &id("bob"), h(1) + seconds(1))
        .await
        .unwrap();
    t.clock.advance(seconds(2)).unwrap();
    let kept = check(&t, "bob").await;
    assert_eq!(kept.status, StatusCode::OK, "kept for 5 s: {}", kept.text());
    assert_eq!(
        kept.header("x-autolock-lock-at"),
        Some("2026-01-08T01:00:00Z")
    );
    t.clock.advance(seconds(4)).unwrap();
    assert_eq!(
        check(&t, "bob").await.status,
        StatusCode::FORBIDDEN,
        "past the time kept"
    );

    // Made in this process, a revocation takes effect at once.
    assert_eq!(check(&t, "carol").await.status, StatusCode::OK);
    t.world
        .app
        .directory()
        .remove_member(admin, &t.world.eng, &id("carol"), h(1) + seconds(6))
        .await
        .unwrap();
    assert_eq!(check(&t, "carol").await.status, StatusCode::FORBIDDEN);

    // Kept 0 seconds: every check decides afresh.
    let keep_for = |secs: u32| {
        t.call(
            Method::PUT,
            "/v1/settings/gate",
            Some(admin),
            Some(json!({"usage_window_secs": 60, "decision_ttl_secs": secs})),
        )
    };
    let r = keep_for(0).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    elsewhere
        .directory()
        .add_member(admin, &t.world.eng, &id("bob"), h(1) + seconds(6))
        .await
        .unwrap();
    assert_eq!(check(&t, "bob").await.status, StatusCode::OK);
    elsewhere
        .directory()
        .remove_member(admin, &t.world.eng, &id("bob"), h(1) + seconds(7))
        .await
        .unwrap();
    t.clock.advance(seconds(1)).unwrap();
    assert_eq!(check(&t, "bob").await.status, StatusCode::FORBIDDEN);
    let r = keep_for(61).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["field"], "decision_ttl_secs");
}
