//! The rules of DESIGN §4.5: who may do what, in which state. Each body is checked in full
//! before anything is written, so a failed tx leaves the world state as if it were absent.

mod identity;
mod membership;
mod org;
mod proposal;
mod record;
mod request;
mod validators;

use crate::{
    event::{Event, EventKind},
    orgs::{Membership, Org, Orgs},
    receipt::{Code, Rejection},
};
use custodia_protocol::{
    Body, Digest, IdentityKey, OrgId, Params, ProposalId, RecordId, RequestId, Role,
};
use rusqlite::Connection;

/// A rule failure or a database failure while checking or applying a tx.
pub(crate) enum Fail {
    /// The tx breaks a rule: failed receipt.
    Rule(Rejection),
    /// The database failed: the whole block is abandoned.
    Db(rusqlite::Error),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Db(e)
    }
}

impl From<Rejection> for Fail {
    fn from(r: Rejection) -> Self {
        Fail::Rule(r)
    }
}

/// Shorthand for a rule failure.
pub(crate) fn reject<T>(code: Code, message: impl Into<String>) -> Result<T, Fail> {
    Err(Fail::Rule(Rejection::new(code, message)))
}

/// Everything a rule needs to know about the tx being applied.
pub(crate) struct Ctx<'a> {
    pub conn: &'a Connection,
    /// The chain's parameters now (the genesis's, as proposals changed them).
    pub params: &'a mut Params,
    pub orgs: &'a mut Orgs,
    pub height: u64,
    pub tx_id: Digest,
    pub tx_index: u32,
    pub signer: &'a IdentityKey,
    pub events: &'a mut Vec<Event>,
}

impl Ctx<'_> {
    /// Records an event caused by the current tx.
    pub fn emit(
        &mut self,
        kind: EventKind,
        subject: Option<OrgId>,
        record_id: Option<RecordId>,
        request_id: Option<RequestId>,
        detail: impl Into<String>,
    ) {
        self.events.push(Event {
            height: self.height,
            tx_index: Some(self.tx_index),
            tx_id: Some(self.tx_id),
            kind,
            actor: self.signer_id(),
            subject,
            record_id,
            request_id,
            detail: detail.into(),
            proposal_id: None,
        });
    }

    /// Records an event about a proposal caused by the current tx.
    pub fn emit_proposal(
        &mut self,
        kind: EventKind,
        subject: Option<OrgId>,
        proposal_id: ProposalId,
        detail: impl Into<String>,
    ) {
        self.emit(kind, subject, None, None, detail);
        if let Some(event) = self.events.last_mut() {
            event.proposal_id = Some(proposal_id);
        }
    }

    /// The signer's organisation's id, if it is one (a rule that emits an event checked it).
    fn signer_id(&self) -> Option<OrgId> {
        self.orgs.get(self.signer).map(|org| org.id)
    }

    /// The signer's organisation, or `UnknownSigner`; a removed organisation, or one whose
    /// admission is not yet in effect, signs nothing (`signer_removed`, `signer_not_admitted`).
    fn signer_org(&self) -> Result<&Org, Fail> {
        match self.orgs.get(self.signer) {
            Some(org) if org.membership == Membership::Removed => reject(
                Code::SignerRemoved,
                format!(
                    "organisation {} was removed from the consortium at height {}",
                    org.name, org.membership_height
                ),
            ),
            Some(org) if org.membership == Membership::Admitted => reject(
                Code::SignerNotAdmitted,
                format!(
                    "organisation {} is admitted from height {}, not before",
                    org.name, org.membership_height
                ),
            ),
            Some(org) => Ok(org),
            None => match identity::rotated_away(self.conn, self.orgs, self.height, self.signer)? {
                Some(message) => reject(Code::SignerRotated, message),
                None => reject(
                    Code::UnknownSigner,
                    format!(
                        "signer {} is not an organisation of this chain",
                        hex::encode(self.signer.as_ref())
                    ),
                ),
            },
        }
    }

    /// The signer's role, or `UnknownSigner`.
    fn signer_role(&self) -> Result<Role, Fail> {
        self.signer_org().map(|org| org.role)
    }

    /// The signer must be an active member.
    fn require_active_member(&self, action: &str) -> Result<(), Fail> {
        if self.signer_role()? != Role::Member {
            return reject(
                Code::NotMember,
                format!("only a member may {action}; the supervisor cannot"),
            );
        }
        self.require_active(action)
    }

    /// The signer must not be suspended.
    fn require_active(&self, action: &str) -> Result<(), Fail> {
        let org = self.signer_org()?;
        if !org.active {
            return reject(
                Code::SignerSuspended,
                format!("organisation {} is suspended and cannot {action}", org.name),
            );
        }
        Ok(())
    }

    /// The signer must be the supervisor.
    fn require_supervisor(&self, action: &str) -> Result<(), Fail> {
        if self.signer_role()? != Role::Supervisor {
            return reject(
                Code::NotSupervisor,
                format!("only the supervisor may {action}"),
            );
        }
        Ok(())
    }

    /// The supervisor, from the state (`Genesis::validate` makes sure there is one).
    fn supervisor(&self) -> Result<&Org, Fail> {
        match self.orgs.supervisor() {
            Some(org) => Ok(org),
            None => Err(Fail::Db(crate::orgs::corrupt("orgs.role: no supervisor"))),
        }
    }

    /// A sealed payload must name `recipient`'s current encryption key (`wrong_encryption_key`):
    /// one sealed to a key the recipient rotated away from is refused, so a leaked old key
    /// opens nothing sealed after the rotation.
    fn require_sealed_to(&self, sealed: &[u8], recipient: &Org, what: &str) -> Result<(), Fail> {
        let named = custodia_protocol::seal::sealed_to(sealed);
        if named == Some(recipient.encryption_key) {
            return Ok(());
        }
        reject(
            Code::WrongEncryptionKey,
            format!(
                "the {what} is sealed to encryption key {}, but {}'s key is {}: seal it again \
                 to the current key (GET /v1/orgs)",
                named
                    .map(|k| hex::encode(k.0))
                    .unwrap_or_else(|| "(none)".into()),
                recipient.name,
                hex::encode(recipient.encryption_key.0)
            ),
        )
    }
}

/// Checks and applies one body.
pub(crate) fn execute(ctx: &mut Ctx<'_>, chain: &Digest, body: &Body) -> Result<(), Fail> {
    match body {
        Body::SubmitRecord {
            record_id,
            kind,
            tags,
            fields,
            commitment,
            sealed,
        } => record::submit(ctx, record_id, kind, tags, fields, commitment, sealed),
        Body::AttestRecord {
            record_id,
            accepted,
            reason,
        } => record::attest(ctx, record_id, *accepted, reason),
        Body::RequestShare {
            request_id,
            record_ids,
            fields,
            purpose,
            ttl,
        } => request::create(ctx, request_id, record_ids, fields, purpose, *ttl),
        Body::Decide {
            request_id,
            approve,
            reason,
        } => request::decide(ctx, request_id, *approve, reason),
        Body::Deliver { request_id, sealed } => request::deliver(ctx, request_id, sealed),
        Body::Cancel { request_id } => request::cancel(ctx, request_id),
        Body::SetOrgStatus {
            org,
            active,
            reason,
        } => org::set_status(ctx, *org, *active, reason),
        Body::RotateKeys { encryption_key } => org::rotate_keys(ctx, encryption_key),
        Body::RotateIdentity {
            identity_key,
            proof,
        } => identity::rotate(ctx, chain, identity_key, proof),
        Body::Propose {
            proposal_id,
            change,
            ttl,
        } => proposal::propose(ctx, proposal_id, change, *ttl),
        Body::Vote {
            proposal_id,
            approve,
            reason,
        } => proposal::vote(ctx, proposal_id, *approve, reason),
    }
}

/// What happens at the end of block `height`, after its txs: pending requests and open
/// proposals whose time is up expire, enacted membership changes due take effect, and at the
/// end of an epoch a validator set that starts with the next one is announced.
pub(crate) fn end_of_block(
    conn: &Connection,
    height: u64,
    params: &Params,
    orgs: &mut Orgs,
    events: &mut Vec<Event>,
) -> rusqlite::Result<()> {
    request::expire(conn, height, events)?;
    proposal::expire(conn, height, events)?;
    membership::take_effect(conn, height, orgs, events)?;
    identity::take_effect(conn, height, orgs, events)?;
    validators::announce(conn, height, params, orgs, events)
}
