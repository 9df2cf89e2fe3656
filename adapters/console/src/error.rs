//! The one console error: what a page or a form answers when it cannot do what it was asked.
//! Handlers return `Result<_, PageError>` and use `?`; the error renders itself.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use autolock_core::error::Error;

use crate::layout;
use crate::urls::query_escape;

/// Why a page or a form did not do what it was asked.
#[derive(Debug)]
pub enum PageError {
    /// A use case refused or failed: its page (not found, not allowed, a conflict, bad input,
    /// the store).
    Failed(Error),
    /// A form was sent without its session's CSRF token: nothing was changed.
    CsrfRefused,
    /// No session (or one that ended): to the sign-in page, and back to `next` after it.
    SignIn {
        /// The page asked for.
        next: String,
    },
    /// The session's user is deactivated.
    Deactivated,
    /// A form larger than the console reads: refused unread.
    TooLarge,
}

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        Self::Failed(e)
    }
}

impl From<autolock_core::ValidationError> for PageError {
    fn from(e: autolock_core::ValidationError) -> Self {
        Self::Failed(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            Self::Failed(e) => layout::error_page(&e),
            Self::CsrfRefused => layout::message_page(
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form was not sent from your session: nothing was changed. Reload the page and try again.",
            ),
            Self::SignIn { next } => {
                Redirect::to(&format!("/sign-in?next={}", query_escape(&next))).into_response()
            }
            Self::Deactivated => layout::message_page(
                StatusCode::FORBIDDEN,
                "Account deactivated",
                "Your account is deactivated: ask an admin to reactivate it.",
            ),
            Self::TooLarge => layout::message_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Form too large",
                "This form is larger than the console reads: nothing was changed.",
            ),
        }
    }
}

/// What a console handler answers.
pub type PageResult<T> = Result<T, PageError>;
