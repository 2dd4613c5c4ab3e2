//! `GET /v1/requests/{request_id}/fetch` (DESIGN §1.1 step 6, §6.5): the requester's node opens the
//! delivery with its encryption key and verifies every disclosed field against the provider's
//! commitment on the chain. The opened values go to the client only: never to a log or a disk.
//!
//! 403 `forbidden` when this node's organisation is not the requester; 409 with the request's
//! status as the code while there is nothing to open (with `?wait=true`, an `approved` request
//! is waited on until delivered or the timeout, then is the same 409 `approved`); 422 `delivery_unverified` when the delivery does not open or
//! verify.

use super::{
    ApiContext, ApiError,
    json::QueryParams,
    params::{self, Directory},
    read::{blocking, query},
    requests::not_found,
    views,
    wait::{self, Wait, next_block},
};
use axum::{
    Json,
    extract::{Path, State, rejection::PathRejection},
    http::StatusCode,
};
use custodia_api::{Fetched, FetchedRecord, RequestPath, WaitQuery};
use custodia_protocol::{
    RequestId,
    delivery::{DeliveryError, open_delivery},
    keys::identity_key_from_hex,
    record::RecordHeader,
    seal::SealError,
};
use custodia_state::{DeliveryRow, RequestRow, RequestStatus};
use std::sync::Arc;
use tokio::time::Instant;

/// A request as fetch sees it: the row and, once delivered, the delivery and what it is
/// verified against.
type Found = (RequestRow, Option<(DeliveryRow, Vec<RecordHeader>)>);

/// `GET /v1/requests/{request_id}/fetch`.
#[utoipa::path(
    get, path = "/v1/requests/{request_id}/fetch", tag = "requests",
    params(RequestPath, WaitQuery),
    responses(
        (status = 200, description = "The delivered fields, opened and verified", body = Fetched),
        (status = 400, description = "`invalid_request_id` or `invalid_query`", body = custodia_api::ErrorBody),
        (status = 403, description = "`forbidden`: this node's organisation is not the requester", body = custodia_api::ErrorBody),
        (status = 404, description = "`request_not_found`", body = custodia_api::ErrorBody),
        (status = 409, description = "Nothing delivered; the code is the request's status: `pending`, `approved` (not delivered yet, also after a `wait=true` that timed out), `rejected`, `expired` or `cancelled`", body = custodia_api::ErrorBody),
        (status = 422, description = "`delivery_unverified`: the delivery does not open or verify (the message names the record)", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn fetch(
    State(ctx): State<Arc<ApiContext>>,
    path: Result<Path<RequestPath>, PathRejection>,
    QueryParams(wait): QueryParams<WaitQuery>,
) -> Result<Json<Fetched>, ApiError> {
    let Path(RequestPath { request_id }) = path?;
    let id = params::request_id(&request_id)?;
    let wait = wait::wait_of(&wait)?;
    let names = Directory::read(&ctx.ledger).await?;
    let (request, delivered) = delivered(&ctx, id, wait, &names).await?;
    let Some((delivery, headers)) = delivered else {
        return Err(ApiError::internal(format!(
            "request {id} is delivered but its delivery is missing from the state"
        )));
    };
    let chain = ctx.ledger.chain();
    let keys = ctx.keys.current();
    let secret = match keys.opener(&delivery.sealed) {
        Err(err @ SealError::UnknownKey(_)) => {
            return Err(ApiError::internal(format!(
                "the delivery of request {id} cannot be opened: {err}"
            )));
        }
        other => other.cloned(),
    };
    let requested = request.requester_key.clone();
    let fields = request.fields.clone();
    let opened = blocking(move || {
        open_delivery(
            &chain,
            &id,
            &requested,
            &secret.map_err(DeliveryError::Seal)?,
            &delivery.sealed,
            &fields,
            &headers,
        )
    })
    .await?
    .map_err(|err| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "delivery_unverified",
            format!(
                "the delivery of request {id} does not verify: {err}; report it to the \
                 supervisor and the consortium"
            ),
        )
    })?;
    let records = opened
        .into_iter()
        .map(|record| FetchedRecord {
            record_id: record.record_id,
            provider: identity_key_from_hex(&record.provider)
                .map(|key| names.name(&key))
                .unwrap_or(record.provider),
            kind: record.kind,
            fields: record.fields,
            verified: true,
        })
        .collect();
    Ok(Json(Fetched {
        request_id: id,
        records,
    }))
}

/// The request once delivered; waits while it is `approved` if asked to.
async fn delivered(
    ctx: &ApiContext,
    id: RequestId,
    wait: Wait,
    names: &Directory,
) -> Result<Found, ApiError> {
    let me = ctx.keys.current().identity_key();
    let deadline = Instant::now() + wait.timeout;
    let mut blocks = ctx.ledger.subscribe();
    loop {
        let Some((request, delivered)) = look(ctx, id).await? else {
            return Err(not_found(&id));
        };
        if names.id_of(&me) != Some(request.requester) {
            return Err(ApiError::forbidden(
                "forbidden",
                format!(
                    "request {id} was made by {}, not {}: only the requester's node can open its \
                     delivery",
                    names.name_of_org(request.requester),
                    ctx.org
                ),
            ));
        }
        match request.status {
            RequestStatus::Delivered => return Ok((request, delivered)),
            RequestStatus::Approved if wait.enabled => {
                let remaining = deadline.saturating_duration_since(Instant::now());
                if remaining.is_zero()
                    || tokio::time::timeout(remaining, next_block(&mut blocks))
                        .await
                        .is_err()
                {
                    return Err(ApiError::conflict(
                        "approved",
                        format!(
                            "request {id} is approved but was not delivered within {} s: the \
                             supervisor's node delivers it; fetch again later",
                            wait.timeout.as_secs()
                        ),
                    ));
                }
            }
            status => return Err(not_delivered(ctx, &request, status, names).await),
        }
    }
}

/// The request and, once delivered, its delivery and the chain's record headers.
async fn look(ctx: &ApiContext, id: RequestId) -> Result<Option<Found>, ApiError> {
    query(&ctx.ledger, move |queries| {
        let Some(request) = queries.request(&id)? else {
            return Ok(None);
        };
        if request.status != RequestStatus::Delivered {
            return Ok(Some((request, None)));
        }
        let Some(delivery) = queries.delivery(&id)? else {
            return Ok(Some((request, None)));
        };
        let mut headers = Vec::with_capacity(request.record_ids.len());
        for record_id in &request.record_ids {
            if let Some(row) = queries.record(record_id)? {
                headers.push(row.header());
            }
        }
        Ok(Some((request, Some((delivery, headers)))))
    })
    .await
}

/// The 409 of a request with nothing to open, the code being its status.
async fn not_delivered(
    ctx: &ApiContext,
    request: &RequestRow,
    status: RequestStatus,
    names: &Directory,
) -> ApiError {
    let id = request.request_id;
    let message = match status {
        RequestStatus::Pending => {
            let waiting = query(&ctx.ledger, move |queries| Ok(queries.decisions(&id)?))
                .await
                .map(|decisions| {
                    decisions
                        .iter()
                        .filter(|d| d.approved.is_none())
                        .map(|d| names.name_of_org(d.org))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            format!(
                "request {id} is pending: it waits for the decisions of {}; fetch again once \
                 it is approved and delivered",
                if waiting.is_empty() {
                    "its approvers"
                } else {
                    &waiting
                }
            )
        }
        RequestStatus::Approved => format!(
            "request {id} is approved but not delivered yet: the supervisor's node delivers it \
             shortly; fetch again, or add ?wait=true"
        ),
        RequestStatus::Rejected => format!(
            "request {id} was rejected: {}",
            request.reason.as_deref().unwrap_or("no reason given")
        ),
        RequestStatus::Expired => format!(
            "request {id} expired at height {} before every approver decided: create a new \
             request",
            request.status_height
        ),
        RequestStatus::Cancelled => format!(
            "request {id} was cancelled by its requester at height {}",
            request.status_height
        ),
        RequestStatus::Delivered => format!("request {id} is delivered"),
    };
    ApiError::conflict(views::request_status(status).as_str(), message)
}
