//! A router over a seeded world, driven without a socket.
#![allow(dead_code)]

use std::sync::Arc;

use autolock_core::directory::Principal;
use autolock_core::ports::{Clock, ManualClock, Store};
use autolock_http::{AppState, Hs256, HttpConfig, LinkSigner};
use autolock_tests::world::World;
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

pub const SECRET: &[u8] = b"test-secret-0123456789-0123456789";
pub const PUBLIC: &str = "https://autolock.test";

/// The block-link key of the tests.
pub fn link_keys() -> autolock_core::values::SigningKeys {
    autolock_core::values::SigningKeys::new(b"the tests' block-link key, 32 bytes+", None).unwrap()
}

pub struct Harness {
    pub world: World,
    pub router: Router,
    pub clock: Arc<ManualClock>,
    pub tokens: Hs256,
}

pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub location: Option<String>,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header of the answer, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

impl Harness {
    /// The seeded world on a fresh in-memory store, its clock at `now`.
    pub async fn new(now: autolock_core::Timestamp) -> Self {
        let store: Arc<dyn Store> = Arc::new(autolock_sqlite::SqliteStore::in_memory().unwrap());
        let world = World::seed(store).await;
        Self::over(world, now)
    }

    pub fn over(world: World, now: autolock_core::Timestamp) -> Self {
        let clock = Arc::new(ManualClock::new(now));
        let tokens = Hs256::new(SECRET, "autolock", PUBLIC).unwrap();
        let state = AppState::new(
            world.app.clone(),
            Arc::clone(&clock) as Arc<dyn Clock>,
            Arc::new(tokens.clone()),
            LinkSigner::new(link_keys()),
            HttpConfig {
                public_base_url: PUBLIC.into(),
                console_base_url: "https://console.test".into(),
            },
        );
        Self {
            router: autolock_http::router(state),
            world,
            clock,
            tokens,
        }
    }

    pub fn token(&self, p: &Principal) -> String {
        self.tokens.mint_for(&p.id, 3600)
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Reply {
            status,
            content_type,
            location,
            headers,
            body,
        }
    }

    /// A JSON call as `who` (no token when `None`).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        who: Option<&Principal>,
        body: Option<serde_json::Value>,
    ) -> Reply {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(p) = who {
            b = b.header(header::AUTHORIZATION, format!("Bearer {}", self.token(p)));
        }
        let body = match body {
            Some(v) => {
                b = b.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(&v).unwrap())
            }
            None => Body::empty(),
        };
        self.send(b.body(body).unwrap()).await
    }

    pub async fn get(&self, path: &str, who: &Principal) -> Reply {
        self.call(Method::GET, path, Some(who), None).await
    }

    pub async fn post(&self, path: &str, who: &Principal, body: serde_json::Value) -> Reply {
        self.call(Method::POST, path, Some(who), Some(body)).await
    }

    /// A form POST without a token (the block page).
    pub async fn post_form(&self, path: &str, form: &str) -> Reply {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .unwrap();
        self.send(request).await
    }

    pub async fn get_anonymous(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None, None).await
    }
}
