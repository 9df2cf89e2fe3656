//! The local runtime's HTTP server, bounded: a client must send a request's headers within the
//! header timeout (also the idle timeout of a kept-alive connection), a handler must answer
//! within the request timeout, and at most so many connections are served at once (the next
//! ones wait in the kernel's backlog). A response body streams as the client reads it, and
//! stops — a report download among them — when the client goes away.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// The server's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long a client may take to send a request's headers, and how long a kept-alive
    /// connection may stay idle.
    pub header_timeout: Duration,
    /// How long a handler may take to answer (the response's head; a body then streams).
    pub request_timeout: Duration,
    /// How many connections are served at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 256,
        }
    }
}

async fn request_timeout(timeout: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            // A change commits whole or not at all, but whether this one committed before the
            // answer was given up is not known: say so.
            let detail = format!(
                "the request took longer than {} s and its answer was given up; a change it was making was either made whole or not at all: look (the audit log tells) before trying again",
                timeout.as_secs()
            );
            let body = serde_json::json!({
                "type": "urn:autolock:problem:timeout",
                "title": "Service Unavailable",
                "status": 503,
                "detail": detail,
            });
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [("content-type", "application/problem+json")],
                body.to_string(),
            )
                .into_response()
        }
    }
}

/// A running server: how many connections it serves now.
#[derive(Debug, Clone)]
pub struct Connections {
    permits: Arc<Semaphore>,
    max: usize,
}

impl Connections {
    /// The connections being served now.
    #[must_use]
    pub fn open(&self) -> usize {
        self.max - self.permits.available_permits()
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes; connections open
/// then finish their current request.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_counted(listener, router, limits, shutdown, |_| {}).await
}

/// [`serve`], handing the connection count to `watch` first (for tests and diagnostics).
pub async fn serve_counted(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    watch: impl FnOnce(Connections),
) -> std::io::Result<()> {
    let timeout = limits.request_timeout;
    let router = router.layer(axum::middleware::from_fn(move |req, next| {
        request_timeout(timeout, req, next)
    }));
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    watch(Connections {
        permits: Arc::clone(&permits),
        max: limits.max_connections,
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, say: wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // At the limit, this connection waits for a free slot, and the next ones wait in the
        // kernel's backlog.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = Arc::clone(&permits).acquire_owned() => p.expect("the semaphore is never closed"),
        };
        // Each request knows its client: the console limits how often one asks for sign-in
        // emails.
        let client = autolock_console::ClientAddr(peer.ip().to_string());
        let service = TowerToHyperService::new(router.clone().map_request(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(client.clone());
                request
            },
        ));
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended");
                    }
                }
                _ = stopped.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    let _ = stop.send(true);
    Ok(())
}
