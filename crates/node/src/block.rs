//! [`ChainBlock`]: a custodia [`Block`] as consensus and marshal see it.
//!
//! The protocol crate stays free of consensus types, so the consensus traits (`Heightable`,
//! `Block`, `BoundedBlock`) are implemented here on a cheap-to-clone wrapper that computes the
//! tx ids and the block digest once, when the block is built or decoded.

use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, Write};
use commonware_consensus::{Heightable, types::Height};
use commonware_cryptography::Digestible;
use custodia_protocol::{Block, BlockCfg, Digest, Params, block::tx_root_of};
use std::sync::Arc;

/// Decoding limits of a [`ChainBlock`]: the protocol's [`BlockCfg`] and the byte bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainBlockCfg {
    /// Tx count and per-tx limits.
    pub block: BlockCfg,
    /// Most encoded bytes of a block.
    pub max_bytes: usize,
}

impl From<&Params> for ChainBlockCfg {
    fn from(params: &Params) -> Self {
        Self {
            block: params.into(),
            max_bytes: params.max_block_bytes as usize,
        }
    }
}

#[derive(Debug)]
struct Inner {
    block: Block,
    ids: Vec<Digest>,
    digest: Digest,
}

/// A block with its tx ids and digest computed once. Clones share the block.
#[derive(Debug, Clone)]
pub struct ChainBlock(Arc<Inner>);

impl ChainBlock {
    /// Wraps `block`, computing its tx ids and digest.
    pub fn new(block: Block) -> Self {
        let ids = block.tx_ids();
        let digest = block.digest_with_root(&tx_root_of(&ids));
        Self(Arc::new(Inner { block, ids, digest }))
    }

    /// The block at height 0 of the chain `chain`.
    pub fn genesis(chain: Digest) -> Self {
        Self::new(Block::genesis(chain))
    }

    /// The protocol block.
    pub fn block(&self) -> &Block {
        &self.0.block
    }

    /// The ids of its txs, in order.
    pub fn tx_ids(&self) -> &[Digest] {
        &self.0.ids
    }

    /// The block height as a number.
    pub fn number(&self) -> u64 {
        self.0.block.height
    }

    /// The proposer's timestamp.
    pub fn timestamp_ms(&self) -> u64 {
        self.0.block.timestamp_ms
    }
}

impl PartialEq for ChainBlock {
    fn eq(&self, other: &Self) -> bool {
        self.0.digest == other.0.digest
    }
}

impl Eq for ChainBlock {}

impl Digestible for ChainBlock {
    type Digest = Digest;

    fn digest(&self) -> Digest {
        self.0.digest
    }
}

impl Heightable for ChainBlock {
    fn height(&self) -> Height {
        Height::new(self.0.block.height)
    }
}

impl commonware_consensus::Block for ChainBlock {
    fn parent(&self) -> Digest {
        self.0.block.parent
    }
}

impl commonware_consensus::BoundedBlock for ChainBlock {
    fn max_encode_size(cfg: &ChainBlockCfg) -> usize {
        cfg.max_bytes
    }
}

impl Write for ChainBlock {
    fn write(&self, buf: &mut impl BufMut) {
        self.0.block.write(buf);
    }
}

impl EncodeSize for ChainBlock {
    fn encode_size(&self) -> usize {
        self.0.block.encode_size()
    }
}

impl Read for ChainBlock {
    type Cfg = ChainBlockCfg;

    fn read_cfg(buf: &mut impl Buf, cfg: &ChainBlockCfg) -> Result<Self, CodecError> {
        let available = buf.remaining();
        let block = Block::read_cfg(buf, &cfg.block)?;
        let read = available - buf.remaining();
        if read > cfg.max_bytes {
            return Err(CodecError::Invalid("Block", "over max_block_bytes"));
        }
        Ok(Self::new(block))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{Decode as _, Encode as _};

    #[test]
    fn digest_matches_the_protocol_block_and_survives_a_round_trip() {
        let chain = custodia_protocol::hash::sha256(&[b"chain"]);
        let block = Block {
            parent: chain,
            height: 1,
            timestamp_ms: 5,
            txs: vec![],
        };
        let wrapped = ChainBlock::new(block.clone());
        assert_eq!(wrapped.digest(), block.digest());
        let cfg = ChainBlockCfg::from(&Params::default());
        let bytes = wrapped.encode();
        let decoded = ChainBlock::decode_cfg(bytes, &cfg).unwrap();
        assert_eq!(decoded, wrapped);
        assert_eq!(decoded.block(), &block);
    }

    #[test]
    fn a_block_over_the_byte_limit_does_not_decode() {
        let chain = custodia_protocol::hash::sha256(&[b"chain"]);
        let wrapped = ChainBlock::genesis(chain);
        let cfg = ChainBlockCfg {
            block: BlockCfg::from(&Params::default()),
            max_bytes: 8,
        };
        assert!(ChainBlock::decode_cfg(wrapped.encode(), &cfg).is_err());
    }
}
