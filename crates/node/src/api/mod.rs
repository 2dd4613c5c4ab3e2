//! The node's REST API (DESIGN §7.7–7.10), for its organisation's own users: JSON over HTTP/1.
//!
//! | endpoint | what |
//! |---|---|
//! | `GET /healthz` | liveness, `{"ok": true}` (no token) |
//! | `GET /openapi.json` | the OpenAPI 3.1 document of every endpoint (no token) |
//! | `GET /v1/status` | chain, organisation and role, head, peers, mempool |
//! | `GET /v1/orgs` | the consortium: ids, names, roles, addresses, status, key history |
//! | `POST /v1/orgs/{name}/suspend`, `/reinstate` | the supervisor suspends (with a reason) or reinstates a member |
//! | `POST /v1/proposals`, `GET /v1/proposals`, `GET /v1/proposals/{id}`, `POST /v1/proposals/{id}/approve`, `/reject` | governance: propose a change, list and show proposals, vote |
//! | `POST /v1/keys/rotate` | this organisation's new encryption key: into the keyring, then `RotateKeys` |
//! | `POST /v1/keys/identity` | this organisation's next identity key: into the keyring, then `RotateIdentity` |
//! | `POST /v1/records` | plaintext fields → commitment, sealed to the supervisor, signed, submitted |
//! | `GET /v1/records`, `GET /v1/records/{record_id}` | records' metadata (never values) |
//! | `POST /v1/requests` | a signed share request |
//! | `GET /v1/requests`, `GET /v1/requests/{request_id}` | requests; one with decisions and delivery |
//! | `POST /v1/requests/{request_id}/approve`, `/reject`, `/cancel` | signed decisions and withdrawals |
//! | `GET /v1/requests/{request_id}/fetch` | the delivery, opened and verified (requester only) |
//! | `GET /v1/audit` | the audit trail, organisations by name |
//! | `GET /v1/audit/{seq}/proof`, `GET /v1/receipts/{tx_id}/proof` | an event or a receipt with its inclusion proof against a state commitment |
//! | `GET /v1/events` | server-sent events per applied block |
//! | `POST /v1/txs` | one signed tx (`application/octet-stream`) or a batch ([`BATCH_CONTENT_TYPE`]) |
//! | `GET /v1/blocks/{height}` | a finalized block's header and receipts |
//! | `GET /v1/receipts/{tx_id}` | a tx's receipt, or that it is pending |
//! | `GET /metrics` | Prometheus text |
//! | `/console/…` | the web console ([`custodia_console`]; HTML, not REST, so not in the document) |
//!
//! Everything but `/healthz` and `/openapi.json` needs `Authorization: Bearer <api.token>`.
//! Every error is `{"error": {"code", "message"}}` with a 4xx/5xx status ([`ApiError`]), axum's
//! own rejections included. Write endpoints sign with the organisation's key and take
//! `?wait=true&timeout=SECONDS` to answer once the tx is finalized. SQLite reads, sealing,
//! opening and tx admission run on blocking threads, so a slow database never stalls the
//! server; no field value or fetched content is ever logged.

mod audit;
mod auth;
mod certificates;
mod chain;
mod decide;
mod error;
mod events;
mod fetch;
mod guard;
mod identity;
mod json;
mod openapi;
mod ops;
mod orgs;
mod params;
mod proofs;
mod proposals;
mod read;
mod records;
mod requests;
pub mod tls;
mod txs;
mod views;
mod wait;

pub use error::ApiError;
pub use guard::ApiLimits;
pub use txs::BATCH_CONTENT_TYPE;

use crate::Keyring;
use crate::Ledger;
use axum::{
    Extension, Router,
    error_handling::HandleErrorLayer,
    extract::DefaultBodyLimit,
    handler::Handler,
    middleware,
    routing::{MethodRouter, get, post},
};
use custodia_protocol::Params;
use std::sync::Arc;
use tower::{ServiceBuilder, limit::GlobalConcurrencyLimitLayer};

/// What the API needs from the running node.
#[derive(Clone)]
pub struct ApiContext {
    /// The node's shared view of its chain.
    pub ledger: Arc<Ledger>,
    /// This node's organisation name.
    pub org: String,
    /// The organisation's keyring: signs its records, requests, decisions and cancels, opens
    /// the deliveries it receives, and rotates its encryption key.
    pub keys: Arc<Keyring>,
    /// The bearer token from `api.token` (an empty token refuses every request).
    pub token: String,
    /// Number of connected peers.
    pub peers: Arc<dyn Fn() -> usize + Send + Sync>,
    /// Prometheus text of the node's metrics registry.
    pub metrics: Arc<dyn Fn() -> String + Send + Sync>,
}

type Shared = Arc<ApiContext>;

/// The routes, split by whether they need the token, and the list of what they serve.
struct Routes {
    open: Router<Shared>,
    protected: Router<Shared>,
    served: Vec<(&'static str, &'static str)>,
}

impl Routes {
    fn new() -> Self {
        Self {
            open: Router::new(),
            protected: Router::new(),
            served: Vec::new(),
        }
    }

    /// A `GET` anyone may call.
    fn open_get<H: Handler<T, Shared>, T: 'static>(mut self, path: &'static str, h: H) -> Self {
        self.open = self.open.route(path, get(h));
        self.served.push(("GET", path));
        self
    }

    /// A `GET` that needs the token.
    fn get<H: Handler<T, Shared>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.protected_route("GET", path, get(h))
    }

    /// A `POST` that needs the token, with a body of at most `limit` bytes.
    fn post<H: Handler<T, Shared>, T: 'static>(
        self,
        path: &'static str,
        h: H,
        limit: usize,
    ) -> Self {
        let route = post(h).layer(DefaultBodyLimit::max(limit));
        self.protected_route("POST", path, route)
    }

    fn protected_route(
        mut self,
        method: &'static str,
        path: &'static str,
        route: MethodRouter<Shared>,
    ) -> Self {
        self.protected = self.protected.route(path, route);
        self.served.push((method, path));
        self
    }
}

/// Every route of the API, for a chain with `params`.
fn routes(params: &Params) -> Routes {
    let small = json::SMALL_BODY_BYTES;
    Routes::new()
        .open_get("/healthz", ops::healthz)
        .open_get("/openapi.json", openapi::openapi)
        .get("/v1/status", chain::status)
        .get("/v1/orgs", orgs::orgs)
        .post("/v1/orgs/{name}/suspend", orgs::suspend, small)
        .post("/v1/orgs/{name}/reinstate", orgs::reinstate, small)
        .post("/v1/keys/rotate", orgs::rotate, small)
        .post("/v1/keys/identity", identity::rotate, small)
        .post("/v1/proposals", proposals::propose, small)
        .get("/v1/proposals", proposals::list)
        .get("/v1/proposals/{proposal_id}", proposals::show)
        .post(
            "/v1/proposals/{proposal_id}/approve",
            proposals::approve,
            small,
        )
        .post(
            "/v1/proposals/{proposal_id}/reject",
            proposals::reject,
            small,
        )
        .post("/v1/records", records::submit, records::body_limit(params))
        .get("/v1/records", records::list)
        .get("/v1/records/{record_id}", records::show)
        .post("/v1/requests", requests::create, small)
        .get("/v1/requests", requests::list)
        .get("/v1/requests/{request_id}", requests::show)
        .post("/v1/requests/{request_id}/approve", decide::approve, small)
        .post("/v1/requests/{request_id}/reject", decide::reject, small)
        .post("/v1/requests/{request_id}/cancel", decide::cancel, small)
        .get("/v1/requests/{request_id}/fetch", fetch::fetch)
        .get("/v1/audit", audit::audit)
        .get("/v1/audit/{seq}/proof", proofs::event_proof)
        .get("/v1/events", events::events)
        .post("/v1/txs", txs::submit, txs::body_limit(params))
        .get("/v1/blocks/{height}", chain::block)
        .get("/v1/certificates/{height}", certificates::certificate)
        .get("/v1/receipts/{tx_id}", chain::receipt)
        .get("/v1/receipts/{tx_id}/proof", proofs::receipt_proof)
        .get("/metrics", ops::metrics)
}

/// Every `(method, path)` the router serves, paths in axum's `{param}` form (the OpenAPI
/// document's form too).
pub fn served_routes() -> Vec<(&'static str, &'static str)> {
    routes(&Params::default()).served
}

/// The API's OpenAPI 3.1 document (what `GET /openapi.json` serves on a chain with the
/// default parameters).
pub fn openapi_document() -> serde_json::Value {
    openapi::document(&Params::default())
}

/// The API's routes over `ctx`, with the default [`ApiLimits`].
pub fn router(ctx: ApiContext) -> Router {
    router_with(ctx, ApiLimits::default())
}

/// The API's routes over `ctx`, bounded by `limits` (DESIGN §7.10).
pub fn router_with(ctx: ApiContext, limits: ApiLimits) -> Router {
    let Routes {
        open, protected, ..
    } = routes(ctx.ledger.params());
    let ctx = Arc::new(ctx);
    let protected = protected
        .route_layer(middleware::from_fn_with_state(
            ctx.clone(),
            auth::require_token,
        ))
        .layer(Extension(guard::EventStreams::new(
            limits.max_event_streams,
        )));
    open.merge(protected)
        .fallback(error::no_route)
        .layer(middleware::from_fn(move |request, next| {
            guard::deadline(limits, request, next)
        }))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(guard::overloaded))
                .load_shed()
                // One limit for the whole router: axum layers each route's service apart.
                .layer(GlobalConcurrencyLimitLayer::new(
                    limits.max_concurrent_requests,
                )),
        )
        .layer(middleware::map_response(error::json_errors))
        .with_state(ctx)
}

/// What a node serves on its API address: the API, and its web console at `/console`
/// (DESIGN §7.11), which calls the API in process. `secure`: served over TLS; `port`: the API's
/// port, which names the console's session cookie.
pub fn app(ctx: ApiContext, limits: ApiLimits, secure: bool, port: u16) -> Router {
    let console = custodia_console::Config {
        cookie: custodia_console::cookie_name(&ctx.org, port),
        org: ctx.org.clone(),
        token: ctx.token.clone(),
        secure,
    };
    let api = router_with(ctx, limits);
    api.clone().merge(custodia_console::router(api, console))
}

/// Serves the API and the console on `listener`, bounded by `limits`, until the server fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    ctx: ApiContext,
    limits: ApiLimits,
) -> std::io::Result<()> {
    let port = listener.local_addr().map_or(0, |addr| addr.port());
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "API listening; console at /console");
    }
    axum::serve(listener, app(ctx, limits, false, port)).await
}

/// Serves the API and the console over TLS (`tls`) on `listener`, bounded by `limits`, until the server fails.
pub async fn serve_tls(
    listener: std::net::TcpListener,
    ctx: ApiContext,
    limits: ApiLimits,
    tls: axum_server::tls_rustls::RustlsConfig,
) -> std::io::Result<()> {
    let port = listener.local_addr().map_or(0, |addr| addr.port());
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "API listening over TLS; console at /console");
    }
    axum_server::from_tcp_rustls(listener, tls)
        .serve(app(ctx, limits, true, port).into_make_service())
        .await
}
