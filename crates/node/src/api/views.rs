//! The JSON answers of the API: records, requests, decisions, receipts and audit entries as
//! clients see them — organisations by name, hashes and keys as lowercase hex, ids as
//! `rec_…`/`req_…`. Record views carry field names, never field values.

use super::params::Directory;
use custodia_protocol::hash::to_hex;
use custodia_state::{AuditEntry, DecisionRow, DeliveryRow, Receipt, RecordRow, RequestRow};
use serde::Serialize;
use utoipa::ToSchema;

/// A record's metadata: what the chain says about it, never its values.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RecordView {
    /// `rec_<32 hex>`.
    pub record_id: String,
    /// The provider's organisation name.
    pub provider: String,
    /// The record's kind.
    pub kind: String,
    /// Free tags.
    pub tags: Vec<String>,
    /// The field names (what a requester may ask for).
    pub fields: Vec<String>,
    /// The provider's commitment to the fields (hex).
    pub commitment: String,
    /// Size of the sealed payload, in bytes.
    pub sealed_bytes: u64,
    /// `submitted`, `accepted` or `rejected`.
    #[schema(example = "accepted")]
    pub status: String,
    /// The supervisor's reason, if it gave one.
    pub reason: Option<String>,
    /// Height of the `SubmitRecord`.
    pub submitted_height: u64,
    /// Height of the supervisor's verdict.
    pub attested_height: Option<u64>,
}

impl RecordView {
    /// The view of `row`.
    pub(crate) fn of(row: RecordRow, names: &Directory) -> Self {
        Self {
            record_id: row.record_id.to_string(),
            provider: names.name(&row.provider),
            kind: row.kind,
            tags: row.tags,
            fields: row.fields,
            commitment: to_hex(&row.commitment),
            sealed_bytes: row.sealed_bytes,
            status: row.status.as_str().to_string(),
            reason: row.reason,
            submitted_height: row.submitted_height,
            attested_height: row.attested_height,
        }
    }
}

/// A share request.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RequestView {
    /// `req_<32 hex>`.
    pub request_id: String,
    /// The requester's organisation name.
    pub requester: String,
    /// The records asked for, in order.
    pub record_ids: Vec<String>,
    /// The fields asked for (empty = all).
    pub fields: Vec<String>,
    /// Why the requester needs the data.
    pub purpose: String,
    /// How many blocks the request stays open for decisions.
    pub ttl: u64,
    /// Height of the `RequestShare`.
    pub created_height: u64,
    /// Height at whose end a still-pending request expires.
    pub expires_height: u64,
    /// `pending`, `approved`, `rejected`, `delivered`, `expired` or `cancelled`.
    #[schema(example = "pending")]
    pub status: String,
    /// Height of the last status change.
    pub status_height: u64,
    /// The rejection reason.
    pub reason: Option<String>,
}

impl RequestView {
    /// The view of `row`.
    pub(crate) fn of(row: RequestRow, names: &Directory) -> Self {
        Self {
            request_id: row.request_id.to_string(),
            requester: names.name(&row.requester),
            record_ids: row.record_ids.iter().map(ToString::to_string).collect(),
            fields: row.fields,
            purpose: row.purpose,
            ttl: row.ttl,
            created_height: row.created_height,
            expires_height: row.expires_height,
            status: row.status.as_str().to_string(),
            status_height: row.status_height,
            reason: row.reason,
        }
    }
}

/// A required approver's decision.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DecisionView {
    /// The approver's organisation name.
    pub org: String,
    /// `pending`, `approved` or `rejected`.
    #[schema(example = "approved")]
    pub decision: String,
    /// The reason given.
    pub reason: Option<String>,
    /// Height of the decision.
    pub height: Option<u64>,
}

impl DecisionView {
    /// The view of `row`.
    pub(crate) fn of(row: DecisionRow, names: &Directory) -> Self {
        let decision = match row.approved {
            None => "pending",
            Some(true) => "approved",
            Some(false) => "rejected",
        };
        Self {
            org: names.name(&row.org),
            decision: decision.to_string(),
            reason: row.reason,
            height: row.height,
        }
    }
}

/// A request's delivery (sealed to the requester: only its node can open it).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeliveryView {
    /// Height of the `Deliver`.
    pub height: u64,
    /// The `Deliver` tx id (hex).
    pub tx_id: String,
    /// Size of the sealed bundle, in bytes.
    pub sealed_bytes: u64,
}

impl DeliveryView {
    /// The view of `row`.
    pub(crate) fn of(row: &DeliveryRow) -> Self {
        Self {
            height: row.height,
            tx_id: to_hex(&row.tx_id),
            sealed_bytes: row.sealed.len() as u64,
        }
    }
}

/// A request with its decisions and delivery.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RequestDetail {
    /// The request.
    #[serde(flatten)]
    pub request: RequestView,
    /// Every required approver and its decision.
    pub decisions: Vec<DecisionView>,
    /// The delivery, once the supervisor delivered.
    pub delivery: Option<DeliveryView>,
}

/// The outcome of a tx in a finalized block.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ReceiptView {
    /// The tx id (hex).
    pub tx_id: String,
    /// Height of the block that holds it.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
    /// The signer's identity key (hex).
    pub signer: String,
    /// The body's name (`submit_record`, `request_share`, `decide`, …).
    #[schema(example = "submit_record")]
    pub body: String,
    /// `ok` or the failure code.
    #[schema(example = "ok")]
    pub code: String,
    /// Empty on success; what went wrong otherwise.
    pub message: String,
}

impl From<Receipt> for ReceiptView {
    fn from(receipt: Receipt) -> Self {
        Self {
            tx_id: to_hex(&receipt.tx_id),
            height: receipt.height,
            index: receipt.index,
            signer: hex::encode(receipt.signer.as_ref()),
            body: receipt.body,
            code: receipt.code,
            message: receipt.message,
        }
    }
}

/// One line of the audit trail (also the data of an event of `GET /v1/events`, without
/// `timestamp_ms` and `tx_index`).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditEntryView {
    /// Height of the block.
    pub height: u64,
    /// The block's timestamp (ms since the Unix epoch).
    pub timestamp_ms: u64,
    /// The tx's position in its block (none for end-of-block effects such as expiry).
    pub tx_index: Option<u32>,
    /// The tx id (hex), if a tx caused it.
    pub tx_id: Option<String>,
    /// What happened: `record_submitted`, `record_accepted`, `request_created`,
    /// `decision_approved`, `request_approved`, `request_delivered`, …
    #[schema(example = "record_submitted")]
    pub kind: String,
    /// Who acted (organisation name).
    pub actor: Option<String>,
    /// Who it concerns (organisation name).
    pub subject: Option<String>,
    /// The record concerned.
    pub record_id: Option<String>,
    /// The request concerned.
    pub request_id: Option<String>,
    /// A reason or a short description.
    pub detail: String,
}

impl From<AuditEntry> for AuditEntryView {
    fn from(entry: AuditEntry) -> Self {
        Self {
            height: entry.height,
            timestamp_ms: entry.timestamp_ms,
            tx_index: entry.tx_index,
            tx_id: entry.tx_id,
            kind: entry.kind,
            actor: entry.actor,
            subject: entry.subject,
            record_id: entry.record_id.map(|id| id.to_string()),
            request_id: entry.request_id.map(|id| id.to_string()),
            detail: entry.detail,
        }
    }
}
