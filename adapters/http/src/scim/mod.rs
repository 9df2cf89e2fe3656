//! SCIM 2.0 (RFC 7643, RFC 7644), the protocol's own parts: its errors, filters
//! ([`filter`]) and PATCH operations ([`patch`]), each over a resource as its JSON, as identity
//! providers (Okta, Entra ID) send them; and the provisioner's routes at `/scim/v2`
//! ([`routes`]; docs/semantics.md §6: a provisioner keeps users, groups and memberships).

pub mod filter;
pub mod patch;
pub mod routes;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The media type of SCIM bodies.
pub const SCIM_JSON: &str = "application/scim+json";

/// The schema of SCIM error bodies.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A SCIM error (RFC 7644 §3.12): its status, its `scimType` when one applies, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    /// The HTTP status.
    pub status: StatusCode,
    /// `invalidFilter`, `invalidPath`, `invalidSyntax`, `invalidValue`, `noTarget`,
    /// `uniqueness`, `mutability`, `tooMany`.
    pub scim_type: Option<&'static str>,
    /// For people.
    pub detail: String,
}

impl ScimError {
    fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            scim_type: Some(scim_type),
            detail: detail.into(),
        }
    }

    /// A filter that does not parse.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad("invalidFilter", detail)
    }

    /// A path that does not parse or names nothing that can be changed.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad("invalidPath", detail)
    }

    /// A body that does not read as the request it should be.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad("invalidSyntax", detail)
    }

    /// A value of the wrong kind.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad("invalidValue", detail)
    }

    /// A path whose filter matched nothing, or a remove without a path.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad("noTarget", detail)
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = t.into();
        }
        let mut response = (self.status, body.to_string()).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        response
    }
}
