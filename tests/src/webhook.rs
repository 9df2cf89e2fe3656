//! A real local HTTP server that receives webhook deliveries and keeps them for the test.

use std::sync::{Arc, Mutex};

/// What the receiver got: each delivery's headers and body, in order.
pub type Hits = Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>>;

/// Starts a receiver on a free loopback port answering 200 to `POST /hook`; returns its URL.
pub async fn receiver() -> (String, Hits) {
    let hits: Hits = Arc::default();
    let kept = Arc::clone(&hits);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let kept = Arc::clone(&kept);
            async move {
                kept.lock().expect("not poisoned").push((headers, body));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let url = format!("http://{}/hook", listener.local_addr().expect("bound"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serves") });
    (url, hits)
}
