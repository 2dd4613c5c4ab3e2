//! `GET /v1/events` (DESIGN §7.10): the server-sent events of each applied block, as sent.
//! Each SSE event's `data` is one line of JSON: a [`BlockEvent`] for `event: block`, a
//! [`ChainEvent`] for an event named by its kind, a [`LaggedEvent`] for `event: lagged`.

use crate::{Receipt, RecordId, RequestId};
use serde::{Deserialize, Serialize};

/// The SSE event name of a [`BlockEvent`].
pub const BLOCK: &str = "block";
/// The SSE event name of a [`LaggedEvent`].
pub const LAGGED: &str = "lagged";

/// An applied block: sent first, then its chain events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockEvent {
    /// Height.
    pub height: u64,
    /// Digest (hex).
    pub digest: String,
    /// Proposer's timestamp (ms since the Unix epoch).
    pub timestamp_ms: u64,
    /// The state commitment after it (hex).
    pub state_commitment: String,
    /// The receipts of the block's txs, in block order.
    pub txs: Vec<Receipt>,
}

/// The node dropped events because this subscriber read too slowly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LaggedEvent {
    /// How many blocks' events were missed.
    pub missed: u64,
    /// What to do about it (read the missed blocks with `GET /v1/blocks/{height}`).
    pub message: String,
}

/// Something a block changed; its SSE event name is its `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainEvent {
    /// Block height.
    pub height: u64,
    /// The tx that caused it (hex; none for end-of-block effects such as expiry).
    pub tx_id: Option<String>,
    /// What happened (`record_submitted`, `request_approved`, …; also the SSE event name).
    #[cfg_attr(feature = "openapi", schema(example = "request_approved"))]
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
    /// The governance proposal concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::proposal_id_or_null))]
    pub proposal_id: Option<crate::ProposalId>,
}

/// One item of `GET /v1/events`, as the client reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A block was applied; its chain events follow.
    Block(BlockEvent),
    /// One change of the block announced last.
    Chain(ChainEvent),
    /// The node dropped events this subscriber was too slow to read.
    Lagged(LaggedEvent),
}
