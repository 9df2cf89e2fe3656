//! Sessions: a signed cookie (HttpOnly, SameSite=Lax, 12 hours; on https Secure and named with
//! the `__Host-` prefix, so that no other host or path can set it) naming the user and when it
//! was opened, and a CSRF token bound to it that every state-changing form carries. The user is
//! read from the directory on every request, so a session of a user deactivated meanwhile, or
//! whose sessions were ended (signed out everywhere, by an admin), stops working. Before a
//! session exists (the sign-in pages), a random pre-session cookie binds the forms' CSRF tokens
//! instead, each token good for an hour. The session key signs with its current key and
//! verifies with the previous one too, so that it rotates without signing anyone out.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, SameSite};
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use autolock_core::directory::Principal;
use autolock_core::ids::UserId;
use autolock_core::ports::SignOnFlow;

use crate::error::PageError;
use crate::viewer::Viewer;
use crate::{ConsoleState, MAX_FORM_BYTES};

/// The session cookie's name (on https it carries the `__Host-` prefix: [`cookie_name`]).
pub const SESSION_COOKIE: &str = "autolock_session";
/// The pre-session cookie's name (sign-in forms).
const PRE_COOKIE: &str = "autolock_pre";
/// The cookie that keeps a sign-on in flight at the identity provider.
const SIGN_ON_COOKIE: &str = "autolock_sign_on";
/// How long a session lasts.
pub const SESSION_TTL: std::time::Duration = std::time::Duration::from_secs(12 * 3600);
/// How long a sign-in form's CSRF token is good for.
const PRE_TTL_SECS: u64 = 3600;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The user.
    u: UserId,
    /// A random id of the session, which its CSRF token is bound to.
    n: String,
    /// Expiry, seconds since the epoch (real time).
    e: u64,
    /// When it was opened, milliseconds since the epoch (real time).
    #[serde(default)]
    i: i64,
}

/// [`ConsoleState::real_now`] in seconds since the epoch, as cookies and tokens carry it.
fn real_secs(state: &ConsoleState) -> u64 {
    u64::try_from(state.real_now().timestamp()).unwrap_or(0)
}

/// A cookie's name as this console sets it: with the `__Host-` prefix on https.
fn cookie_name(state: &ConsoleState, name: &str) -> String {
    if state.secure_cookies() {
        format!("__Host-{name}")
    } else {
        name.to_owned()
    }
}

fn mac(key: &[u8], purpose: &str, payload: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(purpose.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    mac
}

fn sign(state: &ConsoleState, purpose: &str, payload: &str) -> String {
    let key = state.config().session_keys.current();
    URL_SAFE_NO_PAD.encode(mac(key, purpose, payload).finalize().into_bytes())
}

/// Whether `signature` is this deployment's for `payload`, by the current session key or the
/// previous one (during a rotation); compared in constant time.
fn verify(state: &ConsoleState, purpose: &str, payload: &str, signature: &str) -> bool {
    URL_SAFE_NO_PAD.decode(signature).is_ok_and(|s| {
        state
            .config()
            .session_keys
            .verifying()
            .any(|key| mac(key, purpose, payload).verify_slice(&s).is_ok())
    })
}

fn random_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    URL_SAFE_NO_PAD.encode(bytes)
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

fn set_cookie(state: &ConsoleState, name: &str, value: String, max_age: u64) -> String {
    Cookie::build((cookie_name(state, name), value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.secure_cookies())
        .max_age(cookie::time::Duration::seconds(
            i64::try_from(max_age).unwrap_or(i64::MAX),
        ))
        .build()
        .to_string()
}

/// The `Set-Cookie` value that opens a session for `user`.
pub fn open(state: &ConsoleState, user: &UserId) -> String {
    let claims = Claims {
        u: user.clone(),
        n: random_id(),
        e: real_secs(state) + SESSION_TTL.as_secs(),
        i: state.real_now().timestamp_millis(),
    };
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims serialize"));
    let signature = sign(state, "session", &payload);
    set_cookie(
        state,
        SESSION_COOKIE,
        format!("{payload}.{signature}"),
        SESSION_TTL.as_secs(),
    )
}

/// The `Set-Cookie` value that ends the session.
pub fn close(state: &ConsoleState) -> String {
    set_cookie(state, SESSION_COOKIE, String::new(), 0)
}

fn claims(state: &ConsoleState, headers: &HeaderMap) -> Option<Claims> {
    let value = cookie_value(headers, &cookie_name(state, SESSION_COOKIE))?;
    let (payload, signature) = value.split_once('.')?;
    if !verify(state, "session", payload, signature) {
        return None;
    }
    let claims: Claims = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|p| serde_json::from_slice(&p).ok())?;
    (real_secs(state) < claims.e).then_some(claims)
}

/// A sign-on in flight, as its cookie keeps it: the flow's secrets, where to go after it, and
/// its expiry (seconds since the epoch, real time).
#[derive(Serialize, Deserialize)]
struct SignOnClaims {
    f: SignOnFlow,
    n: String,
    e: u64,
}

/// The `Set-Cookie` value that keeps `flow` (and `next`) until the identity provider sends the
/// browser back, for [`autolock_core::service::SIGN_ON_TTL`] at most: signed, so that only
/// this deployment's flows are taken back. Lax, so that it comes back with the provider's
/// redirect.
pub fn keep_sign_on(state: &ConsoleState, flow: SignOnFlow, next: String) -> String {
    let ttl = u64::try_from(autolock_core::service::SIGN_ON_TTL.num_seconds()).unwrap_or(600);
    let claims = SignOnClaims {
        f: flow,
        n: next,
        e: real_secs(state) + ttl,
    };
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims serialize"));
    let signature = sign(state, "sign-on", &payload);
    set_cookie(state, SIGN_ON_COOKIE, format!("{payload}.{signature}"), ttl)
}

/// The sign-on in flight of this browser, and where to go after it: `None` when none was
/// started here, or it is older than its time.
pub fn sign_on(state: &ConsoleState, headers: &HeaderMap) -> Option<(SignOnFlow, String)> {
    let value = cookie_value(headers, &cookie_name(state, SIGN_ON_COOKIE))?;
    let (payload, signature) = value.split_once('.')?;
    if !verify(state, "sign-on", payload, signature) {
        return None;
    }
    let claims: SignOnClaims = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|p| serde_json::from_slice(&p).ok())?;
    (real_secs(state) < claims.e).then_some((claims.f, claims.n))
}

/// The `Set-Cookie` value that forgets the sign-on in flight.
pub fn forget_sign_on(state: &ConsoleState) -> String {
    set_cookie(state, SIGN_ON_COOKIE, String::new(), 0)
}

/// Whether two secrets are equal, compared in constant time (of their length).
pub fn same_secret(a: &str, b: &str) -> bool {
    let expected = mac(b"comparison", "same", b).finalize().into_bytes();
    mac(b"comparison", "same", a)
        .verify_slice(&expected)
        .is_ok()
}

/// Whether a form's CSRF token is the session's of `viewer` (compared in constant time).
pub fn csrf_ok(state: &ConsoleState, viewer: &Viewer, token: &str) -> bool {
    verify(state, "csrf", &viewer.session, token)
}

impl FromRequestParts<ConsoleState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, Self::Rejection> {
        let sign_in = || PageError::SignIn {
            next: parts
                .uri
                .path_and_query()
                .map_or("/", axum::http::uri::PathAndQuery::as_str)
                .to_owned(),
        };
        let Some(claims) = claims(state, &parts.headers) else {
            return Err(sign_in());
        };
        let Some(user) = state.app().sessions().session_user(&claims.u).await? else {
            return Err(sign_in());
        };
        // Ended since it was opened: signed out everywhere, or by an admin.
        if user
            .sessions_after
            .is_some_and(|after| claims.i <= after.timestamp_millis())
        {
            return Err(sign_in());
        }
        if !user.active {
            return Err(PageError::Deactivated);
        }
        Ok(Self {
            principal: Principal {
                id: user.id.clone(),
                role: user.role,
                active: user.active,
            },
            csrf: sign(state, "csrf", &claims.n),
            session: claims.n,
            user,
        })
    }
}

/// The CSRF binding of the sign-in pages, before any session: a random pre-session cookie.
#[derive(Debug, Clone)]
pub struct PreSession {
    /// The pre-session id (from the cookie, or new).
    id: String,
    /// Whether the cookie must be set with the answer.
    new: bool,
}

impl PreSession {
    /// The CSRF token of a form for `purpose` in this pre-session, good for an hour: when it
    /// was made, and its signature over the pre-session, the purpose and that instant.
    pub fn csrf(&self, state: &ConsoleState, purpose: &str) -> String {
        let made = real_secs(state);
        format!(
            "{made}.{}",
            sign(state, purpose, &format!("{}.{made}", self.id))
        )
    }

    /// Whether `token` is this pre-session's for `purpose`, made within the last hour.
    pub fn csrf_ok(&self, state: &ConsoleState, purpose: &str, token: &str) -> bool {
        let Some((made, signature)) = token.split_once('.') else {
            return false;
        };
        let Ok(made_at) = made.parse::<u64>() else {
            return false;
        };
        let now = real_secs(state);
        !self.new
            && made_at <= now
            && now - made_at < PRE_TTL_SECS
            && verify(state, purpose, &format!("{}.{made}", self.id), signature)
    }

    /// Sets the pre-session cookie on `response` when it is new.
    pub fn keep(&self, state: &ConsoleState, mut response: Response) -> Response {
        if self.new {
            if let Ok(v) = set_cookie(state, PRE_COOKIE, self.id.clone(), PRE_TTL_SECS).parse() {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        response
    }
}

impl FromRequestParts<ConsoleState> for PreSession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, Self::Rejection> {
        Ok(
            match cookie_value(&parts.headers, &cookie_name(state, PRE_COOKIE)) {
                Some(id) if !id.is_empty() && id.len() <= 64 => Self { id, new: false },
                _ => Self {
                    id: random_id(),
                    new: true,
                },
            },
        )
    }
}

/// A state-changing form of a signed-in viewer, its CSRF token checked: the viewer, and the
/// form's fields as `T` (the token's field, `csrf`, is read here and left out of `T`). Sent
/// without the session's token, it is refused with nothing read further
/// ([`PageError::CsrfRefused`]).
#[derive(Debug)]
pub struct Csrf<T>(pub Viewer, pub T);

impl<T: DeserializeOwned> FromRequest<ConsoleState> for Csrf<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &ConsoleState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| PageError::TooLarge)?;
        let token = form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        if !csrf_ok(state, &viewer, &token) {
            return Err(PageError::CsrfRefused);
        }
        // The token is this extractor's: `T` sees every other field.
        let pairs: Vec<(String, String)> = form_urlencoded::parse(&bytes)
            .filter(|(k, _)| k != "csrf")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let fields =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
        let form = serde_path_to_error::deserialize(fields).map_err(|e| {
            // The field that did not parse is named; `.` is the form as a whole.
            let field = match e.path().to_string() {
                path if path == "." => "form".to_owned(),
                path => path,
            };
            autolock_core::ValidationError::new(field, e.inner().to_string())
        })?;
        Ok(Self(viewer, form))
    }
}

#[cfg(test)]
mod tests {
    use super::{PreSession, real_secs, sign};

    fn state() -> crate::ConsoleState {
        let store = std::sync::Arc::new(autolock_sqlite::SqliteStore::in_memory().unwrap());
        crate::ConsoleState::new(
            autolock_core::service::Autolock::new(store),
            std::sync::Arc::new(autolock_core::ports::ManualClock::new(chrono::Utc::now())),
            std::sync::Arc::new(autolock_core::ports::SystemClock),
            crate::ConsoleConfig {
                console_base_url: "http://console.test".into(),
                session_keys: autolock_core::values::SigningKeys::new(
                    b"a-session-key-of-32-bytes-or-more!",
                    None,
                )
                .unwrap(),
            },
        )
    }

    #[test]
    fn a_sign_in_forms_csrf_token_is_good_for_an_hour_and_for_its_purpose_only() {
        let state = state();
        let pre = PreSession {
            id: "pre-session-id".into(),
            new: false,
        };
        let token = pre.csrf(&state, "sign-in");
        assert!(pre.csrf_ok(&state, "sign-in", &token));
        assert!(!pre.csrf_ok(&state, "redeem", &token), "another form's");
        // Made an hour ago (signed as the console would have then): refused.
        let old = real_secs(&state) - 3600;
        let stale = format!(
            "{old}.{}",
            sign(&state, "sign-in", &format!("pre-session-id.{old}"))
        );
        assert!(!pre.csrf_ok(&state, "sign-in", &stale));
        let recent = real_secs(&state) - 3500;
        let fresh = format!(
            "{recent}.{}",
            sign(&state, "sign-in", &format!("pre-session-id.{recent}"))
        );
        assert!(pre.csrf_ok(&state, "sign-in", &fresh));
        // Its time changed without its signature: refused.
        let (_, signature) = stale.split_once('.').unwrap();
        assert!(!pre.csrf_ok(&state, "sign-in", &format!("{recent}.{signature}")));
    }
}
