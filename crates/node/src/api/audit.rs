//! `GET /v1/audit` (DESIGN §1.1 step 7, §7.10): who submitted, requested, approved, rejected and
//! received what, and when — the chain's events in chain order, organisations by name, in
//! pages: the entries matching every criterion given, after the cursor `after`.

use super::{
    ApiContext, ApiError,
    json::QueryParams,
    params::{self, Directory},
    read::query,
    views,
};
use axum::{Json, extract::State};
use custodia_api::{AuditFilter, AuditPage};
use std::sync::Arc;

/// `GET /v1/audit`.
#[utoipa::path(
    get, path = "/v1/audit", tag = "audit",
    params(AuditFilter),
    responses(
        (status = 200, description = "A page of the matching entries, in chain order; `next` is the `after` of the next page", body = AuditPage),
        (status = 400, description = "`invalid_query`", body = custodia_api::ErrorBody),
        (status = 404, description = "`unknown_org`: no organisation has the name given", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn audit(
    State(ctx): State<Arc<ApiContext>>,
    QueryParams(q): QueryParams<AuditFilter>,
) -> Result<Json<AuditPage>, ApiError> {
    let names = Directory::read(&ctx.ledger).await?;
    let (_, limit) = params::page(None, q.limit)?;
    let filter = custodia_state::AuditFilter {
        record: q.record,
        request: q.request,
        org: q.org.as_deref().map(|n| names.id(n)).transpose()?,
        from_height: params::integer("from_height", q.from_height)?,
        to_height: params::integer("to_height", q.to_height)?,
        after: params::integer("after", q.after)?,
        limit,
    };
    let entries = query(&ctx.ledger, move |queries| Ok(queries.audit(&filter)?)).await?;
    let next = (entries.len() as u64 == limit)
        .then(|| entries.last().map(|entry| entry.seq))
        .flatten();
    Ok(Json(AuditPage {
        entries: entries.into_iter().map(views::audit_entry).collect(),
        next,
    }))
}
