//! custodia-api: the wire types of a node's REST API (DESIGN §7.7–§7.10), defined once.
//!
//! The server (custodia-node) takes and returns these types and derives its OpenAPI document
//! from them (feature `openapi`); the client (custodia-client) sends and reads the same types.
//! A change to a shape is therefore a compile error on both sides.
//!
//! - Request bodies and query strings refuse unknown fields (`deny_unknown_fields`): the
//!   server is strict. Answers do not: a client reads a newer node's answers.
//! - Hashes, digests and keys are lowercase hex strings; organisations appear by name; record
//!   and request ids are [`RecordId`] / [`RequestId`] (`rec_…` / `req_…`).
//! - Every constraint the server enforces on its own (patterns, lengths, ranges, item counts)
//!   is declared on the field, in [`limits`] and the `schema` attributes, so the document
//!   says exactly what the server accepts.

#![warn(missing_docs, unreachable_pub)]

mod audit;
mod certificates;
mod chain;
mod error;
pub mod events;
mod integer;
pub mod limits;
mod orgs;
mod proofs;
mod proposals;
mod records;
mod requests;
#[cfg(feature = "openapi")]
pub mod schema;
mod text;
mod verify;

pub use audit::{AuditEntry, AuditFilter, AuditPage};
pub use certificates::CertificateView;
pub use chain::{
    BatchAccepted, BatchRejection, BlockView, Health, HeightPath, MempoolStatus, Receipt, Status,
    TxAccepted, TxPath, TxStatus, TxsAccepted,
};
pub use custodia_protocol::{ProposalId, RecordId, RequestId};
pub use error::{ErrorBody, ErrorDetail};
pub use events::{BlockEvent, ChainEvent, Event, LaggedEvent};
pub use orgs::{
    IdentityRotation, IdentityRotationTx, KeyRotation, KeyRotationTx, Org, OrgKey, OrgPath, OrgTx,
    Orgs, Reinstatement, Suspension,
};
pub use proofs::{EventProof, HistoryProof, ProofQuery, ProvenEvent, ReceiptProof, SeqPath};
pub use proposals::{
    NewMember, NewProposal, ParamValues, ProposalFilter, ProposalPage, ProposalPath, ProposalTx,
    ProposalView, ProposalVote, ProposedChange,
};
pub use records::{Fields, NewRecord, RecordFilter, RecordPage, RecordPath, RecordTx, RecordView};
pub use requests::{
    Approval, Decision, DeliveryView, Fetched, FetchedRecord, NewRequest, Refusal, RequestDetail,
    RequestFilter, RequestPage, RequestPath, RequestTx, RequestView, WaitQuery, Withdrawal,
};
pub use text::{DecisionState, Membership, ProposalStatus, RecordStatus, RequestStatus, Role};
pub use verify::{
    ProofError, Proven, verify_event, verify_event_answer, verify_receipt, verify_receipt_answer,
};
