//! autolock-webhook: delivers webhook messages the Standard Webhooks way.
//!
//! Each POST carries `webhook-id` (the same on every retry of one message), `webhook-timestamp`
//! (real time, seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
//! keyed with the decoded secret. Redirects are never followed (a 3xx is a failed attempt), and
//! at most 64 KiB of an answer is read. The target must be https and must resolve to public
//! addresses only — checked when connecting, on the addresses actually dialled ([`classify`]).
//! Where local targets are allowed (the local runtime, tests) http and loopback are admitted
//! too, and nothing more: private, link-local, shared and the other special addresses never.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;
use sha2::Sha256;

use autolock_core::delivery::{WebhookMessage, WebhookSettings};
use autolock_core::ports::{WebhookResponse, WebhookSender};

/// What an address is, as the webhook guard sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A public unicast address: always allowed.
    Public,
    /// This machine (127.0.0.0/8, ::1, and their IPv4-mapped forms): allowed only where the
    /// deployment allows local targets (the local runtime, tests).
    Loopback,
    /// Never dialled, in any mode: private, link-local (the cloud metadata address), shared
    /// (CGNAT), benchmark, documentation, reserved, multicast, unspecified, and the IPv6 forms
    /// that carry an IPv4 address a router would reach (NAT64, 6to4, Teredo, IPv4-compatible).
    Forbidden,
}

/// Classifies `ip` (docs/semantics.md §4).
#[must_use]
pub fn classify(ip: IpAddr) -> Target {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                Target::Loopback
            } else if v4.is_private()
                || v4.is_link_local() // 169.254/16, the cloud metadata address among them
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])) // shared (CGNAT) 100.64/10
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19)) // benchmarking 198.18/15
                || o[0] >= 240
            {
                Target::Forbidden
            } else {
                Target::Public
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return classify(IpAddr::V4(v4));
            }
            let s = v6.segments();
            if v6.is_loopback() {
                Target::Loopback
            } else if v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7 (fd00:ec2::254, metadata, among them)
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64 64:ff9b::/96 and 64:ff9b:1::/48
                || s[0] == 0x2002 // 6to4
                || (s[0] == 0x2001 && s[1] == 0) // Teredo 2001::/32
                || s[..6] == [0; 6] // IPv4-compatible ::a.b.c.d (and the rest of ::/96)
                || (s[0] & 0xe000) != 0x2000
            // outside global unicast 2000::/3
            {
                Target::Forbidden
            } else {
                Target::Public
            }
        }
    }
}

/// Whether `ip` may be dialled: public addresses always, loopback where local targets are
/// allowed, nothing else ever.
#[must_use]
pub fn may_dial(ip: IpAddr, allow_local: bool) -> bool {
    match classify(ip) {
        Target::Public => true,
        Target::Loopback => allow_local,
        Target::Forbidden => false,
    }
}

/// How much of a receiver's answer is read (and then ignored).
const MAX_ANSWER: usize = 64 * 1024;

/// Resolves names and refuses the addresses a webhook must not reach.
#[derive(Clone, Debug)]
pub struct GuardedResolver {
    allow_local: bool,
}

type Addrs = std::vec::IntoIter<SocketAddr>;

impl tower_service::Service<Name> for GuardedResolver {
    type Response = Addrs;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Addrs, std::io::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let allow_local = self.allow_local;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = resolved
                .iter()
                .copied()
                .filter(|a| may_dial(a.ip(), allow_local))
                .collect();
            if allowed.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!(
                        "{host} resolves only to addresses webhooks may not reach ({resolved:?})"
                    ),
                ));
            }
            Ok(allowed.into_iter())
        })
    }
}

/// Why a webhook is not sent: its address or its secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The address does not parse.
    #[error("{0:?} is not a URL")]
    NotUrl(String),
    /// Not https (http only where local targets are allowed).
    #[error("{0:?}: webhooks must use https")]
    NotHttps(String),
    /// An address literal webhooks may not reach (loopback, private, link-local, ...).
    #[error("{0} is an address webhooks may not reach")]
    Forbidden(String),
    /// The secret is not `whsec_` and base64.
    #[error("the webhook secret is not whsec_ + base64")]
    BadSecret,
}

fn keyed_mac(
    secret: &str,
    id: &str,
    timestamp: u64,
    body: &str,
) -> Result<Hmac<Sha256>, WebhookError> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| WebhookError::BadSecret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| WebhookError::BadSecret)?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(mac)
}

/// The signature header value for a message at `timestamp` with `secret` (`whsec_...`).
pub fn sign(secret: &str, id: &str, timestamp: u64, body: &str) -> Result<String, WebhookError> {
    let mac = keyed_mac(secret, id, timestamp, body)?;
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// What a receiver does: whether `signature` (one or more space-separated `v1,...`) signs the
/// message with `secret` (compared in constant time).
#[must_use]
pub fn verify(secret: &str, id: &str, timestamp: u64, body: &str, signature: &str) -> bool {
    signature.split(' ').any(|candidate| {
        let Some(tag) = candidate
            .strip_prefix("v1,")
            .and_then(|b| STANDARD.decode(b).ok())
        else {
            return false;
        };
        keyed_mac(secret, id, timestamp, body).is_ok_and(|mac| mac.verify_slice(&tag).is_ok())
    })
}

/// The sender.
#[derive(Clone, Debug)]
pub struct HttpWebhookSender {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector<GuardedResolver>>, Full<Bytes>>,
    allow_local: bool,
    timeout: Duration,
}

impl HttpWebhookSender {
    /// A sender; `allow_local` admits http and loopback/private targets (local runtime, tests).
    #[must_use]
    pub fn new(allow_local: bool, timeout: Duration) -> Self {
        let mut http = HttpConnector::new_with_resolver(GuardedResolver { allow_local });
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        // The Mozilla roots shipped with the binary: the same trust on every host and in Lambda.
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Self {
            client: Client::builder(TokioExecutor::new()).build(https),
            allow_local,
            timeout,
        }
    }

    fn check_url(&self, url: &str) -> Result<hyper::Uri, WebhookError> {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|_| WebhookError::NotUrl(url.to_owned()))?;
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if self.allow_local => {}
            _ => return Err(WebhookError::NotHttps(url.to_owned())),
        }
        // An address literal is dialled without resolution: check it here, as the resolver
        // checks names.
        let host = uri
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            if !may_dial(ip, self.allow_local) {
                return Err(WebhookError::Forbidden(host.to_owned()));
            }
        }
        Ok(uri)
    }
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn send(&self, hook: &WebhookSettings, message: &WebhookMessage) -> WebhookResponse {
        let started = Instant::now();
        let failed = |error: String, started: Instant| WebhookResponse {
            status: None,
            retry_after: None,
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            error: Some(error),
        };
        let uri = match self.check_url(hook.url.as_str()) {
            Ok(u) => u,
            Err(e) => return failed(e.to_string(), started),
        };
        let timestamp = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let signature = match sign(hook.secret.reveal(), &message.id, timestamp, &message.body) {
            Ok(s) => s,
            Err(e) => return failed(e.to_string(), started),
        };
        let request = hyper::Request::post(uri)
            .header("content-type", "application/json")
            .header("user-agent", "autolock-webhook/1")
            .header("webhook-id", &message.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(Full::new(Bytes::from(message.body.clone())));
        let request = match request {
            Ok(r) => r,
            Err(e) => return failed(e.to_string(), started),
        };
        let result = tokio::time::timeout(self.timeout, async {
            let response = self.client.request(request).await?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok());
            // Read a little of the answer, at most MAX_ANSWER bytes for a second, so that the
            // connection can be reused; its content is ignored.
            let limited = http_body_util::Limited::new(response.into_body(), MAX_ANSWER);
            let _ = tokio::time::timeout(Duration::from_secs(1), limited.collect()).await;
            Ok::<_, hyper_util::client::legacy::Error>((status, retry_after))
        })
        .await;
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match result {
            Ok(Ok((status, retry_after))) => WebhookResponse {
                status: Some(status),
                retry_after,
                latency_ms,
                error: None,
            },
            Ok(Err(e)) => {
                let mut error = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    error = format!("{error}: {s}");
                    source = s.source();
                }
                WebhookResponse {
                    status: None,
                    retry_after: None,
                    latency_ms,
                    error: Some(error),
                }
            }
            Err(_) => WebhookResponse {
                status: None,
                retry_after: None,
                latency_ms,
                error: Some(format!("no answer within {:?}", self.timeout)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_public_loopback_or_forbidden_in_every_mode() {
        for forbidden in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254", // the cloud metadata address
            "100.64.0.1",      // CGNAT
            "100.127.255.254",
            "198.18.0.1", // benchmarking
            "198.19.255.255",
            "192.0.0.170",
            "192.0.2.1", // documentation
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "fd00:ec2::254", // the IPv6 metadata address
            "fc00::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "64:ff9b::a9fe:a9fe", // NAT64 of 169.254.169.254
            "64:ff9b::808:808",   // NAT64 of a public address: still never
            "64:ff9b:1::1",
            "2002:a9fe:a9fe::1",                    // 6to4
            "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo
            "::a9fe:a9fe",                          // IPv4-compatible 169.254.169.254
            "::808:808",                            // IPv4-compatible 8.8.8.8
            "::ffff:10.0.0.1",                      // IPv4-mapped private
            "::ffff:169.254.169.254",
        ] {
            let ip: IpAddr = forbidden.parse().unwrap();
            assert_eq!(classify(ip), Target::Forbidden, "{forbidden}");
            assert!(!may_dial(ip, false) && !may_dial(ip, true), "{forbidden}");
        }
        for loopback in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            let ip: IpAddr = loopback.parse().unwrap();
            assert_eq!(classify(ip), Target::Loopback, "{loopback}");
            assert!(may_dial(ip, true) && !may_dial(ip, false), "{loopback}");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "198.20.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
        ] {
            let ip: IpAddr = public.parse().unwrap();
            assert_eq!(classify(ip), Target::Public, "{public}");
            assert!(may_dial(ip, false) && may_dial(ip, true), "{public}");
        }
    }

    #[test]
    fn signatures_follow_standard_webhooks() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        let sig = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body).unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(verify(
            secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            body,
            &format!("v1,bogus {sig}")
        ));
        assert!(!verify(
            secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_331,
            body,
            &sig
        ));
    }
}
