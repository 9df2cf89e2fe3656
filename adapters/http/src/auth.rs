//! Who is calling. An [`Authenticator`] turns a request into a principal id — locally by
//! verifying an HS256 bearer token, on AWS by reading the JWT authorizer's claims — and the
//! [`Caller`] extractor looks the principal up in the directory: roles come from there, never
//! from the request or the token body.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use autolock_core::directory::Principal;
use autolock_core::ids::PrincipalId;

use crate::AppState;
use crate::problem::ApiError;

/// Finds the principal id behind a request.
pub trait Authenticator: Send + Sync {
    /// The authenticated principal id, or why not (a 401 that says it).
    fn authenticate(&self, parts: &Parts) -> Result<PrincipalId, Unauthenticated>;

    /// The gateway principal of a gate check (docs/gateways/README.md), authenticated by the
    /// token in [`GATE_TOKEN_HEADER`] — never by `Authorization`, which proxies forward from
    /// their clients.
    fn authenticate_gate(&self, parts: &Parts) -> Result<PrincipalId, Unauthenticated>;
}

/// The header a gateway sends its token in on a gate check.
pub const GATE_TOKEN_HEADER: &str = "x-autolock-token";

/// Why a request names no principal: said to the caller in the 401 problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unauthenticated(pub std::borrow::Cow<'static, str>);

impl From<&'static str> for Unauthenticated {
    fn from(why: &'static str) -> Self {
        Self(why.into())
    }
}

impl From<String> for Unauthenticated {
    fn from(why: String) -> Self {
        Self(why.into())
    }
}

/// A token secret shorter than [`MIN_SECRET`]: its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the token secret must be at least {MIN_SECRET} bytes (it has {0})")]
pub struct ShortSecret(pub usize);

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iss: String,
    /// One audience, or several (RFC 7519 allows both).
    aud: serde_json::Value,
    iat: i64,
    exp: i64,
}

/// HS256 bearer tokens with a shared secret: the local runtime's authenticator and token
/// minter. A token names its issuer and audience, which must be this deployment's, and an
/// expiry, checked against real time (seconds since the epoch).
#[derive(Clone)]
pub struct Hs256 {
    /// The MAC keyed with the secret once, cloned for each token.
    keyed: Hmac<Sha256>,
    issuer: String,
    audience: String,
}

/// The issuer tokens name by default.
pub const DEFAULT_ISSUER: &str = "autolock";

/// The shortest token secret accepted, in bytes.
pub const MIN_SECRET: usize = 32;

/// Now by real time, in seconds since the epoch: tokens expire by it, whatever the
/// deployment's clock.
fn real_now() -> i64 {
    use autolock_core::ports::Clock;
    autolock_core::ports::SystemClock.now().timestamp()
}

impl std::fmt::Debug for Hs256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hs256(..)")
    }
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

impl Hs256 {
    /// A verifier and minter with `secret` (at least 32 bytes), for tokens from `issuer` to
    /// `audience` (by default autolock, and the deployment's public base URL).
    pub fn new(
        secret: &[u8],
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<Self, ShortSecret> {
        if secret.len() < MIN_SECRET {
            return Err(ShortSecret(secret.len()));
        }
        Ok(Self {
            keyed: Hmac::<Sha256>::new_from_slice(secret).map_err(|_| ShortSecret(secret.len()))?,
            issuer: issuer.into(),
            audience: audience.into(),
        })
    }

    fn mac(&self) -> Hmac<Sha256> {
        self.keyed.clone()
    }

    /// A token for `sub`, valid for `ttl` seconds from now.
    #[must_use]
    pub fn mint_for(&self, sub: &PrincipalId, ttl: i64) -> String {
        let now = real_now();
        self.mint(sub, now, now.saturating_add(ttl))
    }

    /// A token for `sub`, issued at `iat`, valid until `exp`.
    #[must_use]
    pub fn mint(&self, sub: &PrincipalId, iat: i64, exp: i64) -> String {
        let claims = Claims {
            sub: sub.to_string(),
            iss: self.issuer.clone(),
            aud: serde_json::Value::String(self.audience.clone()),
            iat,
            exp,
        };
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(HEADER),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims serialize"))
        );
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    /// The subject of a valid token at `now` (seconds since the epoch).
    pub fn verify(&self, token: &str, now: i64) -> Result<PrincipalId, Unauthenticated> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("the bearer token is not a JWT".into());
        };
        #[derive(Deserialize)]
        struct Header {
            alg: String,
        }
        let signed = &token[..header.len() + 1 + payload.len()];
        let header: Header = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|h| serde_json::from_slice(&h).ok())
            .ok_or("the token header is malformed")?;
        if header.alg != "HS256" {
            return Err("only HS256 tokens are accepted".into());
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| "the token signature is malformed")?;
        let mut mac = self.mac();
        mac.update(signed.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| "the token signature does not verify")?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|p| serde_json::from_slice(&p).ok())
            .ok_or("the token claims are malformed: sub, iss, aud, iat and exp are required")?;
        if now >= claims.exp {
            return Err("the token has expired".into());
        }
        if claims.iss != self.issuer {
            return Err(format!("the token's issuer is not {:?}", self.issuer).into());
        }
        let for_us = match &claims.aud {
            serde_json::Value::String(a) => *a == self.audience,
            serde_json::Value::Array(all) => all.iter().any(|a| a.as_str() == Some(&self.audience)),
            _ => false,
        };
        if !for_us {
            return Err(format!("the token's audience is not {:?}", self.audience).into());
        }
        PrincipalId::parse(claims.sub).map_err(|e| e.to_string().into())
    }
}

impl Authenticator for Hs256 {
    fn authenticate(&self, parts: &Parts) -> Result<PrincipalId, Unauthenticated> {
        let value = header_text(
            parts,
            axum::http::header::AUTHORIZATION.as_str(),
            "Authorization",
        )
        .ok_or("send Authorization: Bearer <token>")??;
        let token = strip_bearer(value).ok_or("the Authorization header must be Bearer <token>")?;
        self.verify(token.trim(), real_now())
    }

    fn authenticate_gate(&self, parts: &Parts) -> Result<PrincipalId, Unauthenticated> {
        let value = header_text(parts, GATE_TOKEN_HEADER, "X-Autolock-Token")
            .ok_or("send the gateway's token in X-Autolock-Token")??;
        self.verify(strip_bearer(value).unwrap_or(value).trim(), real_now())
    }
}

/// The value of header `name` as text: `None` when absent, an error naming it (as `shown`) when
/// not text.
fn header_text<'a>(
    parts: &'a Parts,
    name: &str,
    shown: &str,
) -> Option<Result<&'a str, Unauthenticated>> {
    parts.headers.get(name).map(|v| {
        v.to_str()
            .map_err(|_| format!("the {shown} header is not text").into())
    })
}

/// A token after its `Bearer ` scheme.
fn strip_bearer(value: &str) -> Option<&str> {
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
}

/// The authenticated caller, as the directory knows them (admitted by `authz::admit`: in the
/// directory, active).
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Authenticated(id) = Authenticated::from_request_parts(parts, state).await?;
        Ok(Self(state.app().directory().caller(&id).await?))
    }
}

/// The principal id a request authenticates as, not yet looked up: for a use case that admits
/// its caller itself, reading it with what else it reads (the gateway's decision).
#[derive(Debug, Clone)]
pub struct Authenticated(pub PrincipalId);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        state
            .auth()
            .authenticate(parts)
            .map(Self)
            .map_err(|why| ApiError::unauthenticated(why.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn hs() -> Hs256 {
        Hs256::new(SECRET, "autolock", "https://autolock.test").unwrap()
    }

    fn raw(claims: &str, key: &[u8]) -> String {
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(HEADER),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    #[test]
    fn tokens_verify_and_reject_tampering_expiry_and_other_keys() {
        let hs = hs();
        let bob = PrincipalId::parse("bob").unwrap();
        let token = hs.mint(&bob, 100, 200);
        assert_eq!(hs.verify(&token, 150), Ok(bob.clone()));
        assert_eq!(hs.verify(&token, 200), Err("the token has expired".into()));
        let other = Hs256::new(
            b"another-secret-of-32-bytes-or-so",
            "autolock",
            "https://autolock.test",
        )
        .unwrap();
        assert!(other.verify(&token, 150).is_err());
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(r#"{"sub":"ada","iat":100}"#);
        parts[1] = &forged;
        assert_eq!(
            hs.verify(&parts.join("."), 150),
            Err("the token signature does not verify".into())
        );
        let none_alg = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            forged
        );
        assert_eq!(
            hs.verify(&none_alg, 150),
            Err("only HS256 tokens are accepted".into())
        );
    }

    #[test]
    fn a_token_needs_an_expiry_this_issuer_and_this_audience_and_the_secret_32_bytes() {
        let hs = hs();
        let ok =
            r#"{"sub":"bob","iss":"autolock","aud":"https://autolock.test","iat":100,"exp":200}"#;
        assert!(hs.verify(&raw(ok, SECRET), 150).is_ok());
        let listed = r#"{"sub":"bob","iss":"autolock","aud":["x","https://autolock.test"],"iat":100,"exp":200}"#;
        assert!(hs.verify(&raw(listed, SECRET), 150).is_ok());
        for (claims, why) in [
            (
                r#"{"sub":"bob","iss":"autolock","aud":"https://autolock.test","iat":100}"#,
                "claims are malformed",
            ),
            (
                r#"{"sub":"bob","aud":"https://autolock.test","iat":100,"exp":200}"#,
                "claims are malformed",
            ),
            (
                r#"{"sub":"bob","iss":"evil","aud":"https://autolock.test","iat":100,"exp":200}"#,
                "issuer",
            ),
            (
                r#"{"sub":"bob","iss":"autolock","aud":"https://other.test","iat":100,"exp":200}"#,
                "audience",
            ),
            (
                r#"{"sub":"bob","iss":"autolock","aud":7,"iat":100,"exp":200}"#,
                "audience",
            ),
        ] {
            let e = hs.verify(&raw(claims, SECRET), 150).unwrap_err();
            assert!(e.0.contains(why), "{claims}: {e}");
        }
        assert!(Hs256::new(b"a-secret-of-31-bytes-0123456789", "autolock", "x").is_err());
        assert!(Hs256::new(b"a-secret-of-32-bytes-01234567890", "autolock", "x").is_ok());
    }
}
