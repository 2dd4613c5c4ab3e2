//! `GET /openapi.json`: the OpenAPI 3.1 document of the API, generated with utoipa from the
//! handlers' `#[utoipa::path]` attributes and custodia-api's types (the same the handlers take
//! and return). Served without a token. What the derives cannot say is added here: the bearer
//! scheme and the errors every operation may answer, the schema of one server-sent event, and
//! the chain's `max_request_ttl` as the maximum of a request's `ttl`.

use super::{
    audit, certificates, chain, decide, events, fetch, identity, ops, orgs, proofs, proposals,
    records, requests, txs,
};
use axum::{Json, extract::State};
use custodia_api::{
    self as api,
    events::{BLOCK, LAGGED},
};
use custodia_protocol::Params;
use custodia_state::EventKind;
use serde_json::{Value, json};
use std::{
    borrow::Cow,
    sync::{Arc, OnceLock},
};
use utoipa::{
    Modify, OpenApi, PartialSchema, ToSchema,
    openapi::{
        ContentBuilder, ObjectBuilder, OneOfBuilder, Ref, RefOr, ResponseBuilder, Schema, Type,
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
        orgs::suspend,
        orgs::reinstate,
        orgs::rotate,
        identity::rotate,
        proposals::propose,
        proposals::list,
        proposals::show,
        proposals::approve,
        proposals::reject,
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
        proofs::event_proof,
        events::events,
        txs::submit,
        chain::block,
        certificates::certificate,
        chain::receipt,
        proofs::receipt_proof,
        ops::metrics,
    ),
    components(schemas(
        api::ErrorBody,
        api::ErrorDetail,
        api::Receipt,
        api::RecordView,
        api::RequestView,
        api::RequestDetail,
        api::Decision,
        api::DeliveryView,
        api::AuditEntry,
        api::HistoryProof,
        api::ProvenEvent,
        api::BlockEvent,
        api::ChainEvent,
        api::LaggedEvent,
        StreamEvent,
    )),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "chain", description = "Status, blocks, receipts, certificates, raw txs, events"),
        (name = "orgs", description = "The organisations: status, keys, suspension, key rotation"),
        (name = "governance", description = "Proposals to add or remove members or change parameters, and votes"),
        (name = "records", description = "Submit and list records (metadata only)"),
        (name = "requests", description = "Share requests, decisions, and fetching deliveries"),
        (name = "audit", description = "The audit trail and its inclusion proofs"),
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

/// The document of the API, built once, for the default parameters.
fn base() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut document = serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null);
        // JSON Schema's `contentSchema` (no builder in utoipa): what each event's data holds.
        if let Some(events) = document
            .pointer_mut("/components/schemas/StreamEvent/oneOf")
            .and_then(Value::as_array_mut)
        {
            for (event, data) in events
                .iter_mut()
                .zip(["BlockEvent", "LaggedEvent", "ChainEvent"])
            {
                if let Some(property) = event.pointer_mut("/properties/data") {
                    property["contentSchema"] =
                        json!({ "$ref": format!("#/components/schemas/{data}") });
                }
            }
        }
        require_path_parameters(&mut document);
        document
    })
}

/// OpenAPI requires `required: true` on every path parameter; utoipa leaves it out of a
/// parameter whose schema comes from a `schema_with` function (ids with their patterns).
fn require_path_parameters(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let operations = paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|operations| operations.values_mut());
    for operation in operations {
        let parameters = operation
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten();
        for parameter in parameters.filter(|parameter| parameter["in"] == "path") {
            parameter["required"] = Value::Bool(true);
        }
    }
}

/// The document for a chain with `params`: a request's `ttl` is at most its `max_request_ttl`.
pub(crate) fn document(params: &Params) -> Value {
    let mut document = base().clone();
    if let Some(ttl) = document.pointer_mut("/components/schemas/NewProposal/properties/ttl") {
        ttl["maximum"] = json!(params.max_proposal_ttl);
    }
    if let Some(ttl) = document.pointer_mut("/components/schemas/NewRequest/properties/ttl") {
        ttl["maximum"] = json!(params.max_request_ttl);
    }
    document
}

/// `GET /openapi.json`: this document (no token needed).
#[utoipa::path(
    get, path = "/openapi.json", tag = "operations", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)),
)]
pub(crate) async fn openapi(State(ctx): State<Arc<super::ApiContext>>) -> Json<Value> {
    Json(document(ctx.ledger.params()))
}

/// Codec bytes of one signed tx, or of a batch.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub(crate) struct SignedTx(#[allow(dead_code)] Vec<u8>);

/// One server-sent event of `GET /v1/events`, as its fields arrive (`event`, `data`): a
/// block, a subscriber's lag, or a chain event named by its kind; `data` is one line of JSON.
pub(crate) struct StreamEvent;

impl PartialSchema for StreamEvent {
    fn schema() -> RefOr<Schema> {
        let event = |names: Vec<&'static str>, data: &str| {
            ObjectBuilder::new()
                .property(
                    "event",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(names)),
                )
                .property(
                    "data",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .content_media_type("application/json")
                        .description(Some(format!("One line of JSON: a {data}"))),
                )
                .required("event")
                .required("data")
        };
        let kinds = EventKind::ALL.iter().map(EventKind::as_str).collect();
        OneOfBuilder::new()
            .item(event(vec![BLOCK], "BlockEvent"))
            .item(event(vec![LAGGED], "LaggedEvent"))
            .item(event(kinds, "ChainEvent"))
            .into()
    }
}

impl ToSchema for StreamEvent {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("StreamEvent")
    }
}
