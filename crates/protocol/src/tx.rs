//! Transactions: the signed entries of the ledger (DESIGN §4.1).

use crate::{
    Digest, IdentityKey, IdentitySecret, Signature, TX_NAMESPACE, hash::sha256,
    keys::read_identity_key, params::Params,
};
use bytes::{BufMut, Bytes};
use commonware_codec::{Buf, EncodeSize, Error as CodecError, FixedSize, Read, ReadExt, Write};
use commonware_cryptography::{Signer, Verifier};

mod body;
mod verify;
pub use body::{Body, TxCfg};
pub use verify::{signatures_checked, signatures_verify, verify_signatures, verify_signatures_of};

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

    /// The bytes the signature covers: `chain ‖ signer ‖ valid_until ‖ nonce ‖` the body with
    /// each sealed payload replaced by its SHA-256 digest ([`Body::write_signed`]). They hold no
    /// byte of a ciphertext, so evidence can carry them and still be checked (DESIGN §4.2).
    pub fn signing_payload(&self) -> Vec<u8> {
        signing_payload(
            &self.chain,
            &self.signer,
            self.valid_until,
            self.nonce,
            &self.body,
        )
    }

    /// The tx id: SHA-256 of the signing payload and the signature ([`id_of`]), so it too is
    /// computed without the sealed bytes, from their digests.
    pub fn id(&self) -> Digest {
        id_of(&self.signing_payload(), &self.signature)
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

/// The id of the tx whose signing payload is `payload` and signature `signature` (DESIGN §4.2):
/// `SHA-256(payload ‖ signature)`.
pub fn id_of(payload: &[u8], signature: &Signature) -> Digest {
    sha256(&[payload, signature.as_ref()])
}

fn signing_payload(
    chain: &Digest,
    signer: &IdentityKey,
    valid_until: u64,
    nonce: u64,
    body: &Body,
) -> Vec<u8> {
    let mut buf =
        Vec::with_capacity(Digest::SIZE + IdentityKey::SIZE + 2 * u64::SIZE + body.signed_size());
    chain.write(&mut buf);
    signer.write(&mut buf);
    valid_until.write(&mut buf);
    nonce.write(&mut buf);
    body.write_signed(&mut buf);
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
