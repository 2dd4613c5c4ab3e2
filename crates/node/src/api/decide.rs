//! Decisions on a request (DESIGN §1.1 step 4) and its withdrawal: `POST
//! /v1/requests/{request_id}/approve`, `/reject` and `/cancel` sign a `Decide` or `Cancel` with
//! the org key and submit it. An unknown request is a 404 before anything is signed.

use super::{
    ApiContext, ApiError,
    json::{JsonBody, OptionalJsonBody, QueryParams},
    params,
    read::query,
    requests::not_found,
    wait::{self, Wait, Written},
};
use axum::{
    extract::{Path, State, rejection::PathRejection},
    response::Response,
};
use custodia_api::{Approval, Refusal, RequestPath, RequestTx, WaitQuery, Withdrawal};
use custodia_protocol::{Body, RequestId};
use std::sync::Arc;

/// `POST /v1/requests/{request_id}/approve`: this organisation approves.
#[utoipa::path(
    post, path = "/v1/requests/{request_id}/approve", tag = "requests",
    params(RequestPath, WaitQuery),
    request_body(content = Approval, description = "Optional: `{\"reason\"}`, `{}` or no body"),
    responses(
        (status = 202, description = "Admitted to the mempool; with `wait=true`, admitted but not finalized within the timeout (follow `tx_id` with GET /v1/receipts/{tx_id})", body = RequestTx),
        (status = 200, description = "With `wait=true`: finalized and applied; carries the receipt; a tx that failed in its block answers with its receipt's code, at that code's status below", body = RequestTx),
        (status = 400, description = "`invalid_json`, `invalid_query`, `invalid_request_id`, `too_large`", body = custodia_api::ErrorBody),
        (status = 403, description = "`not_approver`: this organisation need not decide on the request", body = custodia_api::ErrorBody),
        (status = 404, description = "`request_not_found`", body = custodia_api::ErrorBody),
        (status = 409, description = "`request_not_pending`, `already_decided`, `signer_suspended`; `tx_expired` with `wait=true` when no block took the tx before its `valid_until`", body = custodia_api::ErrorBody),
        (status = 503, description = "`mempool_full` or `unavailable` (see `Retry-After`)", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn approve(
    State(ctx): State<Arc<ApiContext>>,
    path: Result<Path<RequestPath>, PathRejection>,
    QueryParams(wait): QueryParams<WaitQuery>,
    OptionalJsonBody(approval): OptionalJsonBody<Approval>,
) -> Result<Response, ApiError> {
    let wait = wait::wait_of(&wait)?;
    let request_id = existing(&ctx, path).await?;
    let body = Body::Decide {
        request_id,
        approve: true,
        reason: approval.reason.unwrap_or_default(),
    };
    write(&ctx, request_id, body, wait).await
}

/// `POST /v1/requests/{request_id}/reject`: this organisation rejects, with a reason.
#[utoipa::path(
    post, path = "/v1/requests/{request_id}/reject", tag = "requests",
    params(RequestPath, WaitQuery),
    request_body = Refusal,
    responses(
        (status = 202, description = "Admitted to the mempool; with `wait=true`, admitted but not finalized within the timeout (follow `tx_id` with GET /v1/receipts/{tx_id})", body = RequestTx),
        (status = 200, description = "With `wait=true`: finalized and applied; carries the receipt; a tx that failed in its block answers with its receipt's code, at that code's status below", body = RequestTx),
        (status = 400, description = "`reason_required`, `invalid_json`, `invalid_query`, `invalid_request_id`, `too_large`", body = custodia_api::ErrorBody),
        (status = 403, description = "`not_approver`: this organisation need not decide on the request", body = custodia_api::ErrorBody),
        (status = 404, description = "`request_not_found`", body = custodia_api::ErrorBody),
        (status = 409, description = "`request_not_pending`, `already_decided`, `signer_suspended`; `tx_expired` with `wait=true` when no block took the tx before its `valid_until`", body = custodia_api::ErrorBody),
        (status = 503, description = "`mempool_full` or `unavailable` (see `Retry-After`)", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn reject(
    State(ctx): State<Arc<ApiContext>>,
    path: Result<Path<RequestPath>, PathRejection>,
    QueryParams(wait): QueryParams<WaitQuery>,
    JsonBody(Refusal { reason }): JsonBody<Refusal>,
) -> Result<Response, ApiError> {
    let wait = wait::wait_of(&wait)?;
    if custodia_api::limits::is_blank(&reason) {
        return Err(ApiError::bad_request(
            "reason_required",
            "a rejection needs a reason: send {\"reason\": \"why\"}",
        ));
    }
    let request_id = existing(&ctx, path).await?;
    let body = Body::Decide {
        request_id,
        approve: false,
        reason,
    };
    write(&ctx, request_id, body, wait).await
}

/// `POST /v1/requests/{request_id}/cancel`: the requester withdraws its request.
#[utoipa::path(
    post, path = "/v1/requests/{request_id}/cancel", tag = "requests",
    params(RequestPath, WaitQuery),
    request_body(content = Withdrawal, description = "`{}`, or no body"),
    responses(
        (status = 202, description = "Admitted to the mempool; with `wait=true`, admitted but not finalized within the timeout (follow `tx_id` with GET /v1/receipts/{tx_id})", body = RequestTx),
        (status = 200, description = "With `wait=true`: finalized and applied; carries the receipt; a tx that failed in its block answers with its receipt's code, at that code's status below", body = RequestTx),
        (status = 400, description = "`invalid_json`, `invalid_query`, `invalid_request_id`", body = custodia_api::ErrorBody),
        (status = 403, description = "`not_requester`: only the requester may cancel", body = custodia_api::ErrorBody),
        (status = 404, description = "`request_not_found`", body = custodia_api::ErrorBody),
        (status = 409, description = "`request_closed`, `signer_suspended`; `tx_expired` with `wait=true` when no block took the tx before its `valid_until`", body = custodia_api::ErrorBody),
        (status = 503, description = "`mempool_full` or `unavailable` (see `Retry-After`)", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn cancel(
    State(ctx): State<Arc<ApiContext>>,
    path: Result<Path<RequestPath>, PathRejection>,
    QueryParams(wait): QueryParams<WaitQuery>,
    OptionalJsonBody(Withdrawal {}): OptionalJsonBody<Withdrawal>,
) -> Result<Response, ApiError> {
    let wait = wait::wait_of(&wait)?;
    let request_id = existing(&ctx, path).await?;
    write(&ctx, request_id, Body::Cancel { request_id }, wait).await
}

/// The request named in the path, if it exists.
async fn existing(
    ctx: &ApiContext,
    path: Result<Path<RequestPath>, PathRejection>,
) -> Result<RequestId, ApiError> {
    let Path(RequestPath { request_id }) = path?;
    let id = params::request_id(&request_id)?;
    let found = query(&ctx.ledger, move |queries| {
        Ok(queries.request(&id)?.is_some())
    })
    .await?;
    if found { Ok(id) } else { Err(not_found(&id)) }
}

async fn write(
    ctx: &ApiContext,
    request_id: RequestId,
    body: Body,
    wait: Wait,
) -> Result<Response, ApiError> {
    let submitted = wait::submit(ctx, body, wait).await?;
    Ok(wait::answer(Written::Request(request_id), submitted))
}
