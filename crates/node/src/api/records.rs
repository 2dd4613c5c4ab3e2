//! Records (DESIGN §1.1 steps 1–2): `POST /v1/records` takes plaintext fields, commits to them,
//! seals them to the supervisor and submits a `SubmitRecord` signed with the org key;
//! `GET /v1/records` and `GET /v1/records/{record_id}` show metadata only — field names,
//! never values. Field values are never logged.

use super::{
    ApiContext, ApiError,
    json::{JsonBody, QueryParams},
    params::{self, Directory},
    read::{blocking, query},
    views::RecordView,
    wait::{self, WaitQuery},
};
use axum::{
    Json,
    extract::{Path, State, rejection::PathRejection},
    http::StatusCode,
    response::Response,
};
use custodia_protocol::{
    FieldValue, Params, RecordId, Role,
    record::{RecordError, check_kind_and_tags, seal_record},
};
use custodia_state::{RecordFilter, RecordStatus};
use serde::{
    Deserialize, Deserializer, Serialize,
    de::{MapAccess, Visitor},
};
use std::{collections::BTreeMap, fmt, sync::Arc};
use utoipa::{IntoParams, ToSchema};

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

/// Body of `POST /v1/records`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewRecord {
    /// The record's kind: 1 to 64 of `[A-Za-z0-9_.-]`.
    #[schema(example = "claim")]
    kind: String,
    /// Free tags for search: at most 16, each 1 to 64 bytes.
    #[serde(default)]
    tags: Vec<String>,
    /// The fields: name (1 to 64 of `[A-Za-z0-9_.-]`) → any JSON value; 1 to 256 fields.
    #[schema(value_type = Object, example = json!({"amount": 1200, "insured": "Jane Doe"}))]
    fields: Fields,
}

/// The fields of a new record in the order given, duplicates kept so they can be refused.
struct Fields(Vec<(String, FieldValue)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of field names to JSON values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry::<String, FieldValue>()? {
                    fields.push(entry);
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

/// Ids of a submitted record.
#[derive(Serialize, ToSchema)]
pub(crate) struct RecordIds {
    /// The new record's id.
    record_id: String,
}

/// `POST /v1/records`: seal, sign and submit a record of this node's organisation.
#[utoipa::path(
    post, path = "/v1/records", operation_id = "submit_record", tag = "records",
    params(WaitQuery),
    request_body = NewRecord,
    responses(
        (status = 202, description = "Admitted to the mempool", body = super::openapi::RecordWritten),
        (status = 200, description = "With `wait=true`: finalized and applied; carries the receipt", body = super::openapi::RecordWritten),
        (status = 400, description = "`invalid_json`, `invalid_query`, `invalid_kind`, `invalid_tags`, `no_fields`, `invalid_field_name`, `duplicate_field`, `too_many_fields`, or a state rule's code", body = super::error::ErrorBody),
        (status = 403, description = "`not_member`: this node is the supervisor's", body = super::error::ErrorBody),
        (status = 413, description = "`record_too_large`: the sealed record is over `max_record_bytes`", body = super::error::ErrorBody),
        (status = 422, description = "With `wait=true`: the tx failed in its block; the code is the receipt's", body = super::error::ErrorBody),
        (status = 503, description = "`mempool_full` or `unavailable` (see `Retry-After`)", body = super::error::ErrorBody),
        (status = 504, description = "`timeout`: not finalized in time", body = super::error::ErrorBody),
    ),
)]
pub(crate) async fn submit(
    State(ctx): State<Arc<ApiContext>>,
    QueryParams(wait): QueryParams<WaitQuery>,
    body: Result<JsonBody<NewRecord>, ApiError>,
) -> Result<Response, ApiError> {
    let wait = wait.wait()?;
    let params = *ctx.ledger.params();
    let JsonBody(record) = body.map_err(|err| {
        if err.status == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(None, &params)
        } else {
            err
        }
    })?;
    let genesis = ctx.ledger.genesis();
    let me = ctx.keys.identity_key();
    if genesis.org(&me).map(|org| org.role) == Some(Role::Supervisor) {
        return Err(ApiError::forbidden(
            "not_member",
            format!(
                "{} is the supervisor: records are submitted through a member's node",
                ctx.org
            ),
        ));
    }
    let Some(supervisor) = genesis.orgs.iter().find(|org| org.role == Role::Supervisor) else {
        return Err(ApiError::internal("the genesis names no supervisor"));
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
    let ids = RecordIds {
        record_id: record_id.to_string(),
    };
    Ok(wait::answer(ids, submitted))
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

/// Query of `GET /v1/records`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RecordsQuery {
    /// Only this provider's records (organisation name).
    provider: Option<String>,
    /// Only records of this kind.
    kind: Option<String>,
    /// Only records in this status: `submitted`, `accepted` or `rejected`.
    status: Option<String>,
    /// Skip this many (default 0).
    offset: Option<u64>,
    /// At most this many (default 100, at most 1000).
    limit: Option<u64>,
}

/// A page of records.
#[derive(Serialize, ToSchema)]
pub(crate) struct RecordsPage {
    /// The records, oldest first.
    records: Vec<RecordView>,
    /// The page's offset.
    offset: u64,
    /// The page's limit.
    limit: u64,
}

/// `GET /v1/records`: records' metadata, oldest first.
#[utoipa::path(
    get, path = "/v1/records", operation_id = "list_records", tag = "records",
    params(RecordsQuery),
    responses(
        (status = 200, description = "A page of records (metadata only)", body = RecordsPage),
        (status = 400, description = "`invalid_query` or `unknown_org`", body = super::error::ErrorBody),
    ),
)]
pub(crate) async fn list(
    State(ctx): State<Arc<ApiContext>>,
    QueryParams(q): QueryParams<RecordsQuery>,
) -> Result<Json<RecordsPage>, ApiError> {
    let names = Directory::of(ctx.ledger.genesis());
    let (offset, limit) = params::page(q.offset, q.limit)?;
    let filter = RecordFilter {
        provider: q.provider.as_deref().map(|n| names.key(n)).transpose()?,
        kind: q.kind,
        status: params::status::<RecordStatus>(q.status.as_deref())?,
        offset,
        limit,
    };
    let rows = query(&ctx.ledger, move |queries| Ok(queries.records(&filter)?)).await?;
    Ok(Json(RecordsPage {
        records: rows
            .into_iter()
            .map(|row| RecordView::of(row, &names))
            .collect(),
        offset,
        limit,
    }))
}

/// `GET /v1/records/{record_id}`: one record's metadata.
#[utoipa::path(
    get, path = "/v1/records/{record_id}", operation_id = "show_record", tag = "records",
    params(("record_id" = String, Path, description = "`rec_<32 hex>`")),
    responses(
        (status = 200, description = "The record's metadata (never its values)", body = RecordView),
        (status = 400, description = "`invalid_record_id`", body = super::error::ErrorBody),
        (status = 404, description = "`record_not_found`", body = super::error::ErrorBody),
    ),
)]
pub(crate) async fn show(
    State(ctx): State<Arc<ApiContext>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<RecordView>, ApiError> {
    let Path(text) = id?;
    let id = params::record_id(&text)?;
    let row = query(&ctx.ledger, move |queries| Ok(queries.record(&id)?)).await?;
    let Some(row) = row else {
        return Err(ApiError::not_found(
            "record_not_found",
            format!("no record {id} on this chain: GET /v1/records lists the records"),
        ));
    };
    Ok(Json(RecordView::of(
        row,
        &Directory::of(ctx.ledger.genesis()),
    )))
}
