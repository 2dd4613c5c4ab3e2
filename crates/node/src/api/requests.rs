//! Share requests (DESIGN §1.1 step 3): `POST /v1/requests` signs and submits a `RequestShare`
//! of this node's organisation; `GET /v1/requests` lists requests and `GET
//! /v1/requests/{request_id}` shows one with its decisions and delivery.

use super::{
    ApiContext, ApiError,
    json::{JsonBody, QueryParams},
    params::{self, Directory},
    read::query,
    views,
    wait::{self, Written},
};
use axum::{
    Json,
    extract::{Path, State, rejection::PathRejection},
    response::Response,
};
use custodia_api::{
    NewRequest, RequestDetail, RequestFilter, RequestPage, RequestPath, RequestTx, WaitQuery,
};
use custodia_protocol::{Body, RequestId};
use std::sync::Arc;

/// `POST /v1/requests`: sign and submit a share request.
#[utoipa::path(
    post, path = "/v1/requests", operation_id = "create_request", tag = "requests",
    params(WaitQuery),
    request_body = NewRequest,
    responses(
        (status = 202, description = "Admitted to the mempool; with `wait=true`, admitted but not finalized within the timeout (follow `tx_id` with GET /v1/receipts/{tx_id})", body = RequestTx),
        (status = 200, description = "With `wait=true`: finalized and applied; carries the receipt; a tx that failed in its block answers with its receipt's code, at that code's status below", body = RequestTx),
        (status = 400, description = "`invalid_json`, `invalid_query`, `invalid_request`, `too_large`", body = custodia_api::ErrorBody),
        (status = 403, description = "`not_member` (the supervisor's node) or `own_record`", body = custodia_api::ErrorBody),
        (status = 404, description = "`record_not_found`", body = custodia_api::ErrorBody),
        (status = 409, description = "`record_not_accepted`, `signer_suspended`; `tx_expired` with `wait=true` when no block took the tx before its `valid_until`", body = custodia_api::ErrorBody),
        (status = 422, description = "`unknown_field` (in none of the records) or `delivery_too_large`", body = custodia_api::ErrorBody),
        (status = 503, description = "`mempool_full` or `unavailable` (see `Retry-After`)", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn create(
    State(ctx): State<Arc<ApiContext>>,
    QueryParams(wait): QueryParams<WaitQuery>,
    JsonBody(request): JsonBody<NewRequest>,
) -> Result<Response, ApiError> {
    let wait = wait::wait_of(&wait)?;
    let request_id = RequestId::random();
    let ttl = match request.ttl {
        Some(ttl) => ttl,
        // The chain's maximum as proposals may have changed it (DESIGN §4.10).
        None => query(&ctx.ledger, |queries| Ok(queries.params()?.max_request_ttl)).await?,
    };
    let body = Body::RequestShare {
        request_id,
        record_ids: request.record_ids,
        fields: request.fields,
        purpose: request.purpose,
        ttl,
    };
    let submitted = wait::submit(&ctx, body, wait).await?;
    Ok(wait::answer(Written::Request(request_id), submitted))
}

/// `GET /v1/requests`: requests, oldest first.
#[utoipa::path(
    get, path = "/v1/requests", operation_id = "list_requests", tag = "requests",
    params(RequestFilter),
    responses(
        (status = 200, description = "A page of requests", body = RequestPage),
        (status = 400, description = "`invalid_query`", body = custodia_api::ErrorBody),
        (status = 404, description = "`unknown_org`: no organisation has the party's name", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn list(
    State(ctx): State<Arc<ApiContext>>,
    QueryParams(q): QueryParams<RequestFilter>,
) -> Result<Json<RequestPage>, ApiError> {
    let names = Directory::read(&ctx.ledger).await?;
    let (offset, limit) = params::page(q.offset, q.limit)?;
    let filter = custodia_state::RequestFilter {
        status: q.status.map(views::request_status_filter),
        party: q.party.as_deref().map(|n| names.id(n)).transpose()?,
        offset,
        limit,
    };
    let rows = query(&ctx.ledger, move |queries| Ok(queries.requests(&filter)?)).await?;
    Ok(Json(RequestPage {
        requests: rows
            .into_iter()
            .map(|row| views::request(row, &names))
            .collect(),
        offset,
        limit,
    }))
}

/// `GET /v1/requests/{request_id}`: a request with its decisions and delivery.
#[utoipa::path(
    get, path = "/v1/requests/{request_id}", operation_id = "show_request", tag = "requests",
    params(RequestPath),
    responses(
        (status = 200, description = "The request, its decisions and its delivery", body = RequestDetail),
        (status = 400, description = "`invalid_request_id`", body = custodia_api::ErrorBody),
        (status = 404, description = "`request_not_found`", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn show(
    State(ctx): State<Arc<ApiContext>>,
    path: Result<Path<RequestPath>, PathRejection>,
) -> Result<Json<RequestDetail>, ApiError> {
    let Path(RequestPath { request_id }) = path?;
    let id = params::request_id(&request_id)?;
    let found = query(&ctx.ledger, move |queries| {
        let Some(request) = queries.request(&id)? else {
            return Ok(None);
        };
        Ok(Some((
            request,
            queries.decisions(&id)?,
            queries.delivery(&id)?,
        )))
    })
    .await?;
    let Some((request, decisions, delivery)) = found else {
        return Err(not_found(&id));
    };
    let names = Directory::read(&ctx.ledger).await?;
    Ok(Json(RequestDetail {
        request: views::request(request, &names),
        decisions: decisions
            .into_iter()
            .map(|row| views::decision(row, &names))
            .collect(),
        delivery: delivery.as_ref().map(views::delivery),
    }))
}

/// A 404 `request_not_found`.
pub(crate) fn not_found(id: &RequestId) -> ApiError {
    ApiError::not_found(
        "request_not_found",
        format!("no request {id} on this chain: GET /v1/requests lists the requests"),
    )
}
