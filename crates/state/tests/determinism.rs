//! Determinism and recovery (DESIGN §5.5): the same blocks give the same receipts, events,
//! commitments and world on every node; blocks are applied once, in order, on the right parent;
//! a crash before the commit leaves the previous block; the state survives a restart.

mod common;
#[path = "determinism/random.rs"]
mod random;

use common::*;
use custodia_protocol::{
    Block, Body, Digest, Genesis, Params, RecordId, RequestId, Tx, hash::sha256,
};
use custodia_state::{Applied, EventKind, State, StateError};
use proptest::prelude::*;
use random::{Builder, Op, op, with_prelude};
use serde_json::json;

/// What one node saw at one height.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    applied: Applied,
    world: Digest,
}

/// Applies `txs` in the next block of `c` and returns the block and what it did.
fn step(c: &mut Consortium, txs: Vec<Tx>, log: &mut Vec<(Block, Seen)>) -> Applied {
    let (block, applied) = c.apply_unchecked(txs);
    log.push((
        block,
        Seen {
            applied: applied.clone(),
            world: c.world(),
        },
    ));
    applied
}

/// A realistic history on `c`: submits, attests, requests, decisions, rejections, deliveries,
/// cancels, suspensions, expiries, and failures of most kinds. Returns every block with what it
/// did on `c`.
fn history(c: &mut Consortium) -> Vec<(Block, Seen)> {
    let mut log = Vec::new();
    let (r1, s1) = c.submit_tx(MEMBER_A, "claim", &[("x", json!(1)), ("y", json!("a"))]);
    let (r2, s2) = c.submit_tx(MEMBER_B, "claim", &[("x", json!(2)), ("z", json!([1, 2]))]);
    let (r3, s3) = c.submit_tx(MEMBER_C, "policy", &[("x", json!(3))]);
    let by_supervisor = c.sign_as(SUPERVISOR, raw_submit(RecordId::random(), &["x"], 8));
    let by_outsider = c.sign(&outsider(), raw_submit(RecordId::random(), &["x"], 8));
    step(
        c,
        vec![s1.clone(), s2, s3, by_supervisor, by_outsider],
        &mut log,
    );

    let attest = |c: &Consortium, record_id, accepted, reason: &str| {
        c.sign_as(
            SUPERVISOR,
            Body::AttestRecord {
                record_id,
                accepted,
                reason: reason.into(),
            },
        )
    };
    let txs = vec![
        attest(c, r1, true, "ok"),
        attest(c, r2, true, "ok"),
        attest(c, r3, false, "commitment mismatch"),
        attest(c, r1, true, "again"),
        s1,
    ];
    step(c, txs, &mut log);

    let (q1, q2, q3, q4) = (
        RequestId::random(),
        RequestId::random(),
        RequestId::random(),
        RequestId::random(),
    );
    let txs = vec![
        c.sign_as(
            MEMBER_B,
            request_share(q1, &[r1], &["x"], "fraud check", 100),
        ),
        c.sign_as(
            MEMBER_C,
            request_share(q2, &[r1, r2], &["x"], "underwriting", 100),
        ),
        c.sign_as(MEMBER_A, request_share(q3, &[r2], &[], "audit", 2)),
        c.sign_as(
            MEMBER_C,
            request_share(RequestId::random(), &[r3], &[], "audit", 10),
        ),
        c.sign_as(
            MEMBER_B,
            request_share(RequestId::random(), &[r2], &[], "audit", 10),
        ),
        c.sign_as(MEMBER_C, request_share(q4, &[r2], &["nope"], "audit", 10)),
    ];
    step(c, txs, &mut log);

    let txs = vec![
        c.decide(MEMBER_A, q1, true),
        c.decide(SUPERVISOR, q1, true),
        c.decide(MEMBER_A, q2, true),
        c.decide(MEMBER_B, q2, false),
        c.decide(SUPERVISOR, q2, true),
        c.decide(MEMBER_B, q1, true),
        c.set_status(MEMBER_C, false),
    ];
    step(c, txs, &mut log);

    // q3 (created at height 3 with ttl 2) expires at the end of this block.
    let deliver = c.sign_as(
        SUPERVISOR,
        Body::Deliver {
            request_id: q1,
            sealed: vec![9u8; 128].into(),
        },
    );
    let txs = vec![
        deliver.clone(),
        c.sign_as(MEMBER_B, Body::Cancel { request_id: q1 }),
        c.sign_as(MEMBER_C, raw_submit(RecordId::random(), &["x"], 8)),
        c.sign_as(SUPERVISOR, set_status_body(SUPERVISOR, false)),
    ];
    let applied = step(c, txs, &mut log);
    assert!(
        applied
            .events
            .iter()
            .any(|e| e.kind == EventKind::RequestExpired)
    );

    let q5 = RequestId::random();
    let txs = vec![
        c.decide(SUPERVISOR, q3, true),
        c.set_status(MEMBER_C, true),
        c.sign_as(MEMBER_C, request_share(q5, &[r1], &[], "second look", 50)),
        c.sign_as(MEMBER_C, Body::Cancel { request_id: q5 }),
        c.sign_as(MEMBER_A, Body::Cancel { request_id: q5 }),
        deliver,
    ];
    step(c, txs, &mut log);
    step(c, vec![], &mut log);

    // The history exercised both outcomes at every height but the last.
    for (block, seen) in &log[..log.len() - 1] {
        let codes: Vec<&str> = seen
            .applied
            .receipts
            .iter()
            .map(|r| r.code.as_str())
            .collect();
        assert!(
            codes.contains(&"ok") && codes.iter().any(|c| *c != "ok"),
            "block {}: {codes:?}",
            block.height
        );
    }
    log
}

/// Applies `log`'s blocks to `c` and asserts every height gives what it gave the first time.
fn replay(c: &mut Consortium, log: &[(Block, Seen)]) {
    for (block, seen) in log {
        let applied = c.state.apply(block).expect("apply").expect("a new block");
        let again = Seen {
            applied,
            world: c.world(),
        };
        assert_eq!(&again, seen, "height {}", block.height);
        assert_eq!(c.state.state_commitment(), seen.applied.state_commitment);
        assert_eq!(
            c.state.queries().head().unwrap(),
            (block.height, seen.applied.state_commitment)
        );
    }
}

#[test]
fn the_same_blocks_on_two_databases_give_the_same_receipts_events_commitments_and_world() {
    let mut first = Consortium::new();
    let log = history(&mut first);
    let mut second = Consortium::new();
    assert_eq!(
        second.state.state_commitment(),
        first.genesis.digest(),
        "both start at the chain digest"
    );
    replay(&mut second, &log);
    assert_eq!(first.world(), second.world());
    // What was written for the API agrees with what `apply` returned.
    for (block, seen) in &log {
        let row = second.state.queries().block(block.height).unwrap().unwrap();
        assert_eq!(row.state_commitment, seen.applied.state_commitment);
        for receipt in &seen.applied.receipts {
            if receipt.code == "duplicate_tx" {
                continue; // the first receipt of that tx id is the one kept by id
            }
            assert_eq!(
                second
                    .state
                    .queries()
                    .receipt(&receipt.tx_id)
                    .unwrap()
                    .as_ref(),
                Some(receipt)
            );
        }
    }
}

#[test]
fn an_applied_height_is_a_no_op_when_delivered_again() {
    let mut c = Consortium::new();
    let log = history(&mut c);
    let commitment = c.state.state_commitment();
    let world = c.world();
    let height = c.state.height();
    for (block, _) in &log {
        assert_eq!(
            c.state.apply(block).unwrap(),
            None,
            "height {}",
            block.height
        );
    }
    assert_eq!(c.state.state_commitment(), commitment);
    assert_eq!(c.state.height(), height);
    assert_eq!(c.world(), world);
    // And the chain goes on from where it was.
    let applied = c.apply(vec![]);
    assert_eq!(applied.height, height + 1);
}

#[test]
fn a_block_after_a_gap_is_refused() {
    let mut c = Consortium::new();
    c.apply(vec![]);
    let mut block = c.next_block(vec![]);
    block.height += 1;
    let commitment = c.state.state_commitment();
    match c.state.apply(&block) {
        Err(StateError::HeightGap { last: 1, found: 3 }) => {}
        other => panic!("expected HeightGap, got {other:?}"),
    }
    assert_eq!(c.state.state_commitment(), commitment);
    assert_eq!(c.state.height(), 1);
}

#[test]
fn a_block_on_another_parent_is_refused() {
    let mut c = Consortium::new();
    c.apply(vec![]);
    let mut block = c.next_block(vec![]);
    block.parent = sha256(&[b"somewhere else"]);
    let commitment = c.state.state_commitment();
    match c.state.apply(&block) {
        Err(StateError::WrongParent { height: 2, .. }) => {}
        other => panic!("expected WrongParent, got {other:?}"),
    }
    assert_eq!(c.state.state_commitment(), commitment);
    assert_eq!(c.state.height(), 1);
}

#[test]
fn another_block_at_an_applied_height_is_an_error() {
    let mut c = Consortium::new();
    let tx = c.sign_as(MEMBER_A, raw_submit(RecordId::random(), &["x"], 8));
    let (block, _) = c.apply_unchecked(vec![tx]);
    c.apply(vec![]);
    let commitment = c.state.state_commitment();
    let mut other = block.clone();
    other.txs.clear();
    match c.state.apply(&other) {
        Err(StateError::Corrupt(message)) => assert!(message.contains("block 1"), "{message}"),
        other => panic!("expected an error, got {other:?}"),
    }
    let mut later = block;
    later.timestamp_ms += 1;
    assert!(c.state.apply(&later).is_err());
    assert_eq!(c.state.state_commitment(), commitment);
}

#[test]
fn a_crash_before_the_commit_leaves_the_previous_block() {
    let mut crashed = Consortium::new();
    let log = history(&mut crashed);
    let (last_block, last_seen) = log.last().unwrap().clone();
    // Rebuild the crashing node up to the block before the last one.
    let mut c = Consortium::new();
    replay(&mut c, &log[..log.len() - 2]);
    let (block, seen) = log[log.len() - 2].clone();
    let height = c.state.height();
    let digest = c.state.last_block_digest();
    let commitment = c.state.state_commitment();
    let timestamp = c.state.last_timestamp_ms();
    let world = c.world();

    c.state.apply_and_abandon(&block).unwrap();
    // A reader of the file (the API) never sees the abandoned block.
    let reader = custodia_state::StateReader::open(&c.db_path()).unwrap();
    assert_eq!(reader.queries().head().unwrap(), (height, commitment));
    assert_eq!(reader.queries().world_digest().unwrap(), world);
    drop(reader);
    c.reopen();
    assert_eq!(c.state.height(), height);
    assert_eq!(c.state.last_block_digest(), digest);
    assert_eq!(c.state.state_commitment(), commitment);
    assert_eq!(c.state.last_timestamp_ms(), timestamp);
    assert_eq!(c.world(), world);
    assert_eq!(c.state.queries().head().unwrap(), (height, commitment));
    assert_eq!(c.state.queries().block(block.height).unwrap(), None);
    for receipt in &seen.applied.receipts {
        // None of the abandoned block's receipts was kept, except those of earlier blocks.
        let kept = c.state.queries().receipt(&receipt.tx_id).unwrap();
        assert!(
            kept.as_ref().is_none_or(|r| r.height < block.height),
            "{kept:?}"
        );
    }

    // Applying the block normally gives what a node that never crashed got.
    replay(&mut c, &log[log.len() - 2..]);
    assert_eq!(
        c.state.state_commitment(),
        last_seen.applied.state_commitment
    );
    assert_eq!(c.state.last_block_digest(), last_block.digest());
    assert_eq!(c.world(), crashed.world());
}

#[test]
fn a_crash_without_a_restart_also_leaves_the_previous_block() {
    let mut reference = Consortium::new();
    let log = history(&mut reference);
    let mut c = Consortium::new();
    for (block, _) in &log {
        let commitment = c.state.state_commitment();
        let world = c.world();
        c.state.apply_and_abandon(block).unwrap();
        assert_eq!(c.state.state_commitment(), commitment);
        assert_eq!(c.world(), world);
        c.state.apply(block).unwrap().unwrap();
    }
    assert_eq!(
        c.state.state_commitment(),
        reference.state.state_commitment()
    );
    assert_eq!(c.world(), reference.world());
}

#[test]
fn everything_survives_a_restart() {
    let mut c = Consortium::new();
    let log = history(&mut c);
    // Leave member B suspended: the in-memory org cache must come back from the database.
    c.ok(c.set_status(MEMBER_B, false));
    let height = c.state.height();
    let digest = c.state.last_block_digest();
    let commitment = c.state.state_commitment();
    let timestamp = c.state.last_timestamp_ms();
    let world = c.world();
    let orgs = c.state.queries().orgs().unwrap();

    c.reopen();
    assert_eq!(c.state.height(), height);
    assert_eq!(c.state.last_block_digest(), digest);
    assert_eq!(c.state.state_commitment(), commitment);
    assert_eq!(c.state.last_timestamp_ms(), timestamp);
    assert_eq!(c.world(), world);
    assert_eq!(c.state.queries().orgs().unwrap(), orgs);
    for (block, _) in &log {
        assert_eq!(
            c.state.apply(block).unwrap(),
            None,
            "already applied before the restart"
        );
    }
    let suspended = c.apply_one(c.sign_as(MEMBER_B, raw_submit(RecordId::random(), &["x"], 8)));
    assert_eq!(suspended.code, "signer_suspended");
    // Applied tx ids survive too.
    let replayed = c.apply(vec![log[0].0.txs[0].clone()]);
    assert_eq!(replayed.receipts[0].code, "duplicate_tx");
}

#[test]
fn another_genesis_cannot_open_the_database() {
    let mut c = Consortium::new();
    c.apply(vec![]);
    let mut other = c.genesis.clone();
    other.chain_id = "custodia-other".into();
    match State::open(&c.db_path(), &other) {
        Err(StateError::WrongChain { expected, found }) => {
            assert_eq!(expected, custodia_protocol::hash::to_hex(&other.digest()));
            assert_eq!(found, custodia_protocol::hash::to_hex(&c.chain));
        }
        Err(e) => panic!("expected WrongChain, got {e}"),
        Ok(_) => panic!("expected WrongChain, the database opened"),
    }
    let params = Genesis {
        params: Params {
            max_tx_ttl: 7,
            ..c.genesis.params
        },
        ..c.genesis.clone()
    };
    assert!(matches!(
        State::open(&c.db_path(), &params),
        Err(StateError::WrongChain { .. })
    ));
    // The right genesis still opens it.
    c.reopen();
    assert_eq!(c.state.height(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_histories_give_equal_commitments_on_two_databases(ops in proptest::collection::vec(op(), 10..120)) {
        let params = Params { max_delivery_bytes: 1_000, max_request_ttl: 8, ..Params::default() };
        let mut first = Consortium::with_params(params);
        let mut second = Consortium::with_params(params);
        let mut builder = Builder::new(&first);
        let ops = with_prelude(ops);
        let mut txs = Vec::new();
        let mut crash = false;
        for op in &ops {
            match op {
                Op::EndBlock => {
                    let (block, a) = first.apply_unchecked(std::mem::take(&mut txs));
                    if std::mem::take(&mut crash) {
                        second.state.apply_and_abandon(&block).expect("apply");
                        second.reopen();
                    }
                    let b = second.state.apply(&block).expect("apply").expect("a new block");
                    prop_assert_eq!(&a, &b);
                    prop_assert_eq!(first.world(), second.world());
                }
                Op::Restart => second.reopen(),
                Op::Crash => crash = true,
                op => txs.extend(builder.tx(op, &first)),
            }
        }
        prop_assert_eq!(first.state.state_commitment(), second.state.state_commitment());
        prop_assert_eq!(first.state.queries().head().unwrap(), second.state.queries().head().unwrap());
    }
}
