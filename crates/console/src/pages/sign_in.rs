//! Signing in with the node's API token, and out.

use crate::{Shared, layout::Signed, session::SignInError};
use axum::{
    Form,
    extract::State,
    http::{StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};
use maud::{DOCTYPE, html};
use serde::Deserialize;

/// `GET /console/sign-in`.
pub(crate) async fn form(State(console): State<Shared>, signed: Option<Signed>) -> Response {
    if signed.is_some() {
        return Redirect::to("/console").into_response();
    }
    page(&console.org, None, StatusCode::OK)
}

/// The sign-in form.
#[derive(Deserialize)]
pub(crate) struct SignIn {
    #[serde(default)]
    token: String,
}

/// `POST /console/sign-in`: the token in, a session cookie out.
pub(crate) async fn submit(State(console): State<Shared>, Form(form): Form<SignIn>) -> Response {
    match console.sessions.sign_in(&form.token) {
        Ok(session) => (
            [(header::SET_COOKIE, console.sessions.set_cookie(&session))],
            Redirect::to("/console"),
        )
            .into_response(),
        Err(SignInError::NoToken) => page(
            &console.org,
            Some(
                "This node has no API token configured, so nobody can sign in: set api.token in \
                 the node's configuration and restart it.",
            ),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        Err(SignInError::WrongToken) => page(
            &console.org,
            Some(
                "That is not this node's API token. Paste the whole content of the node's \
                 api.token file (the path is in its config.toml).",
            ),
            StatusCode::UNAUTHORIZED,
        ),
    }
}

/// `POST /console/sign-out` (its CSRF token checked before).
pub(crate) async fn sign_out(State(console): State<Shared>, signed: Signed) -> Response {
    console.sessions.sign_out(&signed.session);
    (
        [(header::SET_COOKIE, console.sessions.clear_cookie())],
        Redirect::to("/console/sign-in"),
    )
        .into_response()
}

fn page(org: &str, error: Option<&str>, status: StatusCode) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Sign in · " (org) " · custodia" }
                link rel="stylesheet" href="/console/static/console.css";
                link rel="icon" href="/console/static/favicon.svg" type="image/svg+xml";
            }
            body.bare {
                main #main {
                    h1 { "Sign in to " (org) "'s console" }
                    @if let Some(error) = error {
                        p.alert role="alert" #sign-in-error { (error) }
                    }
                    form.card method="post" action="/console/sign-in" {
                        label for="token" { "API token" }
                        input #token type="password" name="token" required autocomplete="off"
                            aria-describedby="token-help";
                        p.help #token-help {
                            "The content of this node's api.token file. It stays on the node: \
                             the browser keeps only a session cookie."
                        }
                        button type="submit" { "Sign in" }
                    }
                }
            }
        }
    };
    (status, Html(markup.into_string())).into_response()
}
