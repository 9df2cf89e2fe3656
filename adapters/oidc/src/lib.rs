//! autolock-oidc: the console's OpenID Connect relying party (docs/security.md, "Single
//! sign-on"), behind the core's [`IdentityProvider`] port, built on the `openidconnect` crate.
//!
//! - The provider is found by discovery (`{issuer}/.well-known/openid-configuration`) at the
//!   first sign-in, and its metadata and published keys (JWKS) are kept for an hour.
//! - A sign-in is the authorization code flow with PKCE (S256), a fresh `state` and `nonce`,
//!   and the scopes `openid email profile`.
//! - The code is exchanged once (with the client secret, when there is one, by HTTP basic
//!   authentication); the ID token is verified by the provider's keys (RS256, PS256, ES256,
//!   ES384; never a shared-secret algorithm), its issuer, audience, expiry and nonce. A token
//!   signed by a key not among those kept makes the keys be fetched again once: a key rotation
//!   at the provider is followed at the next sign-in.
//! - The email address counts as verified when the token says `email_verified: true`, or,
//!   from Entra ID (which does not send `email_verified`), `xms_edov: true` (the optional
//!   claim "email domain owner verified").

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, SignatureVerificationError,
};

use autolock_core::ports::{
    IdentityProvider, SignOnError, SignOnFlow, SignOnStart, VerifiedIdentity,
};
use autolock_core::values::Email;

/// How long the provider's metadata and keys are kept.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// How long a request to the provider may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read from the provider.
const MAX_ANSWER: usize = 1024 * 1024;

/// The signature algorithms an ID token may use: public-key ones only.
const ALGORITHMS: [CoreJwsSigningAlgorithm; 4] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
];

/// The relying party's registration at the provider.
#[derive(Clone)]
pub struct OidcConfig {
    /// The issuer identifier (e.g. `https://example.okta.com`).
    pub issuer: String,
    /// The client id the provider gave the console.
    pub client_id: String,
    /// The client secret, for a confidential client (none: a public client, PKCE alone).
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "…"))
            .finish()
    }
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum OidcConfigError {
    /// The issuer is not a URL.
    #[error("the OpenID Connect issuer {0:?} is not a URL")]
    Issuer(String),
    /// The issuer is not https (http only on loopback).
    #[error("the OpenID Connect issuer {0:?} must be https (http only on this machine)")]
    NotHttps(String),
    /// The client id is empty.
    #[error("the OpenID Connect client id is empty")]
    ClientId,
}

/// The provider, as the console signs people in through it.
pub struct OidcProvider {
    config: OidcConfig,
    issuer: IssuerUrl,
    http: HttpClient,
    metadata: tokio::sync::Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl OidcProvider {
    /// The provider of `config`. Nothing is fetched until the first sign-in.
    pub fn new(config: OidcConfig) -> Result<Self, OidcConfigError> {
        let issuer = IssuerUrl::new(config.issuer.trim_end_matches('/').to_owned())
            .map_err(|_| OidcConfigError::Issuer(config.issuer.clone()))?;
        let url = issuer.url();
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(name)) => name == "localhost",
            None => false,
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => return Err(OidcConfigError::NotHttps(config.issuer.clone())),
        }
        if config.client_id.trim().is_empty() {
            return Err(OidcConfigError::ClientId);
        }
        Ok(Self {
            config,
            issuer,
            http: HttpClient::new(),
            metadata: tokio::sync::Mutex::new(None),
        })
    }

    /// The provider's metadata and keys: those kept, unless older than an hour or `refresh`.
    async fn metadata(&self, refresh: bool) -> Result<CoreProviderMetadata, SignOnError> {
        let mut kept = self.metadata.lock().await;
        if let Some((at, m)) = kept.as_ref() {
            if !refresh && at.elapsed() < METADATA_TTL {
                return Ok(m.clone());
            }
        }
        let m = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| {
                SignOnError::Unavailable(format!(
                    "discovery at {}: {}",
                    self.issuer.as_str(),
                    chain(&e)
                ))
            })?;
        *kept = Some((Instant::now(), m.clone()));
        Ok(m)
    }

    fn secret(&self) -> Option<ClientSecret> {
        self.config.client_secret.clone().map(ClientSecret::new)
    }
}

#[async_trait]
impl IdentityProvider for OidcProvider {
    fn issuer(&self) -> &str {
        self.issuer.as_str()
    }

    async fn start(&self, redirect_uri: &str) -> Result<SignOnStart, SignOnError> {
        let metadata = self.metadata(false).await?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            self.secret(),
        )
        .set_redirect_uri(redirect(redirect_uri)?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        Ok(SignOnStart {
            url: url.to_string(),
            flow: SignOnFlow {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
            },
        })
    }

    async fn finish(
        &self,
        redirect_uri: &str,
        code: &str,
        flow: &SignOnFlow,
    ) -> Result<VerifiedIdentity, SignOnError> {
        let metadata = self.metadata(false).await?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            self.secret(),
        )
        .set_redirect_uri(redirect(redirect_uri)?);
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| SignOnError::Unavailable(format!("the provider's token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::ServerResponse(r) => {
                    SignOnError::Refused(format!(
                        "the identity provider refused the code: {}{}",
                        r.error().as_ref(),
                        r.error_description()
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_default()
                    ))
                }
                other => SignOnError::Unavailable(format!(
                    "the provider's token endpoint: {}",
                    chain(&other)
                )),
            })?;
        let token = openidconnect::TokenResponse::id_token(&response)
            .ok_or_else(|| SignOnError::Refused("the identity provider sent no ID token".into()))?;
        let nonce = Nonce::new(flow.nonce.clone());
        let verifier = client.id_token_verifier().set_allowed_algs(ALGORITHMS);
        let claims = match token.claims(&verifier, &nonce) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                // Signed by a key not among those kept: the provider rotated its keys.
                tracing::info!(issuer = self.issuer(), "fetching the provider's keys again");
                let fresh = CoreClient::from_provider_metadata(
                    self.metadata(true).await?,
                    ClientId::new(self.config.client_id.clone()),
                    self.secret(),
                );
                let verifier = fresh.id_token_verifier().set_allowed_algs(ALGORITHMS);
                token.claims(&verifier, &nonce).cloned()
            }
            other => other.cloned(),
        }
        .map_err(|e| {
            SignOnError::Refused(format!("the ID token does not verify: {}", chain(&e)))
        })?;
        let email = claims.email().and_then(|e| Email::parse(e.as_str()).ok());
        let email_verified =
            claims.email_verified() == Some(true) || entra_verified_domain(&token.to_string());
        Ok(VerifiedIdentity {
            issuer: claims.issuer().to_string(),
            subject: claims.subject().to_string(),
            email,
            email_verified,
        })
    }
}

fn redirect(uri: &str) -> Result<RedirectUrl, SignOnError> {
    RedirectUrl::new(uri.to_owned())
        .map_err(|_| SignOnError::Unavailable(format!("the redirect URI {uri:?} is not a URL")))
}

/// Entra ID's `xms_edov` claim of an ID token already verified, read from its payload: `true`
/// (a boolean, or the strings `true` and `1`).
fn entra_verified_domain(jwt: &str) -> bool {
    let claim = jwt
        .split('.')
        .nth(1)
        .and_then(|payload| URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok())
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|claims| claims.get("xms_edov").cloned());
    match claim {
        Some(serde_json::Value::Bool(b)) => b,
        Some(serde_json::Value::String(s)) => s == "true" || s == "1",
        _ => false,
    }
}

/// An error with its sources, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

/// The HTTP client the relying party talks to the provider with: https with the Mozilla roots
/// shipped in the binary (http too, for a provider on loopback), no redirects followed, ten
/// seconds a request, answers up to 1 MiB.
#[derive(Clone)]
struct HttpClient {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl HttpClient {
    fn new() -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(REQUEST_TIMEOUT));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Self {
            client: Client::builder(TokioExecutor::new()).build(https),
        }
    }
}

/// Why a request to the provider failed.
#[derive(Debug, thiserror::Error)]
enum HttpError {
    #[error("{0}")]
    Request(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

impl<'c> openidconnect::AsyncHttpClient<'c> for HttpClient {
    type Error = HttpError;
    type Future =
        Pin<Box<dyn Future<Output = Result<openidconnect::HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let request = hyper::Request::from_parts(parts, Full::new(Bytes::from(body)));
            let answer = tokio::time::timeout(REQUEST_TIMEOUT, async {
                let response = self
                    .client
                    .request(request)
                    .await
                    .map_err(|e| HttpError::Request(chain(&e)))?;
                let (parts, body) = response.into_parts();
                let bytes = Limited::new(body, MAX_ANSWER)
                    .collect()
                    .await
                    .map_err(|e| HttpError::Request(e.to_string()))?
                    .to_bytes();
                Ok(hyper::Response::from_parts(parts, bytes.to_vec()))
            })
            .await;
            answer.unwrap_or(Err(HttpError::Timeout(REQUEST_TIMEOUT)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(issuer: &str) -> Result<OidcProvider, OidcConfigError> {
        OidcProvider::new(OidcConfig {
            issuer: issuer.into(),
            client_id: "autolock-console".into(),
            client_secret: None,
        })
    }

    #[test]
    fn an_issuer_is_https_or_on_this_machine() {
        assert!(provider("https://acme.okta.com").is_ok());
        assert!(provider("https://login.microsoftonline.com/tenant/v2.0").is_ok());
        assert!(provider("http://127.0.0.1:8443").is_ok());
        assert!(provider("http://localhost:8080/realms/acme").is_ok());
        assert!(matches!(
            provider("http://acme.okta.com"),
            Err(OidcConfigError::NotHttps(_))
        ));
        assert!(matches!(
            provider("ftp://acme.okta.com"),
            Err(OidcConfigError::NotHttps(_))
        ));
        assert!(matches!(
            provider("not a url"),
            Err(OidcConfigError::Issuer(_))
        ));
    }

    #[test]
    fn entra_ids_verified_domain_claim_is_read_from_the_payload() {
        let token = |claims: &str| format!("e30.{}.c2ln", URL_SAFE_NO_PAD.encode(claims));
        assert!(entra_verified_domain(&token(r#"{"xms_edov":true}"#)));
        assert!(entra_verified_domain(&token(r#"{"xms_edov":"1"}"#)));
        assert!(!entra_verified_domain(&token(r#"{"xms_edov":false}"#)));
        assert!(!entra_verified_domain(&token(r#"{"email":"a@b.c"}"#)));
        assert!(!entra_verified_domain("garbage"));
    }
}
