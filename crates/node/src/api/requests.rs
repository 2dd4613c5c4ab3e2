//! Share requests (DESIGN §1.1 step 3): `POST /v1/requests` signs and submits a `RequestShare`
//! of this node's organisation; `GET /v1/requests` lists requests and `GET
//! /v1/requests/{request_id}` shows one with its decisions and delivery.

use super::{
    ApiContext, ApiError,
    json::{JsonBody, QueryParams},
    params::{self, Directory},
    read::query,
    views::{DecisionView, DeliveryView, RequestDetail, RequestView},
    wait::{self, WaitQuery},
};
use axum::{
    Json,
    extract::{Path, State, rejection::PathRejection},
    response::Response,
};
use custodia_protocol::{Body, RequestId};
use custodia_state::{RequestFilter, RequestStatus};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// Body of `POST /v1/requests`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewRequest {
    /// The records asked for (1 to 256 `rec_…` ids of accepted records of other members).
    record_ids: Vec<String>,
    /// The fields asked for; absent or empty = all fields.
    #[serde(default)]
    fields: Vec<String>,
    /// Why the data is needed (1 to 1024 bytes).
    purpose: String,
    /// Blocks the request stays open for decisions (default and maximum: the chain's
    /// `max_request_ttl`).
    ttl: Option<u64>,
}

/// Ids of a request tx (create, approve, reject, cancel).
#[derive(Serialize, ToSchema)]
pub(crate) struct RequestIds {
    /// The request's id.
    pub request_id: String,
}

/// `POST /v1/requests`: sign and submit a share request.
#[utoipa::path(
    post, path = "/v1/requests", operation_id = "create_request", tag = "requests",
    params(WaitQuery),
    request_body = NewRequest,
    responses(
        (status = 202, description = "Admitted to the mempool", body = super::openapi::RequestWritten),
        (status = 200, description = "With `wait=true`: finalized and applied; carries the receipt", body = super::openapi::RequestWritten),
        (status = 400, description = "`invalid_json`, `invalid_query`, `invalid_record_id`, or a state rule's code (`record_not_found`, `record_not_accepted`, `unknown_field`, `invalid_request`, `delivery_too_large`, …)", body = super::error::ErrorBody),
        (status = 403, description = "`not_member` (the supervisor's node) or `own_record`", body = super::error::ErrorBody),
        (status = 422, description = "With `wait=true`: the tx failed in its block; the code is the receipt's", body = super::error::ErrorBody),
        (status = 503, description = "`mempool_full` or `unavailable` (see `Retry-After`)", body = super::error::ErrorBody),
        (status = 504, description = "`timeout`: not finalized in time", body = super::error::ErrorBody),
    ),
)]
pub(crate) async fn create(
    State(ctx): State<Arc<ApiContext>>,
    QueryParams(wait): QueryParams<WaitQuery>,
    JsonBody(request): JsonBody<NewRequest>,
) -> Result<Response, ApiError> {
    let wait = wait.wait()?;
    let record_ids = request
        .record_ids
        .iter()
        .map(|text| params::record_id(text))
        .collect::<Result<Vec<_>, _>>()?;
    let request_id = RequestId::random();
    let body = Body::RequestShare {
        request_id,
        record_ids,
        fields: request.fields,
        purpose: request.purpose,
        ttl: request.ttl.unwrap_or(ctx.ledger.params().max_request_ttl),
    };
    let submitted = wait::submit(&ctx, body, wait).await?;
    let ids = RequestIds {
        request_id: request_id.to_string(),
    };
    Ok(wait::answer(ids, submitted))
}

/// Query of `GET /v1/requests`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RequestsQuery {
    /// Only requests in this status: `pending`, `approved`, `rejected`, `delivered`, `expired`
    /// or `cancelled`.
    status: Option<String>,
    /// Only requests where this organisation (name) is the requester or a required approver.
    party: Option<String>,
    /// Skip this many (default 0).
    offset: Option<u64>,
    /// At most this many (default 100, at most 1000).
    limit: Option<u64>,
}

/// A page of requests.
#[derive(Serialize, ToSchema)]
pub(crate) struct RequestsPage {
    /// The requests, oldest first.
    requests: Vec<RequestView>,
    /// The page's offset.
    offset: u64,
    /// The page's limit.
    limit: u64,
}

/// `GET /v1/requests`: requests, oldest first.
#[utoipa::path(
    get, path = "/v1/requests", operation_id = "list_requests", tag = "requests",
    params(RequestsQuery),
    responses(
        (status = 200, description = "A page of requests", body = RequestsPage),
        (status = 400, description = "`invalid_query` or `unknown_org`", body = super::error::ErrorBody),
    ),
)]
pub(crate) async fn list(
    State(ctx): State<Arc<ApiContext>>,
    QueryParams(q): QueryParams<RequestsQuery>,
) -> Result<Json<RequestsPage>, ApiError> {
    let names = Directory::of(ctx.ledger.genesis());
    let (offset, limit) = params::page(q.offset, q.limit)?;
    let filter = RequestFilter {
        status: params::status::<RequestStatus>(q.status.as_deref())?,
        party: q.party.as_deref().map(|n| names.key(n)).transpose()?,
        offset,
        limit,
    };
    let rows = query(&ctx.ledger, move |queries| Ok(queries.requests(&filter)?)).await?;
    Ok(Json(RequestsPage {
        requests: rows
            .into_iter()
            .map(|row| RequestView::of(row, &names))
            .collect(),
        offset,
        limit,
    }))
}

/// `GET /v1/requests/{request_id}`: a request with its decisions and delivery.
#[utoipa::path(
    get, path = "/v1/requests/{request_id}", operation_id = "show_request", tag = "requests",
    params(("request_id" = String, Path, description = "`req_<32 hex>`")),
    responses(
        (status = 200, description = "The request, its decisions and its delivery", body = RequestDetail),
        (status = 400, description = "`invalid_request_id`", body = super::error::ErrorBody),
        (status = 404, description = "`request_not_found`", body = super::error::ErrorBody),
    ),
)]
pub(crate) async fn show(
    State(ctx): State<Arc<ApiContext>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<RequestDetail>, ApiError> {
    let Path(text) = id?;
    let id = params::request_id(&text)?;
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
    let names = Directory::of(ctx.ledger.genesis());
    Ok(Json(RequestDetail {
        request: RequestView::of(request, &names),
        decisions: decisions
            .into_iter()
            .map(|row| DecisionView::of(row, &names))
            .collect(),
        delivery: delivery.as_ref().map(DeliveryView::of),
    }))
}

/// A 404 `request_not_found`.
pub(crate) fn not_found(id: &RequestId) -> ApiError {
    ApiError::not_found(
        "request_not_found",
        format!("no request {id} on this chain: GET /v1/requests lists the requests"),
    )
}
