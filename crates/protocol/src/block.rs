//! Blocks: an ordered batch of txs on top of a parent (DESIGN §5.1).

use crate::{
    Digest, Params, Tx, TxCfg,
    hash::sha256,
    tx::{TxError, verify_signatures, verify_signatures_of},
};
use bytes::BufMut;
use commonware_codec::{
    Buf, Encode, EncodeSize, Error as CodecError, FixedSize, RangeCfg, Read, ReadExt, Write,
};

const BLOCK_DOMAIN: &[u8] = b"custodia/block/v1";
const TX_ROOT_DOMAIN: &[u8] = b"custodia/txroot/v1";

/// A block of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Digest of the parent block (for height 1, the digest of [`Block::genesis`]).
    pub parent: Digest,
    /// Height; [`Block::genesis`] is 0, the first block with txs is 1.
    pub height: u64,
    /// The proposer's clock, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// The txs, in execution order.
    pub txs: Vec<Tx>,
}

/// Decoding limits of blocks, from the chain's [`crate::Params`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockCfg {
    /// Most txs in a block.
    pub max_txs: usize,
    /// Limits of each tx.
    pub tx: TxCfg,
}

impl From<&Params> for BlockCfg {
    fn from(params: &Params) -> Self {
        Self {
            max_txs: params.max_block_txs as usize,
            tx: params.into(),
        }
    }
}

/// Why a block breaks a stateless rule (it must not be voted for).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// Parent digest is not the expected one.
    #[error("block {height} has parent {found}, expected {expected}")]
    WrongParent {
        /// The block's height.
        height: u64,
        /// Expected parent (hex).
        expected: String,
        /// Found parent (hex).
        found: String,
    },
    /// Height is not parent height + 1.
    #[error("block height {found} does not follow its parent's height (expected {expected})")]
    WrongHeight {
        /// Expected height.
        expected: u64,
        /// Found height.
        found: u64,
    },
    /// Timestamp goes backwards or too far ahead.
    #[error("block timestamp {found} ms is outside [{min}, {max}] ms")]
    BadTimestamp {
        /// Found timestamp.
        found: u64,
        /// Lowest allowed.
        min: u64,
        /// Highest allowed.
        max: u64,
    },
    /// Too many txs or bytes.
    #[error("block has {found} {what}, over the limit of {max}")]
    TooLarge {
        /// `txs` or `bytes`.
        what: &'static str,
        /// Found.
        found: u64,
        /// Limit.
        max: u64,
    },
    /// A tx fails a stateless check.
    #[error("tx {index} of the block is invalid: {error}")]
    InvalidTx {
        /// Position of the tx in the block.
        index: usize,
        /// What is wrong with it.
        error: TxError,
    },
}

impl Block {
    /// The block at height 0 of the chain with digest `chain`: no txs, timestamp 0, parent the
    /// chain digest. Every node derives the same one, so consensus can start from its digest.
    pub fn genesis(chain: Digest) -> Self {
        Self {
            parent: chain,
            height: 0,
            timestamp_ms: 0,
            txs: Vec::new(),
        }
    }

    /// The ids of the block's txs, in order.
    pub fn tx_ids(&self) -> Vec<Digest> {
        self.txs.iter().map(Tx::id).collect()
    }

    /// The root of the block's txs: SHA-256 over the domain and every tx id in order.
    pub fn tx_root(&self) -> Digest {
        tx_root_of(&self.tx_ids())
    }

    /// The block digest: SHA-256(header ‖ tx root).
    pub fn digest(&self) -> Digest {
        self.digest_with_root(&self.tx_root())
    }

    /// The block digest when the tx root is already known.
    pub fn digest_with_root(&self, tx_root: &Digest) -> Digest {
        sha256(&[
            BLOCK_DOMAIN,
            self.parent.as_ref(),
            &self.height.to_be_bytes(),
            &self.timestamp_ms.to_be_bytes(),
            &(self.txs.len() as u64).to_be_bytes(),
            tx_root.as_ref(),
        ])
    }

    /// Checks every stateless rule of DESIGN §5.1–5.2 of this block as a child of a parent with
    /// `parent_digest`, `parent_height` and `parent_timestamp_ms`, given the verifier's clock
    /// `now_ms` and the allowed drift into the future. Verifies all tx signatures (batched).
    #[allow(clippy::too_many_arguments)]
    pub fn check_stateless(
        &self,
        chain: &Digest,
        params: &Params,
        parent_digest: &Digest,
        parent_height: u64,
        parent_timestamp_ms: u64,
        now_ms: u64,
        max_drift_ms: u64,
    ) -> Result<(), BlockError> {
        self.check_stateless_with(
            chain,
            params,
            parent_digest,
            parent_height,
            parent_timestamp_ms,
            now_ms,
            max_drift_ms,
            |_| false,
        )
    }

    /// [`Block::check_stateless`] for a verifier that already verified the signatures of some
    /// of the txs (e.g. those its mempool admitted): `verified(i)` says tx `i` was.
    #[allow(clippy::too_many_arguments)]
    pub fn check_stateless_with(
        &self,
        chain: &Digest,
        params: &Params,
        parent_digest: &Digest,
        parent_height: u64,
        parent_timestamp_ms: u64,
        now_ms: u64,
        max_drift_ms: u64,
        verified: impl Fn(usize) -> bool,
    ) -> Result<(), BlockError> {
        self.check_position(
            parent_digest,
            parent_height,
            parent_timestamp_ms,
            now_ms,
            max_drift_ms,
        )?;
        self.check_txs_with(chain, params, verified)
    }

    fn check_position(
        &self,
        parent_digest: &Digest,
        parent_height: u64,
        parent_timestamp_ms: u64,
        now_ms: u64,
        max_drift_ms: u64,
    ) -> Result<(), BlockError> {
        if &self.parent != parent_digest {
            return Err(BlockError::WrongParent {
                height: self.height,
                expected: crate::hash::to_hex(parent_digest),
                found: crate::hash::to_hex(&self.parent),
            });
        }
        if self.height != parent_height + 1 {
            return Err(BlockError::WrongHeight {
                expected: parent_height + 1,
                found: self.height,
            });
        }
        let max_ts = now_ms.saturating_add(max_drift_ms);
        if self.timestamp_ms < parent_timestamp_ms || self.timestamp_ms > max_ts {
            return Err(BlockError::BadTimestamp {
                found: self.timestamp_ms,
                min: parent_timestamp_ms,
                max: max_ts,
            });
        }
        Ok(())
    }

    /// The size and tx rules alone (for a block whose position was checked elsewhere).
    pub fn check_txs(&self, chain: &Digest, params: &Params) -> Result<(), BlockError> {
        self.check_txs_with(chain, params, |_| false)
    }

    /// [`Block::check_txs`], skipping the signature of every tx `i` with `verified(i)`.
    pub fn check_txs_with(
        &self,
        chain: &Digest,
        params: &Params,
        verified: impl Fn(usize) -> bool,
    ) -> Result<(), BlockError> {
        if self.txs.len() as u64 > params.max_block_txs {
            return Err(BlockError::TooLarge {
                what: "txs",
                found: self.txs.len() as u64,
                max: params.max_block_txs,
            });
        }
        let size = self.encode_size() as u64;
        if size > params.max_block_bytes {
            return Err(BlockError::TooLarge {
                what: "bytes",
                found: size,
                max: params.max_block_bytes,
            });
        }
        for (index, tx) in self.txs.iter().enumerate() {
            tx.check_envelope(chain, params, self.height)
                .map_err(|error| BlockError::InvalidTx { index, error })?;
        }
        let unverified: Vec<usize> = (0..self.txs.len()).filter(|&i| !verified(i)).collect();
        let failed = if unverified.len() == self.txs.len() {
            verify_signatures(&self.txs)
        } else {
            let txs: Vec<&Tx> = unverified.iter().map(|&i| &self.txs[i]).collect();
            verify_signatures_of(&txs)
                .into_iter()
                .map(|i| unverified[i])
                .collect()
        };
        if let Some(&index) = failed.first() {
            let tx = &self.txs[index];
            return Err(BlockError::InvalidTx {
                index,
                error: TxError::BadSignature {
                    signer: hex::encode(tx.signer.as_ref()),
                },
            });
        }
        Ok(())
    }

    /// Encodes the block.
    pub fn to_bytes(&self) -> bytes::Bytes {
        self.encode()
    }
}

/// The tx root of a list of tx ids (see [`Block::tx_root`]).
pub fn tx_root_of(ids: &[Digest]) -> Digest {
    let mut parts: Vec<&[u8]> = Vec::with_capacity(ids.len() + 1);
    parts.push(TX_ROOT_DOMAIN);
    parts.extend(ids.iter().map(|id| id.as_ref()));
    sha256(&parts)
}

impl Write for Block {
    fn write(&self, buf: &mut impl BufMut) {
        self.parent.write(buf);
        self.height.write(buf);
        self.timestamp_ms.write(buf);
        self.txs.write(buf);
    }
}

impl EncodeSize for Block {
    fn encode_size(&self) -> usize {
        Digest::SIZE + 2 * u64::SIZE + self.txs.encode_size()
    }
}

impl Read for Block {
    type Cfg = BlockCfg;

    fn read_cfg(buf: &mut impl Buf, cfg: &BlockCfg) -> Result<Self, CodecError> {
        Ok(Self {
            parent: Digest::read(buf)?,
            height: u64::read(buf)?,
            timestamp_ms: u64::read(buf)?,
            txs: Vec::<Tx>::read_cfg(buf, &(RangeCfg::from(0..=cfg.max_txs), cfg.tx))?,
        })
    }
}
