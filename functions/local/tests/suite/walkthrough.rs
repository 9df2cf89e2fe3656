//! The README's walk-through, step by step, on the demo seed with a manual clock.

use std::sync::Arc;

use autolock_core::ids::PrincipalId;
use autolock_core::ports::{Clock, ManualClock, Store};
use autolock_core::service::Autolock;
use autolock_http::{Hs256, HttpConfig};
use autolock_local::demo;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

struct Client {
    router: axum::Router,
    tokens: Hs256,
}

impl Client {
    async fn call(
        &self,
        method: Method,
        path: &str,
        who: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut b = Request::builder().method(method).uri(path);
        b = b.header(
            header::AUTHORIZATION,
            format!(
                "Bearer {}",
                self.tokens
                    .mint_for(&PrincipalId::parse(who).unwrap(), 3600)
            ),
        );
        let body = match body {
            Some(v) => {
                b = b.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let response = self
            .router
            .clone()
            .oneshot(b.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn form(&self, path: &str, form: &str) -> (StatusCode, String) {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }
}

#[tokio::test]
async fn the_readme_walk_through() {
    let start = "2026-01-01T00:00:00Z".parse().unwrap();
    let store: Arc<dyn Store> = Arc::new(autolock_sqlite::SqliteStore::in_memory().unwrap());
    let clock = Arc::new(ManualClock::new(start));
    demo::seed(&Autolock::new(Arc::clone(&store)), start)
        .await
        .unwrap();
    let tokens = Hs256::new(
        b"test-secret-0123456789-0123456789",
        "autolock",
        "http://127.0.0.1:7300",
    )
    .unwrap();
    let http = HttpConfig {
        public_base_url: "http://127.0.0.1:8080".into(),
        console_base_url: "http://127.0.0.1:8080".into(),
    };
    let state = autolock_local::state(
        Autolock::new(store),
        Arc::clone(&clock) as Arc<dyn Clock>,
        tokens.clone(),
        autolock_core::values::SigningKeys::parse("block links of the walkthrough test!!").unwrap(),
        http,
    );
    let c = Client {
        router: autolock_http::router(state),
        tokens,
    };

    // The demo: dave is locked out of gitlab, erin has an open request.
    let (_, dave) = c
        .call(
            Method::POST,
            "/v1/access/check",
            "gateway",
            Some(json!({"user_id": "dave", "resource_id": "gitlab"})),
        )
        .await;
    assert_eq!(
        (dave["decision"].as_str(), dave["reason"].as_str()),
        (Some("deny"), Some("locked"))
    );
    let (_, open) = c
        .call(Method::GET, "/v1/access-requests", "rita", None)
        .await;
    assert_eq!(open["items"].as_array().unwrap().len(), 1);
    assert_eq!(open["items"][0]["user"], "erin");

    // 1. Gitlab locks after 7 days without use, with manual approval.
    let (status, gitlab) = c
        .call(
            Method::PATCH,
            "/v1/resources/gitlab/policy",
            "ada",
            Some(json!({"auto_lock_after": "7d", "approval": "manual"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        gitlab["policy"],
        json!({"auto_lock_after": "7d", "approval": "manual"})
    );
    // 2. Contractors keep 30 days, with automatic approval.
    let (status, g) = c
        .call(
            Method::PATCH,
            "/v1/resources/gitlab/grants/contractors/policy",
            "ada",
            Some(json!({"auto_lock_after": "30d", "approval": "automatic"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        g["effective_policy"],
        json!({"auto_lock_after": "30d", "approval": "automatic"})
    );
    // 3. Eight days pass.
    let (_, now) = c
        .call(
            Method::POST,
            "/v1/clock/advance",
            "ada",
            Some(json!({"by": "8d"})),
        )
        .await;
    assert_eq!(now["now"], "2026-01-09T00:00:00Z");
    // 4. Bob, idle for 8 days in engineering, is locked; carol (contractors) is not.
    let (_, bob) = c
        .call(
            Method::POST,
            "/v1/access/check",
            "gateway",
            Some(json!({"user_id": "bob", "resource_id": "gitlab"})),
        )
        .await;
    assert_eq!(
        (
            bob["decision"].as_str(),
            bob["reason"].as_str(),
            bob["state"]["approval"].as_str()
        ),
        (Some("deny"), Some("locked"), Some("manual"))
    );
    assert_eq!(
        bob["state"]["locked_at"], "2026-01-08T00:00:00Z",
        "7 days after the policy change (grace)"
    );
    let (_, carol) = c
        .call(
            Method::POST,
            "/v1/access/check",
            "gateway",
            Some(json!({"user_id": "carol", "resource_id": "gitlab"})),
        )
        .await;
    assert_eq!(carol["decision"], "allow");
    // 5. Bob files a request through the block page.
    let block = bob["block_url"]
        .as_str()
        .unwrap()
        .strip_prefix("http://127.0.0.1:8080")
        .unwrap()
        .to_owned();
    let (status, page) = c.form(&block, "reason=Release+4.2+needs+a+hotfix").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Request sent"), "{page}");
    // 6. Rita, an access reviewer, approves it.
    let (_, open) = c
        .call(
            Method::GET,
            "/v1/access-requests?resource_id=gitlab",
            "rita",
            None,
        )
        .await;
    let request = open["items"][0].clone();
    assert_eq!(
        (request["user"].as_str(), request["reason"].as_str()),
        (Some("bob"), Some("Release 4.2 needs a hotfix"))
    );
    let id = request["id"].as_str().unwrap();
    let (status, approved) = c
        .call(
            Method::POST,
            &format!("/v1/access-requests/{id}/approve"),
            "rita",
            None,
        )
        .await;
    assert_eq!(
        (
            status,
            approved["status"].as_str(),
            approved["resolved_by"].as_str()
        ),
        (StatusCode::OK, Some("approved"), Some("rita"))
    );
    // 7. Bob is allowed again.
    let (_, bob) = c
        .call(
            Method::POST,
            "/v1/access/check",
            "gateway",
            Some(json!({"user_id": "bob", "resource_id": "gitlab"})),
        )
        .await;
    assert_eq!(bob["decision"], "allow");
    // 8. The audit log shows the duration change, the lock, the request and the approval.
    let (_, audit) = c
        .call(
            Method::GET,
            "/v1/audit?target=gitlab&from=2026-01-01T00:00:00Z",
            "ada",
            None,
        )
        .await;
    let story: Vec<(String, String)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["user"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect();
    for expected in [
        ("policy.duration_changed", "-"),
        ("access.locked", "bob"),
        ("request.created", "bob"),
        ("access.unlocked", "bob"),
        ("request.resolved", "bob"),
    ] {
        assert!(
            story.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} missing from {story:?}"
        );
    }
}
