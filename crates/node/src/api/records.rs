//! Records (DESIGN §1.1 steps 1–2): `POST /v1/records` takes plaintext fields, commits to them,
//! seals them to the supervisor and submits a `SubmitRecord` signed with the org key;
//! `GET /v1/records` and `GET /v1/records/{record_id}` show metadata only — field names,
//! never values. Field values are never logged.

use super::{
    ApiContext, ApiError,
    json::{JsonBody, QueryParams},
    params::{self, Directory},
    read::{blocking, query},
    views,
    wait::{self, Written},
};
use axum::{
    Json,
    extract::{Path, State, rejection::PathRejection},
    http::StatusCode,
    response::Response,
};
use custodia_api::{NewRecord, RecordFilter, RecordPage, RecordPath, RecordView, WaitQuery};
use custodia_protocol::{
    Params, RecordId, Role,
    record::{RecordError, check_kind_and_tags, seal_record},
};
use std::{collections::BTreeMap, sync::Arc};

/// Allowance over twice `max_record_bytes` for a record's JSON body.
const BODY_SLACK_BYTES: usize = 64 << 10;

/// Largest body of `POST /v1/records`: room for a record whose sealed form fits
/// `max_record_bytes`, however the client spaced its JSON.
pub(crate) fn body_limit(params: &Params) -> usize {
    usize::try_from(params.max_record_bytes)
        .unwrap_or(usize::MAX)
        .saturating_mul(2)
        .saturating_add(BODY_SLACK_BYTES)
}

/// `POST /v1/records`: seal, sign and submit a record of this node's organisation.
#[utoipa::path(
    post, path = "/v1/records", operation_id = "submit_record", tag = "records",
    params(WaitQuery),
    request_body = NewRecord,
    responses(
        (status = 202, description = "Admitted to the mempool; with `wait=true`, admitted but not finalized within the timeout (follow `tx_id` with GET /v1/receipts/{tx_id})", body = custodia_api::RecordTx),
        (status = 200, description = "With `wait=true`: finalized and applied; carries the receipt; a tx that failed in its block answers with its receipt's code, at that code's status below", body = custodia_api::RecordTx),
        (status = 400, description = "`invalid_json`, `invalid_query`, `invalid_kind`, `invalid_tags`, `no_fields`, `invalid_field_name`, `duplicate_field`, `too_many_fields`, `too_large`", body = custodia_api::ErrorBody),
        (status = 403, description = "`not_member`: this node is the supervisor's", body = custodia_api::ErrorBody),
        (status = 409, description = "`signer_suspended`: this organisation is suspended; `tx_expired` with `wait=true` when no block took the tx before its `valid_until`", body = custodia_api::ErrorBody),
        (status = 413, description = "`record_too_large`: the sealed record is over `max_record_bytes`", body = custodia_api::ErrorBody),
        (status = 503, description = "`mempool_full` or `unavailable` (see `Retry-After`)", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn submit(
    State(ctx): State<Arc<ApiContext>>,
    QueryParams(wait): QueryParams<WaitQuery>,
    body: Result<JsonBody<NewRecord>, ApiError>,
) -> Result<Response, ApiError> {
    let wait = wait::wait_of(&wait)?;
    let params = *ctx.ledger.params();
    let JsonBody(record) = body.map_err(|err| {
        if err.status == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(None, &params)
        } else {
            err
        }
    })?;
    let me = ctx.keys.current().identity_key();
    let orgs = query(&ctx.ledger, |queries| Ok(queries.orgs()?)).await?;
    if orgs
        .iter()
        .any(|org| org.identity_key == me && org.role == Role::Supervisor)
    {
        return Err(ApiError::forbidden(
            "not_member",
            format!(
                "{} is the supervisor: records are submitted through a member's node",
                ctx.org
            ),
        ));
    }
    // Sealed to the supervisor's key as the state has it now (it may have rotated; DESIGN
    // §6.6): a record sealed to an older key is refused (`wrong_encryption_key`).
    let Some(supervisor) = orgs.iter().find(|org| org.role == Role::Supervisor) else {
        return Err(ApiError::internal("the state names no supervisor"));
    };
    let supervisor = supervisor.encryption_key;
    check_kind_and_tags(&record.kind, &record.tags).map_err(invalid_record)?;
    let mut fields = BTreeMap::new();
    for (name, value) in record.fields.0 {
        if fields.contains_key(&name) {
            return Err(invalid_record(RecordError::DuplicateField(name)));
        }
        fields.insert(name, value);
    }
    let record_id = RecordId::random();
    let chain = ctx.ledger.chain();
    let kind = record.kind.clone();
    let sealed = blocking(move || seal_record(&chain, &record_id, &kind, &me, &supervisor, fields))
        .await?
        .map_err(invalid_record)?;
    if sealed.sealed.len() as u64 > params.max_record_bytes {
        return Err(too_large(Some(sealed.sealed.len()), &params));
    }
    let body = sealed.into_body(record_id, record.kind, record.tags);
    let submitted = wait::submit(&ctx, body, wait).await?;
    Ok(wait::answer(Written::Record(record_id), submitted))
}

/// A 400 with the record rule's code.
fn invalid_record(err: RecordError) -> ApiError {
    ApiError::bad_request(
        err.code(),
        format!("{err}: fix the record and submit it again"),
    )
}

/// A 413 `record_too_large`.
fn too_large(sealed: Option<usize>, params: &Params) -> ApiError {
    let what = match sealed {
        Some(bytes) => format!("the sealed record is {bytes} bytes"),
        None => format!("the request body is over {} bytes", body_limit(params)),
    };
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "record_too_large",
        format!(
            "{what}, over this chain's max_record_bytes of {}: submit fewer or smaller fields",
            params.max_record_bytes
        ),
    )
}

/// `GET /v1/records`: records' metadata, oldest first.
#[utoipa::path(
    get, path = "/v1/records", operation_id = "list_records", tag = "records",
    params(RecordFilter),
    responses(
        (status = 200, description = "A page of records (metadata only)", body = RecordPage),
        (status = 400, description = "`invalid_query`", body = custodia_api::ErrorBody),
        (status = 404, description = "`unknown_org`: no organisation has the provider's name", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn list(
    State(ctx): State<Arc<ApiContext>>,
    QueryParams(q): QueryParams<RecordFilter>,
) -> Result<Json<RecordPage>, ApiError> {
    let names = Directory::read(&ctx.ledger).await?;
    let (offset, limit) = params::page(q.offset, q.limit)?;
    let filter = custodia_state::RecordFilter {
        provider: q.provider.as_deref().map(|n| names.id(n)).transpose()?,
        kind: params::kind(q.kind)?,
        status: q.status.map(views::record_status_filter),
        offset,
        limit,
    };
    let rows = query(&ctx.ledger, move |queries| Ok(queries.records(&filter)?)).await?;
    Ok(Json(RecordPage {
        records: rows
            .into_iter()
            .map(|row| views::record(row, &names))
            .collect(),
        offset,
        limit,
    }))
}

/// `GET /v1/records/{record_id}`: one record's metadata.
#[utoipa::path(
    get, path = "/v1/records/{record_id}", operation_id = "show_record", tag = "records",
    params(RecordPath),
    responses(
        (status = 200, description = "The record's metadata (never its values)", body = RecordView),
        (status = 400, description = "`invalid_record_id`", body = custodia_api::ErrorBody),
        (status = 404, description = "`record_not_found`", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn show(
    State(ctx): State<Arc<ApiContext>>,
    path: Result<Path<RecordPath>, PathRejection>,
) -> Result<Json<RecordView>, ApiError> {
    let Path(RecordPath { record_id }) = path?;
    let id = params::record_id(&record_id)?;
    let row = query(&ctx.ledger, move |queries| Ok(queries.record(&id)?)).await?;
    let Some(row) = row else {
        return Err(ApiError::not_found(
            "record_not_found",
            format!("no record {id} on this chain: GET /v1/records lists the records"),
        ));
    };
    Ok(Json(views::record(
        row,
        &Directory::read(&ctx.ledger).await?,
    )))
}
