//! The stateless checks of txs and blocks (DESIGN §5.1): a tx for another chain, with a tampered
//! body or outside its validity window, and a block on the wrong parent, at the wrong height,
//! with a timestamp going back, too many txs or bytes, or a bad tx inside, each refused with the
//! error that names it.

mod common;

use bytes::Bytes;
use common::Consortium;
use commonware_codec::EncodeSize as _;
use custodia_protocol::{
    Block, Body, Digest, OrgKeys, Params, RecordId, RequestId, Tx, block::BlockError,
    record::seal_record, tx::TxError,
};
use serde_json::json;
use std::collections::BTreeMap;

// ---- transactions -----------------------------------------------------------------------------

const HEIGHT: u64 = 100;

/// A `SubmitRecord` tx of the provider with a real sealed record.
fn submit_tx(c: &Consortium, chain: Digest, valid_until: u64) -> Tx {
    let record_id = RecordId([1; 16]);
    let fields = BTreeMap::from([
        ("holder".to_string(), json!("Alice Martin")),
        ("amount".to_string(), json!(1200)),
    ]);
    let sealed = seal_record(
        &chain,
        &record_id,
        "claim",
        &c.provider.identity_key(),
        &c.supervisor.encryption_key(),
        fields,
    )
    .expect("an honest record seals");
    let body = sealed.into_body(record_id, "claim".into(), vec!["2026".into()]);
    Tx::sign_with_nonce(&c.provider.identity, chain, valid_until, 7, body)
}

#[test]
fn a_valid_tx_passes_the_stateless_checks() {
    let c = Consortium::new();
    let tx = submit_tx(&c, c.chain, HEIGHT + 10);
    assert_eq!(
        tx.check_stateless(&c.chain, &Params::default(), HEIGHT),
        Ok(())
    );
}

#[test]
fn a_tx_signed_for_another_chain_is_wrong_chain() {
    let c = Consortium::new();
    let other = Consortium::for_chain("custodia-other").chain;
    let tx = submit_tx(&c, other, HEIGHT);
    let err = tx
        .check_stateless(&c.chain, &Params::default(), HEIGHT)
        .unwrap_err();
    assert!(matches!(err, TxError::WrongChain { .. }), "{err:?}");
    assert_eq!(err.code(), "wrong_chain");
}

#[test]
fn a_tx_with_a_tampered_body_has_a_bad_signature() {
    let c = Consortium::new();
    let params = Params::default();
    let tampered = |change: fn(&mut Tx)| {
        let mut tx = submit_tx(&c, c.chain, HEIGHT);
        change(&mut tx);
        tx.check_stateless(&c.chain, &params, HEIGHT)
    };
    let bad = |r: Result<(), TxError>| matches!(r, Err(TxError::BadSignature { .. }));
    assert!(bad(tampered(|tx| {
        if let Body::SubmitRecord { kind, .. } = &mut tx.body {
            kind.push('s');
        }
    })));
    assert!(bad(tampered(|tx| {
        if let Body::SubmitRecord { sealed, .. } = &mut tx.body {
            let mut bytes = sealed.to_vec();
            bytes[60] ^= 0x80;
            *sealed = Bytes::from(bytes);
        }
    })));
    assert!(bad(tampered(|tx| {
        if let Body::SubmitRecord { fields, .. } = &mut tx.body {
            fields.pop();
        }
    })));
    assert!(bad(tampered(|tx| tx.nonce += 1)));
    assert!(bad(tampered(|tx| tx.valid_until += 1)));
    // Another org's key in place of the signer.
    assert!(bad(tampered(|tx| {
        tx.signer = OrgKeys::from_seed(common::OTHER_SEED).identity_key()
    })));
}

#[test]
fn a_signature_and_a_tx_id_are_checked_without_the_ciphertext() {
    let c = Consortium::new();
    let deliver = Tx::sign_with_nonce(
        &c.supervisor.identity,
        c.chain,
        HEIGHT,
        9,
        Body::Deliver {
            request_id: RequestId([3; 16]),
            sealed: Bytes::from(vec![0xa5; 4096]),
        },
    );
    for tx in [submit_tx(&c, c.chain, HEIGHT), deliver] {
        let (Body::SubmitRecord { sealed, .. } | Body::Deliver { sealed, .. }) = &tx.body else {
            unreachable!("both carry a sealed payload")
        };
        let payload = tx.signing_payload();
        // The payload holds the ciphertext's digest and none of its bytes.
        let digest = custodia_protocol::hash::sha256(&[sealed]);
        assert!(payload.windows(32).any(|w| w == digest.as_ref()));
        assert!(
            !payload
                .windows(16)
                .any(|w| sealed.windows(16).any(|s| s == w)),
            "the signing payload holds no 16 bytes of the ciphertext"
        );
        assert!(payload.len() < tx.encode_size() - sealed.len() + 64);
        // Whoever holds the payload and the signature checks both, and the tx id.
        assert!(commonware_cryptography::Verifier::verify(
            &tx.signer,
            custodia_protocol::TX_NAMESPACE,
            &payload,
            &tx.signature
        ));
        assert_eq!(
            custodia_protocol::tx::id_of(&payload, &tx.signature),
            tx.id()
        );
        // Another ciphertext is another digest: the signature no longer verifies.
        let mut other = tx.clone();
        if let Body::SubmitRecord { sealed, .. } | Body::Deliver { sealed, .. } = &mut other.body {
            let mut bytes = sealed.to_vec();
            bytes[0] ^= 1;
            *sealed = Bytes::from(bytes);
        }
        assert!(!other.verify_signature());
        assert_ne!(other.id(), tx.id());
    }
}

#[test]
fn a_tx_outside_its_validity_window_is_refused() {
    let c = Consortium::new();
    let params = Params::default();
    let ttl = params.max_tx_ttl;
    let check = |valid_until| {
        submit_tx(&c, c.chain, valid_until).check_stateless(&c.chain, &params, HEIGHT)
    };
    assert_eq!(check(HEIGHT), Ok(()));
    assert_eq!(check(HEIGHT + ttl), Ok(()));
    for valid_until in [0, HEIGHT - 1, HEIGHT + ttl + 1, u64::MAX] {
        assert_eq!(
            check(valid_until),
            Err(TxError::OutsideWindow {
                valid_until,
                height: HEIGHT,
                max_ttl: ttl
            })
        );
    }
}

// ---- blocks -----------------------------------------------------------------------------------

const PARENT_TS: u64 = 1_700_000_000_000;
const NOW: u64 = PARENT_TS + 2_000;
const DRIFT: u64 = 5_000;

fn parent() -> Digest {
    common::digest([0xbb; 32])
}

/// A block at `HEIGHT` on top of `parent()` with `n` valid txs from the members.
fn block_with(c: &Consortium, n: u64) -> Block {
    let txs = (0..n)
        .map(|i| {
            let keys = if i % 2 == 0 {
                &c.provider
            } else {
                &c.requester
            };
            let body = Body::Cancel {
                request_id: RequestId([i as u8; 16]),
            };
            Tx::sign_with_nonce(&keys.identity, c.chain, HEIGHT + 5, i, body)
        })
        .collect();
    Block {
        parent: parent(),
        height: HEIGHT,
        timestamp_ms: PARENT_TS + 1_000,
        txs,
    }
}

fn check(c: &Consortium, params: &Params, block: &Block) -> Result<(), BlockError> {
    block.check_stateless(
        &c.chain,
        params,
        &parent(),
        HEIGHT - 1,
        PARENT_TS,
        NOW,
        DRIFT,
    )
}

#[test]
fn a_valid_block_passes_the_stateless_checks() {
    let c = Consortium::new();
    assert_eq!(check(&c, &Params::default(), &block_with(&c, 4)), Ok(()));
    assert_eq!(check(&c, &Params::default(), &block_with(&c, 0)), Ok(()));
}

#[test]
fn a_block_on_the_wrong_parent_is_refused() {
    let c = Consortium::new();
    let mut b = block_with(&c, 2);
    b.parent = common::digest([0xcc; 32]);
    assert!(matches!(
        check(&c, &Params::default(), &b),
        Err(BlockError::WrongParent { height: HEIGHT, .. })
    ));
}

#[test]
fn a_block_at_the_wrong_height_is_refused() {
    let c = Consortium::new();
    for height in [HEIGHT - 1, HEIGHT + 1, 0] {
        let mut b = block_with(&c, 2);
        b.height = height;
        assert_eq!(
            check(&c, &Params::default(), &b),
            Err(BlockError::WrongHeight {
                expected: HEIGHT,
                found: height
            })
        );
    }
}

#[test]
fn a_block_whose_timestamp_goes_back_or_too_far_ahead_is_refused() {
    let c = Consortium::new();
    let params = Params::default();
    let mut b = block_with(&c, 1);
    b.timestamp_ms = PARENT_TS;
    assert_eq!(
        check(&c, &params, &b),
        Ok(()),
        "equal to the parent's is fine"
    );
    b.timestamp_ms = NOW + DRIFT;
    assert_eq!(
        check(&c, &params, &b),
        Ok(()),
        "at the edge of the drift is fine"
    );
    for ts in [PARENT_TS - 1, 0, NOW + DRIFT + 1] {
        b.timestamp_ms = ts;
        assert_eq!(
            check(&c, &params, &b),
            Err(BlockError::BadTimestamp {
                found: ts,
                min: PARENT_TS,
                max: NOW + DRIFT
            })
        );
    }
}

#[test]
fn a_block_with_too_many_txs_is_refused() {
    let c = Consortium::new();
    let params = Params {
        max_block_txs: 3,
        ..Params::default()
    };
    assert_eq!(check(&c, &params, &block_with(&c, 3)), Ok(()));
    assert_eq!(
        check(&c, &params, &block_with(&c, 4)),
        Err(BlockError::TooLarge {
            what: "txs",
            found: 4,
            max: 3
        })
    );
}

#[test]
fn a_block_over_the_byte_limit_is_refused() {
    let c = Consortium::new();
    let b = block_with(&c, 4);
    let size = commonware_codec::EncodeSize::encode_size(&b) as u64;
    let params = Params {
        max_block_bytes: size - 1,
        ..Params::default()
    };
    assert_eq!(
        check(&c, &params, &b),
        Err(BlockError::TooLarge {
            what: "bytes",
            found: size,
            max: size - 1
        })
    );
}

#[test]
fn a_block_with_a_badly_signed_tx_names_that_tx() {
    let c = Consortium::new();
    let mut b = block_with(&c, 5);
    b.txs[3].nonce ^= 1;
    let err = check(&c, &Params::default(), &b).unwrap_err();
    assert!(
        matches!(
            &err,
            BlockError::InvalidTx {
                index: 3,
                error: TxError::BadSignature { .. }
            }
        ),
        "{err:?}"
    );
    // A signature lifted from another tx is just as bad.
    let mut b = block_with(&c, 5);
    b.txs[1].signature = b.txs[0].signature.clone();
    assert!(matches!(
        check(&c, &Params::default(), &b),
        Err(BlockError::InvalidTx { index: 1, .. })
    ));
}

#[test]
fn a_block_with_a_tx_for_another_chain_or_outside_its_window_is_refused() {
    let c = Consortium::new();
    let other = Consortium::for_chain("custodia-other").chain;
    let mut b = block_with(&c, 3);
    b.txs[2] = Tx::sign_with_nonce(
        &c.provider.identity,
        other,
        HEIGHT,
        1,
        Body::Cancel {
            request_id: RequestId([1; 16]),
        },
    );
    assert!(matches!(
        check(&c, &Params::default(), &b),
        Err(BlockError::InvalidTx {
            index: 2,
            error: TxError::WrongChain { .. }
        })
    ));
    let mut b = block_with(&c, 3);
    b.txs[0] = Tx::sign_with_nonce(
        &c.provider.identity,
        c.chain,
        HEIGHT - 1,
        1,
        Body::Cancel {
            request_id: RequestId([1; 16]),
        },
    );
    assert!(matches!(
        check(&c, &Params::default(), &b),
        Err(BlockError::InvalidTx {
            index: 0,
            error: TxError::OutsideWindow { .. }
        })
    ));
}
