//! The JSON API under `/v1`, one module per resource area, each exporting its routes; they are
//! merged here. Handlers only translate: they parse the request into the core's types, call one
//! use case (which checks the capability and the object), and shape the answer. No handler
//! checks a role or reads a store.

pub mod clock;
pub mod directory;
pub mod downloads;
pub mod exemptions;
pub mod feed;
pub mod gate;
pub mod gateway;
pub mod grants;
pub mod policies;
pub mod requests;
pub mod resources;
pub mod rights;
pub mod settings;

use axum::Router;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use autolock_core::ports::{Page, PageRequest};

use crate::AppState;
use crate::extract::number_text;
use crate::problem::{ApiError, ApiResult};

/// Every route of the JSON API, relative to `/v1`.
pub fn v1() -> Router<AppState> {
    Router::new()
        .merge(directory::routes())
        .merge(rights::routes())
        .merge(resources::routes())
        .merge(grants::routes())
        .merge(exemptions::routes())
        .merge(feed::routes())
        .merge(policies::routes())
        .merge(gateway::routes())
        .merge(gate::routes())
        .merge(requests::routes())
        .merge(settings::routes())
        .merge(downloads::routes())
        .route("/openapi.json", axum::routing::get(crate::openapi::serve))
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> List<T> {
    /// A list on one page.
    pub fn of(items: Vec<T>) -> Self {
        Self {
            items,
            next_cursor: None,
        }
    }

    /// A page of a store's list, its cursor made opaque.
    pub fn from_page(page: Page<T>) -> Self {
        Self {
            items: page.items,
            next_cursor: page.next.map(|c| URL_SAFE_NO_PAD.encode(c)),
        }
    }
}

/// Paging parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[serde(default, deserialize_with = "number_text::option_u32")]
    #[param(value_type = Option<u32>)]
    pub limit: Option<u32>,
}

impl Paging {
    /// The page asked for; a cursor this API did not hand out is a 400 naming `cursor`.
    pub fn page(&self) -> ApiResult<PageRequest> {
        let after = self
            .cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(|c| {
                (c.len() <= 1024)
                    .then(|| URL_SAFE_NO_PAD.decode(c).ok())
                    .flatten()
                    .and_then(|b| String::from_utf8(b).ok())
                    .filter(|s| !s.is_empty() && !s.chars().any(char::is_control))
                    .ok_or_else(|| ApiError::invalid("cursor", "not a cursor this API returned"))
            })
            .transpose()?;
        if self.limit.is_some_and(|l| l == 0 || l > 1000) {
            return Err(ApiError::invalid("limit", "must be 1 to 1000"));
        }
        Ok(PageRequest {
            after,
            limit: self.limit.unwrap_or(100),
        })
    }
}
