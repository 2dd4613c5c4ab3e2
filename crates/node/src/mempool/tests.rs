use super::*;
use custodia_protocol::{Body, OrgKeys, RequestId, Tx};
use custodia_state::Code;

const HEIGHT: u64 = 10;

fn chain() -> Digest {
    custodia_protocol::hash::sha256(&[b"mempool-test"])
}

fn cancel(keys: &OrgKeys, valid_until: u64) -> Tx {
    Tx::sign(
        &keys.identity,
        chain(),
        valid_until,
        Body::Cancel {
            request_id: RequestId::random(),
        },
    )
}

fn pool(max_txs: usize, max_bytes: usize) -> Mempool {
    Mempool::new(MempoolLimits { max_txs, max_bytes })
}

fn admit(pool: &mut Mempool, tx: Tx) -> Result<Digest, AdmitError> {
    pool.admit(tx, &chain(), &Params::default(), HEIGHT, |_| Ok(()))
}

#[test]
fn admitted_txs_are_deduplicated_by_id() {
    let keys = OrgKeys::from_seed(1);
    let mut pool = pool(10, 1 << 20);
    let tx = cancel(&keys, HEIGHT + 5);
    let id = admit(&mut pool, tx.clone()).unwrap();
    assert!(pool.contains(&id));
    let err = admit(&mut pool, tx).unwrap_err();
    assert_eq!(err.code(), "duplicate_tx");
    assert_eq!(pool.len(), 1);
}

#[test]
fn stateless_and_state_failures_are_refused_with_their_reason() {
    let keys = OrgKeys::from_seed(1);
    let mut pool = pool(10, 1 << 20);
    let stale = cancel(&keys, HEIGHT - 1);
    assert_eq!(
        admit(&mut pool, stale).unwrap_err().code(),
        "outside_window"
    );
    let mut forged = cancel(&keys, HEIGHT + 5);
    forged.nonce ^= 1;
    assert_eq!(
        admit(&mut pool, forged).unwrap_err().code(),
        "bad_signature"
    );
    let other_chain = Tx::sign(
        &keys.identity,
        custodia_protocol::hash::sha256(&[b"other"]),
        HEIGHT + 5,
        Body::Cancel {
            request_id: RequestId::random(),
        },
    );
    assert_eq!(
        admit(&mut pool, other_chain).unwrap_err().code(),
        "wrong_chain"
    );
    let err = pool
        .admit(
            cancel(&keys, HEIGHT + 5),
            &chain(),
            &Params::default(),
            HEIGHT,
            |_| Err(Rejection::new(Code::RequestNotFound, "no request")),
        )
        .unwrap_err();
    assert_eq!(err.code(), "request_not_found");
    assert!(err.to_string().contains("no request"));
    assert!(pool.is_empty());
}

#[test]
fn a_full_mempool_says_so_by_count_and_by_bytes() {
    let keys = OrgKeys::from_seed(1);
    let mut by_count = pool(2, 1 << 20);
    admit(&mut by_count, cancel(&keys, HEIGHT + 5)).unwrap();
    admit(&mut by_count, cancel(&keys, HEIGHT + 5)).unwrap();
    let err = admit(&mut by_count, cancel(&keys, HEIGHT + 5)).unwrap_err();
    assert_eq!(err.code(), "mempool_full");
    assert!(err.to_string().contains("mempool full"), "{err}");

    let one = cancel(&keys, HEIGHT + 5).encode_size();
    let mut by_bytes = pool(100, one * 2 + one / 2);
    admit(&mut by_bytes, cancel(&keys, HEIGHT + 5)).unwrap();
    admit(&mut by_bytes, cancel(&keys, HEIGHT + 5)).unwrap();
    assert_eq!(
        admit(&mut by_bytes, cancel(&keys, HEIGHT + 5))
            .unwrap_err()
            .code(),
        "mempool_full"
    );
    assert_eq!(by_bytes.bytes(), one * 2);
}

#[test]
fn applied_and_expired_txs_leave_and_free_their_room() {
    let keys = OrgKeys::from_seed(1);
    let mut pool = pool(3, 1 << 20);
    let a = admit(&mut pool, cancel(&keys, HEIGHT + 1)).unwrap();
    let b = admit(&mut pool, cancel(&keys, HEIGHT + 2)).unwrap();
    let c = admit(&mut pool, cancel(&keys, HEIGHT + 50)).unwrap();
    pool.remove_applied([&b]);
    assert!(!pool.contains(&b) && pool.len() == 2);
    assert_eq!(pool.evict_expired(HEIGHT + 2), 1);
    assert!(!pool.contains(&a) && pool.contains(&c));
    assert_eq!(pool.evict_expired(HEIGHT + 50), 0);
    assert_eq!(pool.evict_expired(HEIGHT + 51), 1);
    assert!(pool.is_empty());
    assert_eq!(pool.bytes(), 0);
}

#[test]
fn proposers_take_the_oldest_txs_that_fit_the_block_and_its_height() {
    let keys = OrgKeys::from_seed(1);
    let mut pool = pool(100, 1 << 20);
    let ids: Vec<Digest> = (0..5)
        .map(|i| admit(&mut pool, cancel(&keys, HEIGHT + 1 + i)).unwrap())
        .collect();
    let ttl = Params::default().max_tx_ttl;

    let all = pool.select(HEIGHT, 100, 1 << 20, ttl, |_| false);
    assert_eq!(all.iter().map(|t| t.id()).collect::<Vec<_>>(), ids);

    let two = pool.select(HEIGHT, 2, 1 << 20, ttl, |_| false);
    assert_eq!(two.iter().map(|t| t.id()).collect::<Vec<_>>(), ids[..2]);

    let one_tx = all[0].encode_size();
    let by_bytes = pool.select(HEIGHT, 100, one_tx * 3, ttl, |_| false);
    assert_eq!(by_bytes.len(), 3);

    // At a later height the first txs are past their window; excluded ones are skipped.
    let later = pool.select(HEIGHT + 3, 100, 1 << 20, ttl, |id| *id == ids[4]);
    assert_eq!(later.iter().map(|t| t.id()).collect::<Vec<_>>(), ids[2..4]);
    // Selecting does not remove anything.
    assert_eq!(pool.len(), 5);
}

#[test]
fn each_organisation_holds_at_most_its_share_and_the_others_keep_theirs() {
    let keys = custodia_protocol::testing::consortium_keys(4);
    let genesis = custodia_protocol::testing::genesis_of(&keys, Params::default());
    let one = cancel(&keys[1], HEIGHT + 5).encode_size();
    // 4 organisations, 8 txs: 2 each by count.
    let mut pool = Mempool::for_chain(
        MempoolLimits {
            max_txs: 8,
            max_bytes: 1 << 20,
        },
        &genesis,
    );
    admit(&mut pool, cancel(&keys[1], HEIGHT + 5)).unwrap();
    admit(&mut pool, cancel(&keys[1], HEIGHT + 5)).unwrap();
    let err = admit(&mut pool, cancel(&keys[1], HEIGHT + 5)).unwrap_err();
    assert_eq!(err.code(), "mempool_full");
    let name = &genesis.orgs[1].name;
    assert!(
        err.to_string()
            .starts_with(&format!("mempool full for {name}: its share is 2 txs")),
        "{err}"
    );
    assert!(err.to_string().contains("1/4"), "{err}");
    // Everyone else still gets in, up to the whole pool.
    for signer in [0, 2, 3] {
        admit(&mut pool, cancel(&keys[signer], HEIGHT + 5)).unwrap();
        admit(&mut pool, cancel(&keys[signer], HEIGHT + 5)).unwrap();
    }
    assert_eq!(pool.len(), 8);
    // Room freed by a block is the signer's again.
    let applied: Vec<Digest> = pool
        .select(HEIGHT, 1, 1 << 20, 100, |_| false)
        .iter()
        .map(|tx| tx.id())
        .collect();
    pool.remove_applied(&applied);
    admit(&mut pool, cancel(&keys[1], HEIGHT + 5)).unwrap();

    // By bytes: a quarter of 8 txs' bytes is 2 txs.
    let mut pool = Mempool::for_chain(
        MempoolLimits {
            max_txs: 1000,
            max_bytes: one * 8,
        },
        &genesis,
    );
    admit(&mut pool, cancel(&keys[2], HEIGHT + 5)).unwrap();
    admit(&mut pool, cancel(&keys[2], HEIGHT + 5)).unwrap();
    assert!(matches!(
        admit(&mut pool, cancel(&keys[2], HEIGHT + 5)),
        Err(AdmitError::ShareFull { txs: 2, .. })
    ));
    admit(&mut pool, cancel(&keys[3], HEIGHT + 5)).unwrap();
}
