//! custodia-console: the web console every node serves its organisation's officers at
//! `/console` (DESIGN §7.13).
//!
//! Pages are rendered on the server (maud) from the node's own REST API, which the console
//! calls **in process**: each page sends `/v1` requests through the API's router, with the
//! node's token, its limits and its error bodies. The console therefore has no rule, query or
//! signing path of its own, and can never allow what the API refuses. Its only state is the
//! sign-in sessions ([`session`]).
//!
//! | page | what |
//! |---|---|
//! | `/console` | overview: organisation, role, height, peers, state commitment, mempool, latest events |
//! | `/console/records` | records with filters and paging; one record; a new record |
//! | `/console/requests` | the inbox of decisions, this organisation's requests, a new request, decisions, opened data |
//! | `/console/audit` | the trail with filters; CSV and JSON exports |
//! | `/console/audit/{seq}/proof` | one entry's inclusion proof, checked |
//! | `/console/orgs` | the consortium; suspend and reinstate (the supervisor) |
//! | `/console/proposals` | governance proposals and their votes |
//! | `/console/events` | the node's event stream, for live updates (session, not token) |
//!
//! Security (DESIGN §7.13): a session cookie named after the organisation and the API port
//! (HttpOnly, SameSite=Strict, Secure under TLS), a CSRF token per session on every write and
//! on sign-out, a strict Content-Security-Policy without inline script, `X-Frame-Options: DENY`
//! and `Cache-Control: no-store` on every page.

#![warn(missing_docs, unreachable_pub)]

mod api;
mod assets;
mod csrf;
mod headers;
mod layout;
mod pages;
mod session;
mod view;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    middleware,
    routing::{get, post},
};
use std::sync::Arc;

pub use session::cookie_name;

/// How a node's console is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// This node's organisation (shown on the sign-in page before any API call).
    pub org: String,
    /// The node's API token: what officers sign in with, and what the console's own API calls
    /// carry.
    pub token: String,
    /// The session cookie's name ([`cookie_name`]): one of its own per node, since browsers do
    /// not keep cookies apart by port.
    pub cookie: String,
    /// Whether the API is served over TLS (then cookies are `Secure`).
    pub secure: bool,
}

/// What every console handler shares.
pub(crate) struct Console {
    pub(crate) api: api::Api,
    pub(crate) sessions: session::Sessions,
    pub(crate) org: String,
}

pub(crate) type Shared = Arc<Console>;

/// Largest form the console takes (a record's fields, pasted JSON included).
const MAX_FORM_BYTES: usize = 4 * 1024 * 1024;

/// The console's routes under `/console`, calling `api` (the node's whole API router, with its
/// authentication and limits) for everything it shows or does.
pub fn router(api: Router, config: Config) -> Router {
    let console = Arc::new(Console {
        api: api::Api::new(api, config.token.clone()),
        sessions: session::Sessions::new(config.token, config.cookie, config.secure),
        org: config.org,
    });
    Router::new()
        .route("/console", get(pages::overview::page))
        .route("/console/", get(pages::overview::page))
        .route(
            "/console/sign-in",
            get(pages::sign_in::form).post(pages::sign_in::submit),
        )
        .route("/console/sign-out", post(pages::sign_in::sign_out))
        .route("/console/events", get(pages::overview::events))
        .route(
            "/console/records",
            get(pages::records::list).post(pages::records::submit),
        )
        .route("/console/records/new", get(pages::records::new))
        .route("/console/records/{record_id}", get(pages::records::show))
        .route(
            "/console/requests",
            get(pages::requests::list).post(pages::requests::create),
        )
        .route("/console/requests/new", get(pages::requests::new))
        .route("/console/requests/{request_id}", get(pages::requests::show))
        .route(
            "/console/requests/{request_id}/data",
            get(pages::requests::data),
        )
        .route(
            "/console/requests/{request_id}/{action}",
            get(pages::decide::confirm).post(pages::decide::decide),
        )
        .route("/console/audit", get(pages::audit::page))
        .route("/console/audit/export", get(pages::audit::export))
        .route("/console/audit/{seq}/proof", get(pages::proof::page))
        .route("/console/orgs", get(pages::orgs::list))
        .route(
            "/console/orgs/{name}/{action}",
            get(pages::orgs::confirm).post(pages::orgs::act),
        )
        .route("/console/proposals", get(pages::proposals::list))
        .route(
            "/console/proposals/{proposal_id}",
            get(pages::proposals::show),
        )
        .route(
            "/console/proposals/{proposal_id}/{action}",
            get(pages::proposals::confirm).post(pages::proposals::vote),
        )
        .route("/console/static/{file}", get(assets::serve))
        .route("/console/{*rest}", get(pages::not_found))
        .layer(middleware::from_fn_with_state(console.clone(), csrf::guard))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(middleware::map_response(headers::secure))
        .with_state(console)
}
