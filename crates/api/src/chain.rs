//! The chain as a node sees it: liveness, status, the consortium, finalized blocks, receipts,
//! and the answers of `POST /v1/txs`.

use crate::text::Role;
use serde::{Deserialize, Serialize};

/// `GET /healthz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// Always true.
    pub ok: bool,
}

/// `GET /v1/status`: the node's chain, organisation, head, peers and mempool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Status {
    /// The chain digest (genesis hash, hex).
    pub chain: String,
    /// The chain's human name.
    pub chain_id: String,
    /// This node's organisation.
    pub org: String,
    /// Its role.
    pub role: Role,
    /// Height of the last applied block (0 before any).
    pub height: u64,
    /// The state commitment after that block (hex).
    pub state_commitment: String,
    /// The highest block whose state commitment this node holds a certificate of (0 before
    /// any): `GET /v1/certificates/{height}` serves it.
    pub certified_height: u64,
    /// Connected peers.
    pub peers: u64,
    /// The node's mempool.
    pub mempool: MempoolStatus,
    /// The consensus epoch the node is in: the epoch of the next block to finalize.
    pub epoch: u64,
    /// The organisations that validate that epoch, by name, in seat order.
    pub validators: Vec<String>,
    /// Whether this node's organisation is one of them (votes in that epoch).
    pub validator: bool,
}

/// What waits in a node's mempool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MempoolStatus {
    /// Txs held.
    pub txs: u64,
    /// Their encoded bytes.
    pub bytes: u64,
}

/// The outcome of one tx in a finalized block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Receipt {
    /// The tx id (hex).
    pub tx_id: String,
    /// Height of the block that holds it.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
    /// The signer's identity key (hex).
    pub signer: String,
    /// The body's name (`submit_record`, `request_share`, `decide`, …).
    #[cfg_attr(feature = "openapi", schema(example = "submit_record"))]
    pub body: String,
    /// `ok` or the failure code (DESIGN §4.7).
    #[cfg_attr(feature = "openapi", schema(example = "ok"))]
    pub code: String,
    /// Empty on success; what went wrong otherwise.
    pub message: String,
}

impl Receipt {
    /// Whether the tx applied.
    pub fn is_ok(&self) -> bool {
        self.code == "ok"
    }
}

/// `GET /v1/receipts/{tx_id}`: where a tx stands (200 `applied`, 202 `pending`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TxStatus {
    /// It waits in the node's mempool.
    Pending {
        /// The tx id (hex).
        tx_id: String,
    },
    /// It is in a finalized block; the receipt says whether it succeeded.
    Applied(Receipt),
}

/// `GET /v1/blocks/{height}`: a finalized block's header and its receipts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockView {
    /// Height.
    pub height: u64,
    /// Digest (hex).
    pub digest: String,
    /// Parent digest (hex).
    pub parent: String,
    /// Proposer's timestamp (ms since the Unix epoch).
    pub timestamp_ms: u64,
    /// The state commitment after this block (hex).
    pub state_commitment: String,
    /// The highest block whose state commitment this node holds a certificate of: once it is
    /// at least `height`, a proof against that certified commitment covers this block's
    /// receipts and events.
    pub certified_height: u64,
    /// One receipt per tx, in block order.
    pub txs: Vec<Receipt>,
}

/// The path of `GET /v1/blocks/{height}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Path))]
pub struct HeightPath {
    /// Block height (blocks start at 1).
    pub height: u64,
}

/// The path of `GET /v1/receipts/{tx_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Path))]
pub struct TxPath {
    /// The transaction id (64 hex digits).
    #[cfg_attr(feature = "openapi", param(schema_with = crate::schema::tx_id))]
    pub tx_id: String,
}

/// `POST /v1/txs` with one tx: it is in the mempool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TxAccepted {
    /// The tx id (hex).
    pub tx_id: String,
}

/// `POST /v1/txs` with a batch: which txs the mempool took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchAccepted {
    /// Ids (hex) of the txs taken.
    pub accepted: Vec<String>,
    /// The txs refused, by their position in the batch.
    pub rejected: Vec<BatchRejection>,
}

/// A tx of a batch the mempool refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchRejection {
    /// Its position in the batch.
    pub index: u64,
    /// The refusal's code.
    pub code: String,
    /// What is wrong.
    pub message: String,
}

/// The answer of `POST /v1/txs`: one tx's, or a batch's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum TxsAccepted {
    /// One tx (`application/octet-stream`).
    One(TxAccepted),
    /// A batch (`application/vnd.custodia.tx-batch`).
    Batch(BatchAccepted),
}
