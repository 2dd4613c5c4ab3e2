//! Decisions on a request (DESIGN §1.1 step 4) and its withdrawal: `POST
//! /v1/requests/{request_id}/approve`, `/reject` and `/cancel` sign a `Decide` or `Cancel` with
//! the org key and submit it. An unknown request is a 404 before anything is signed.

use super::{
    ApiContext, ApiError,
    json::{OptionalJsonBody, QueryParams},
    params,
    read::query,
    requests::{RequestIds, not_found},
    wait::{self, Wait, WaitQuery},
};
use axum::{
    extract::{Path, State, rejection::PathRejection},
    response::Response,
};
use custodia_protocol::{Body, RequestId};
use serde::Deserialize;
use std::sync::Arc;
use utoipa::ToSchema;

/// Body of `POST /v1/requests/{request_id}/approve` (optional).
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Approval {
    /// Why (optional, at most 1024 bytes).
    reason: Option<String>,
}

/// Body of `POST /v1/requests/{request_id}/reject`.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Refusal {
    /// Why (required, non-empty, at most 1024 bytes).
    reason: Option<String>,
}

/// Body of `POST /v1/requests/{request_id}/cancel`: nothing, or `{}`.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Withdrawal {}

/// `POST /v1/requests/{request_id}/approve`: this organisation approves.
#[utoipa::path(
    post, path = "/v1/requests/{request_id}/approve", tag = "requests",
    params(("request_id" = String, Path, description = "`req_<32 hex>`"), WaitQuery),
    request_body(content = Option<Approval>, description = "Optional: `{\"reason\"}`"),
    responses(
        (status = 202, description = "Admitted to the mempool", body = super::openapi::RequestWritten),
        (status = 200, description = "With `wait=true`: finalized and applied; carries the receipt", body = super::openapi::RequestWritten),
        (status = 400, description = "`invalid_json`, `invalid_query`, `invalid_request_id`, or a state rule's code (`request_not_pending`, `already_decided`, …)", body = super::error::ErrorBody),
        (status = 403, description = "`not_approver`: this organisation need not decide on the request", body = super::error::ErrorBody),
        (status = 404, description = "`request_not_found`", body = super::error::ErrorBody),
        (status = 422, description = "With `wait=true`: the tx failed in its block; the code is the receipt's", body = super::error::ErrorBody),
        (status = 503, description = "`mempool_full` or `unavailable` (see `Retry-After`)", body = super::error::ErrorBody),
        (status = 504, description = "`timeout`: not finalized in time", body = super::error::ErrorBody),
    ),
)]
pub(crate) async fn approve(
    State(ctx): State<Arc<ApiContext>>,
    id: Result<Path<String>, PathRejection>,
    QueryParams(wait): QueryParams<WaitQuery>,
    OptionalJsonBody(approval): OptionalJsonBody<Approval>,
) -> Result<Response, ApiError> {
    let wait = wait.wait()?;
    let request_id = existing(&ctx, id).await?;
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
    params(("request_id" = String, Path, description = "`req_<32 hex>`"), WaitQuery),
    request_body = Refusal,
    responses(
        (status = 202, description = "Admitted to the mempool", body = super::openapi::RequestWritten),
        (status = 200, description = "With `wait=true`: finalized and applied; carries the receipt", body = super::openapi::RequestWritten),
        (status = 400, description = "`reason_required`, `invalid_json`, `invalid_query`, `invalid_request_id`, or a state rule's code (`request_not_pending`, `already_decided`, …)", body = super::error::ErrorBody),
        (status = 403, description = "`not_approver`: this organisation need not decide on the request", body = super::error::ErrorBody),
        (status = 404, description = "`request_not_found`", body = super::error::ErrorBody),
        (status = 422, description = "With `wait=true`: the tx failed in its block; the code is the receipt's", body = super::error::ErrorBody),
        (status = 503, description = "`mempool_full` or `unavailable` (see `Retry-After`)", body = super::error::ErrorBody),
        (status = 504, description = "`timeout`: not finalized in time", body = super::error::ErrorBody),
    ),
)]
pub(crate) async fn reject(
    State(ctx): State<Arc<ApiContext>>,
    id: Result<Path<String>, PathRejection>,
    QueryParams(wait): QueryParams<WaitQuery>,
    OptionalJsonBody(refusal): OptionalJsonBody<Refusal>,
) -> Result<Response, ApiError> {
    let wait = wait.wait()?;
    let reason = refusal.reason.unwrap_or_default();
    if reason.trim().is_empty() {
        return Err(ApiError::bad_request(
            "reason_required",
            "a rejection needs a reason: send {\"reason\": \"why\"}",
        ));
    }
    let request_id = existing(&ctx, id).await?;
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
    params(("request_id" = String, Path, description = "`req_<32 hex>`"), WaitQuery),
    request_body(content = Option<Withdrawal>, description = "Empty, or `{}`"),
    responses(
        (status = 202, description = "Admitted to the mempool", body = super::openapi::RequestWritten),
        (status = 200, description = "With `wait=true`: finalized and applied; carries the receipt", body = super::openapi::RequestWritten),
        (status = 400, description = "`invalid_json`, `invalid_query`, `invalid_request_id`, or a state rule's code (`request_closed`, …)", body = super::error::ErrorBody),
        (status = 403, description = "`not_requester`: only the requester may cancel", body = super::error::ErrorBody),
        (status = 404, description = "`request_not_found`", body = super::error::ErrorBody),
        (status = 422, description = "With `wait=true`: the tx failed in its block; the code is the receipt's", body = super::error::ErrorBody),
        (status = 503, description = "`mempool_full` or `unavailable` (see `Retry-After`)", body = super::error::ErrorBody),
        (status = 504, description = "`timeout`: not finalized in time", body = super::error::ErrorBody),
    ),
)]
pub(crate) async fn cancel(
    State(ctx): State<Arc<ApiContext>>,
    id: Result<Path<String>, PathRejection>,
    QueryParams(wait): QueryParams<WaitQuery>,
    OptionalJsonBody(Withdrawal {}): OptionalJsonBody<Withdrawal>,
) -> Result<Response, ApiError> {
    let wait = wait.wait()?;
    let request_id = existing(&ctx, id).await?;
    write(&ctx, request_id, Body::Cancel { request_id }, wait).await
}

/// The request named in the path, if it exists.
async fn existing(
    ctx: &ApiContext,
    id: Result<Path<String>, PathRejection>,
) -> Result<RequestId, ApiError> {
    let Path(text) = id?;
    let id = params::request_id(&text)?;
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
    let ids = RequestIds {
        request_id: request_id.to_string(),
    };
    Ok(wait::answer(ids, submitted))
}
