//! The pages, one module per section.

pub mod audit;
pub mod downloads;
pub mod exemptions;
pub mod groups;
pub mod me;
pub mod policies;
pub mod requests;
pub mod resources;
pub mod settings;
pub mod sign_in;
pub mod users;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use autolock_core::authz::{Capability, may};

use crate::ConsoleState;
use crate::layout;
use crate::session::Viewer;

/// `?cursor=`: a list's page.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
}

/// `?done=`: the note a form left for the page it leads to.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    done: Option<String>,
}

/// `/`: the Requests page for those who resolve requests, My access for everyone else.
pub async fn home(State(_): State<ConsoleState>, viewer: Viewer) -> Response {
    if may(&viewer.principal, Capability::Review) {
        Redirect::to("/access-requests").into_response()
    } else {
        Redirect::to("/me").into_response()
    }
}

/// Answers a use case's result: the page it renders, or the page of its error.
fn or_error<T>(result: autolock_core::error::Result<T>, viewer: &Viewer) -> Result<T, Response> {
    result.map_err(|e| layout::error_page(Some(viewer), &e))
}

/// Where to go back to after a form: a path of this site only.
fn back(to: Option<&str>, fallback: &str) -> String {
    match to {
        Some(_) => crate::session::local_path(to),
        None => fallback.to_owned(),
    }
}

/// A redirect after a form, with a note for the next page (`?done=`).
fn after(path: &str, note: &str) -> Response {
    let sep = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{sep}done={}", layout::query_escape(note))).into_response()
}

/// The note a redirect after a form left.
fn flash(done: Option<&str>) -> maud::Markup {
    maud::html! {
        @if let Some(text) = done {
            div.flash role="status" { (text) }
        }
    }
}
