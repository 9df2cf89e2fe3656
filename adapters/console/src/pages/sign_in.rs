//! Signing in and out. Where single sign-on is configured, the sign-in page offers "Sign in
//! with SSO": `/sign-in/oidc` sends the browser to the identity provider, keeping the flow in a
//! signed cookie, and the provider sends it back to `/sign-in/oidc/callback`, where the state
//! is compared, the code exchanged and the person matched (docs/security.md, "Single
//! sign-on"). Unless an admin turned them off, the page also asks for a one-time link by
//! email: it answers the same, in the same time, whether or not the address belongs to an
//! active user (the notifier looks the address up later, through the outbox), and at most one
//! email per address a minute and five an hour, and so many per client, are sent. The link
//! opens a confirmation page whose button opens the session, so that a mail scanner fetching
//! the link uses nothing. Signing out ends the browser's session, or every session of the user
//! ("everywhere"), however it was opened.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::html;
use serde::Deserialize;

use autolock_core::error::{Conflict, Error};
use autolock_core::values::Email;

use crate::error::{PageError, PageResult};
use crate::layout;
use crate::session::{self, Csrf, PreSession};
use crate::urls::{local_path, query_escape};
use crate::{ClientAddr, ConsoleState};

/// `?next=`.
#[derive(Debug, Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// `GET /sign-in`: "Sign in with SSO" where single sign-on is configured, and the form that
/// emails a link unless links are turned off.
pub async fn form(
    State(state): State<ConsoleState>,
    pre: PreSession,
    Query(q): Query<Next>,
) -> PageResult<Response> {
    let next = local_path(q.next.as_deref());
    let options = state.app().sessions().sign_in_options().await?;
    let sso = format!("/sign-in/oidc?next={}", query_escape(&next));
    let body = html! {
        div.card style="max-width:28rem;margin:3rem auto" {
            h1 { "Sign in to autolock" }
            @if options.single_sign_on {
                p.muted { "Sign in with your organisation's account." }
                p { a.button.primary #sso href=(sso) { "Sign in with SSO" } }
            }
            @if options.email_links {
                @if options.single_sign_on {
                    p.muted { "Or we email you a link that signs you in. It works once, for 15 minutes." }
                } @else {
                    p.muted { "We email you a link that signs you in. It works once, for 15 minutes." }
                }
                form method="post" action="/sign-in" {
                    input type="hidden" name="csrf" value=(pre.csrf(&state, "sign-in"));
                    input type="hidden" name="next" value=(next);
                    label for="email" { "Email address" }
                    input #email type="email" name="email" required autocomplete="email" style="width:100%";
                    p { button.primary type="submit" { "Email me a sign-in link" } }
                }
            }
        }
    };
    Ok(pre.keep(&state, layout::plain(StatusCode::OK, "Sign in", body)))
}

/// A page that says why a sign-in did not happen, with the way back to the sign-in page; the
/// sign-on in flight, if any, forgotten.
fn refused(state: &ConsoleState, status: StatusCode, title: &str, text: &str) -> Response {
    let mut response = layout::plain(
        status,
        title,
        html! { div.card { h1 { (title) } p { (text) } p { a href="/sign-in" { "Back to sign-in" } } } },
    );
    if let Ok(v) = session::forget_sign_on(state).parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// The console's address the identity provider sends people back to.
fn callback_uri(state: &ConsoleState) -> String {
    format!(
        "{}/sign-in/oidc/callback",
        state.config().console_base_url.trim_end_matches('/')
    )
}

/// `GET /sign-in/oidc`: to the identity provider, the flow kept in a cookie.
pub async fn start_sign_on(
    State(state): State<ConsoleState>,
    Query(q): Query<Next>,
) -> PageResult<Response> {
    let next = local_path(q.next.as_deref());
    let started = state
        .app()
        .sessions()
        .start_single_sign_on(&callback_uri(&state))
        .await;
    let start = match started {
        Ok(start) => start,
        Err(Error::Unavailable(_, why)) => {
            return Ok(refused(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                "Single sign-on unavailable",
                &format!("{why}. Try again in a moment, or sign in with a link."),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let mut response = Redirect::to(&start.url).into_response();
    if let Ok(v) = session::keep_sign_on(&state, start.flow, next).parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// What the identity provider sends back.
#[derive(Debug, Deserialize)]
pub struct SignOnAnswer {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /sign-in/oidc/callback`: the provider's answer, for the sign-on this browser started.
/// Its state must be the one kept; the sign-on finishes once; the person must be an active
/// user. Each refusal is a page that says why, and opens no session.
pub async fn finish_sign_on(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    Query(answer): Query<SignOnAnswer>,
) -> PageResult<Response> {
    let bad = |text: &str| {
        refused(
            &state,
            StatusCode::BAD_REQUEST,
            "Sign-in not completed",
            text,
        )
    };
    if let Some(error) = &answer.error {
        let detail = answer
            .error_description
            .as_deref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        return Ok(refused(
            &state,
            StatusCode::FORBIDDEN,
            "Sign-in refused by your identity provider",
            &format!("Your identity provider did not sign you in ({error}{detail})."),
        ));
    }
    let Some((flow, next)) = session::sign_on(&state, &headers) else {
        return Ok(bad(
            "This sign-in was not started in this browser, or took longer than 10 minutes. Start again.",
        ));
    };
    let (Some(code), Some(returned)) = (answer.code.as_deref(), answer.state.as_deref()) else {
        return Ok(bad(
            "The identity provider's answer has no code or no state. Start again.",
        ));
    };
    if !session::same_secret(returned, &flow.state) {
        return Ok(bad(
            "The identity provider's answer is not for the sign-in this browser started (its state differs). Start again.",
        ));
    }
    let finished = state
        .app()
        .sessions()
        .finish_single_sign_on(
            &callback_uri(&state),
            code,
            &flow,
            state.real_now(),
            state.now(),
        )
        .await;
    Ok(match finished {
        Ok(principal) => {
            let mut response = Redirect::to(&next).into_response();
            for v in [
                session::open(&state, &principal.id),
                session::forget_sign_on(&state),
            ] {
                if let Ok(v) = v.parse() {
                    response.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            response
        }
        Err(Error::Conflict(Conflict::LinkUsed, _)) => refused(
            &state,
            StatusCode::CONFLICT,
            "Sign-in already completed",
            "This answer of your identity provider was used already. Start again to sign in.",
        ),
        Err(Error::Unauthenticated(why)) => refused(
            &state,
            StatusCode::FORBIDDEN,
            "No autolock account",
            &format!("Your identity provider signed you in, but {why}."),
        ),
        Err(Error::Inactive(why)) => refused(
            &state,
            StatusCode::FORBIDDEN,
            "Account deactivated",
            &format!("Your identity provider signed you in, but {why}."),
        ),
        Err(Error::Forbidden(why)) => refused(
            &state,
            StatusCode::FORBIDDEN,
            "Sign-in refused",
            &format!("autolock refused your identity provider's answer: {why}. Start again."),
        ),
        Err(Error::Unavailable(_, why)) => refused(
            &state,
            StatusCode::SERVICE_UNAVAILABLE,
            "Single sign-on unavailable",
            &format!("{why}. Try again in a moment."),
        ),
        Err(e) => return Err(e.into()),
    })
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
        let asked = state
            .app()
            .sessions()
            .request_sign_in(
                &email,
                &next,
                client.as_deref(),
                state.real_now(),
                state.now(),
            )
            .await;
        match asked {
            Ok(_) => {}
            Err(Error::Forbidden(why)) => {
                return Ok(refused(
                    &state,
                    StatusCode::FORBIDDEN,
                    "Sign-in links are off",
                    &format!("{why}."),
                ));
            }
            Err(e) => return Err(e.into()),
        }
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
