//! The API's request bodies and answers (the REST contract), as typed Rust values.
//!
//! Answers derive `Deserialize` (what the client reads) and `Serialize` (so the CLI can print
//! them with `--json` in the API's own shape). Unknown answer fields are ignored, so a newer
//! node stays readable; request bodies carry only the fields the contract names, because the
//! API refuses unknown ones. Hashes, digests and keys are lowercase hex strings; organisations
//! appear by name.

use custodia_protocol::{RecordId, RequestId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::{collections::BTreeMap, fmt, str::FromStr};

/// Defines a lowercase string enum with `Display`, `FromStr` and serde in its snake_case form.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in the contract's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as the API spells it.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, String> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "{text:?} is not a {}: use one of {}",
                        $what,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

text_enum!(
    /// An organisation's role in the consortium.
    Role, "role" {
        /// The supervisory organisation: reads every record, approves and delivers.
        Supervisor = "supervisor",
        /// A member: provides records and requests others'.
        Member = "member",
    }
);

text_enum!(
    /// Where a record stands.
    RecordStatus, "record status" {
        /// On the chain, awaiting the supervisor's verdict.
        Submitted = "submitted",
        /// The supervisor accepted it: it can be shared.
        Accepted = "accepted",
        /// The supervisor rejected it (see its reason).
        Rejected = "rejected",
    }
);

text_enum!(
    /// Where a share request stands.
    RequestStatus, "request status" {
        /// Awaiting decisions.
        Pending = "pending",
        /// Every required party approved; awaiting the supervisor's delivery.
        Approved = "approved",
        /// A party rejected it.
        Rejected = "rejected",
        /// The supervisor delivered it to the requester.
        Delivered = "delivered",
        /// It expired undecided.
        Expired = "expired",
        /// The requester cancelled it.
        Cancelled = "cancelled",
    }
);

text_enum!(
    /// One required party's decision on a request.
    DecisionState, "decision" {
        /// Not decided yet.
        Pending = "pending",
        /// Approved.
        Approved = "approved",
        /// Rejected.
        Rejected = "rejected",
    }
);

/// `GET /v1/status`: the node's chain, organisation, head, peers and mempool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The chain digest (genesis hash).
    pub chain: String,
    /// The chain's human name.
    pub chain_id: String,
    /// This node's organisation.
    pub org: String,
    /// Its role.
    pub role: Role,
    /// Height of the last applied block (0 before any).
    pub height: u64,
    /// The state commitment after that block.
    pub state_commitment: String,
    /// Connected peers.
    pub peers: u64,
    /// The node's mempool.
    pub mempool: MempoolStatus,
}

/// What waits in a node's mempool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MempoolStatus {
    /// Txs held.
    pub txs: u64,
    /// Their encoded bytes.
    pub bytes: u64,
}

/// One organisation of the consortium (`GET /v1/orgs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Ed25519 identity key (hex).
    pub identity_key: String,
    /// X25519 encryption key (hex).
    pub encryption_key: String,
    /// p2p address.
    pub p2p: String,
    /// API address.
    pub api: String,
    /// Whether it may act (the supervisor can suspend members).
    pub active: bool,
}

/// `GET /v1/orgs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Orgs {
    /// Every organisation of the genesis.
    pub orgs: Vec<Org>,
}

/// The outcome of one tx in a finalized block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The tx id (hex).
    pub tx_id: String,
    /// Height of the block that holds it.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
    /// The signer's identity key (hex).
    pub signer: String,
    /// The body's name.
    pub body: String,
    /// `ok` or the failure code.
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

/// `GET /v1/receipts/{tx_id}`: where a tx stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// A record to submit: the node seals its fields to the supervisor, commits to them and signs.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NewRecord {
    /// The record's kind (e.g. `claim`).
    pub kind: String,
    /// Free tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Field name → any JSON value.
    pub fields: BTreeMap<String, Value>,
}

/// A write about a record: its id and tx, and the receipt when the write waited for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordTx {
    /// The record.
    pub record_id: RecordId,
    /// The tx that carries the write (hex).
    pub tx_id: String,
    /// Present when the write waited for finalization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
}

/// A write about a request (create, approve, reject, cancel): its id and tx, and the receipt
/// when the write waited for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestTx {
    /// The request.
    pub request_id: RequestId,
    /// The tx that carries the write (hex).
    pub tx_id: String,
    /// Present when the write waited for finalization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
}

/// A record's metadata (never its values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordView {
    /// Its id.
    pub record_id: RecordId,
    /// The organisation that submitted it.
    pub provider: String,
    /// Its kind.
    pub kind: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its field names.
    pub fields: Vec<String>,
    /// The provider's commitment to the fields (hex).
    pub commitment: String,
    /// Size of the sealed payload.
    pub sealed_bytes: u64,
    /// Where it stands.
    pub status: RecordStatus,
    /// The supervisor's reason when rejected.
    pub reason: Option<String>,
    /// Height of the block that holds the submission.
    pub submitted_height: u64,
    /// Height of the supervisor's verdict.
    pub attested_height: Option<u64>,
}

/// `GET /v1/records`: one page of records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordPage {
    /// The records.
    pub records: Vec<RecordView>,
    /// Position of the first.
    pub offset: u64,
    /// Most records per page.
    pub limit: u64,
}

/// Which records `GET /v1/records` lists (unset = any).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordFilter {
    /// Submitted by this organisation.
    pub provider: Option<String>,
    /// Of this kind.
    pub kind: Option<String>,
    /// In this status.
    pub status: Option<RecordStatus>,
    /// Skip this many.
    pub offset: Option<u64>,
    /// At most this many (the API's default is 100, its maximum 1000).
    pub limit: Option<u64>,
}

/// A share request to create.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NewRequest {
    /// The records asked for.
    pub record_ids: Vec<RecordId>,
    /// The fields asked for (empty = all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// Why (shown to the approvers).
    pub purpose: String,
    /// Blocks the request stays open (the chain's maximum when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
}

/// A share request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestView {
    /// Its id.
    pub request_id: RequestId,
    /// The organisation that asked.
    pub requester: String,
    /// The records asked for.
    pub record_ids: Vec<RecordId>,
    /// The fields asked for (empty = all).
    pub fields: Vec<String>,
    /// Why.
    pub purpose: String,
    /// Blocks it stays open.
    pub ttl: u64,
    /// Height of the block that created it.
    pub created_height: u64,
    /// Last height at which it can be decided.
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

/// The supervisor's delivery of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    /// Height of the block that holds it.
    pub height: u64,
    /// Its tx (hex).
    pub tx_id: String,
    /// Size of the sealed bundle.
    pub sealed_bytes: u64,
}

/// `GET /v1/requests/{id}`: a request with its decisions and delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestDetail {
    /// The request.
    #[serde(flatten)]
    pub request: RequestView,
    /// One per required party (the supervisor and every provider).
    pub decisions: Vec<Decision>,
    /// The delivery, once made.
    pub delivery: Option<DeliveryView>,
}

/// `GET /v1/requests`: one page of requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestPage {
    /// The requests.
    pub requests: Vec<RequestView>,
    /// Position of the first.
    pub offset: u64,
    /// Most requests per page.
    pub limit: u64,
}

/// Which requests `GET /v1/requests` lists (unset = any).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestFilter {
    /// In this status.
    pub status: Option<RequestStatus>,
    /// Concerning this organisation (as requester or required party).
    pub party: Option<String>,
    /// Skip this many.
    pub offset: Option<u64>,
    /// At most this many (the API's default is 100, its maximum 1000).
    pub limit: Option<u64>,
}

/// `GET /v1/requests/{id}/fetch`: the delivered records, opened and verified by the requester's
/// node against the providers' commitments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fetched {
    /// The request.
    pub request_id: RequestId,
    /// One per requested record.
    pub records: Vec<FetchedRecord>,
}

/// One delivered record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FetchedRecord {
    /// Its id.
    pub record_id: RecordId,
    /// Who submitted it.
    pub provider: String,
    /// Its kind.
    pub kind: String,
    /// The disclosed fields.
    pub fields: BTreeMap<String, Value>,
    /// Whether every disclosed field matched the provider's commitment.
    pub verified: bool,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Block height.
    pub height: u64,
    /// The block proposer's timestamp.
    pub timestamp_ms: u64,
    /// Position of the tx in its block (none for end-of-block effects such as expiry).
    pub tx_index: Option<u32>,
    /// The tx (hex; none for end-of-block effects).
    pub tx_id: Option<String>,
    /// What happened (`record_submitted`, `request_approved`, …).
    pub kind: String,
    /// Who acted.
    pub actor: Option<String>,
    /// Whom it concerns.
    pub subject: Option<String>,
    /// The record concerned.
    pub record_id: Option<RecordId>,
    /// The request concerned.
    pub request_id: Option<RequestId>,
    /// A reason or a short description.
    pub detail: String,
}

/// `GET /v1/audit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditTrail {
    /// Oldest first.
    pub entries: Vec<AuditEntry>,
}

/// Which audit entries `GET /v1/audit` returns (unset = all).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditFilter {
    /// Concerning this record.
    pub record: Option<RecordId>,
    /// Concerning this request.
    pub request: Option<RequestId>,
    /// Concerning this organisation.
    pub org: Option<String>,
}

/// `GET /v1/blocks/{height}`: a finalized block's header and its receipts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockView {
    /// Height.
    pub height: u64,
    /// Digest (hex).
    pub digest: String,
    /// Parent digest (hex).
    pub parent: String,
    /// Proposer's timestamp.
    pub timestamp_ms: u64,
    /// The state commitment after this block (hex).
    pub state_commitment: String,
    /// One receipt per tx, in block order.
    pub txs: Vec<Receipt>,
}

/// `POST /v1/txs` with one tx: it is in the mempool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxAccepted {
    /// The tx id (hex).
    pub tx_id: String,
}

/// `POST /v1/txs` with a batch: which txs the mempool took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchAccepted {
    /// Ids (hex) of the txs taken.
    pub accepted: Vec<String>,
    /// The txs refused, by their position in the batch.
    pub rejected: Vec<BatchRejection>,
}

/// A tx of a batch the mempool refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRejection {
    /// Its position in the batch.
    pub index: u64,
    /// The refusal's code.
    pub code: String,
    /// What is wrong.
    pub message: String,
}

/// An applied block as the event stream announces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockEvent {
    /// Height.
    pub height: u64,
    /// Digest (hex).
    pub digest: String,
    /// Proposer's timestamp.
    pub timestamp_ms: u64,
    /// The state commitment after it (hex).
    pub state_commitment: String,
    /// The receipts of the block's txs, in block order.
    pub txs: Vec<Receipt>,
}

/// The node dropped events because this subscriber read too slowly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaggedEvent {
    /// How many blocks' events were missed.
    pub missed: u64,
    /// What to do about it (read the missed blocks with `GET /v1/blocks/{height}`).
    pub message: String,
}

/// Something a block changed, as the event stream announces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainEvent {
    /// Block height.
    pub height: u64,
    /// The tx that caused it (none for end-of-block effects such as expiry).
    pub tx_id: Option<String>,
    /// What happened (`record_submitted`, `request_approved`, …).
    pub kind: String,
    /// Who acted.
    pub actor: Option<String>,
    /// Whom it concerns.
    pub subject: Option<String>,
    /// The record concerned.
    pub record_id: Option<RecordId>,
    /// The request concerned.
    pub request_id: Option<RequestId>,
    /// A reason or a short description.
    pub detail: String,
}

/// One item of `GET /v1/events`.
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
