//! What a bad signature costs a node (DESIGN §7.2), by the process's signature-work counters
//! (`tx::signatures_checked`: single checks, batch entries): the failing txs of a batch
//! of an API batch are found by bisection, a gossiped batch that fails is refused whole after
//! one batch verification, and a tx whose signature failed is not checked again under the locks.
//! Before: a batch that failed was checked again one by one (n single checks, ~2.8 times the
//! cost of a batch entry), and each bad tx a third time at admission; a bad tx alone cost 2.
//!
//! One test in this binary: the counter is per process.

use custodia_node::{Ledger, MempoolLimits};
use custodia_protocol::{
    Body, Params, RequestId, Tx,
    testing::{consortium_keys, genesis_of},
    tx::{signatures_checked, verify_signatures_of},
};

#[test]
fn a_bad_signature_costs_one_check_alone_and_a_bisection_in_a_batch() {
    let keys = consortium_keys(4);
    let genesis = genesis_of(&keys, Params::default());
    let chain = genesis.digest();
    let ledger = Ledger::open(genesis, None, MempoolLimits::default()).unwrap();
    let tx = |i: usize, bad: bool| {
        let mut tx = Tx::sign(
            &keys[1 + i % 3].identity,
            chain,
            50,
            Body::Cancel {
                request_id: RequestId::random(),
            },
        );
        if bad {
            tx.nonce ^= 1;
        }
        tx
    };

    // Bisection finds exactly the bad ones, wherever they are.
    for (n, bad) in [
        (1, vec![0]),
        (2, vec![1]),
        (7, vec![0, 6]),
        (1000, vec![637]),
        (1024, vec![0, 511, 512, 1023]),
        (300, (0..300).step_by(7).collect()),
        (64, (0..64).collect()),
    ] {
        let txs: Vec<Tx> = (0..n).map(|i| tx(i, bad.contains(&i))).collect();
        let refs: Vec<&Tx> = txs.iter().collect();
        assert_eq!(verify_signatures_of(&refs), bad, "{n} txs");
    }

    // One bad tx alone: one check.
    let before = signatures_checked();
    let err = ledger.submit(tx(0, true)).unwrap_err();
    assert_eq!(err.code(), "bad_signature");
    let after = signatures_checked();
    assert_eq!((after.0 - before.0, after.1 - before.1), (1, 0));

    // One bad tx in an API batch of 1,000: batch entries only (fewer than 3 per tx, ~2.4),
    // no single check of the 999 good ones, none of the bad one under the locks.
    let n = 1000;
    let batch: Vec<Tx> = (0..n).map(|i| tx(i, i == 637)).collect();
    let before = signatures_checked();
    let results = ledger.submit_batch(batch);
    let after = signatures_checked();
    let (singly, batched) = (after.0 - before.0, after.1 - before.1);
    assert_eq!(singly, 0, "txs of the batch checked one by one");
    assert!(
        batched < 3 * n as u64,
        "{batched} batch entries for {n} txs"
    );
    for (i, result) in results.iter().enumerate() {
        let bad = matches!(result, Err(err) if err.code() == "bad_signature");
        assert_eq!(bad, i == 637, "tx {i}: {result:?}");
    }

    // One bad tx in a gossiped batch of 1,000 condemns the batch (the peer is faulty, DESIGN
    // §7.3): one batch verification of n entries, no bisection, nothing admitted.
    let batch: Vec<Tx> = (0..n).map(|i| tx(i, i == 637)).collect();
    let before = signatures_checked();
    let fault = ledger.admit_gossiped(batch).unwrap_err();
    let after = signatures_checked();
    assert_eq!(fault.code(), "bad_signature");
    assert_eq!((after.0 - before.0, after.1 - before.1), (0, n as u64));
    // The same when every tx of it is bad.
    let batch: Vec<Tx> = (0..n).map(|i| tx(i, true)).collect();
    let before = signatures_checked();
    assert!(ledger.admit_gossiped(batch).is_err());
    let after = signatures_checked();
    assert_eq!((after.0 - before.0, after.1 - before.1), (0, n as u64));

    // A gossiped batch whose signatures all verify: one batch check of n.
    let batch: Vec<Tx> = (0..n).map(|i| tx(i, false)).collect();
    let before = signatures_checked();
    let results = ledger.admit_gossiped(batch).expect("an honest batch");
    let after = signatures_checked();
    assert!(
        results
            .iter()
            .all(|r| !matches!(r, Err(err) if err.code() == "bad_signature"))
    );
    assert_eq!((after.0 - before.0, after.1 - before.1), (0, n as u64));
}
