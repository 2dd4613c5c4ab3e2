//! For operators: liveness and Prometheus metrics.

use super::ApiContext;
use axum::{Json, extract::State, http::header::CONTENT_TYPE, response::IntoResponse};
use custodia_api::Health;
use std::sync::Arc;

/// Content type of the Prometheus text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /healthz`: the server answers (no token needed).
#[utoipa::path(
    get, path = "/healthz", tag = "operations", security(()),
    responses((status = 200, description = "The server answers", body = Health)),
)]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health { ok: true })
}

/// `GET /metrics`: the node's metrics registry (commonware's and the node's own) as
/// Prometheus text.
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain; version=0.0.4")),
)]
pub(crate) async fn metrics(State(ctx): State<Arc<ApiContext>>) -> impl IntoResponse {
    ([(CONTENT_TYPE, PROMETHEUS_TEXT)], (ctx.metrics)())
}
