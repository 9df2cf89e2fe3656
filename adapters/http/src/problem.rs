//! Errors as RFC 9457 problem details (`application/problem+json`), naming the field at fault.
//! This is the one place where core errors become HTTP responses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use autolock_core::error::StoreError;
use autolock_core::{Error, ValidationError};

/// The prefix of every problem type; the rest names the kind, e.g. `not_locked`.
pub const PROBLEM_PREFIX: &str = "urn:autolock:problem:";

/// A problem answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, for people.
    pub detail: String,
    /// The request field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error answered by the API.
#[derive(Debug)]
pub struct ApiError(pub Problem);

impl ApiError {
    /// A problem of `status` with a kind slug and a detail.
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Self(Problem {
            kind: format!("{PROBLEM_PREFIX}{kind}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
        })
    }

    /// A 400 naming `field`.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST, "invalid_field", detail);
        e.0.field = Some(field.into());
        e
    }

    /// 401.
    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
    }

    /// 404.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{} not found", what.into()),
        )
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        Self::invalid(e.field, e.message)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(v) => v.into(),
            Error::NotFound(what) => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} not found"),
            ),
            Error::Unauthenticated(why) => Self::unauthenticated(why),
            Error::Inactive(why) => Self::new(StatusCode::FORBIDDEN, "inactive", why),
            Error::Forbidden(why) => Self::new(StatusCode::FORBIDDEN, "forbidden", why),
            Error::ForbiddenSelf(why) => Self::new(StatusCode::FORBIDDEN, "forbidden_self", why),
            Error::Conflict(kind, why) => Self::new(StatusCode::CONFLICT, kind.as_str(), why),
            Error::Unavailable(kind, why) => Self::new(StatusCode::SERVICE_UNAVAILABLE, kind, why),
            Error::Store(StoreError::Conflict(_)) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many concurrent changes; retry",
            ),
            Error::Store(other) => {
                tracing::error!(error = %autolock_core::error::chain(&other), "store failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the store failed; retry later",
                )
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Error::Store(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.0).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

/// Results of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
