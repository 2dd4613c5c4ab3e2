//! Share requests (DESIGN §1.1 steps 3–6): creating one, deciding, cancelling, what listing
//! shows, the delivery, and the opened fields a fetch answers with.

use crate::{
    Receipt, RecordId, RequestId,
    text::{DecisionState, RequestStatus},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Body of `POST /v1/requests`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    /// The records asked for: 1 to 256 distinct ids of accepted records of other members.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::record_ids))]
    pub record_ids: Vec<RecordId>,
    /// The fields asked for: at most 256 distinct names; absent or empty = every field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::field_names))]
    pub fields: Vec<String>,
    /// Why the data is needed (shown to the approvers): 1 to 1,024 characters, not blank.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::purpose))]
    pub purpose: String,
    /// Blocks the request stays open for decisions: 1 to the chain's `max_request_ttl`, which
    /// is also the default.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::integer::optional"
    )]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::ttl_or_null))]
    pub ttl: Option<u64>,
}

/// The answer of a write about a request (create, approve, reject, cancel): its id and tx, and
/// with `wait=true` the receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestTx {
    /// The request.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::request_id))]
    pub request_id: RequestId,
    /// The tx that carries the write (hex).
    pub tx_id: String,
    /// Present when the write waited for finalization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
}

/// Body of `POST /v1/requests/{request_id}/approve`, which may also be omitted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// Why (optional, at most 1,024 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::reason_or_null))]
    pub reason: Option<String>,
}

/// Body of `POST /v1/requests/{request_id}/reject`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Refusal {
    /// Why: 1 to 1,024 characters, not blank.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::required_reason))]
    pub reason: String,
}

/// Body of `POST /v1/requests/{request_id}/cancel`: `{}`, or no body at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Withdrawal {}

/// A share request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestView {
    /// Its id.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::request_id))]
    pub request_id: RequestId,
    /// The organisation that asked.
    pub requester: String,
    /// The records asked for, in order.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::record_ids))]
    pub record_ids: Vec<RecordId>,
    /// The fields asked for (empty = all).
    pub fields: Vec<String>,
    /// Why.
    pub purpose: String,
    /// Blocks it stays open for decisions.
    pub ttl: u64,
    /// Height of the block that created it.
    pub created_height: u64,
    /// Height at whose end it expires while still pending.
    pub expires_height: u64,
    /// Where it stands.
    pub status: RequestStatus,
    /// Height at which it reached that status.
    pub status_height: u64,
    /// The rejecting party's reason.
    pub reason: Option<String>,
}

/// One required party's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decision {
    /// The party.
    pub org: String,
    /// What it decided.
    pub decision: DecisionState,
    /// Its reason.
    pub reason: Option<String>,
    /// Height of its decision.
    pub height: Option<u64>,
}

/// The supervisor's delivery of a request (sealed to the requester: only its node opens it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryView {
    /// Height of the block that holds it.
    pub height: u64,
    /// Its tx (hex).
    pub tx_id: String,
    /// Size of the sealed bundle, in bytes.
    pub sealed_bytes: u64,
}

/// `GET /v1/requests/{request_id}`: a request with its decisions and delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestDetail {
    /// The request.
    #[serde(flatten)]
    pub request: RequestView,
    /// One per required party (the supervisor and every provider).
    pub decisions: Vec<Decision>,
    /// The delivery, once made.
    pub delivery: Option<DeliveryView>,
}

/// `GET /v1/requests`: one page of requests, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestPage {
    /// The requests.
    pub requests: Vec<RequestView>,
    /// Position of the first.
    pub offset: u64,
    /// Most requests per page.
    pub limit: u64,
}

/// The query of `GET /v1/requests`: which requests (unset = any) and which page.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct RequestFilter {
    /// Only requests in this status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<RequestStatus>,
    /// Only requests this organisation (name) made or must decide on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(schema_with = crate::schema::org_name))]
    pub party: Option<String>,
    /// Skip this many (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// At most this many (default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(schema_with = crate::schema::limit))]
    pub limit: Option<u64>,
}

/// The path of the endpoints about one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Path))]
pub struct RequestPath {
    /// The request (`req_` and 32 hex digits).
    #[cfg_attr(feature = "openapi", param(schema_with = crate::schema::request_id))]
    pub request_id: String,
}

/// `?wait=true&timeout=SECONDS` of the write endpoints and of fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct WaitQuery {
    /// Wait until the tx is finalized (writes) or the request is delivered (fetch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<bool>,
    /// Longest wait in seconds (default 30, at most 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(schema_with = crate::schema::timeout))]
    pub timeout: Option<u64>,
}

/// `GET /v1/requests/{request_id}/fetch`: the delivered records, opened and verified by the
/// requester's node against the providers' commitments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Fetched {
    /// The request.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::request_id))]
    pub request_id: RequestId,
    /// One per requested record, in the request's order.
    pub records: Vec<FetchedRecord>,
}

/// One delivered record, opened and verified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FetchedRecord {
    /// Its id.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::record_id))]
    pub record_id: RecordId,
    /// Who submitted it.
    pub provider: String,
    /// Its kind.
    pub kind: String,
    /// The disclosed fields: name → value.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub fields: BTreeMap<String, Value>,
    /// Always true: every disclosed field matched the provider's commitment.
    pub verified: bool,
}
