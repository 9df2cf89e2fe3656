//! Typed path parameters: a handler receives `UserId`, `ResourceId`, ... and a path that does
//! not parse is the console's not-found page, as a missing object is.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use autolock_core::error::Error;

use crate::error::PageError;

/// The path's parameters as typed values.
#[derive(Debug)]
pub struct PagePath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PagePath<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(_) => Err(PageError::Failed(Error::NotFound("page".into()))),
        }
    }
}
