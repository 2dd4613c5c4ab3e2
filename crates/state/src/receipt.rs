//! Receipts: the outcome of every tx in a block, success or a failure with a stable code.

use custodia_protocol::{Digest, IdentityKey, hash::sha256};
use serde::Serialize;

const RECEIPTS_DOMAIN: &[u8] = b"custodia/receipts/v1";

/// Why a tx failed, or `Ok`. The codes are stable: scripts and the API rely on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    /// The tx applied.
    Ok,
    // Envelope.
    /// The tx is malformed or its signature does not verify.
    InvalidTx,
    /// The tx is for another chain.
    WrongChain,
    /// `valid_until` is outside the window at this height.
    OutsideWindow,
    /// A sealed payload is over the chain's limit.
    TooLarge,
    /// The tx was already applied.
    DuplicateTx,
    // Signer.
    /// The signer is not an organisation of the genesis.
    UnknownSigner,
    /// The signer is suspended.
    SignerSuspended,
    /// The body needs a member and the signer is the supervisor.
    NotMember,
    /// The body needs the supervisor.
    NotSupervisor,
    // Records.
    /// The record id is taken.
    RecordExists,
    /// No such record.
    RecordNotFound,
    /// The record was already attested.
    RecordNotSubmitted,
    /// Field names, kind or tags break a rule.
    InvalidRecord,
    /// A rejection needs a reason.
    ReasonRequired,
    // Requests.
    /// The request id is taken.
    RequestExists,
    /// No such request.
    RequestNotFound,
    /// Records, fields, purpose or ttl break a rule.
    InvalidRequest,
    /// A requested record is not accepted.
    RecordNotAccepted,
    /// The requester provided a requested record.
    OwnRecord,
    /// A requested field is in none of the records.
    UnknownField,
    /// The records' sealed sizes sum over `max_delivery_bytes`.
    DeliveryTooLarge,
    /// The request is not pending.
    RequestNotPending,
    /// The signer is not a required approver of the request.
    NotApprover,
    /// The signer already decided on the request.
    AlreadyDecided,
    /// The request is not approved.
    RequestNotApproved,
    /// The requester is suspended.
    RequesterSuspended,
    /// Only the requester may do this.
    NotRequester,
    /// The request is neither pending nor approved.
    RequestClosed,
    // Organisations.
    /// No such organisation.
    OrgNotFound,
    /// The supervisor cannot be suspended.
    CannotSuspendSupervisor,
    /// The organisation already has the status asked for.
    OrgStatusUnchanged,
    // Keys.
    /// The new key is one the organisation already had.
    KeyReused,
    /// A sealed payload names a key that is not its recipient's current one.
    WrongEncryptionKey,
    /// A new identity key's proof of possession does not verify.
    InvalidProof,
    /// The signer is an identity key its organisation rotated away from.
    SignerRotated,
    // Governance.
    /// The signer was removed from the consortium.
    SignerRemoved,
    /// The signer's admission is enacted but not yet in effect.
    SignerNotAdmitted,
    /// The proposal id is taken.
    ProposalExists,
    /// No such proposal.
    ProposalNotFound,
    /// The proposal is no longer open.
    ProposalClosed,
    /// The change or the ttl breaks a rule.
    InvalidProposal,
    /// Another membership change is open or not yet in effect.
    MembershipChangePending,
    /// The validators that continue would not be a quorum of the set the change makes.
    NoContinuingQuorum,
    /// The change would make more validators than `max_validators`.
    TooManyValidators,
    /// The signer already voted on the proposal.
    AlreadyVoted,
    /// The member a removal names cannot vote on it.
    OwnRemoval,
    /// The supervisor cannot be removed.
    CannotRemoveSupervisor,
    /// The name or identity key is taken by an organisation.
    OrgExists,
    /// The organisation was removed.
    OrgRemoved,
    /// A requested record's provider was removed.
    ProviderRemoved,
}

impl Code {
    /// The snake_case code.
    pub fn as_str(&self) -> &'static str {
        match self {
            Code::Ok => "ok",
            Code::InvalidTx => "invalid_tx",
            Code::WrongChain => "wrong_chain",
            Code::OutsideWindow => "outside_window",
            Code::TooLarge => "too_large",
            Code::DuplicateTx => "duplicate_tx",
            Code::UnknownSigner => "unknown_signer",
            Code::SignerSuspended => "signer_suspended",
            Code::NotMember => "not_member",
            Code::NotSupervisor => "not_supervisor",
            Code::RecordExists => "record_exists",
            Code::RecordNotFound => "record_not_found",
            Code::RecordNotSubmitted => "record_not_submitted",
            Code::InvalidRecord => "invalid_record",
            Code::ReasonRequired => "reason_required",
            Code::RequestExists => "request_exists",
            Code::RequestNotFound => "request_not_found",
            Code::InvalidRequest => "invalid_request",
            Code::RecordNotAccepted => "record_not_accepted",
            Code::OwnRecord => "own_record",
            Code::UnknownField => "unknown_field",
            Code::DeliveryTooLarge => "delivery_too_large",
            Code::RequestNotPending => "request_not_pending",
            Code::NotApprover => "not_approver",
            Code::AlreadyDecided => "already_decided",
            Code::RequestNotApproved => "request_not_approved",
            Code::RequesterSuspended => "requester_suspended",
            Code::NotRequester => "not_requester",
            Code::RequestClosed => "request_closed",
            Code::OrgNotFound => "org_not_found",
            Code::CannotSuspendSupervisor => "cannot_suspend_supervisor",
            Code::OrgStatusUnchanged => "org_status_unchanged",
            Code::KeyReused => "key_reused",
            Code::WrongEncryptionKey => "wrong_encryption_key",
            Code::InvalidProof => "invalid_proof",
            Code::SignerRotated => "signer_rotated",
            Code::SignerRemoved => "signer_removed",
            Code::SignerNotAdmitted => "signer_not_admitted",
            Code::ProposalExists => "proposal_exists",
            Code::ProposalNotFound => "proposal_not_found",
            Code::ProposalClosed => "proposal_closed",
            Code::InvalidProposal => "invalid_proposal",
            Code::MembershipChangePending => "membership_change_pending",
            Code::NoContinuingQuorum => "no_continuing_quorum",
            Code::TooManyValidators => "too_many_validators",
            Code::AlreadyVoted => "already_voted",
            Code::OwnRemoval => "own_removal",
            Code::CannotRemoveSupervisor => "cannot_remove_supervisor",
            Code::OrgExists => "org_exists",
            Code::OrgRemoved => "org_removed",
            Code::ProviderRemoved => "provider_removed",
        }
    }
}

/// A failed rule: the code and a message saying what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The code.
    pub code: Code,
    /// What went wrong, for people.
    pub message: String,
}

impl Rejection {
    /// A rejection with a code and message.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

/// The outcome of one tx.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// The tx id (hex in JSON).
    #[serde(serialize_with = "ser_digest")]
    pub tx_id: Digest,
    /// Height of the block that holds it.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
    /// Signer (hex in JSON).
    #[serde(serialize_with = "ser_key")]
    pub signer: IdentityKey,
    /// Body name (`submit_record`, …).
    pub body: String,
    /// `ok` or the failure code.
    pub code: String,
    /// Empty on success; what went wrong otherwise.
    pub message: String,
}

impl Receipt {
    /// Whether the tx applied.
    pub fn is_ok(&self) -> bool {
        self.code == Code::Ok.as_str()
    }
}

pub(crate) fn ser_digest<S: serde::Serializer>(d: &Digest, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(d.as_ref()))
}

pub(crate) fn ser_key<S: serde::Serializer>(k: &IdentityKey, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(k.as_ref()))
}

/// The digest of a block's receipts, in order: the state commitment commits to it.
pub fn receipts_digest(receipts: &[Receipt]) -> Digest {
    let mut buf = Vec::with_capacity(receipts.len() * 64);
    buf.extend_from_slice(RECEIPTS_DOMAIN);
    for receipt in receipts {
        buf.extend_from_slice(receipt.tx_id.as_ref());
        for text in [&receipt.code, &receipt.message] {
            buf.extend_from_slice(&(text.len() as u32).to_be_bytes());
            buf.extend_from_slice(text.as_bytes());
        }
    }
    sha256(&[&buf])
}
