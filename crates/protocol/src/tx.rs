//! Transactions: the signed entries of the ledger (DESIGN §4.1).

use crate::{
    Change, Digest, EncryptionKey, IdentityKey, IdentitySecret, OrgId, ProposalId, RecordId,
    RequestId, Signature, TX_NAMESPACE,
    encoding::{
        read_str, read_strs, read_text, read_texts, str_size, strs_size, write_str, write_strs,
    },
    hash::sha256,
    keys::read_identity_key,
    params::{
        MAX_FIELD_NAME_BYTES, MAX_FIELDS, MAX_KIND_BYTES, MAX_PURPOSE_CHARS, MAX_REASON_CHARS,
        MAX_REQUEST_RECORDS, MAX_TAG_CHARS, MAX_TAGS, Params,
    },
};
use bytes::{BufMut, Bytes};
use commonware_codec::{
    Buf, Encode, EncodeSize, Error as CodecError, FixedSize, RangeCfg, Read, ReadExt, Write,
};
use commonware_cryptography::{Signer, Verifier};

mod verify;
pub use verify::{signatures_checked, signatures_verify, verify_signatures, verify_signatures_of};

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
        }
    }
}

impl Write for Body {
    fn write(&self, buf: &mut impl BufMut) {
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
                sealed.write(buf);
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
                sealed.write(buf);
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
        }
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
            other => return Err(CodecError::InvalidEnum(other)),
        })
    }
}

/// A signed transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tx {
    /// The genesis digest of the chain this tx is for.
    pub chain: Digest,
    /// The signing organisation's identity key.
    pub signer: IdentityKey,
    /// Last height at which the tx may be included.
    pub valid_until: u64,
    /// Random; makes otherwise equal txs distinct.
    pub nonce: u64,
    /// What the tx does.
    pub body: Body,
    /// Signature over [`TX_NAMESPACE`] and [`Tx::signing_payload`].
    pub signature: Signature,
}

/// Why a tx fails a stateless check (DESIGN §4.1–4.3: decoding, chain, signature, sizes, window).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// The tx could not be decoded.
    #[error("malformed transaction: {0}")]
    Malformed(String),
    /// The tx names another chain.
    #[error("transaction is for chain {found}, this chain is {expected}")]
    WrongChain {
        /// This chain's digest (hex).
        expected: String,
        /// The tx's chain digest (hex).
        found: String,
    },
    /// The tx's `valid_until` is outside the window at this height.
    #[error(
        "transaction valid_until {valid_until} is outside the window [{height}, {height} + {max_ttl}] \
         at height {height}: sign it again with a valid_until in that range"
    )]
    OutsideWindow {
        /// The tx's `valid_until`.
        valid_until: u64,
        /// The height checked against.
        height: u64,
        /// The chain's `max_tx_ttl`.
        max_ttl: u64,
    },
    /// The signature does not verify against the signer's key.
    #[error("transaction signature does not verify for signer {signer}")]
    BadSignature {
        /// The signer (hex).
        signer: String,
    },
    /// A field of the body is over a limit that decoding enforces: no node could decode the
    /// tx, so none may sign or admit it.
    #[error("{what} has {found} {unit}, over the limit of {max}")]
    OverLimit {
        /// Which field.
        what: &'static str,
        /// What it holds.
        found: usize,
        /// The limit.
        max: usize,
        /// What is counted (`characters`, `bytes`, `items`).
        unit: &'static str,
    },
    /// A sealed payload is over its limit.
    #[error("{what} is {size} bytes, over the chain's limit of {max} bytes")]
    TooLarge {
        /// Which payload.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
}

impl TxError {
    /// A stable machine-readable code for receipts and API errors.
    pub fn code(&self) -> &'static str {
        match self {
            TxError::Malformed(_) => "malformed_tx",
            TxError::WrongChain { .. } => "wrong_chain",
            TxError::OutsideWindow { .. } => "outside_window",
            TxError::BadSignature { .. } => "bad_signature",
            TxError::TooLarge { .. } | TxError::OverLimit { .. } => "too_large",
        }
    }
}

impl Tx {
    /// Signs `body` for `chain` with a random nonce.
    pub fn sign(secret: &IdentitySecret, chain: Digest, valid_until: u64, body: Body) -> Self {
        Self::sign_with_nonce(secret, chain, valid_until, rand::random(), body)
    }

    /// Signs `body` with the given nonce (tests and benchmarks that need reproducible txs).
    pub fn sign_with_nonce(
        secret: &IdentitySecret,
        chain: Digest,
        valid_until: u64,
        nonce: u64,
        body: Body,
    ) -> Self {
        let signer = secret.public_key();
        let payload = signing_payload(&chain, &signer, valid_until, nonce, &body);
        let signature = secret.sign(TX_NAMESPACE, &payload);
        Self {
            chain,
            signer,
            valid_until,
            nonce,
            body,
            signature,
        }
    }

    /// The bytes the signature covers: `encode(chain, signer, valid_until, nonce, body)`.
    pub fn signing_payload(&self) -> Vec<u8> {
        signing_payload(
            &self.chain,
            &self.signer,
            self.valid_until,
            self.nonce,
            &self.body,
        )
    }

    /// The tx id: SHA-256 of the tx's encoding.
    pub fn id(&self) -> Digest {
        sha256(&[&self.encode()])
    }

    /// Whether the signature verifies against the signer's key.
    pub fn verify_signature(&self) -> bool {
        verify::count_single();
        self.signer
            .verify(TX_NAMESPACE, &self.signing_payload(), &self.signature)
    }

    /// Every stateless rule except the signature (cheap; see [`Tx::check_stateless`]).
    pub fn check_envelope(
        &self,
        chain: &Digest,
        params: &Params,
        height: u64,
    ) -> Result<(), TxError> {
        if &self.chain != chain {
            return Err(TxError::WrongChain {
                expected: crate::hash::to_hex(chain),
                found: crate::hash::to_hex(&self.chain),
            });
        }
        if self.valid_until < height || self.valid_until > height.saturating_add(params.max_tx_ttl)
        {
            return Err(TxError::OutsideWindow {
                valid_until: self.valid_until,
                height,
                max_ttl: params.max_tx_ttl,
            });
        }
        self.body.check_limits()?;
        let (what, size, max) = match &self.body {
            Body::SubmitRecord { sealed, .. } => (
                "record sealed payload",
                sealed.len(),
                params.max_record_bytes,
            ),
            Body::Deliver { sealed, .. } => (
                "delivery sealed payload",
                sealed.len(),
                params.max_deliver_sealed_bytes(),
            ),
            _ => return Ok(()),
        };
        if size as u64 > max {
            return Err(TxError::TooLarge {
                what,
                size,
                max: max as usize,
            });
        }
        Ok(())
    }

    /// Every stateless rule of DESIGN §4.1–4.3 at `height`: chain, window, sizes and signature.
    pub fn check_stateless(
        &self,
        chain: &Digest,
        params: &Params,
        height: u64,
    ) -> Result<(), TxError> {
        self.check_envelope(chain, params, height)
            .and_then(|()| self.check_signature_verdict(self.verify_signature()))
    }

    /// [`Tx::check_stateless`] for a tx whose signature was already checked (in a batch) with
    /// the verdict `verified`: the same errors in the same order, without checking it again.
    pub fn check_stateless_with(
        &self,
        chain: &Digest,
        params: &Params,
        height: u64,
        verified: bool,
    ) -> Result<(), TxError> {
        self.check_envelope(chain, params, height)
            .and_then(|()| self.check_signature_verdict(verified))
    }

    fn check_signature_verdict(&self, verified: bool) -> Result<(), TxError> {
        if verified {
            return Ok(());
        }
        Err(TxError::BadSignature {
            signer: hex::encode(self.signer.as_ref()),
        })
    }

    /// Decodes one tx from `bytes` under `cfg`, consuming all of it.
    pub fn decode_bytes(bytes: impl Into<Bytes>, cfg: &TxCfg) -> Result<Self, TxError> {
        use commonware_codec::Decode;
        Self::decode_cfg(bytes.into(), cfg).map_err(|e| TxError::Malformed(e.to_string()))
    }
}

fn signing_payload(
    chain: &Digest,
    signer: &IdentityKey,
    valid_until: u64,
    nonce: u64,
    body: &Body,
) -> Vec<u8> {
    let mut buf =
        Vec::with_capacity(Digest::SIZE + IdentityKey::SIZE + 2 * u64::SIZE + body.encode_size());
    chain.write(&mut buf);
    signer.write(&mut buf);
    valid_until.write(&mut buf);
    nonce.write(&mut buf);
    body.write(&mut buf);
    buf
}

impl Write for Tx {
    fn write(&self, buf: &mut impl BufMut) {
        self.chain.write(buf);
        self.signer.write(buf);
        self.valid_until.write(buf);
        self.nonce.write(buf);
        self.body.write(buf);
        self.signature.write(buf);
    }
}

impl EncodeSize for Tx {
    fn encode_size(&self) -> usize {
        Digest::SIZE + IdentityKey::SIZE + 2 * u64::SIZE + self.body.encode_size() + Signature::SIZE
    }
}

impl Read for Tx {
    type Cfg = TxCfg;

    fn read_cfg(buf: &mut impl Buf, cfg: &TxCfg) -> Result<Self, CodecError> {
        Ok(Self {
            chain: Digest::read(buf)?,
            signer: read_identity_key(buf)?,
            valid_until: u64::read(buf)?,
            nonce: u64::read(buf)?,
            body: Body::read_cfg(buf, cfg)?,
            signature: Signature::read(buf)?,
        })
    }
}
