//! Receipts: the outcome of every tx in a block, success or a failure with a stable code.

use custodia_protocol::{Digest, IdentityKey, history::ReceiptLeaf};
use serde::Serialize;

/// Defines [`Code`] with each variant's stable snake_case name, once.
macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident => $code:literal,)*) => {
        /// Why a tx failed, or `Ok`. The codes are stable: scripts and the API rely on them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($(#[$doc])* $variant,)*
        }

        impl Code {
            /// The snake_case code.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            /// The code whose snake_case name is `code` (a receipt's), if any.
            pub fn parse(code: &str) -> Option<Code> {
                match code {
                    $($code => Some(Code::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

codes! {
    /// The tx applied.
    Ok => "ok",
    // Envelope.
    /// The tx is malformed or its signature does not verify.
    InvalidTx => "invalid_tx",
    /// The tx is for another chain.
    WrongChain => "wrong_chain",
    /// `valid_until` is outside the window at this height.
    OutsideWindow => "outside_window",
    /// A sealed payload is over the chain's limit.
    TooLarge => "too_large",
    /// The tx was already applied.
    DuplicateTx => "duplicate_tx",
    // Signer.
    /// The signer is not an organisation of the genesis.
    UnknownSigner => "unknown_signer",
    /// The signer is suspended.
    SignerSuspended => "signer_suspended",
    /// The body needs a member and the signer is the supervisor.
    NotMember => "not_member",
    /// The body needs the supervisor.
    NotSupervisor => "not_supervisor",
    // Records.
    /// The record id is taken.
    RecordExists => "record_exists",
    /// No such record.
    RecordNotFound => "record_not_found",
    /// The record was already attested.
    RecordNotSubmitted => "record_not_submitted",
    /// Field names, kind or tags break a rule.
    InvalidRecord => "invalid_record",
    /// A rejection needs a reason.
    ReasonRequired => "reason_required",
    // Requests.
    /// The request id is taken.
    RequestExists => "request_exists",
    /// No such request.
    RequestNotFound => "request_not_found",
    /// Records, fields, purpose or ttl break a rule.
    InvalidRequest => "invalid_request",
    /// A requested record is not accepted.
    RecordNotAccepted => "record_not_accepted",
    /// The requester provided a requested record.
    OwnRecord => "own_record",
    /// A requested field is in none of the records.
    UnknownField => "unknown_field",
    /// The records' sealed sizes sum over `max_delivery_bytes`.
    DeliveryTooLarge => "delivery_too_large",
    /// The request is not pending.
    RequestNotPending => "request_not_pending",
    /// The signer is not a required approver of the request.
    NotApprover => "not_approver",
    /// The signer already decided on the request.
    AlreadyDecided => "already_decided",
    /// The request is not approved.
    RequestNotApproved => "request_not_approved",
    /// The requester is suspended.
    RequesterSuspended => "requester_suspended",
    /// Only the requester may do this.
    NotRequester => "not_requester",
    /// The request is neither pending nor approved.
    RequestClosed => "request_closed",
    // Organisations.
    /// No such organisation.
    OrgNotFound => "org_not_found",
    /// The supervisor cannot be suspended.
    CannotSuspendSupervisor => "cannot_suspend_supervisor",
    /// The organisation already has the status asked for.
    OrgStatusUnchanged => "org_status_unchanged",
    // Keys.
    /// The new key is one the organisation already had.
    KeyReused => "key_reused",
    /// A sealed payload names a key that is not its recipient's current one.
    WrongEncryptionKey => "wrong_encryption_key",
    /// A new identity key's proof of possession does not verify.
    InvalidProof => "invalid_proof",
    /// The signer is an identity key its organisation rotated away from.
    SignerRotated => "signer_rotated",
    // Governance.
    /// The signer was removed from the consortium.
    SignerRemoved => "signer_removed",
    /// The signer's admission is enacted but not yet in effect.
    SignerNotAdmitted => "signer_not_admitted",
    /// The proposal id is taken.
    ProposalExists => "proposal_exists",
    /// No such proposal.
    ProposalNotFound => "proposal_not_found",
    /// The proposal is no longer open.
    ProposalClosed => "proposal_closed",
    /// The change or the ttl breaks a rule.
    InvalidProposal => "invalid_proposal",
    /// Another membership change is open or not yet in effect.
    MembershipChangePending => "membership_change_pending",
    /// The validators that continue would not be a quorum of the set the change makes.
    NoContinuingQuorum => "no_continuing_quorum",
    /// The change would make more validators than `max_validators`.
    TooManyValidators => "too_many_validators",
    /// The signer already voted on the proposal.
    AlreadyVoted => "already_voted",
    /// The member a removal names cannot vote on it.
    OwnRemoval => "own_removal",
    /// The supervisor cannot be removed.
    CannotRemoveSupervisor => "cannot_remove_supervisor",
    /// The name or identity key is taken by an organisation.
    OrgExists => "org_exists",
    /// The organisation was removed.
    OrgRemoved => "org_removed",
    /// A requested record's provider was removed.
    ProviderRemoved => "provider_removed",
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

    /// This receipt as a history leaf (DESIGN §5.7).
    pub fn leaf(&self) -> ReceiptLeaf<'_> {
        ReceiptLeaf {
            height: self.height,
            index: self.index,
            tx_id: &self.tx_id,
            signer: &self.signer,
            body: &self.body,
            code: &self.code,
            message: &self.message,
        }
    }
}

pub(crate) fn ser_digest<S: serde::Serializer>(d: &Digest, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(d.as_ref()))
}

pub(crate) fn ser_key<S: serde::Serializer>(k: &IdentityKey, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(k.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn a_receipt_code_parses_back_to_its_code() {
        for code in [
            Code::Ok,
            Code::SignerRotated,
            Code::MembershipChangePending,
            Code::ProviderRemoved,
        ] {
            assert_eq!(Code::parse(code.as_str()), Some(code));
        }
        assert_eq!(Code::parse("no_such_code"), None);
        assert_eq!(Code::parse("SignerRotated"), None);
    }
}
