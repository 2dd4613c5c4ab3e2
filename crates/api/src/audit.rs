//! The audit trail (DESIGN §1.1 step 7): who submitted, requested, approved, rejected and
//! received what, and when, in pages.

use crate::{ProposalId, RecordId, RequestId};
use serde::{Deserialize, Serialize};

/// One entry of the audit trail (a chain event, organisations by name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Its position in the whole trail: increasing in chain order, and the cursor of the next
    /// page (`after`).
    pub seq: u64,
    /// Block height.
    pub height: u64,
    /// The block proposer's timestamp (ms since the Unix epoch).
    pub timestamp_ms: u64,
    /// Position of the tx in its block (none for end-of-block effects such as expiry).
    pub tx_index: Option<u32>,
    /// The tx (hex; none for end-of-block effects).
    pub tx_id: Option<String>,
    /// What happened (`record_submitted`, `request_approved`, …; DESIGN §4.9).
    #[cfg_attr(feature = "openapi", schema(example = "record_submitted"))]
    pub kind: String,
    /// Who acted.
    pub actor: Option<String>,
    /// Whom it concerns.
    pub subject: Option<String>,
    /// The record concerned.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::record_id_or_null))]
    pub record_id: Option<RecordId>,
    /// The request concerned.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::request_id_or_null))]
    pub request_id: Option<RequestId>,
    /// A reason or a short description.
    pub detail: String,
    /// The governance proposal concerned (`prop_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::proposal_id_or_null))]
    pub proposal_id: Option<ProposalId>,
}

/// `GET /v1/audit`: one page of the trail, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    /// The entries.
    pub entries: Vec<AuditEntry>,
    /// When the page is full: the `after` of the next page (the last entry's `seq`).
    pub next: Option<u64>,
}

/// The query of `GET /v1/audit`: the entries matching every criterion given (all when none),
/// after the cursor `after`, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct AuditFilter {
    /// Entries about this record, including the requests for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(schema_with = crate::schema::record_id))]
    pub record: Option<RecordId>,
    /// Entries about this request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(schema_with = crate::schema::request_id))]
    pub request: Option<RequestId>,
    /// Entries where this organisation (name) acted or is concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(schema_with = crate::schema::org_name))]
    pub org: Option<String>,
    /// Entries of blocks at or above this height.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_height: Option<u64>,
    /// Entries of blocks at or below this height.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_height: Option<u64>,
    /// Entries after this one (`seq`; the previous page's `next`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// At most this many (default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(schema_with = crate::schema::limit))]
    pub limit: Option<u64>,
}
