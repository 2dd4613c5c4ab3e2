//! Property tests of the binary codec: every tx, block and genesis round-trips exactly and txs
//! still verify after decoding; adversarial bytes (random, truncated, bit-flipped) never panic
//! the decoder; sealed payloads and tx counts over the chain's limits are refused at decode.

mod common;

use bytes::Bytes;
use commonware_codec::{Decode, Encode, EncodeSize, Write as _};
use custodia_protocol::{
    Block, BlockCfg, Body, Genesis, OrgKeys, Params, RecordId, RequestId, Tx, TxCfg,
    params::{
        MAX_FIELDS, MAX_KIND_BYTES, MAX_ORGS, MAX_PURPOSE_CHARS, MAX_REASON_CHARS,
        MAX_REQUEST_RECORDS, MAX_TAG_CHARS, MAX_TAGS,
    },
    tx::{TxError, verify_signatures},
};
use proptest::{collection::vec, prelude::*, sample::Index};

const ROUND_TRIP_CASES: u32 = 256;
const GARBAGE_CASES: u32 = 1024;

#[path = "codec_props/strategies.rs"]
mod strategies;
use strategies::*;

// ---- decoding helpers -------------------------------------------------------------------------

fn block_cfg() -> BlockCfg {
    BlockCfg::from(&Params::default())
}

fn decode_tx(bytes: &[u8]) -> Result<Tx, TxError> {
    Tx::decode_bytes(Bytes::copy_from_slice(bytes), &TxCfg::default())
}

fn decode_block(bytes: &[u8]) -> Result<Block, commonware_codec::Error> {
    Block::decode_cfg(Bytes::copy_from_slice(bytes), &block_cfg())
}

fn decode_genesis(bytes: &[u8]) -> Result<Genesis, commonware_codec::Error> {
    Genesis::decode_cfg(Bytes::copy_from_slice(bytes), &())
}

/// Decodes arbitrary bytes as every wire type. Whatever decodes must re-encode to exactly the
/// same bytes: the codec has one encoding per value, so a tx id or block digest cannot be
/// changed by re-encoding a valid message differently.
fn decode_everything(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(tx) = decode_tx(bytes) {
        prop_assert_eq!(&tx.encode()[..], bytes);
    }
    if let Ok(block) = decode_block(bytes) {
        prop_assert_eq!(&block.encode()[..], bytes);
    }
    if let Ok(genesis) = decode_genesis(bytes) {
        prop_assert_eq!(&genesis.encode()[..], bytes);
    }
    Ok(())
}

fn flip_bits(bytes: &[u8], flips: &[(Index, u8)]) -> Vec<u8> {
    let mut flipped = bytes.to_vec();
    for (at, bit) in flips {
        flipped[at.index(bytes.len())] ^= 1 << (bit % 8);
    }
    flipped
}

/// The fixed-size start of a tx (chain, a real signer key, valid_until, nonce), so random tails
/// reach the body decoder instead of failing on the signer's curve point.
fn tx_prefix() -> Vec<u8> {
    let mut prefix = common::digest([7; 32]).encode().to_vec();
    prefix.extend_from_slice(&OrgKeys::from_seed(1).identity_key().encode());
    prefix.extend_from_slice(&5u64.to_be_bytes());
    prefix.extend_from_slice(&9u64.to_be_bytes());
    prefix
}

// ---- round trips ------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(ROUND_TRIP_CASES))]

    #[test]
    fn every_tx_round_trips_and_still_verifies(tx in tx()) {
        let bytes = tx.encode();
        prop_assert_eq!(bytes.len(), tx.encode_size());
        let back = Tx::decode_bytes(bytes.clone(), &TxCfg::default()).map_err(|e| {
            TestCaseError::fail(format!("{} tx does not decode: {e}", tx.body.name()))
        })?;
        prop_assert_eq!(&back, &tx);
        prop_assert_eq!(back.id(), tx.id());
        prop_assert!(back.verify_signature());
        prop_assert!(verify_signatures(std::slice::from_ref(&back)).is_empty());
    }

    #[test]
    fn every_block_round_trips_and_its_txs_still_verify(block in block()) {
        let bytes = block.to_bytes();
        prop_assert_eq!(bytes.len(), block.encode_size());
        let back = Block::decode_cfg(bytes, &block_cfg())
            .map_err(|e| TestCaseError::fail(format!("block does not decode: {e}")))?;
        prop_assert_eq!(&back, &block);
        prop_assert_eq!(back.digest(), block.digest());
        prop_assert!(verify_signatures(&back.txs).is_empty());
    }

    #[test]
    fn every_valid_genesis_round_trips(genesis in genesis()) {
        prop_assert_eq!(genesis.validate(), Ok(()));
        let back = Genesis::decode_cfg(genesis.encode(), &())
            .map_err(|e| TestCaseError::fail(format!("genesis does not decode: {e}")))?;
        prop_assert_eq!(&back, &genesis);
        prop_assert_eq!(back.digest(), genesis.digest());
        prop_assert_eq!(back.validate(), Ok(()));
    }
}

// ---- adversarial bytes ------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(GARBAGE_CASES))]

    #[test]
    fn random_bytes_never_panic_the_decoders(bytes in vec(any::<u8>(), 0..1024)) {
        decode_everything(&bytes)?;
    }

    #[test]
    fn random_tx_bodies_after_a_valid_header_never_panic(tail in vec(any::<u8>(), 0..512)) {
        let mut bytes = tx_prefix();
        bytes.extend_from_slice(&tail);
        decode_everything(&bytes)?;
    }

    #[test]
    fn truncated_txs_blocks_and_geneses_are_refused(
        tx in tx(),
        block in block(),
        genesis in genesis(),
        cut in any::<Index>(),
    ) {
        // Every encoding is self-delimiting, so no strict prefix of one decodes.
        let bytes = tx.encode();
        prop_assert!(decode_tx(&bytes[..cut.index(bytes.len())]).is_err());
        let bytes = block.encode();
        prop_assert!(decode_block(&bytes[..cut.index(bytes.len())]).is_err());
        let bytes = genesis.encode();
        prop_assert!(decode_genesis(&bytes[..cut.index(bytes.len())]).is_err());
    }

    #[test]
    fn bit_flipped_txs_never_panic_and_never_verify(
        tx in tx(),
        flips in vec((any::<Index>(), any::<u8>()), 1..4),
    ) {
        let bytes = tx.encode();
        let flipped = flip_bits(&bytes, &flips);
        prop_assume!(flipped != bytes[..]);
        decode_everything(&flipped)?;
        if let Ok(changed) = decode_tx(&flipped) {
            // Every byte of a tx is either signed or the signature itself.
            prop_assert!(!changed.verify_signature(), "a bit-flipped tx still verifies");
            prop_assert!(!verify_signatures(&[changed]).is_empty());
        }
    }

    #[test]
    fn bit_flipped_blocks_never_panic_and_never_pass_as_the_original(
        block in block(),
        flips in vec((any::<Index>(), any::<u8>()), 1..4),
    ) {
        let bytes = block.encode();
        let flipped = flip_bits(&bytes, &flips);
        prop_assume!(flipped != bytes[..]);
        decode_everything(&flipped)?;
        if let Ok(changed) = decode_block(&flipped) {
            let same_header = changed.parent == block.parent
                && changed.height == block.height
                && changed.timestamp_ms == block.timestamp_ms
                && changed.txs.len() == block.txs.len();
            // Same header: the change is inside a tx, whose signature then fails.
            prop_assert!(!same_header || !verify_signatures(&changed.txs).is_empty());
            prop_assert_ne!(changed.digest(), block.digest());
        }
    }

    #[test]
    fn bit_flipped_geneses_never_panic(
        genesis in genesis(),
        flips in vec((any::<Index>(), any::<u8>()), 1..4),
    ) {
        let bytes = genesis.encode();
        let flipped = flip_bits(&bytes, &flips);
        prop_assume!(flipped != bytes[..]);
        decode_everything(&flipped)?;
        if let Ok(changed) = decode_genesis(&flipped) {
            prop_assert_ne!(changed.digest(), genesis.digest());
        }
    }
}

// ---- limits -----------------------------------------------------------------------------------

/// A signature to put on txs whose signature does not matter (decoding-limit tests): signing
/// megabytes in the dev profile would only slow the suite down.
fn any_signature() -> custodia_protocol::Signature {
    let keys = OrgKeys::from_seed(1);
    Tx::sign_with_nonce(
        &keys.identity,
        common::digest([0; 32]),
        0,
        0,
        Body::Cancel {
            request_id: RequestId([0; 16]),
        },
    )
    .signature
}

fn unsigned_tx(body: Body) -> Tx {
    Tx {
        chain: common::digest([1; 32]),
        signer: OrgKeys::from_seed(1).identity_key(),
        valid_until: 10,
        nonce: 42,
        body,
        signature: any_signature(),
    }
}

fn submit_with(sealed: Bytes) -> Body {
    Body::SubmitRecord {
        record_id: RecordId([3; 16]),
        kind: "claim".into(),
        tags: vec![],
        fields: vec!["amount".into()],
        commitment: common::digest([4; 32]),
        sealed,
    }
}

fn deliver_with(sealed: Bytes) -> Body {
    Body::Deliver {
        request_id: RequestId([5; 16]),
        sealed,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(ROUND_TRIP_CASES))]

    #[test]
    fn sealed_payloads_decode_exactly_up_to_the_limit(
        limit in 0usize..2048,
        len in 0usize..2112,
        is_delivery in any::<bool>(),
    ) {
        let sealed = Bytes::from(vec![0xa5; len]);
        let body = if is_delivery { deliver_with(sealed) } else { submit_with(sealed) };
        let cfg = TxCfg { max_record_bytes: limit, max_deliver_bytes: limit };
        let result = Tx::decode_bytes(unsigned_tx(body).encode(), &cfg);
        if len <= limit {
            prop_assert!(result.is_ok(), "{len} bytes under a limit of {limit}: {result:?}");
        } else {
            prop_assert!(matches!(result, Err(TxError::Malformed(_))), "{len} > {limit}: {result:?}");
        }
    }

    #[test]
    fn blocks_decode_exactly_up_to_the_tx_limit(max_txs in 0usize..5, count in 0usize..8) {
        let txs = (0..count)
            .map(|i| unsigned_tx(Body::Cancel { request_id: RequestId([i as u8; 16]) }))
            .collect();
        let block = Block { parent: common::digest([2; 32]), height: 1, timestamp_ms: 0, txs };
        let cfg = BlockCfg { max_txs, tx: TxCfg::default() };
        let result = Block::decode_cfg(block.encode(), &cfg);
        prop_assert_eq!(result.is_ok(), count <= max_txs, "{} txs, limit {}", count, max_txs);
    }
}

#[test]
fn record_payload_of_max_record_bytes_decodes_and_one_more_byte_is_refused() {
    let params = Params::default();
    let cfg = TxCfg::from(&params);
    let max = params.max_record_bytes as usize;
    let at_limit = unsigned_tx(submit_with(Bytes::from(vec![1; max])));
    assert_eq!(
        Tx::decode_bytes(at_limit.encode(), &cfg).as_ref(),
        Ok(&at_limit)
    );
    let over = unsigned_tx(submit_with(Bytes::from(vec![1; max + 1])));
    let err = Tx::decode_bytes(over.encode(), &cfg).unwrap_err();
    assert_eq!(err.code(), "malformed_tx", "{err}");
}

#[test]
fn delivery_payload_over_the_chain_limit_is_refused() {
    let params = Params::default();
    let cfg = TxCfg::from(&params);
    let max = params.max_deliver_sealed_bytes() as usize;
    let at_limit = unsigned_tx(deliver_with(Bytes::from(vec![1; max])));
    assert!(Tx::decode_bytes(at_limit.encode(), &cfg).is_ok());
    let over = unsigned_tx(deliver_with(Bytes::from(vec![1; max + 1])));
    assert!(matches!(
        Tx::decode_bytes(over.encode(), &cfg),
        Err(TxError::Malformed(_))
    ));
}

#[test]
fn strings_and_lists_over_the_protocol_limits_are_refused() {
    let cfg = TxCfg::default();
    // A body decodes exactly when it passes `check_limits`: what a node signs or admits, every
    // node can decode.
    let decodes = |body: Body| {
        let decoded = Tx::decode_bytes(unsigned_tx(body.clone()).encode(), &cfg).is_ok();
        assert_eq!(
            decoded,
            body.check_limits().is_ok(),
            "decoding and check_limits disagree on a {}",
            body.name()
        );
        decoded
    };
    let submit = |kind: String, tags: Vec<String>, fields: Vec<String>| Body::SubmitRecord {
        record_id: RecordId([3; 16]),
        kind,
        tags,
        fields,
        commitment: common::digest([4; 32]),
        sealed: Bytes::new(),
    };
    let names = |n: usize| (0..n).map(|i| format!("f{i}")).collect::<Vec<_>>();

    assert!(decodes(submit("k".repeat(MAX_KIND_BYTES), vec![], vec![])));
    assert!(!decodes(submit(
        "k".repeat(MAX_KIND_BYTES + 1),
        vec![],
        vec![]
    )));
    assert!(decodes(submit("k".into(), names(MAX_TAGS), vec![])));
    assert!(!decodes(submit("k".into(), names(MAX_TAGS + 1), vec![])));
    assert!(decodes(submit("k".into(), vec![], names(MAX_FIELDS))));
    assert!(!decodes(submit("k".into(), vec![], names(MAX_FIELDS + 1))));

    let request = |purpose: String| Body::RequestShare {
        request_id: RequestId([6; 16]),
        record_ids: vec![RecordId([3; 16])],
        fields: vec![],
        purpose,
        ttl: 10,
    };
    assert!(decodes(request("p".repeat(MAX_PURPOSE_CHARS))));
    assert!(!decodes(request("p".repeat(MAX_PURPOSE_CHARS + 1))));
    // Texts are counted in characters: multibyte ones fit as many.
    assert!(decodes(request("é".repeat(MAX_PURPOSE_CHARS))));
    assert!(!decodes(request("é".repeat(MAX_PURPOSE_CHARS + 1))));
    let decide = |reason: String| Body::Decide {
        request_id: RequestId([6; 16]),
        approve: false,
        reason,
    };
    assert!(decodes(decide("🦀".repeat(MAX_REASON_CHARS))));
    assert!(!decodes(decide("🦀".repeat(MAX_REASON_CHARS + 1))));
    assert!(decodes(submit(
        "k".into(),
        vec!["ß".repeat(MAX_TAG_CHARS)],
        vec![]
    )));
    assert!(!decodes(submit(
        "k".into(),
        vec!["ß".repeat(MAX_TAG_CHARS + 1)],
        vec![]
    )));
    let ask = |records: usize, fields: usize| Body::RequestShare {
        request_id: RequestId([6; 16]),
        record_ids: (0..records).map(|i| RecordId([i as u8; 16])).collect(),
        fields: names(fields),
        purpose: "p".into(),
        ttl: 10,
    };
    assert!(decodes(ask(MAX_REQUEST_RECORDS, MAX_FIELDS)));
    assert!(!decodes(ask(1, MAX_FIELDS + 1)));
    assert!(!decodes(ask(MAX_REQUEST_RECORDS + 1, 0)));
}

#[test]
fn length_prefixes_claiming_more_than_the_limits_fail_fast() {
    // A block header claiming one tx more than allowed, with no tx bytes behind it.
    let params = Params::default();
    let mut bytes = common::digest([0; 32]).encode().to_vec();
    bytes.extend_from_slice(&1u64.to_be_bytes());
    bytes.extend_from_slice(&0u64.to_be_bytes());
    let mut claim_over = bytes.clone();
    (params.max_block_txs as usize + 1).write(&mut claim_over);
    assert!(decode_block(&claim_over).is_err());
    // Claiming exactly the limit is fine for the count, but the txs are missing.
    let mut claim_at = bytes;
    (params.max_block_txs as usize).write(&mut claim_at);
    assert!(decode_block(&claim_at).is_err());

    // A genesis claiming more organisations than MAX_ORGS.
    let genesis = common::genesis("custodia-test", &[0, 1]);
    let mut bytes = b"\x0dcustodia-test".to_vec();
    bytes.extend_from_slice(&genesis.params.encode());
    (MAX_ORGS + 1).write(&mut bytes);
    assert!(decode_genesis(&bytes).is_err());
    // And the real one decodes (the prefix above is well formed).
    assert_eq!(decode_genesis(&genesis.encode()).ok(), Some(genesis));
}
