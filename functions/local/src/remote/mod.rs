//! The CLI for approvers and admins: talks to a running autolock (this binary's `serve`, or the
//! API on AWS) over HTTP with a bearer token, and prints readable tables or, with `--json`, the
//! API's JSON. The token comes from `AUTOLOCK_TOKEN` or a config file only its owner may read,
//! never from a flag; it travels over https, or over http to this machine (loopback) only. An
//! answer is read up to [`MAX_ANSWER_BYTES`], and what is printed carries no control character
//! of the server's choosing ([`printable`]).

pub mod commands;
pub mod policies;
mod table;

use std::path::{Path, PathBuf};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::CliError;

/// Why a call of a running autolock gave no answer to use.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The request could not be built (a path the client made).
    #[error("bad request {uri}")]
    Request {
        /// The URL.
        uri: String,
        /// Why.
        #[source]
        source: hyper::http::Error,
    },
    /// No answer within the time the CLI waits.
    #[error("{server} did not answer within 30 s")]
    Timeout {
        /// The server.
        server: String,
    },
    /// The server could not be reached.
    #[error("cannot reach {server}")]
    Unreachable {
        /// The server.
        server: String,
        /// Why.
        #[source]
        source: hyper_util::client::legacy::Error,
    },
    /// The answer is larger than the CLI reads.
    #[error("the answer of {uri} is larger than {MAX_ANSWER_BYTES} bytes: not read")]
    TooLarge {
        /// The URL.
        uri: String,
    },
    /// The answer broke off.
    #[error("reading the answer of {uri}")]
    Read {
        /// The URL.
        uri: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The server answered with a problem: its title, detail and field, as one line.
    #[error("{0}")]
    Problem(String),
}

/// Where a running autolock is and who calls it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The base URL, e.g. `http://127.0.0.1:8080` or the API's `https://...` address.
    pub server: String,
    /// The bearer token.
    pub token: String,
}

/// The config file: `server = "..."` and `token = "..."` lines (`#` starts a comment).
pub fn default_config() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("autolock").join("config"))
}

fn read_config(path: &Path) -> Result<Vec<(String, String)>, CliError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0) {
            return Err(CliError::Config(format!(
                "{} holds a token and may be read by others: chmod 600 it (it was not read)",
                path.display()
            )));
        }
    }
    let text = std::fs::read_to_string(path).map_err(CliError::io(format!(
        "cannot read the config file {}",
        path.display()
    )))?;
    let mut pairs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("{}:{}: expected key = \"value\"", path.display(), n + 1))?;
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        pairs.push((key.trim().to_owned(), value.to_owned()));
    }
    Ok(pairs)
}

/// The target from the flag or environment (`server`, `token`) and the config file, which
/// fills what they leave unset. The named config file must exist; the default one may not.
pub fn resolve(
    server: Option<String>,
    token: Option<String>,
    config: Option<&Path>,
) -> Result<Target, CliError> {
    let pairs = match config {
        Some(path) => read_config(path)?,
        None => match default_config() {
            Some(path) if path.exists() => read_config(&path)?,
            _ => Vec::new(),
        },
    };
    let from_file = |key: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let server = server
        .filter(|s| !s.is_empty())
        .or_else(|| from_file("server"))
        .ok_or("no server: give --server URL, AUTOLOCK_SERVER or `server = \"...\"` in the config file")?;
    let server = server.trim_end_matches('/').to_owned();
    if !(server.starts_with("http://") || server.starts_with("https://")) {
        return Err(CliError::Config(format!(
            "--server {server:?} must be an http:// or https:// URL"
        )));
    }
    if server.starts_with("http://") && !is_loopback(&server) {
        return Err(CliError::Config(format!(
            "--server {server:?}: the token would travel in clear; use https://, or http:// to this machine (127.0.0.1, ::1, localhost) only"
        )));
    }
    let token = token
        .filter(|t| !t.is_empty())
        .or_else(|| from_file("token"))
        .ok_or("no token: set AUTOLOCK_TOKEN or `token = \"...\"` in the config file")?;
    Ok(Target { server, token })
}

/// Whether the URL's host is this machine: `localhost`, or a loopback address (127.0.0.0/8,
/// `::1`).
fn is_loopback(url: &str) -> bool {
    let Ok(uri) = url.parse::<hyper::Uri>() else {
        return false;
    };
    let Some(host) = uri.host() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The most of an answer the CLI reads: more is refused, not printed.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// `text` as the CLI prints it: no control character but line breaks and tabs, and none that
/// reorders or hides text (bidirectional overrides and isolates, zero-width characters), so
/// that nothing a server sends can move the cursor, recolour the terminal or disguise a line.
#[must_use]
pub fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| {
            (!c.is_control() || matches!(c, '\n' | '\t'))
                && !matches!(
                    c,
                    '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
                )
        })
        .collect()
}

/// A client of the API.
pub struct Remote {
    target: Target,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("server", &self.target.server)
            .finish_non_exhaustive()
    }
}

impl Remote {
    /// A client for `target`.
    #[must_use]
    pub fn new(target: Target) -> Self {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        Self {
            target,
            client: Client::builder(TokioExecutor::new()).build(https),
        }
    }

    /// Calls `method path` (under `/v1`) with an optional JSON body: the answer's JSON, or the
    /// problem's title and detail (with the field at fault) as the error.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, RemoteError> {
        let uri = format!("{}/v1{path}", self.target.server);
        let mut request = Request::builder()
            .method(method)
            .uri(&uri)
            .header("authorization", format!("Bearer {}", self.target.token))
            .header("accept", "application/json");
        let payload = match body {
            Some(b) => {
                request = request.header("content-type", "application/json");
                Bytes::from(b.to_string())
            }
            None => Bytes::new(),
        };
        let request = request
            .body(Full::new(payload))
            .map_err(|source| RemoteError::Request {
                uri: uri.clone(),
                source,
            })?;
        let server = || self.target.server.clone();
        let response = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            self.client.request(request),
        )
        .await
        .map_err(|_| RemoteError::Timeout { server: server() })?
        .map_err(|source| RemoteError::Unreachable {
            server: server(),
            source,
        })?;
        let status = response.status();
        let bytes = http_body_util::Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|source| {
                if source.is::<http_body_util::LengthLimitError>() {
                    RemoteError::TooLarge { uri: uri.clone() }
                } else {
                    RemoteError::Read {
                        uri: uri.clone(),
                        source,
                    }
                }
            })?
            .to_bytes();
        let json: Option<Value> = serde_json::from_slice(&bytes).ok();
        if status.is_success() {
            return Ok(json.unwrap_or(Value::Null));
        }
        Err(RemoteError::Problem(match json {
            Some(problem) => problem_text(status.as_u16(), &problem),
            None => format!("{status} from {uri}"),
        }))
    }
}

/// A problem as one line: `title: detail (field x)`, printable.
fn problem_text(status: u16, p: &Value) -> String {
    printable(&problem_line(status, p)).replace('\n', " ")
}

fn problem_line(status: u16, p: &Value) -> String {
    let title = p["title"].as_str().unwrap_or("error");
    let detail = p["detail"].as_str().unwrap_or_default();
    let mut text = if detail.is_empty() {
        format!("{title} ({status})")
    } else {
        format!("{title}: {detail}")
    };
    if let Some(field) = p["field"].as_str() {
        text.push_str(&format!(" (field {field})"));
    }
    text
}

/// A query string of the pairs whose value is set, percent-encoded.
pub fn query(pairs: &[(&str, Option<String>)]) -> String {
    let set: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v))))
        .collect();
    if set.is_empty() {
        String::new()
    } else {
        format!("?{}", set.join("&"))
    }
}

/// Percent-encodes all but the unreserved characters (RFC 3986).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn private_config(dir: &Path, text: &str) -> std::path::PathBuf {
        let file = dir.join("config");
        std::fs::write(&file, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        file
    }

    #[test]
    fn the_token_travels_over_http_to_this_machine_only() {
        for ok in [
            "https://autolock.acme.example.com",
            "http://127.0.0.1:8080",
            "http://127.5.6.7",
            "http://[::1]:8080/",
            "http://localhost:8080",
        ] {
            assert!(
                resolve(Some(ok.into()), Some("t".into()), None).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "http://autolock.acme.example.com",
            "http://10.0.0.5:8080",
            "http://127.0.0.1.evil.example",
            "http://[::ffff:10.0.0.1]",
        ] {
            let e = resolve(Some(bad.into()), Some("t".into()), None).unwrap_err();
            assert!(e.to_string().contains("in clear"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_config_file_others_may_read_is_refused() {
        let dir = std::env::temp_dir().join(format!("autolock-remote-open-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = private_config(&dir, "server = \"http://127.0.0.1:9\"\ntoken = \"t0k\"\n");
        assert!(resolve(None, None, Some(&file)).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = resolve(None, None, Some(&file)).unwrap_err();
            assert!(e.to_string().contains("chmod 600"), "{e}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn what_is_printed_carries_no_control_character_of_the_servers() {
        assert_eq!(
            printable("ok\u{1b}[2J\u{1b}]0;pwned\u{7}\r\nnext\u{202E}line\tend"),
            "ok[2J]0;pwned\nnextline\tend"
        );
        let p = serde_json::json!({"title": "Bad\u{1b}[31m", "detail": "x\ny\u{8}z"});
        assert_eq!(problem_text(400, &p), "Bad[31m: x yz");
    }

    #[tokio::test]
    async fn an_answer_larger_than_the_cap_is_refused_unread() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                MAX_ANSWER_BYTES + 1024
            );
            socket.write_all(head.as_bytes()).await.unwrap();
            let chunk = vec![b' '; 64 * 1024];
            for _ in 0..(MAX_ANSWER_BYTES / chunk.len() + 2) {
                if socket.write_all(&chunk).await.is_err() {
                    break;
                }
            }
        });
        let remote = Remote::new(Target {
            server: format!("http://{addr}"),
            token: "t".into(),
        });
        let e = remote.call(Method::GET, "/feed", None).await.unwrap_err();
        assert!(matches!(e, RemoteError::TooLarge { .. }), "{e}");
    }

    #[test]
    fn the_config_file_fills_what_the_environment_leaves_unset() {
        let dir = std::env::temp_dir().join(format!("autolock-remote-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = private_config(
            &dir,
            "# autolock\nserver = \"http://127.0.0.1:9\"\ntoken = \"t0k\"\n",
        );
        let t = resolve(None, None, Some(&file)).unwrap();
        assert_eq!(t.server, "http://127.0.0.1:9");
        assert_eq!(t.token, "t0k");
        let t = resolve(
            Some("http://localhost:8/".into()),
            Some("env".into()),
            Some(&file),
        )
        .unwrap();
        assert_eq!(
            (t.server.as_str(), t.token.as_str()),
            ("http://localhost:8", "env")
        );
        assert!(resolve(Some("ftp://x".into()), Some("t".into()), Some(&file)).is_err());
        std::fs::write(&file, "server = \"http://127.0.0.1:9\"\n").unwrap();
        let err = resolve(None, None, Some(&file)).unwrap_err();
        assert!(err.to_string().contains("AUTOLOCK_TOKEN"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn queries_are_encoded_and_problems_read_as_one_line() {
        assert_eq!(
            query(&[("a", Some("x y&z".into())), ("b", None)]),
            "?a=x%20y%26z"
        );
        assert_eq!(query(&[("b", None)]), "");
        let p = serde_json::json!({"title": "invalid input", "detail": "must be in the future", "field": "until"});
        assert_eq!(
            problem_text(400, &p),
            "invalid input: must be in the future (field until)"
        );
    }
}
