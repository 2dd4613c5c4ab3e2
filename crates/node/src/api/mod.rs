//! The node's REST API (DESIGN §7), for its organisation's own users: JSON over HTTP/1.
//!
//! | endpoint | what |
//! |---|---|
//! | `GET /healthz` | liveness, `{"ok": true}` (no token) |
//! | `POST /v1/txs` | one signed tx (`application/octet-stream`) or a batch ([`BATCH_CONTENT_TYPE`]) |
//! | `GET /v1/status` | chain, organisation, head, peers, mempool |
//! | `GET /v1/blocks/{height}` | a finalized block's header and receipts |
//! | `GET /v1/receipts/{tx_id}` | a tx's receipt, or that it is pending |
//! | `GET /metrics` | Prometheus text |
//!
//! Everything but `/healthz` needs `Authorization: Bearer <api.token>`. Every error is
//! `{"error": {"code", "message"}}` with a 4xx/5xx status ([`ApiError`]), axum's own
//! rejections included. SQLite reads and tx admission run on blocking threads, so a slow
//! database never stalls the server.

mod auth;
mod chain;
mod error;
mod ops;
mod read;
mod txs;

pub use error::ApiError;
pub use txs::BATCH_CONTENT_TYPE;

use crate::Ledger;
use axum::{
    Router,
    extract::DefaultBodyLimit,
    middleware,
    routing::{get, post},
};
use std::sync::Arc;

/// What the API needs from the running node.
#[derive(Clone)]
pub struct ApiContext {
    /// The node's shared view of its chain.
    pub ledger: Arc<Ledger>,
    /// This node's organisation name.
    pub org: String,
    /// The bearer token from `api.token` (an empty token refuses every request).
    pub token: String,
    /// Number of connected peers.
    pub peers: Arc<dyn Fn() -> usize + Send + Sync>,
    /// Prometheus text of the node's metrics registry.
    pub metrics: Arc<dyn Fn() -> String + Send + Sync>,
}

/// The API's routes over `ctx`.
pub fn router(ctx: ApiContext) -> Router {
    let body_limit = txs::body_limit(ctx.ledger.params());
    let ctx = Arc::new(ctx);
    let protected = Router::new()
        .route("/v1/status", get(chain::status))
        .route("/v1/blocks/{height}", get(chain::block))
        .route("/v1/receipts/{tx_id}", get(chain::receipt))
        .route(
            "/v1/txs",
            post(txs::submit).layer(DefaultBodyLimit::max(body_limit)),
        )
        .route("/metrics", get(ops::metrics))
        .route_layer(middleware::from_fn_with_state(
            ctx.clone(),
            auth::require_token,
        ));
    Router::new()
        .route("/healthz", get(ops::healthz))
        .merge(protected)
        .fallback(error::no_route)
        .layer(middleware::map_response(error::json_errors))
        .with_state(ctx)
}

/// Serves the API on `listener` until the server fails.
pub async fn serve(listener: tokio::net::TcpListener, ctx: ApiContext) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "API listening");
    }
    axum::serve(listener, router(ctx)).await
}
