//! The console's one check on every write (DESIGN §7.13), before any handler runs: a `POST`
//! must come from a page of this console (`Sec-Fetch-Site` and `Origin`, where the browser
//! sends them) and, but for the sign-in, carry the CSRF token of a live session in its form
//! (field `csrf`). Cookies alone prove nothing: every console of a devnet shares 127.0.0.1,
//! and SameSite does not tell ports apart.

use crate::{Shared, layout, session::same_secret};
use axum::{
    body::{Body, to_bytes},
    extract::{Request, State},
    http::{HeaderMap, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// Lets `request` through if it reads nothing or passes the checks above.
pub(crate) async fn guard(State(console): State<Shared>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    if let Err(why) = same_origin(request.headers()) {
        return refuse(why);
    }
    if request.uri().path() == "/console/sign-in" {
        return next.run(request).await;
    }
    let Some(session) = console.sessions.current(request.headers()) else {
        return refuse(
            "you are not signed in, or your session ended: sign in again and repeat the action",
        );
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, crate::MAX_FORM_BYTES).await else {
        return refuse("the form is too large or was cut off");
    };
    let given = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(name, _)| name == "csrf"))
        .map(|(_, value)| value);
    match given {
        Some(given) if same_secret(given.as_bytes(), session.csrf.as_bytes()) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Some(_) => refuse(
            "the form's CSRF token is not this session's: reload the page and repeat the action",
        ),
        None => refuse("the form carries no CSRF token: use the console's own pages to act"),
    }
}

/// Whether the browser says the request came from this origin (where it says anything).
fn same_origin(headers: &HeaderMap) -> Result<(), &'static str> {
    let text = |name| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site"))
        && site != "same-origin"
    {
        return Err("the form was sent from another site or port: act from this console's pages");
    }
    if let (Some(origin), Some(host)) = (text(header::ORIGIN), text(header::HOST)) {
        let authority = origin.split_once("://").map(|(_, rest)| rest);
        if authority != Some(host) {
            return Err("the form was sent from another origin: act from this console's pages");
        }
    }
    Ok(())
}

fn refuse(why: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        layout::bare("Refused", "This action was refused", why),
    )
        .into_response()
}
