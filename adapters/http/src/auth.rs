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
    /// The authenticated principal id, or a reason for a 401.
    fn authenticate(&self, parts: &Parts) -> Result<PrincipalId, String>;
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
}

/// HS256 bearer tokens with a shared secret: the local runtime's authenticator and token
/// minter. Expiry is checked against real time (seconds since the epoch).
#[derive(Clone)]
pub struct Hs256 {
    key: Vec<u8>,
}

impl std::fmt::Debug for Hs256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hs256(..)")
    }
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

impl Hs256 {
    /// A verifier and minter with `secret` (at least 16 bytes).
    pub fn new(secret: &[u8]) -> Result<Self, String> {
        if secret.len() < 16 {
            return Err("the token secret must be at least 16 bytes".into());
        }
        Ok(Self {
            key: secret.to_vec(),
        })
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length")
    }

    /// A token for `sub`, issued at `iat`, valid until `exp` when given.
    #[must_use]
    pub fn mint(&self, sub: &PrincipalId, iat: i64, exp: Option<i64>) -> String {
        let claims = Claims {
            sub: sub.to_string(),
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
    pub fn verify(&self, token: &str, now: i64) -> Result<PrincipalId, String> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("the bearer token is not a JWT".into());
        };
        let header: serde_json::Value = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|h| serde_json::from_slice(&h).ok())
            .ok_or("the token header is malformed")?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return Err("only HS256 tokens are accepted".into());
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| "the token signature is malformed")?;
        let mut mac = self.mac();
        mac.update(format!("{}.{payload}", token.split('.').next().unwrap_or_default()).as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| "the token signature does not verify")?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|p| serde_json::from_slice(&p).ok())
            .ok_or("the token claims are malformed")?;
        if claims.exp.is_some_and(|exp| now >= exp) {
            return Err("the token has expired".into());
        }
        PrincipalId::parse(claims.sub).map_err(|e| e.to_string())
    }
}

impl Authenticator for Hs256 {
    fn authenticate(&self, parts: &Parts) -> Result<PrincipalId, String> {
        let value = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or("send Authorization: Bearer <token>")?
            .to_str()
            .map_err(|_| "the Authorization header is not text")?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or("the Authorization header must be Bearer <token>")?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        self.verify(token.trim(), now)
    }
}

/// The authenticated caller, as the directory knows them.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let id = state
            .auth()
            .authenticate(parts)
            .map_err(ApiError::unauthenticated)?;
        let principal =
            state.app().principal(&id).await?.ok_or_else(|| {
                ApiError::unauthenticated(format!("{id} is not in the directory"))
            })?;
        if !principal.active {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "inactive",
                "this user is deactivated",
            ));
        }
        Ok(Self(principal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_and_reject_tampering_expiry_and_other_keys() {
        let hs = Hs256::new(b"0123456789abcdef0123").unwrap();
        let bob = PrincipalId::parse("bob").unwrap();
        let token = hs.mint(&bob, 100, Some(200));
        assert_eq!(hs.verify(&token, 150), Ok(bob.clone()));
        assert_eq!(hs.verify(&token, 200), Err("the token has expired".into()));
        let other = Hs256::new(b"another-secret-of-20b").unwrap();
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
        assert!(Hs256::new(b"short").is_err());
    }
}
