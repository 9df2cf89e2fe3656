//! The last line of defence against a bug: a handler that panics answers a 500 problem, logged
//! with its route, instead of dropping the connection. Bad input never gets this far — it is a
//! 4xx naming the field — and the fuzz tests fail on any 500.

use std::panic::AssertUnwindSafe;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;

use crate::problem::ApiError;

/// `router` with every route guarded: a panic in a handler (or an extractor) becomes a 500
/// problem, logged with the method and the route.
pub fn catch_panics<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.route_layer(axum::middleware::from_fn(guard))
}

async fn guard(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "?".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().clone();
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(%method, route, panic = message, "a handler panicked");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the server failed on this request; it was logged",
            )
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    #[allow(clippy::unused_async)]
    async fn boom() -> &'static str {
        panic!("boom")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_a_500_problem_and_others_go_on() {
        let router = catch_panics(
            Router::new()
                .route("/boom/{id}", get(boom))
                .route("/fine", get(|| async { "fine" })),
        );
        let r = router
            .clone()
            .oneshot(Request::get("/boom/1").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "a problem, not a dropped connection"
        );
        let r = router
            .oneshot(Request::get("/fine").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
}
