//! Sessions: a signed cookie (HttpOnly, SameSite=Lax, Secure on https, 12 hours) naming the
//! user, and a CSRF token bound to it that every state-changing form carries. The user is read
//! from the directory on every request, so a session of a user deactivated meanwhile stops
//! working. Before a session exists (the sign-in pages), a random pre-session cookie binds the
//! forms' CSRF tokens instead.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, SameSite};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use autolock_core::directory::{Principal, User};
use autolock_core::ids::UserId;

use crate::ConsoleState;
use crate::layout;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "autolock_session";
/// The pre-session cookie's name (sign-in forms).
const PRE_COOKIE: &str = "autolock_pre";
/// How long a session lasts.
pub const SESSION_TTL: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The user.
    u: UserId,
    /// A random id of the session, which its CSRF token is bound to.
    n: String,
    /// Expiry, seconds since the epoch (real time).
    e: u64,
}

fn real_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn mac(state: &ConsoleState, purpose: &str, payload: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&state.config().session_key)
        .expect("HMAC takes any key length");
    mac.update(purpose.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    mac
}

fn sign(state: &ConsoleState, purpose: &str, payload: &str) -> String {
    URL_SAFE_NO_PAD.encode(mac(state, purpose, payload).finalize().into_bytes())
}

fn verify(state: &ConsoleState, purpose: &str, payload: &str, signature: &str) -> bool {
    URL_SAFE_NO_PAD
        .decode(signature)
        .is_ok_and(|s| mac(state, purpose, payload).verify_slice(&s).is_ok())
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

fn set_cookie(state: &ConsoleState, name: &'static str, value: String, max_age: u64) -> String {
    Cookie::build((name, value))
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
        e: real_now() + SESSION_TTL.as_secs(),
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
    let value = cookie_value(headers, SESSION_COOKIE)?;
    let (payload, signature) = value.split_once('.')?;
    if !verify(state, "session", payload, signature) {
        return None;
    }
    let claims: Claims = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|p| serde_json::from_slice(&p).ok())?;
    (real_now() < claims.e).then_some(claims)
}

/// The signed-in person looking at a page.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// As an actor of the use cases: id, role, active.
    pub principal: Principal,
    /// As a person: their name and address.
    pub user: User,
    /// The session's CSRF token, for the forms of the page.
    pub csrf: String,
    session: String,
}

impl Viewer {
    /// Whether a form's CSRF token is the session's (compared in constant time).
    pub fn csrf_ok(&self, state: &ConsoleState, token: &str) -> bool {
        verify(state, "csrf", &self.session, token)
    }
}

/// A path to go to after signing in or after a form: only a path on the console's own origin,
/// judged the way a browser's URL parser reads it — tab, CR and LF removed first (browsers drop
/// them), then no `//` or `/\\` at its start (another host), no backslash, no scheme, no control
/// character, and the same again once percent-decoded (a server may decode it). Anything else is
/// the start page.
#[must_use]
pub fn local_path(next: Option<&str>) -> String {
    next.and_then(same_origin_path)
        .unwrap_or_else(|| "/".to_owned())
}

fn same_origin_path(raw: &str) -> Option<String> {
    let path: String = raw
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let safe = |p: &str| {
        let mut chars = p.chars();
        chars.next() == Some('/')
            && !matches!(chars.next(), Some('/' | '\\'))
            && !p.contains('\\')
            && !p.chars().any(char::is_control)
    };
    if !safe(&path) {
        return None;
    }
    // Decoded (as often as it decodes to something else), it must still be a local path.
    let mut decoded = path.clone();
    for _ in 0..4 {
        let next: String = percent_decode(&decoded)
            .chars()
            .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
            .collect();
        if next == decoded {
            break;
        }
        if !safe(&next) {
            return None;
        }
        decoded = next;
    }
    Some(path)
}

fn percent_decode(text: &str) -> String {
    let bytes: Vec<u8> =
        form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned().into_bytes())
            .unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

impl FromRequestParts<ConsoleState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, Self::Rejection> {
        let sign_in = || {
            let next = parts
                .uri
                .path_and_query()
                .map_or("/", axum::http::uri::PathAndQuery::as_str);
            let target = format!("/sign-in?next={}", crate::layout::query_escape(next));
            Redirect::to(&target).into_response()
        };
        let Some(claims) = claims(state, &parts.headers) else {
            return Err(sign_in());
        };
        let user = match state.app().session_user(&claims.u).await {
            Ok(Some(user)) => user,
            Ok(None) => return Err(sign_in()),
            Err(e) => return Err(layout::error_page(None, &e)),
        };
        if !user.active {
            return Err(layout::message_page(
                StatusCode::FORBIDDEN,
                "Account deactivated",
                "Your account is deactivated: ask an admin to reactivate it.",
            ));
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
    /// The CSRF token of a form for `purpose` in this pre-session.
    pub fn csrf(&self, state: &ConsoleState, purpose: &str) -> String {
        sign(state, purpose, &self.id)
    }

    /// Whether `token` is this pre-session's for `purpose`.
    pub fn csrf_ok(&self, state: &ConsoleState, purpose: &str, token: &str) -> bool {
        !self.new && verify(state, purpose, &self.id, token)
    }

    /// Sets the pre-session cookie on `response` when it is new.
    pub fn keep(&self, state: &ConsoleState, mut response: Response) -> Response {
        if self.new {
            if let Ok(v) = set_cookie(state, PRE_COOKIE, self.id.clone(), 3600).parse() {
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
        _: &ConsoleState,
    ) -> Result<Self, Self::Rejection> {
        Ok(match cookie_value(&parts.headers, PRE_COOKIE) {
            Some(id) if !id.is_empty() && id.len() <= 64 => Self { id, new: false },
            _ => Self {
                id: random_id(),
                new: true,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_a_path_on_the_consoles_own_origin_is_kept() {
        for ok in [
            "/",
            "/access-requests?user_id=bob&access_request_id=r1",
            "/users/bob",
            "/audit?target=a%20b",
        ] {
            assert_eq!(local_path(Some(ok)), ok, "{ok:?}");
        }
        for bad in [
            "/\t/evil.example",
            "/\n/evil.example",
            "\t//evil.example",
            "//evil.example",
            "/\\evil.example",
            "/\\/evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "evil.example",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "/%5Cevil.example",
            "/%09/evil.example",
            "/%252F/evil.example",
            "/\u{0}x",
            "",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(local_path(None), "/");
    }
}
