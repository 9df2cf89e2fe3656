//! The local server's bounds, over real sockets on loopback: a client that sends half a
//! request header and waits is dropped, so is an idle kept-alive connection, a slow handler is
//! answered 503, and connections beyond the limit wait for a free one.

use std::time::{Duration, Instant};

use autolock_local::server::{Connections, Limits, serve_counted};
use axum::Router;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn start(limits: Limits) -> (std::net::SocketAddr, Connections) {
    let router = Router::new().route("/fast", get(|| async { "ok" })).route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late"
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(serve_counted(
        listener,
        router,
        limits,
        std::future::pending(),
        move |c| {
            let _ = tx.send(c);
        },
    ));
    (addr, rx.await.unwrap())
}

/// Reads until the server closes the connection or `within` passes; the bytes read and when.
async fn read_until_closed(
    stream: &mut TcpStream,
    within: Duration,
) -> (Vec<u8>, Option<Duration>) {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + within).into(), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return (out, Some(started.elapsed())),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (out, None),
        }
    }
}

fn limits(header_timeout_ms: u64, max_connections: usize) -> Limits {
    Limits {
        header_timeout: Duration::from_millis(header_timeout_ms),
        request_timeout: Duration::from_millis(800),
        max_connections,
    }
}

#[tokio::test]
async fn a_client_that_sends_half_a_header_and_waits_is_dropped() {
    let (addr, connections) = start(limits(700, 8)).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /fast HTTP/1.1\r\nHost: autolock\r\n")
        .await
        .unwrap();
    let (_, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    let after = closed.expect("the server closes the connection");
    assert!(after < Duration::from_secs(3), "closed after {after:?}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(connections.open(), 0);
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let (addr, _) = start(limits(700, 8)).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /fast HTTP/1.1\r\nHost: autolock\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let (_, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    let after = closed.expect("the idle connection is closed");
    assert!(after < Duration::from_secs(3), "closed after {after:?}");
}

#[tokio::test]
async fn a_slow_handler_is_answered_503_within_the_request_timeout() {
    let (addr, _) = start(limits(5000, 8)).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    s.write_all(b"GET /slow HTTP/1.1\r\nHost: autolock\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (bytes, _) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.contains("urn:autolock:problem:timeout"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_for_a_free_one() {
    let (addr, connections) = start(limits(5000, 2)).await;
    let first = TcpStream::connect(addr).await.unwrap();
    let _second = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(connections.open(), 2);
    let mut third = TcpStream::connect(addr).await.unwrap();
    third
        .write_all(b"GET /fast HTTP/1.1\r\nHost: autolock\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (bytes, _) = read_until_closed(&mut third, Duration::from_millis(600)).await;
    assert!(bytes.is_empty(), "served beyond the limit");
    drop(first);
    let (bytes, closed) = read_until_closed(&mut third, Duration::from_secs(3)).await;
    assert!(closed.is_some());
    assert!(String::from_utf8_lossy(&bytes).starts_with("HTTP/1.1 200"));
}
