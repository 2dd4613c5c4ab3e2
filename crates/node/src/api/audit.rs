//! `GET /v1/audit` (DESIGN §1.1 step 7): who submitted, requested, approved, rejected and
//! received what, and when — the chain's events in chain order, organisations by name.

use super::{
    ApiContext, ApiError,
    json::QueryParams,
    params::{self, Directory},
    read::query,
    views::AuditEntryView,
};
use axum::{Json, extract::State};
use custodia_state::AuditFilter;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// Query of `GET /v1/audit`: entries matching any given filter (all entries when none).
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// Entries about this record (`rec_…`), including the requests for it.
    record: Option<String>,
    /// Entries about this request (`req_…`).
    request: Option<String>,
    /// Entries where this organisation (name) acted or is concerned.
    org: Option<String>,
}

/// The audit trail.
#[derive(Serialize, ToSchema)]
pub(crate) struct AuditTrail {
    /// The entries, in chain order.
    entries: Vec<AuditEntryView>,
}

/// `GET /v1/audit`.
#[utoipa::path(
    get, path = "/v1/audit", tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "The matching entries, in chain order", body = AuditTrail),
        (status = 400, description = "`invalid_query`, `invalid_record_id`, `invalid_request_id` or `unknown_org`", body = super::error::ErrorBody),
    ),
)]
pub(crate) async fn audit(
    State(ctx): State<Arc<ApiContext>>,
    QueryParams(q): QueryParams<AuditQuery>,
) -> Result<Json<AuditTrail>, ApiError> {
    let names = Directory::of(ctx.ledger.genesis());
    let filter = AuditFilter {
        record: q.record.as_deref().map(params::record_id).transpose()?,
        request: q.request.as_deref().map(params::request_id).transpose()?,
        org: q.org.as_deref().map(|n| names.key(n)).transpose()?,
    };
    let entries = query(&ctx.ledger, move |queries| Ok(queries.audit(&filter)?)).await?;
    Ok(Json(AuditTrail {
        entries: entries.into_iter().map(AuditEntryView::from).collect(),
    }))
}
