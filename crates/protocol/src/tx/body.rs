//! [`Body`]: what a transaction does, and its codec (DESIGN §4.2).

use crate::{
    Change, Digest, EncryptionKey, IdentityKey, OrgId, ProposalId, RecordId, RequestId, Signature,
    encoding::{
        read_str, read_strs, read_text, read_texts, str_size, strs_size, write_str, write_strs,
    },
    hash::sha256,
    params::{
        MAX_FIELD_NAME_BYTES, MAX_FIELDS, MAX_KIND_BYTES, MAX_PURPOSE_CHARS, MAX_REASON_CHARS,
        MAX_REQUEST_RECORDS, MAX_TAG_CHARS, MAX_TAGS, Params,
    },
};
use bytes::{BufMut, Bytes};
use commonware_codec::{
    Buf, EncodeSize, Error as CodecError, FixedSize, RangeCfg, Read, ReadExt, Write,
};

/// What a transaction does. Every variant is one row of the table in DESIGN §4.5.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A provider puts a record on the chain, sealed to the supervisor.
    SubmitRecord {
        /// Fresh id of the record.
        record_id: RecordId,
        /// The record's kind (e.g. `claim`), from the consortium's catalogue.
        kind: String,
        /// Free tags for search.
        tags: Vec<String>,
        /// The field names, in clear: what a requester may ask for.
        fields: Vec<String>,
        /// Salted commitment to every field (DESIGN §6.3).
        commitment: Digest,
        /// HPKE ciphertext of the fields, values and salts, to the supervisor.
        sealed: Bytes,
    },
    /// The supervisor's verdict on a submitted record.
    AttestRecord {
        /// The record checked.
        record_id: RecordId,
        /// Whether the record may be shared.
        accepted: bool,
        /// Why (required when rejected).
        reason: String,
    },
    /// A member asks for (some fields of) other members' records.
    RequestShare {
        /// Fresh id of the request.
        request_id: RequestId,
        /// The records asked for.
        record_ids: Vec<RecordId>,
        /// The fields asked for; empty means all fields.
        fields: Vec<String>,
        /// Why the requester needs the data.
        purpose: String,
        /// How many blocks the request stays open for decisions.
        ttl: u64,
    },
    /// A required approver's decision on a request.
    Decide {
        /// The request decided on.
        request_id: RequestId,
        /// Approve or reject.
        approve: bool,
        /// Why (required when rejecting).
        reason: String,
    },
    /// The supervisor delivers an approved request, sealed to the requester.
    Deliver {
        /// The request delivered.
        request_id: RequestId,
        /// HPKE ciphertext of the delivery bundle, to the requester.
        sealed: Bytes,
    },
    /// The requester withdraws its request.
    Cancel {
        /// The request withdrawn.
        request_id: RequestId,
    },
    /// The supervisor suspends or reinstates an organisation.
    SetOrgStatus {
        /// The organisation's stable id.
        org: OrgId,
        /// Active (true) or suspended (false).
        active: bool,
        /// Why (required when suspending).
        reason: String,
    },
    /// An organisation replaces its encryption key (signed by its current identity key).
    RotateKeys {
        /// The new X25519 key that records and deliveries to it are sealed to from now on.
        encryption_key: EncryptionKey,
    },
    /// An organisation replaces its identity key (signed by its current one): the new key signs
    /// its txs and votes from the start of the epoch after next (DESIGN §4.10).
    RotateIdentity {
        /// The new Ed25519 key.
        identity_key: IdentityKey,
        /// The new key's signature of [`crate::rotation::possession_message`] (its proof of
        /// possession).
        proof: Signature,
    },
    /// An organisation proposes a change of the consortium; its proposal is its approving vote.
    Propose {
        /// Fresh id of the proposal.
        proposal_id: ProposalId,
        /// What it changes.
        change: Change,
        /// How many blocks it stays open for votes.
        ttl: u64,
    },
    /// An organisation's vote on an open proposal.
    Vote {
        /// The proposal voted on.
        proposal_id: ProposalId,
        /// For or against.
        approve: bool,
        /// Why (required when against).
        reason: String,
    },
}

impl Body {
    /// The variant's name as shown in receipts, the API and the audit trail.
    pub fn name(&self) -> &'static str {
        match self {
            Body::SubmitRecord { .. } => "submit_record",
            Body::AttestRecord { .. } => "attest_record",
            Body::RequestShare { .. } => "request_share",
            Body::Decide { .. } => "decide",
            Body::Deliver { .. } => "deliver",
            Body::Cancel { .. } => "cancel",
            Body::SetOrgStatus { .. } => "set_org_status",
            Body::RotateKeys { .. } => "rotate_keys",
            Body::Propose { .. } => "propose",
            Body::Vote { .. } => "vote",
            Body::RotateIdentity { .. } => "rotate_identity",
        }
    }

    fn tag(&self) -> u8 {
        match self {
            Body::SubmitRecord { .. } => 0,
            Body::AttestRecord { .. } => 1,
            Body::RequestShare { .. } => 2,
            Body::Decide { .. } => 3,
            Body::Deliver { .. } => 4,
            Body::Cancel { .. } => 5,
            Body::SetOrgStatus { .. } => 6,
            Body::RotateKeys { .. } => 7,
            Body::Propose { .. } => 8,
            Body::Vote { .. } => 9,
            Body::RotateIdentity { .. } => 10,
        }
    }
}

/// How [`Body::write_as`] writes a sealed payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SealedForm {
    /// Its bytes (length-prefixed): the codec.
    Bytes,
    /// Its SHA-256 digest: what a signature and a tx id cover (DESIGN §4.2).
    Digest,
}

fn write_sealed(sealed: &Bytes, form: SealedForm, buf: &mut impl BufMut) {
    match form {
        SealedForm::Bytes => sealed.write(buf),
        SealedForm::Digest => sha256(&[sealed]).write(buf),
    }
}

impl Body {
    /// The body as a signature and a tx id cover it (DESIGN §4.2): its encoding with each
    /// sealed payload (`SubmitRecord.sealed`, `Deliver.sealed`) replaced by the payload's
    /// SHA-256 digest, so a signature is checked without the ciphertext.
    pub fn write_signed(&self, buf: &mut impl BufMut) {
        self.write_as(buf, SealedForm::Digest);
    }

    /// The length of [`Body::write_signed`]'s output.
    pub fn signed_size(&self) -> usize {
        match self {
            Body::SubmitRecord { sealed, .. } | Body::Deliver { sealed, .. } => {
                self.encode_size() - sealed.encode_size() + Digest::SIZE
            }
            _ => self.encode_size(),
        }
    }

    fn write_as(&self, buf: &mut impl BufMut, form: SealedForm) {
        self.tag().write(buf);
        match self {
            Body::SubmitRecord {
                record_id,
                kind,
                tags,
                fields,
                commitment,
                sealed,
            } => {
                record_id.write(buf);
                write_str(kind, buf);
                write_strs(tags, buf);
                write_strs(fields, buf);
                commitment.write(buf);
                write_sealed(sealed, form, buf);
            }
            Body::AttestRecord {
                record_id,
                accepted,
                reason,
            } => {
                record_id.write(buf);
                accepted.write(buf);
                write_str(reason, buf);
            }
            Body::RequestShare {
                request_id,
                record_ids,
                fields,
                purpose,
                ttl,
            } => {
                request_id.write(buf);
                record_ids.write(buf);
                write_strs(fields, buf);
                write_str(purpose, buf);
                ttl.write(buf);
            }
            Body::Decide {
                request_id,
                approve,
                reason,
            } => {
                request_id.write(buf);
                approve.write(buf);
                write_str(reason, buf);
            }
            Body::Deliver { request_id, sealed } => {
                request_id.write(buf);
                write_sealed(sealed, form, buf);
            }
            Body::Cancel { request_id } => request_id.write(buf),
            Body::SetOrgStatus {
                org,
                active,
                reason,
            } => {
                org.write(buf);
                active.write(buf);
                write_str(reason, buf);
            }
            Body::RotateKeys { encryption_key } => encryption_key.0.write(buf),
            Body::Propose {
                proposal_id,
                change,
                ttl,
            } => {
                proposal_id.write(buf);
                change.write(buf);
                ttl.write(buf);
            }
            Body::Vote {
                proposal_id,
                approve,
                reason,
            } => {
                proposal_id.write(buf);
                approve.write(buf);
                write_str(reason, buf);
            }
            Body::RotateIdentity {
                identity_key,
                proof,
            } => {
                identity_key.write(buf);
                proof.write(buf);
            }
        }
    }
}

impl Write for Body {
    fn write(&self, buf: &mut impl BufMut) {
        self.write_as(buf, SealedForm::Bytes);
    }
}

impl EncodeSize for Body {
    fn encode_size(&self) -> usize {
        1 + match self {
            Body::SubmitRecord {
                kind,
                tags,
                fields,
                sealed,
                ..
            } => {
                RecordId::SIZE
                    + str_size(kind)
                    + strs_size(tags)
                    + strs_size(fields)
                    + Digest::SIZE
                    + sealed.encode_size()
            }
            Body::AttestRecord { reason, .. } => RecordId::SIZE + 1 + str_size(reason),
            Body::RequestShare {
                record_ids,
                fields,
                purpose,
                ..
            } => {
                RequestId::SIZE
                    + record_ids.encode_size()
                    + strs_size(fields)
                    + str_size(purpose)
                    + u64::SIZE
            }
            Body::Decide { reason, .. } => RequestId::SIZE + 1 + str_size(reason),
            Body::Deliver { sealed, .. } => RequestId::SIZE + sealed.encode_size(),
            Body::Cancel { .. } => RequestId::SIZE,
            Body::SetOrgStatus { reason, .. } => OrgId::SIZE + 1 + str_size(reason),
            Body::RotateKeys { .. } => 32,
            Body::Propose { change, .. } => ProposalId::SIZE + change.encode_size() + u64::SIZE,
            Body::Vote { reason, .. } => ProposalId::SIZE + 1 + str_size(reason),
            Body::RotateIdentity { .. } => IdentityKey::SIZE + Signature::SIZE,
        }
    }
}

/// Decoding limits of transactions, from the chain's [`Params`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxCfg {
    /// Largest `SubmitRecord.sealed`.
    pub max_record_bytes: usize,
    /// Largest `Deliver.sealed`.
    pub max_deliver_bytes: usize,
}

impl From<&Params> for TxCfg {
    fn from(params: &Params) -> Self {
        Self {
            max_record_bytes: params.max_record_bytes as usize,
            max_deliver_bytes: params.max_deliver_sealed_bytes() as usize,
        }
    }
}

impl Default for TxCfg {
    fn default() -> Self {
        (&Params::default()).into()
    }
}

impl Read for Body {
    type Cfg = TxCfg;

    fn read_cfg(buf: &mut impl Buf, cfg: &TxCfg) -> Result<Self, CodecError> {
        let tag = u8::read(buf)?;
        Ok(match tag {
            0 => Body::SubmitRecord {
                record_id: RecordId::read(buf)?,
                kind: read_str(buf, MAX_KIND_BYTES, "kind")?,
                tags: read_texts(buf, MAX_TAGS, MAX_TAG_CHARS, "tag")?,
                fields: read_strs(buf, MAX_FIELDS, MAX_FIELD_NAME_BYTES, "field name")?,
                commitment: Digest::read(buf)?,
                sealed: Bytes::read_cfg(buf, &RangeCfg::from(0..=cfg.max_record_bytes))?,
            },
            1 => Body::AttestRecord {
                record_id: RecordId::read(buf)?,
                accepted: bool::read(buf)?,
                reason: read_text(buf, MAX_REASON_CHARS, "reason")?,
            },
            2 => Body::RequestShare {
                request_id: RequestId::read(buf)?,
                record_ids: Vec::<RecordId>::read_cfg(
                    buf,
                    &(RangeCfg::from(0..=MAX_REQUEST_RECORDS), ()),
                )?,
                fields: read_strs(buf, MAX_FIELDS, MAX_FIELD_NAME_BYTES, "field name")?,
                purpose: read_text(buf, MAX_PURPOSE_CHARS, "purpose")?,
                ttl: u64::read(buf)?,
            },
            3 => Body::Decide {
                request_id: RequestId::read(buf)?,
                approve: bool::read(buf)?,
                reason: read_text(buf, MAX_REASON_CHARS, "reason")?,
            },
            4 => Body::Deliver {
                request_id: RequestId::read(buf)?,
                sealed: Bytes::read_cfg(buf, &RangeCfg::from(0..=cfg.max_deliver_bytes))?,
            },
            5 => Body::Cancel {
                request_id: RequestId::read(buf)?,
            },
            6 => Body::SetOrgStatus {
                org: OrgId::read(buf)?,
                active: bool::read(buf)?,
                reason: read_text(buf, MAX_REASON_CHARS, "reason")?,
            },
            7 => Body::RotateKeys {
                encryption_key: EncryptionKey(<[u8; 32]>::read(buf)?),
            },
            8 => Body::Propose {
                proposal_id: ProposalId::read(buf)?,
                change: Change::read(buf)?,
                ttl: u64::read(buf)?,
            },
            9 => Body::Vote {
                proposal_id: ProposalId::read(buf)?,
                approve: bool::read(buf)?,
                reason: read_text(buf, MAX_REASON_CHARS, "reason")?,
            },
            10 => Body::RotateIdentity {
                identity_key: crate::keys::read_identity_key(buf)?,
                proof: Signature::read(buf)?,
            },
            other => return Err(CodecError::InvalidEnum(other)),
        })
    }
}
