//! Signing in and out. The sign-in page sends a one-time link by email (it answers the same
//! whether or not the address belongs to an active user); the link opens a confirmation page
//! whose button opens the session, so that a mail scanner fetching the link uses nothing.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use autolock_core::error::{Conflict, Error};
use autolock_core::notify::sign_in_email;
use autolock_core::values::Email;

use crate::ConsoleState;
use crate::layout;
use crate::session::{self, PreSession, Viewer, local_path};

/// Sign-in links are credentials: they expire by real time, whatever the deployment's clock
/// (a demo's manual clock among them).
fn real_now() -> autolock_core::Timestamp {
    chrono::Utc::now()
}

/// `?next=`.
#[derive(Debug, Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// `GET /sign-in`.
pub async fn form(
    State(state): State<ConsoleState>,
    pre: PreSession,
    Query(q): Query<Next>,
) -> Response {
    let next = local_path(q.next.as_deref());
    let body = html! {
        div.card style="max-width:28rem;margin:3rem auto" {
            h1 { "Sign in to autolock" }
            p.muted { "We email you a link that signs you in. It works once, for 15 minutes." }
            form method="post" action="/sign-in" {
                input type="hidden" name="csrf" value=(pre.csrf(&state, "sign-in"));
                input type="hidden" name="next" value=(next);
                label for="email" { "Email address" }
                input #email type="email" name="email" required autocomplete="email" style="width:100%";
                p { button.primary type="submit" { "Email me a sign-in link" } }
            }
        }
    };
    pre.keep(&state, layout::plain(StatusCode::OK, "Sign in", body))
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    next: Option<String>,
}

/// `POST /sign-in`: emails a link to an active user with this address.
pub async fn request_link(
    State(state): State<ConsoleState>,
    pre: PreSession,
    Form(f): Form<SignInForm>,
) -> Response {
    if !pre.csrf_ok(&state, "sign-in", &f.csrf) {
        return layout::csrf_refused();
    }
    let next = local_path(f.next.as_deref());
    if let Ok(email) = Email::parse(f.email.trim()) {
        match state
            .app()
            .issue_sign_in_for_email(&email, real_now())
            .await
        {
            Ok(Some(link)) => {
                let url = state.link(&format!(
                    "/sign-in/{}?next={}",
                    link.token,
                    layout::query_escape(&next)
                ));
                let message = sign_in_email(&link.user.email, &url);
                if let Err(e) = state.0.email.send(&message).await {
                    tracing::warn!(error = %e.message, "the sign-in email was not sent");
                }
            }
            Ok(None) => {}
            Err(e) => return layout::error_page(None, &e),
        }
    }
    layout::message_page(
        StatusCode::OK,
        "Check your email",
        "If this address belongs to an active user, a sign-in link is on its way. It works once, for 15 minutes.",
    )
}

/// `GET /sign-in/{token}`: the confirmation page.
pub async fn confirm(
    State(state): State<ConsoleState>,
    pre: PreSession,
    Path(token): Path<String>,
    Query(q): Query<Next>,
) -> Response {
    let next = local_path(q.next.as_deref());
    let body = html! {
        div.card style="max-width:28rem;margin:3rem auto" {
            h1 { "Sign in to autolock" }
            p { "Continue to open your session on this browser." }
            form method="post" action={ "/sign-in/" (token) } {
                input type="hidden" name="csrf" value=(pre.csrf(&state, "redeem"));
                input type="hidden" name="next" value=(next);
                button.primary type="submit" { "Sign in" }
            }
        }
    };
    pre.keep(&state, layout::plain(StatusCode::OK, "Sign in", body))
}

/// The confirmation form.
#[derive(Debug, Deserialize)]
pub struct RedeemForm {
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

/// `POST /sign-in/{token}`: redeems the link and opens the session.
pub async fn redeem(
    State(state): State<ConsoleState>,
    pre: PreSession,
    Path(token): Path<String>,
    Form(f): Form<RedeemForm>,
) -> Response {
    if !pre.csrf_ok(&state, "redeem", &f.csrf) {
        return layout::csrf_refused();
    }
    match state
        .app()
        .redeem_sign_in(&token, real_now(), state.now())
        .await
    {
        Ok(principal) => {
            let mut response = Redirect::to(&local_path(f.next.as_deref())).into_response();
            if let Ok(v) = session::open(&state, &principal.id).parse() {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
        Err(Error::Conflict(Conflict::LinkUsed, _)) => layout::message_page(
            StatusCode::GONE,
            "Link already used",
            "This sign-in link was used already. Ask for a new one on the sign-in page.",
        ),
        Err(Error::Forbidden(_)) => layout::message_page(
            StatusCode::FORBIDDEN,
            "Link not valid",
            "This sign-in link has expired, or its user is deactivated. Ask for a new one on the sign-in page.",
        ),
        Err(e) => layout::error_page(None, &e),
    }
}

/// A form with only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub(crate) csrf: String,
}

/// `POST /sign-out`.
pub async fn sign_out(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if !viewer.csrf_ok(&state, &f.csrf) {
        return layout::csrf_refused();
    }
    let mut response = Redirect::to("/sign-in").into_response();
    if let Ok(v) = session::close(&state).parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}
