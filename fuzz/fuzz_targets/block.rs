//! A block from a peer, as marshal decodes it (`ChainBlock::read_cfg` under the chain's
//! `ChainBlockCfg`: tx count, each tx's bounds and `max_block_bytes`). A block that decodes must
//! re-encode to the same bytes, the protocol's `Block` must decode the same bytes alike, and the
//! digest and tx ids computed once on decoding must be the block's own.

#![no_main]

use commonware_codec::{Decode, Encode};
use commonware_cryptography::Digestible;
use custodia_node::{ChainBlock, ChainBlockCfg};
use custodia_protocol::{Block, BlockCfg};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let params = custodia_fuzz::params();
    let chain_block = ChainBlock::decode_cfg(
        bytes::Bytes::copy_from_slice(data),
        &ChainBlockCfg::from(params),
    );
    let block = Block::decode_cfg(bytes::Bytes::copy_from_slice(data), &BlockCfg::from(params));
    let Ok(decoded) = chain_block else {
        if let Ok(block) = block {
            assert!(
                data.len() as u64 > params.max_block_bytes,
                "ChainBlock refuses a block of {} txs within max_block_bytes",
                block.txs.len()
            );
        }
        return;
    };
    let block = block.expect("Block refuses what ChainBlock decodes");
    assert_eq!(decoded.block(), &block, "ChainBlock and Block decode alike");
    assert_eq!(
        &decoded.encode()[..],
        data,
        "a decoded block re-encodes to other bytes"
    );
    assert_eq!(&block.encode()[..], data);
    assert_eq!(
        decoded.digest(),
        block.digest(),
        "the digest computed on decoding"
    );
    assert_eq!(
        decoded.tx_ids(),
        &block.tx_ids()[..],
        "the tx ids computed on decoding"
    );
    assert_eq!(decoded.number(), block.height);
});
