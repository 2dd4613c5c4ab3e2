//! `GET /openapi.json`: the OpenAPI 3.1 document of the API, generated with utoipa from the
//! handlers' `#[utoipa::path]` attributes and the answer types. Served without a token. The
//! shapes below exist for the document only: the handlers that predate it build their JSON
//! directly.

use super::{
    audit, chain, decide,
    error::{ErrorBody, ErrorDetail},
    events, fetch, ops, orgs, records, requests, txs,
    views::{self, ReceiptView},
};
use axum::Json;
use serde::Serialize;
use serde_json::Value;
use std::sync::OnceLock;
use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::{
        ContentBuilder, Ref, ResponseBuilder,
        security::{Http, HttpAuthScheme, SecurityScheme},
    },
};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "custodia node API",
        description = "The REST API of a custodia node, for its organisation's own users \
            (DESIGN §7). Every endpoint but /healthz and /openapi.json needs \
            `Authorization: Bearer <api.token>`. Every error is \
            `{\"error\": {\"code\", \"message\"}}` with a 4xx/5xx status; a missing or wrong \
            token is a 401 `unauthorized`. Write endpoints take `?wait=true&timeout=SECONDS`."
    ),
    paths(
        ops::healthz,
        openapi,
        chain::status,
        orgs::orgs,
        records::submit,
        records::list,
        records::show,
        requests::create,
        requests::list,
        requests::show,
        decide::approve,
        decide::reject,
        decide::cancel,
        fetch::fetch,
        audit::audit,
        events::events,
        txs::submit,
        chain::block,
        chain::receipt,
        ops::metrics,
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        ReceiptView,
        views::RecordView,
        views::RequestView,
        views::RequestDetail,
        views::DecisionView,
        views::DeliveryView,
        views::AuditEntryView,
        events::BlockEvent,
        events::ChainEvent,
        events::LaggedEvent,
    )),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "chain", description = "Status, organisations, blocks, receipts, raw txs, events"),
        (name = "records", description = "Submit and list records (metadata only)"),
        (name = "requests", description = "Share requests, decisions, and fetching deliveries"),
        (name = "audit", description = "The audit trail"),
        (name = "operations", description = "Liveness, metrics and this document"),
    )
)]
pub(crate) struct ApiDoc;

/// Declares the bearer-token scheme, and the errors every operation may answer that its own
/// attribute does not list: 401 `unauthorized` where the token is needed, 503 `unavailable`
/// and 500 `internal`.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let responses = &mut operation.responses.responses;
                // Operations open to all say so with an empty security requirement.
                if operation.security.is_none() {
                    responses.entry("401".into()).or_insert_with(|| {
                        error("`unauthorized`: missing or wrong bearer token").into()
                    });
                }
                responses.entry("500".into()).or_insert_with(|| {
                    error("`internal`: a fault of the node (see its log)").into()
                });
                responses.entry("503".into()).or_insert_with(|| {
                    error("`unavailable`: the node cannot answer right now (see `Retry-After`)")
                        .into()
                });
            }
        }
    }
}

/// The document as JSON, built once.
pub(crate) fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null))
}

/// `GET /openapi.json`: this document (no token needed).
#[utoipa::path(
    get, path = "/openapi.json", tag = "operations", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)),
)]
pub(crate) async fn openapi() -> Json<&'static Value> {
    Json(document())
}

/// `GET /healthz`'s answer.
#[derive(Serialize, ToSchema)]
pub(crate) struct Health {
    /// Always true.
    ok: bool,
}

/// `GET /v1/status`'s answer.
#[derive(Serialize, ToSchema)]
pub(crate) struct StatusAnswer {
    /// Chain digest (genesis hash, hex).
    chain: String,
    /// Human chain id.
    chain_id: String,
    /// This node's organisation.
    org: String,
    /// Its role: `supervisor` or `member`.
    role: String,
    /// Last applied height.
    height: u64,
    /// State commitment after it (hex).
    state_commitment: String,
    /// Connected peers.
    peers: u64,
    /// What waits in the mempool.
    mempool: MempoolAnswer,
}

/// The mempool in `GET /v1/status`.
#[derive(Serialize, ToSchema)]
pub(crate) struct MempoolAnswer {
    /// Txs held.
    txs: u64,
    /// Encoded bytes held.
    bytes: u64,
}

/// `GET /v1/blocks/{height}`'s answer.
#[derive(Serialize, ToSchema)]
pub(crate) struct BlockAnswer {
    /// Height.
    height: u64,
    /// Digest (hex).
    digest: String,
    /// Parent digest (hex).
    parent: String,
    /// Proposer's timestamp (ms since the Unix epoch).
    timestamp_ms: u64,
    /// State commitment after the block (hex).
    state_commitment: String,
    /// The receipts of its txs, in block order.
    txs: Vec<ReceiptView>,
}

/// A receipt of a finalized tx.
#[derive(Serialize, ToSchema)]
pub(crate) struct AppliedReceipt {
    /// The receipt.
    #[serde(flatten)]
    receipt: ReceiptView,
    /// Always `applied`.
    status: String,
}

/// A tx still in the mempool.
#[derive(Serialize, ToSchema)]
pub(crate) struct PendingReceipt {
    /// The tx id (hex).
    tx_id: String,
    /// Always `pending`.
    status: String,
}

/// Codec bytes of one signed tx, or of a batch.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub(crate) struct SignedTx(#[allow(dead_code)] Vec<u8>);

/// `POST /v1/txs`'s answer: `tx_id` for one tx; `accepted` and `rejected` for a batch.
#[derive(Serialize, ToSchema)]
pub(crate) struct TxsAccepted {
    /// One tx: its id (hex).
    tx_id: Option<String>,
    /// A batch: ids of the admitted txs.
    accepted: Option<Vec<String>>,
    /// A batch: the refused txs.
    rejected: Option<Vec<BatchRejection>>,
}

/// A tx of a batch the mempool refused.
#[derive(Serialize, ToSchema)]
pub(crate) struct BatchRejection {
    /// Its position in the batch.
    index: u64,
    /// Why (an error code).
    code: String,
    /// What is wrong.
    message: String,
}

/// Answer of `POST /v1/records`.
#[derive(Serialize, ToSchema)]
pub(crate) struct RecordWritten {
    /// The new record's id.
    record_id: String,
    /// The `SubmitRecord` tx id (hex).
    tx_id: String,
    /// With `wait=true`: the receipt (code `ok`).
    receipt: Option<ReceiptView>,
}

/// Answer of `POST /v1/requests` and of approve, reject and cancel.
#[derive(Serialize, ToSchema)]
pub(crate) struct RequestWritten {
    /// The request's id.
    request_id: String,
    /// The tx id (hex).
    tx_id: String,
    /// With `wait=true`: the receipt (code `ok`).
    receipt: Option<ReceiptView>,
}
