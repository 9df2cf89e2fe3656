//! Signing in and out. The sign-in page asks for a one-time link by email: it answers the same,
//! in the same time, whether or not the address belongs to an active user (the notifier looks
//! the address up later, through the outbox), and at most one email per address a minute and
//! five an hour, and so many per client, are sent. The link opens a confirmation page whose
//! button opens the session, so that a mail scanner fetching the link uses nothing. Signing out
//! ends the browser's session, or every session of the user ("everywhere").

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::html;
use serde::Deserialize;

use autolock_core::error::{Conflict, Error};
use autolock_core::values::Email;

use crate::error::{PageError, PageResult};
use crate::layout;
use crate::session::{self, Csrf, PreSession};
use crate::urls::local_path;
use crate::{ClientAddr, ConsoleState};

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

/// `POST /sign-in`: asks for a link to this address, within the limits; the notifier emails
/// it if the address is an active user's.
pub async fn request_link(
    State(state): State<ConsoleState>,
    pre: PreSession,
    client: Option<Extension<ClientAddr>>,
    Form(f): Form<SignInForm>,
) -> PageResult<Response> {
    if !pre.csrf_ok(&state, "sign-in", &f.csrf) {
        return Err(PageError::CsrfRefused);
    }
    let next = local_path(f.next.as_deref());
    if let Ok(email) = Email::parse(f.email.trim()) {
        let client = client.map(|Extension(ClientAddr(c))| c);
        state
            .app()
            .sessions()
            .request_sign_in(
                &email,
                &next,
                client.as_deref(),
                state.real_now(),
                state.now(),
            )
            .await?;
    }
    Ok(layout::message_page(
        StatusCode::OK,
        "Check your email",
        "If this address belongs to an active user, a sign-in link is on its way. It works once, for 15 minutes.",
    ))
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
) -> PageResult<Response> {
    if !pre.csrf_ok(&state, "redeem", &f.csrf) {
        return Err(PageError::CsrfRefused);
    }
    let redeemed = state
        .app()
        .sessions()
        .redeem_sign_in(&token, state.real_now(), state.now())
        .await;
    Ok(match redeemed {
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
        Err(e) => return Err(e.into()),
    })
}

/// Which sessions a sign-out ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignOutScope {
    /// This browser's.
    #[default]
    This,
    /// Every session of the user.
    Everywhere,
}

/// The sign-out form.
#[derive(Debug, Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    scope: SignOutScope,
}

/// `POST /sign-out`: this browser's session, or with `scope=everywhere` every session of the
/// viewer.
pub async fn sign_out(
    State(state): State<ConsoleState>,
    Csrf(viewer, f): Csrf<SignOutForm>,
) -> PageResult<Response> {
    if f.scope == SignOutScope::Everywhere {
        state
            .app()
            .sessions()
            .end_sessions(
                &viewer.principal,
                &viewer.user.id,
                state.real_now(),
                state.now(),
            )
            .await?;
    }
    let mut response = Redirect::to("/sign-in").into_response();
    if let Ok(v) = session::close(&state).parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}
