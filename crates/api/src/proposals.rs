//! Governance (DESIGN §4.10): proposals to add or remove a member or change parameters, and the
//! organisations' votes on them.

use crate::{chain::Receipt, text::ProposalStatus};
use custodia_protocol::ProposalId;
use serde::{Deserialize, Serialize};

/// A new member, as its `org.pub.toml` describes it (its role is `member`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// Its name.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::org_name))]
    pub name: String,
    /// Its Ed25519 identity key (64 hex digits).
    pub identity_key: String,
    /// Its X25519 encryption key (64 hex digits).
    pub encryption_key: String,
    /// Its p2p address `IP:PORT`.
    pub p2p: String,
    /// Its REST API address `IP:PORT`.
    pub api: String,
}

/// What a proposal changes: exactly one of the three.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ProposedChange {
    /// Admit a new member.
    AddMember(NewMember),
    /// Remove a member, by name.
    RemoveMember {
        /// The member's name.
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::org_name))]
        org: String,
    },
    /// Set parameters (at least one).
    ChangeParams(ParamValues),
}

/// The governed parameters a `change_params` proposal sets (DESIGN §5.4); unset ones stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ParamValues {
    /// Longest a request may stay open, in blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::governed_ttl_or_null))]
    pub max_request_ttl: Option<u64>,
    /// Longest a proposal may stay open, in blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::governed_ttl_or_null))]
    pub max_proposal_ttl: Option<u64>,
    /// The percentage of the members a proposal needs more than.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::percent_or_null))]
    pub governance_percent: Option<u64>,
}

impl ParamValues {
    /// The values set, by parameter name.
    pub fn set(&self) -> Vec<(&'static str, u64)> {
        [
            ("max_request_ttl", self.max_request_ttl),
            ("max_proposal_ttl", self.max_proposal_ttl),
            ("governance_percent", self.governance_percent),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect()
    }
}

/// Body of `POST /v1/proposals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewProposal {
    /// What it changes.
    pub change: ProposedChange,
    /// Blocks it stays open for votes (default: the chain's `max_proposal_ttl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::ttl_or_null))]
    pub ttl: Option<u64>,
}

/// The answer of `POST /v1/proposals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposalTx {
    /// The proposal.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::proposal_id))]
    pub proposal_id: ProposalId,
    /// The tx that carries the write (hex).
    pub tx_id: String,
    /// Present when the write waited for finalization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
}

/// One organisation's vote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposalVote {
    /// The voter (name).
    pub org: String,
    /// For or against.
    pub approve: bool,
    /// Why.
    pub reason: String,
    /// Height of the vote.
    pub height: u64,
}

/// A proposal and its votes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposalView {
    /// Its id.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::proposal_id))]
    pub proposal_id: ProposalId,
    /// Who proposed it (name).
    pub proposer: String,
    /// `add_member`, `remove_member` or `change_params`.
    pub kind: String,
    /// The change in words.
    pub description: String,
    /// The organisation a removal names or an enacted addition created (name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Its ttl, in blocks.
    pub ttl: u64,
    /// Height of the proposal.
    pub created_height: u64,
    /// It expires at the end of this block unless decided.
    pub expires_height: u64,
    /// Where it stands.
    pub status: ProposalStatus,
    /// Height of its last status change.
    pub status_height: u64,
    /// Once enacted: the height its change is in effect from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_height: Option<u64>,
    /// Every vote, the proposer's included.
    pub votes: Vec<ProposalVote>,
}

/// `GET /v1/proposals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposalPage {
    /// The proposals, oldest first.
    pub proposals: Vec<ProposalView>,
}

/// The query of `GET /v1/proposals`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ProposalFilter {
    /// Only proposals in this status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ProposalStatus>,
}

/// The path of the endpoints about one proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Path))]
pub struct ProposalPath {
    /// The proposal (`prop_` and 32 hex digits).
    #[cfg_attr(feature = "openapi", param(schema_with = crate::schema::proposal_id))]
    pub proposal_id: String,
}
