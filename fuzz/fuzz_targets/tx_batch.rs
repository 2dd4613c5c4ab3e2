//! A batch of signed transactions: a peer's gossip message (`gossip.rs`: a `Vec<Tx>` of at most
//! `MAX_BATCH_TXS`) and the body of `POST /v1/txs` as a batch (`api/txs.rs`: at most
//! `max_block_txs`). Both decode the same bytes with only the count bound differing; a batch
//! that decodes must re-encode to the same bytes, the way the gossip sender writes it.

#![no_main]

use commonware_codec::{Decode, Encode, RangeCfg, Write};
use custodia_node::gossip::MAX_BATCH_TXS;
use custodia_protocol::{Tx, TxCfg};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let params = custodia_fuzz::params();
    let tx_cfg = TxCfg::from(params);
    let gossip_cfg = (RangeCfg::from(0..=MAX_BATCH_TXS), tx_cfg);
    let api_cfg = (RangeCfg::from(0..=params.max_block_txs as usize), tx_cfg);
    let gossip = Vec::<Tx>::decode_cfg(bytes::Bytes::copy_from_slice(data), &gossip_cfg);
    let api = Vec::<Tx>::decode_cfg(bytes::Bytes::copy_from_slice(data), &api_cfg);
    if let Ok(txs) = &gossip {
        // The API's bound is the larger one: what gossip takes, the API takes alike.
        assert_eq!(
            api.as_ref().ok(),
            Some(txs),
            "the API decodes a gossip batch otherwise"
        );
    }
    let Ok(txs) = api else { return };
    assert_eq!(
        &txs.encode()[..],
        data,
        "a decoded batch re-encodes to other bytes"
    );
    // The gossip sender's framing (Gossip::flush): the count, then each tx.
    let mut message = Vec::new();
    txs.len().write(&mut message);
    for tx in &txs {
        tx.write(&mut message);
    }
    assert_eq!(message, data, "the gossip sender frames a batch otherwise");
    if txs.len() <= MAX_BATCH_TXS {
        assert!(
            gossip.is_ok(),
            "a batch within MAX_BATCH_TXS is refused by gossip"
        );
    }
});
