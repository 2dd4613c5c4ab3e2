//! The history of DESIGN §5.7: every receipt and event is a leaf of one MMR kept in the state
//! database, `C_h` commits to its root, and each leaf has a proof against any later `C_h` that
//! fails for anything but the leaf the chain wrote.

mod common;

use common::*;
use custodia_protocol::history::{self, Commitment};
use custodia_state::{HistoryProof, State};

/// A record, a request for it and both approvals: receipts and events over several blocks.
fn a_short_history(c: &mut Consortium) {
    let record = c.accepted_record(MEMBER_A, &[("amount", serde_json::json!(1200))]);
    let (request, body) = Consortium::request_body(&[record], &["amount"]);
    c.ok(c.sign_as(MEMBER_B, body));
    c.ok(c.decide(MEMBER_A, request, true));
    c.ok(c.decide(SUPERVISOR, request, true));
    c.apply(vec![]);
}

/// The commitment of block `at.height` rebuilt from its parts, as a verifier does.
fn commitment_of(proof: &HistoryProof) -> custodia_protocol::Digest {
    Commitment {
        height: proof.at.height,
        block: proof.at.digest,
        history_root: proof.at.history_root,
    }
    .digest()
}

/// Every event's leaf and its proof at `at`.
fn event_proofs(state: &State, at: u64) -> Vec<(Vec<u8>, HistoryProof)> {
    let queries = state.queries();
    (1..)
        .map_while(|seq| queries.event_leaf(seq).unwrap())
        .filter(|(event, _)| event.height <= at)
        .map(|(event, location)| {
            let proof = queries.history_proof(location, Some(at)).unwrap().unwrap();
            (event.leaf().encode(), proof)
        })
        .collect()
}

#[test]
fn every_event_and_receipt_is_proven_against_every_later_commitment() {
    let mut c = Consortium::new();
    a_short_history(&mut c);
    let head = c.state.height();
    assert_eq!(
        c.state
            .queries()
            .block(head)
            .unwrap()
            .unwrap()
            .state_commitment,
        c.state.state_commitment()
    );
    let mut events = 0;
    for at in 1..=head {
        for (leaf, proof) in event_proofs(&c.state, at) {
            assert!(history::verify_leaf(
                &leaf,
                proof.location,
                &proof.proof,
                &proof.at.history_root
            ));
            assert_eq!(commitment_of(&proof), proof.at.state_commitment);
            events += 1;
        }
    }
    assert!(events > 10, "{events}");
    let queries = c.state.queries();
    for height in 1..=head {
        for receipt in queries.block_receipts(height).unwrap() {
            let (found, location) = queries.receipt_leaf(&receipt.tx_id).unwrap().unwrap();
            assert_eq!(found, receipt);
            let proof = queries
                .history_proof(location, Some(head))
                .unwrap()
                .unwrap();
            let leaf = receipt.leaf().encode();
            assert!(history::verify_leaf(
                &leaf,
                location,
                &proof.proof,
                &proof.at.history_root
            ));
            // The proof and its bytes round-trip.
            let bytes = history::proof_to_bytes(&proof.proof);
            assert_eq!(history::proof_from_bytes(&bytes), Some(proof.proof.clone()));
            assert!(bytes.len() <= 2048, "{} bytes", bytes.len());
        }
    }
}

#[test]
fn a_proof_fails_for_another_leaf_location_root_or_a_flipped_byte() {
    let mut c = Consortium::new();
    a_short_history(&mut c);
    let head = c.state.height();
    let proofs = event_proofs(&c.state, head);
    let (leaf, proof) = &proofs[proofs.len() / 2];
    let root = proof.at.history_root;
    assert!(history::verify_leaf(
        leaf,
        proof.location,
        &proof.proof,
        &root
    ));
    // Another event's leaf at this location.
    let (other, _) = &proofs[0];
    assert!(!history::verify_leaf(
        other,
        proof.location,
        &proof.proof,
        &root
    ));
    // Another location, another block's root.
    assert!(!history::verify_leaf(
        leaf,
        proof.location + 1,
        &proof.proof,
        &root
    ));
    let earlier = c.state.queries().block(1).unwrap().unwrap();
    assert!(!history::verify_leaf(
        leaf,
        proof.location,
        &proof.proof,
        &earlier.history_root
    ));
    // Any flipped byte of the leaf or of the proof's encoding.
    for i in 0..leaf.len() {
        let mut flipped = leaf.clone();
        flipped[i] ^= 0x01;
        assert!(
            !history::verify_leaf(&flipped, proof.location, &proof.proof, &root),
            "leaf byte {i}"
        );
    }
    let bytes = history::proof_to_bytes(&proof.proof);
    for i in 0..bytes.len() {
        let mut flipped = bytes.clone();
        flipped[i] ^= 0x01;
        if let Some(tampered) = history::proof_from_bytes(&flipped) {
            assert!(
                !history::verify_leaf(leaf, proof.location, &tampered, &root),
                "proof byte {i}"
            );
        }
    }
}

#[test]
fn a_hand_edited_event_no_longer_matches_its_commitment() {
    let mut c = Consortium::new();
    a_short_history(&mut c);
    let head = c.state.height();
    let db = rusqlite::Connection::open(c.db_path()).unwrap();
    let edited = db
        .execute(
            "UPDATE events SET detail = 'nothing to see' WHERE kind = 'request_approved'",
            [],
        )
        .unwrap();
    assert_eq!(edited, 1);
    drop(db);
    let queries = c.state.queries();
    let (event, location) = (1..)
        .map_while(|seq| queries.event_leaf(seq).unwrap())
        .find(|(event, _)| event.detail == "nothing to see")
        .unwrap();
    let proof = queries
        .history_proof(location, Some(head))
        .unwrap()
        .unwrap();
    assert!(!history::verify_leaf(
        &event.leaf().encode(),
        location,
        &proof.proof,
        &proof.at.history_root
    ));
}

/// A copy of `c`'s database as it is now: what a restarted node opens.
fn snapshot(c: &Consortium, name: &str) -> std::path::PathBuf {
    let copy = c.dir.path().join(name);
    let db = rusqlite::Connection::open(c.db_path()).unwrap();
    db.execute("VACUUM INTO ?1", [copy.to_str().unwrap()])
        .unwrap();
    copy
}

#[test]
fn the_history_survives_a_restart_and_an_abandoned_block() {
    let mut c = Consortium::new();
    a_short_history(&mut c);
    let copy = snapshot(&c, "restarted.sqlite");
    let (_, body) = Consortium::request_body(&[custodia_protocol::RecordId::random()], &["x"]);
    let block = c.next_block(vec![c.sign_as(MEMBER_B, body)]);
    // A crash just before the block's commit leaves the history as it was; the node restarts
    // from its file (`c` keeps its history in memory) and applies the block again.
    let mut restarted = State::open(&copy, &c.genesis).unwrap();
    assert_eq!(restarted.state_commitment(), c.state.state_commitment());
    restarted.apply_and_abandon(&block).unwrap();
    drop(restarted);
    let mut restarted = State::open(&copy, &c.genesis).unwrap();
    let applied = restarted.apply(&block).unwrap().unwrap();
    let expected = c.state.apply(&block).unwrap().unwrap();
    assert_eq!(applied.receipts, expected.receipts);
    assert_eq!(applied.state_commitment, expected.state_commitment);
}
