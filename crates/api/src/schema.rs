//! The OpenAPI schemas of constrained values, built from [`crate::limits`] so the document
//! declares exactly what the server enforces (the `schema_with` functions of the types).

use crate::limits::*;
use utoipa::openapi::{
    ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
    schema::{AdditionalProperties, SchemaType},
};

fn text(pattern: &str, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
}

fn or_null(schema: ObjectBuilder, ty: Type) -> Schema {
    schema
        .schema_type(SchemaType::from_iter([ty, Type::Null]))
        .into()
}

fn record_id_builder() -> ObjectBuilder {
    text(RECORD_ID_PATTERN, "A record id: `rec_` and 32 hex digits")
}

fn request_id_builder() -> ObjectBuilder {
    text(REQUEST_ID_PATTERN, "A request id: `req_` and 32 hex digits")
}

fn proposal_id_builder() -> ObjectBuilder {
    text(
        PROPOSAL_ID_PATTERN,
        "A proposal id: `prop_` and 32 hex digits",
    )
}

fn name_builder() -> ObjectBuilder {
    text(NAME_PATTERN, "1 to 64 of `[A-Za-z0-9_.-]`")
}

fn org_name_builder() -> ObjectBuilder {
    text(
        ORG_NAME_PATTERN,
        "An organisation's name: 1 to 64 of `[a-z0-9._-]`, starting with a letter or digit",
    )
}

/// A record id.
pub fn record_id() -> Schema {
    record_id_builder().into()
}

/// A record id, or null.
pub fn record_id_or_null() -> Schema {
    or_null(record_id_builder(), Type::String)
}

/// A request id.
pub fn request_id() -> Schema {
    request_id_builder().into()
}

/// A request id, or null.
pub fn request_id_or_null() -> Schema {
    or_null(request_id_builder(), Type::String)
}

/// A proposal id.
pub fn proposal_id() -> Schema {
    proposal_id_builder().into()
}

/// A proposal id, or null.
pub fn proposal_id_or_null() -> Schema {
    or_null(proposal_id_builder(), Type::String)
}

/// A tx id (64 hex digits).
pub fn tx_id() -> Schema {
    text(TX_ID_PATTERN, "A transaction id: 64 hex digits").into()
}

/// An organisation's name.
pub fn org_name() -> Schema {
    org_name_builder().into()
}

/// A record kind or a field name.
pub fn name() -> Schema {
    name_builder().into()
}

/// The records of a request: 1 to 256 distinct record ids.
pub fn record_ids() -> Schema {
    ArrayBuilder::new()
        .items(record_id_builder())
        .min_items(Some(1))
        .max_items(Some(MAX_REQUEST_RECORDS))
        .unique_items(true)
        .into()
}

/// Field names asked for: at most 256 distinct names (none = every field).
pub fn field_names() -> Schema {
    ArrayBuilder::new()
        .items(name_builder())
        .max_items(Some(MAX_FIELDS))
        .unique_items(true)
        .into()
}

/// A record's tags: at most 16 texts of 1 to 64 characters.
pub fn tags() -> Schema {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_TAG_CHARS)),
        )
        .max_items(Some(MAX_TAGS))
        .into()
}

/// A record's fields: 1 to 256 names (1 to 64 of `[A-Za-z0-9_.-]`), each to any JSON value.
pub fn record_fields() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .min_properties(Some(1))
        .max_properties(Some(MAX_FIELDS))
        .property_names(Some(name()))
        .additional_properties(Some(AdditionalProperties::FreeForm(true)))
        .description(Some("Field name → any JSON value"))
        .into()
}

/// A request's purpose: 1 to 1,024 characters, not blank.
pub fn purpose() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_PURPOSE_CHARS))
        .pattern(Some(NOT_BLANK_PATTERN))
        .into()
}

/// An optional reason: at most 1,024 characters, or null.
pub fn reason_or_null() -> Schema {
    or_null(
        ObjectBuilder::new().max_length(Some(MAX_REASON_CHARS)),
        Type::String,
    )
}

/// A required reason: 1 to 1,024 characters, not blank.
pub fn required_reason() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_REASON_CHARS))
        .pattern(Some(NOT_BLANK_PATTERN))
        .into()
}

fn integer(minimum: u64, maximum: u64) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(minimum as f64))
        .maximum(Some(maximum as f64))
}

/// A governed ttl (`max_request_ttl`, `max_proposal_ttl`): 1 to 10,000,000 blocks, or null.
pub fn governed_ttl_or_null() -> Schema {
    or_null(
        integer(1, custodia_protocol::genesis::MAX_REQUEST_TTL_BOUND),
        Type::Integer,
    )
}

/// `governance_percent`: 0 to 99, or null.
pub fn percent_or_null() -> Schema {
    or_null(integer(0, 99), Type::Integer)
}

/// `true`, the only value the field takes.
pub fn always_true() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([true]))
        .into()
}

/// A page's size: 1 to 1,000 (default 100).
pub fn limit() -> Schema {
    integer(1, MAX_LIMIT).into()
}

/// A wait's timeout in seconds: 0 to 600 (default 30).
pub fn timeout() -> Schema {
    integer(0, MAX_TIMEOUT_SECS).into()
}

/// A request's ttl in blocks, or null (the chain's `max_request_ttl`). The document raises
/// the minimum-only schema to the chain's maximum when it is served.
pub fn ttl_or_null() -> Schema {
    or_null(
        ObjectBuilder::new()
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(1.0)),
        Type::Integer,
    )
}
