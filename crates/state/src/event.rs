//! Events: what changed, for subscribers (role workers, the API stream) and the audit trail.

use custodia_protocol::{Digest, OrgId, ProposalId, RecordId, RequestId, history::EventLeaf};
use serde::Serialize;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A provider submitted a record.
    RecordSubmitted,
    /// The supervisor accepted a record.
    RecordAccepted,
    /// The supervisor rejected a record.
    RecordRejected,
    /// A member requested records.
    RequestCreated,
    /// An approver approved a request.
    DecisionApproved,
    /// An approver rejected a request.
    DecisionRejected,
    /// Every approver approved: the supervisor must deliver.
    RequestApproved,
    /// A rejection ended the request.
    RequestRejected,
    /// The supervisor delivered the request.
    RequestDelivered,
    /// The requester cancelled.
    RequestCancelled,
    /// The request expired undecided.
    RequestExpired,
    /// The supervisor suspended an organisation.
    OrgSuspended,
    /// The supervisor reinstated an organisation.
    OrgReinstated,
    /// An organisation's new key took effect: an encryption key at once, an identity key at
    /// the start of the epoch its rotation scheduled.
    OrgKeysRotated,
    /// An organisation's identity-key rotation scheduled the key for a later epoch.
    IdentityKeyScheduled,
    /// An organisation proposed a change of the consortium.
    ProposalCreated,
    /// An organisation voted on a proposal.
    ProposalVoted,
    /// A proposal reached its quorum; its change is made (or scheduled).
    ProposalEnacted,
    /// A proposal can no longer reach its quorum.
    ProposalRejected,
    /// A proposal's ttl ran out.
    ProposalExpired,
    /// An admitted organisation became a member.
    MemberAdmitted,
    /// A removed organisation left the consortium.
    MemberRemoved,
    /// An enacted membership change scheduled the validator set of a later epoch.
    ValidatorSetScheduled,
    /// A new validator set starts with the next block's epoch.
    ValidatorSetChanged,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 24] = [
        EventKind::RecordSubmitted,
        EventKind::RecordAccepted,
        EventKind::RecordRejected,
        EventKind::RequestCreated,
        EventKind::DecisionApproved,
        EventKind::DecisionRejected,
        EventKind::RequestApproved,
        EventKind::RequestRejected,
        EventKind::RequestDelivered,
        EventKind::RequestCancelled,
        EventKind::RequestExpired,
        EventKind::OrgSuspended,
        EventKind::OrgReinstated,
        EventKind::OrgKeysRotated,
        EventKind::IdentityKeyScheduled,
        EventKind::ProposalCreated,
        EventKind::ProposalVoted,
        EventKind::ProposalEnacted,
        EventKind::ProposalRejected,
        EventKind::ProposalExpired,
        EventKind::MemberAdmitted,
        EventKind::MemberRemoved,
        EventKind::ValidatorSetScheduled,
        EventKind::ValidatorSetChanged,
    ];

    /// The kind whose snake_case name is `name`.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// The snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::RecordSubmitted => "record_submitted",
            EventKind::RecordAccepted => "record_accepted",
            EventKind::RecordRejected => "record_rejected",
            EventKind::RequestCreated => "request_created",
            EventKind::DecisionApproved => "decision_approved",
            EventKind::DecisionRejected => "decision_rejected",
            EventKind::RequestApproved => "request_approved",
            EventKind::RequestRejected => "request_rejected",
            EventKind::RequestDelivered => "request_delivered",
            EventKind::RequestCancelled => "request_cancelled",
            EventKind::RequestExpired => "request_expired",
            EventKind::OrgSuspended => "org_suspended",
            EventKind::OrgReinstated => "org_reinstated",
            EventKind::OrgKeysRotated => "org_keys_rotated",
            EventKind::IdentityKeyScheduled => "identity_key_scheduled",
            EventKind::ProposalCreated => "proposal_created",
            EventKind::ProposalVoted => "proposal_voted",
            EventKind::ProposalEnacted => "proposal_enacted",
            EventKind::ProposalRejected => "proposal_rejected",
            EventKind::ProposalExpired => "proposal_expired",
            EventKind::MemberAdmitted => "member_admitted",
            EventKind::MemberRemoved => "member_removed",
            EventKind::ValidatorSetScheduled => "validator_set_scheduled",
            EventKind::ValidatorSetChanged => "validator_set_changed",
        }
    }
}

/// One event of a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Height of the block.
    pub height: u64,
    /// Position of the tx in the block; `None` for end-of-block effects (expiry).
    pub tx_index: Option<u32>,
    /// The tx that caused it.
    #[serde(serialize_with = "ser_opt_digest")]
    pub tx_id: Option<Digest>,
    /// What happened.
    pub kind: EventKind,
    /// Who acted (the signer's organisation).
    #[serde(serialize_with = "ser_opt_org")]
    pub actor: Option<OrgId>,
    /// Who it concerns (the provider of an attested record, the requester of a delivery…).
    #[serde(serialize_with = "ser_opt_org")]
    pub subject: Option<OrgId>,
    /// The record concerned.
    pub record_id: Option<RecordId>,
    /// The request concerned.
    pub request_id: Option<RequestId>,
    /// A reason or a short description.
    pub detail: String,
    /// The proposal concerned.
    pub proposal_id: Option<ProposalId>,
}

impl Event {
    /// This event as a history leaf (DESIGN §5.7).
    pub fn leaf(&self) -> EventLeaf<'_> {
        EventLeaf {
            height: self.height,
            tx_index: self.tx_index,
            tx_id: self.tx_id.as_ref(),
            kind: self.kind.as_str(),
            actor: self.actor,
            subject: self.subject,
            record_id: self.record_id.as_ref(),
            request_id: self.request_id.as_ref(),
            detail: &self.detail,
            proposal_id: self.proposal_id.as_ref(),
        }
    }
}

fn ser_opt_digest<S: serde::Serializer>(d: &Option<Digest>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&hex::encode(d.as_ref())),
        None => s.serialize_none(),
    }
}

pub(crate) fn ser_org<S: serde::Serializer>(org: &OrgId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u32(org.0)
}

fn ser_opt_org<S: serde::Serializer>(org: &Option<OrgId>, s: S) -> Result<S::Ok, S::Error> {
    match org {
        Some(org) => s.serialize_u32(org.0),
        None => s.serialize_none(),
    }
}
