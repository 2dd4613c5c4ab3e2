//! Inclusion proofs of the history (DESIGN §5.7): an event of the audit trail or a tx's receipt,
//! as the leaf the chain wrote, with its proof against the state commitment of a block.

use crate::{ProposalId, Receipt, RecordId, RequestId};
use serde::{Deserialize, Serialize};

/// A leaf's proof against the state commitment `C_h` of block `height`: check the proof against
/// `history_root`, then that `C_h` is computed from `height`, `block` and `history_root`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryProof {
    /// The leaf's location in the history (0-based, chain order).
    pub location: u64,
    /// The MMR inclusion proof (hex of its codec bytes: leaf count, inactive peaks, digests).
    pub proof: String,
    /// The block whose commitment the proof is checked against.
    pub height: u64,
    /// That block's digest (hex).
    pub block: String,
    /// The history's root after that block (hex).
    pub history_root: String,
    /// The state commitment after that block (hex).
    pub state_commitment: String,
}

/// An event exactly as its history leaf holds it: organisations by their stable id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProvenEvent {
    /// Its position in the audit trail.
    pub seq: u64,
    /// Block height.
    pub height: u64,
    /// Position of the tx in its block (none for end-of-block effects).
    pub tx_index: Option<u32>,
    /// The tx (hex; none for end-of-block effects).
    pub tx_id: Option<String>,
    /// What happened (`record_submitted`, `request_approved`, …).
    pub kind: String,
    /// Who acted: the organisation's id.
    pub actor: Option<u32>,
    /// Whom it concerns: the organisation's id.
    pub subject: Option<u32>,
    /// The record concerned.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::record_id_or_null))]
    pub record_id: Option<RecordId>,
    /// The request concerned.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::request_id_or_null))]
    pub request_id: Option<RequestId>,
    /// A reason or a short description.
    pub detail: String,
    /// The governance proposal concerned.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::proposal_id_or_null))]
    pub proposal_id: Option<ProposalId>,
}

/// `GET /v1/audit/{seq}/proof`: an event and its proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventProof {
    /// The event.
    pub event: ProvenEvent,
    /// Its proof.
    pub proof: HistoryProof,
}

/// `GET /v1/receipts/{tx_id}/proof`: a tx's receipt and its proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptProof {
    /// The receipt.
    pub receipt: Receipt,
    /// Its proof.
    pub proof: HistoryProof,
}

/// The path of `GET /v1/audit/{seq}/proof`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Path))]
pub struct SeqPath {
    /// The entry's `seq` in the audit trail (from 1).
    pub seq: u64,
}

/// The query of the proof endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ProofQuery {
    /// The block whose commitment to prove against: at or after the leaf's block, at most the
    /// head (the head when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<u64>,
}
