//! API Gateway v2 envelopes, the samples of `events/` mutated: a value replaced (the body, a
//! header, a claim, the path), a key dropped. Whatever lambda_http makes of the envelope, the
//! function never panics and never answers 500, and without an authorizer's `sub` it serves
//! nothing but its public pages.

use std::sync::{Arc, OnceLock};

use autolock_api::handler::router;
use autolock_dynamodb::TableNames;
use autolock_tests::fuzz::mutations_of;
use autolock_tests::world::World;
use http_body_util::BodyExt;
use proptest::prelude::*;
use serde_json::Value;
use tower::ServiceExt;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

/// The function's router over a seeded world (on SQLite: what is under test is the envelope).
fn app() -> &'static axum::Router {
    static APP: OnceLock<axum::Router> = OnceLock::new();
    APP.get_or_init(|| {
        runtime().block_on(async {
            let store = Arc::new(autolock_sqlite::SqliteStore::in_memory().unwrap());
            World::seed(store.clone()).await;
            let config = crate::common::config(TableNames::with_prefix("unused"));
            router(
                store,
                &config,
                &crate::common::keys(autolock_slack::DEFAULT_API_URL),
            )
        })
    })
}

fn sample(name: &str) -> Value {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn envelopes() -> impl Strategy<Value = Value> {
    prop_oneof![
        mutations_of(sample("api-post-check.json")),
        mutations_of(sample("api-get-rights.json")),
        mutations_of(sample("api-post-access-request.json")),
        mutations_of(sample("api-get-open-requests.json")),
        mutations_of(sample("api-get-console-request.json")),
        mutations_of(sample("api-gate-check.json")),
        mutations_of(sample("api-scim-create-user.json")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(800))]

    #[test]
    fn a_mutated_envelope_never_panics_the_function_or_answers_500(envelope in envelopes()) {
        let text = envelope.to_string();
        // lambda_http turns the envelope into a request before the function sees it. It refuses
        // some envelopes, and panics on a `rawPath` with characters a URI cannot hold (which
        // API Gateway never sends: its front end refuses such a request line); the Lambda
        // runtime reports either as a failed invocation. Neither reaches autolock's code.
        let converted = std::panic::catch_unwind(|| lambda_http::request::from_str(&text));
        let Ok(Ok(request)) = converted else {
            return Ok(());
        };
        let has_sub = envelope["requestContext"]["authorizer"]["jwt"]["claims"]["sub"].is_string();
        let path = request.uri().path().to_owned();
        let response = runtime().block_on(app().clone().oneshot(request)).unwrap();
        let status = response.status();
        let body = runtime().block_on(response.into_body().collect()).unwrap().to_bytes();
        prop_assert!(
            status.as_u16() < 500,
            "{status} {}\n{text}",
            String::from_utf8_lossy(&body)
        );
        let guarded = path.starts_with("/v1/") || path.starts_with("/scim/v2/");
        if !has_sub && guarded && path != "/v1/openapi.json" {
            prop_assert!(
                status == 401 || status == 404 || status == 405,
                "{path} without a sub: {status}"
            );
        }
    }
}
