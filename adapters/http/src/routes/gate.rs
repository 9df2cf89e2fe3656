//! The gate: forward authentication for proxies (nginx `auth_request`, Caddy `forward_auth`,
//! Traefik `ForwardAuth`, Envoy `ext_authz`), docs/gateways/README.md. Any method, at `/v1/gate`
//! and under it (Envoy appends the client's path). The proxy's token comes in `X-Autolock-Token`,
//! the user in the header its service principal is configured to trust, the resource in the
//! auth URL's `?resource=`, in `X-Autolock-Resource`, or as the host the client asked for.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;

use autolock_core::directory::{IdentityKind, ServicePrincipal};
use autolock_core::ids::{ResourceId, UserId};
use autolock_core::lock::{DenyReason, RightState};
use autolock_core::service::{GateAnswer, GateResource, GateUser};
use autolock_core::values::Email;

use crate::AppState;
use crate::problem::{ApiError, ApiResult};

/// The header naming the resource when the auth URL does not.
pub const RESOURCE_HEADER: &str = "X-Autolock-Resource";
/// The longest identity, resource or host header value read, in bytes.
pub const MAX_HEADER_LEN: usize = 256;

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/gate", any(gate))
        .route("/gate/", any(gate))
        .route("/gate/{*original}", any(gate))
}

/// A gate check: 200 when the user may reach the resource (the access counted), else 302 to
/// the block page (a locked browser), 403, or 401 without a gateway token or an identity.
#[utoipa::path(
    get,
    path = "/v1/gate",
    tag = "gateways",
    params(
        ("resource" = Option<String>, Query, description = "The resource's id (else X-Autolock-Resource, else the forwarded host)"),
        ("X-Autolock-Token" = String, Header, description = "The gateway principal's bearer token"),
        ("X-Forwarded-User" = Option<String>, Header, description = "The user, in the header the gateway's principal is configured to trust"),
    ),
    responses(
        (status = 200, description = "Allowed: X-Autolock-User, X-Autolock-State and X-Autolock-Lock-At say who and until when"),
        (status = 302, description = "Locked, asked by a browser: to the block page (also in X-Autolock-Block-Url)"),
        (status = 401, description = "No gateway token, or no identity", body = crate::problem::Problem),
        (status = 403, description = "Locked (with X-Autolock-Block-Url), no access, expired or inactive", body = crate::problem::Problem),
    )
)]
pub async fn gate(State(s): State<AppState>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    match check(&s, &parts).await {
        Ok(answer) => answer,
        Err(e) => e.into_response(),
    }
}

async fn check(s: &AppState, parts: &Parts) -> ApiResult<Response> {
    // Without the gateway's own credential nothing else of the request is read.
    let caller = s
        .auth()
        .authenticate_gate(parts)
        .map_err(|e| ApiError::unauthenticated(e.0))?;
    let sp = s.app().gateway().gate_principal(&caller).await?;
    let user = identity(&sp, &parts.headers)?;
    let resource = resource(parts)?;
    let answer = s.app().gateway().gate(&sp, user, resource, s.now()).await?;
    Ok(respond(s, &parts.headers, &answer))
}

/// The one value of header `name` (matched without regard to case), at most [`MAX_HEADER_LEN`]
/// bytes of text: `None` when absent, a 400 naming it when sent twice with different values,
/// too long or not text.
fn one_header<'a>(headers: &'a HeaderMap, name: &str) -> ApiResult<Option<&'a str>> {
    let mut found: Option<&str> = None;
    for value in headers.get_all(name) {
        if value.len() > MAX_HEADER_LEN {
            return Err(ApiError::invalid(
                name,
                format!("is longer than {MAX_HEADER_LEN} bytes"),
            ));
        }
        let text = value
            .to_str()
            .map_err(|_| ApiError::invalid(name, "is not text"))?
            .trim();
        match found {
            Some(first) if first != text => {
                return Err(ApiError::invalid(
                    name,
                    "was sent more than once, with different values",
                ));
            }
            _ => found = Some(text),
        }
    }
    Ok(found.filter(|t| !t.is_empty()))
}

/// The user the gateway vouches for, from the header its principal trusts.
fn identity(sp: &ServicePrincipal, headers: &HeaderMap) -> ApiResult<GateUser> {
    let name = sp.identity.header.name();
    let value = one_header(headers, name)?.ok_or_else(|| {
        ApiError::unauthenticated(format!(
            "no identity: the proxy sent no {name} header (set it after the proxy's own authentication)"
        ))
    })?;
    match sp.identity.holds {
        IdentityKind::Id => UserId::parse(value)
            .map(GateUser::Id)
            .map_err(|e| ApiError::invalid(name, e.message)),
        IdentityKind::Email => Email::parse(value)
            .map(GateUser::Email)
            .map_err(|e| ApiError::invalid(name, e.message)),
    }
}

/// The resource: `?resource=` of the auth URL (on `/v1/gate` itself: under it, `/v1/gate/`
/// included, path and query are the client's, never read), else `X-Autolock-Resource`, else the host the client asked for.
fn resource(parts: &Parts) -> ApiResult<GateResource> {
    if parts.uri.path().ends_with("/gate") {
        let mut named = form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .filter(|(k, _)| k == "resource")
            .map(|(_, v)| v.into_owned());
        if let Some(id) = named.next() {
            if named.next().is_some() {
                return Err(ApiError::invalid("resource", "is given more than once"));
            }
            return ResourceId::parse(id)
                .map(GateResource::Id)
                .map_err(|e| ApiError::invalid("resource", e.message));
        }
    }
    if let Some(id) = one_header(&parts.headers, RESOURCE_HEADER)? {
        return ResourceId::parse(id)
            .map(GateResource::Id)
            .map_err(|e| ApiError::invalid("X-Autolock-Resource", e.message));
    }
    let host = match one_header(&parts.headers, "X-Forwarded-Host")? {
        Some(host) => Some(host),
        None => one_header(&parts.headers, "Host")?,
    };
    let host = host
        .map(str::to_owned)
        .or_else(|| parts.uri.authority().map(|a| a.as_str().to_owned()))
        .ok_or_else(|| {
            ApiError::invalid(
                "resource",
                "name the resource: ?resource= in the auth URL, X-Autolock-Resource, or the forwarded host",
            )
        })?;
    Ok(GateResource::Host(host))
}

/// Whether the client is a browser: it accepts HTML.
fn browser(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

fn set(response: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(name), v);
    }
}

/// The answer a proxy understands: 2xx lets the request through, with headers it may copy
/// upstream; 302 or 403 keeps it out.
fn respond(s: &AppState, headers: &HeaderMap, answer: &GateAnswer) -> Response {
    let d = &answer.decision;
    let mut response = match (d.reason, &answer.user) {
        (None, _) => StatusCode::OK.into_response(),
        (Some(DenyReason::Locked), Some(user)) => {
            let url = super::gateway::block_url(s, user, &answer.resource, s.now());
            let mut response = if browser(headers) {
                let mut r = StatusCode::FOUND.into_response();
                set(&mut r, "location", &url);
                r
            } else {
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "locked",
                    "access is locked after a time without use; ask for it again at the block page (X-Autolock-Block-Url)",
                )
                .into_response()
            };
            set(&mut response, "x-autolock-block-url", &url);
            response
        }
        (Some(reason), _) => ApiError::new(
            StatusCode::FORBIDDEN,
            reason.as_str(),
            match reason {
                DenyReason::Inactive => "the user is deactivated",
                DenyReason::Expired => "the user's access to this resource has expired",
                _ => "the user has no access to this resource",
            },
        )
        .into_response(),
    };
    if let Some(user) = &answer.user {
        set(&mut response, "x-autolock-user", user.as_str());
    }
    set(
        &mut response,
        "x-autolock-resource",
        answer.resource.as_str(),
    );
    set(&mut response, "x-autolock-state", d.state.name());
    if let RightState::Active {
        next_lock: Some(at),
    } = d.state
    {
        set(
            &mut response,
            "x-autolock-lock-at",
            &at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
    }
    set(&mut response, "cache-control", "no-store");
    response
}
