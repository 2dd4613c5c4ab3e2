//! Replay protection of DESIGN §4.3: a tx id applies once, only inside its `valid_until` window,
//! only on its own chain, and is forgotten once the window has passed.

mod common;

use common::*;
use custodia_protocol::{Digest, Params, RecordId, Tx, hash::sha256};
use custodia_state::EventKind;
use rusqlite::Connection;

/// Whether the state still remembers `tx_id`, read from the database file by another connection
/// (as an auditor would).
fn remembered(c: &Consortium, tx_id: &Digest) -> bool {
    let conn = Connection::open(c.db_path()).expect("open the state file");
    let count: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM applied_txs WHERE tx_id = ?1",
            [tx_id.as_ref()],
            |r| r.get(0),
        )
        .expect("query applied_txs");
    count == 1
}

fn submit(c: &Consortium, valid_until: u64) -> Tx {
    Tx::sign(
        &c.keys[MEMBER_A].identity,
        c.chain,
        valid_until,
        raw_submit(RecordId::random(), &["x"], 8),
    )
}

/// Applies `tx` alone without the validator's stateless checks and asserts it failed with
/// `code`, changing nothing.
fn fails_unchecked(c: &mut Consortium, tx: Tx, code: &str) {
    let before = c.world();
    let (_, applied) = c.apply_unchecked(vec![tx]);
    let receipt = &applied.receipts[0];
    assert_eq!(receipt.code, code, "{receipt:?}");
    assert!(!receipt.message.is_empty());
    assert!(applied.events.is_empty(), "{:?}", applied.events);
    assert_eq!(c.world(), before);
}

#[test]
fn the_same_tx_in_a_later_block_is_a_duplicate() {
    let mut c = Consortium::new();
    let tx = submit(&c, 50);
    c.ok(tx.clone());
    let before = c.world();
    let receipt = c.apply_one(tx.clone());
    assert_eq!(receipt.code, "duplicate_tx");
    assert!(
        receipt
            .message
            .contains(&custodia_protocol::hash::to_hex(&tx.id())),
        "{}",
        receipt.message
    );
    assert_eq!(c.world(), before);
    // And again, later still.
    c.apply(vec![]);
    assert_eq!(c.apply_one(tx).code, "duplicate_tx");
}

#[test]
fn the_same_tx_twice_in_one_block_applies_once() {
    let mut c = Consortium::new();
    let tx = submit(&c, 50);
    let applied = c.apply(vec![tx.clone(), tx.clone()]);
    let codes: Vec<&str> = applied.receipts.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(codes, ["ok", "duplicate_tx"]);
    assert!(!applied.receipts[1].message.is_empty());
    assert_eq!(applied.receipts[1].index, 1);
    assert_eq!(applied.events.len(), 1);
    assert_eq!(applied.events[0].kind, EventKind::RecordSubmitted);
}

#[test]
fn a_tx_that_failed_its_rules_cannot_be_replayed_either() {
    // A failed tx stays in its block: it was applied (with a failed receipt), once.
    let mut c = Consortium::new();
    let tx = c.sign_as(SUPERVISOR, raw_submit(RecordId::random(), &["x"], 8));
    assert_eq!(c.apply_one(tx.clone()).code, "not_member");
    assert!(remembered(&c, &tx.id()));
    assert_eq!(c.apply_one(tx).code, "duplicate_tx");
}

#[test]
fn a_tx_past_its_valid_until_is_outside_the_window() {
    let mut c = Consortium::new();
    for _ in 0..3 {
        c.apply(vec![]);
    }
    let height = c.state.height() + 1;
    let stale = submit(&c, height - 1);
    let block = c.next_block(vec![stale.clone()]);
    assert!(
        block.check_txs(&c.chain, &c.genesis.params).is_err(),
        "a validator refuses it"
    );
    let before = c.world();
    let applied = c.state.apply(&block).unwrap().unwrap();
    assert_eq!(applied.receipts[0].code, "outside_window");
    assert!(!applied.receipts[0].message.is_empty());
    assert_eq!(c.world(), before);
    assert!(!remembered(&c, &stale.id()));
}

#[test]
fn a_tx_valid_for_longer_than_max_tx_ttl_is_outside_the_window() {
    let mut c = Consortium::new();
    let max_ttl = c.genesis.params.max_tx_ttl;
    let height = c.state.height() + 1;
    let early = submit(&c, height + max_ttl + 1);
    let block = c.next_block(vec![early.clone()]);
    assert!(
        block.check_txs(&c.chain, &c.genesis.params).is_err(),
        "a validator refuses it"
    );
    let applied = c.state.apply(&block).unwrap().unwrap();
    assert_eq!(applied.receipts[0].code, "outside_window");
    assert!(
        !remembered(&c, &early.id()),
        "a refused tx is not remembered"
    );
    // One block later the same tx is inside its window: it was never applied, so it applies.
    assert!(c.apply_one(early).is_ok());

    let forever = submit(&c, u64::MAX);
    fails_unchecked(&mut c, forever, "outside_window");
}

#[test]
fn both_ends_of_the_window_are_inside() {
    let mut c = Consortium::with_params(Params {
        max_tx_ttl: 5,
        ..Params::default()
    });
    c.apply(vec![]);
    let height = c.state.height() + 1;
    let applied = c.apply(vec![submit(&c, height), submit(&c, height + 5)]);
    assert!(
        applied.receipts.iter().all(|r| r.is_ok()),
        "{:?}",
        applied.receipts
    );
    let height = c.state.height() + 1;
    let too_far = submit(&c, height + 6);
    fails_unchecked(&mut c, too_far, "outside_window");
}

#[test]
fn a_tx_for_another_chain_is_refused() {
    let mut c = Consortium::new();
    let other_chain = sha256(&[b"another chain"]);
    let tx = Tx::sign(
        &c.keys[MEMBER_A].identity,
        other_chain,
        c.state.height() + 10,
        raw_submit(RecordId::random(), &["x"], 8),
    );
    let id = tx.id();
    fails_unchecked(&mut c, tx, "wrong_chain");
    assert!(!remembered(&c, &id));
}

#[test]
fn a_tx_for_another_chain_is_refused_whatever_its_body() {
    let mut c = Consortium::new();
    let other_chain = sha256(&[b"another chain"]);
    let tx = Tx::sign(
        &c.keys[SUPERVISOR].identity,
        other_chain,
        c.state.height() + 10,
        set_status_body(MEMBER_A, false),
    );
    fails_unchecked(&mut c, tx, "wrong_chain");
    assert!(c.state.queries().orgs().unwrap()[MEMBER_A].active);
}

#[test]
fn an_id_is_forgotten_once_its_valid_until_has_passed() {
    let mut c = Consortium::new();
    let height = c.state.height() + 1;
    let short = submit(&c, height + 2);
    let long = submit(&c, height + 50);
    let applied = c.apply(vec![short.clone(), long.clone()]);
    assert!(applied.receipts.iter().all(|r| r.is_ok()));
    assert!(remembered(&c, &short.id()) && remembered(&c, &long.id()));

    // Height + 1: still inside the short tx's window, still a duplicate.
    assert_eq!(c.apply_one(short.clone()).code, "duplicate_tx");
    assert!(remembered(&c, &short.id()));
    // Height + 2 is its last height: remembered during the block, forgotten at its end.
    assert_eq!(c.apply_one(short.clone()).code, "duplicate_tx");
    assert!(
        !remembered(&c, &short.id()),
        "forgotten after its valid_until"
    );
    assert!(remembered(&c, &long.id()));
    // Forgotten, yet never applicable again: it is outside its window.
    fails_unchecked(&mut c, short, "outside_window");
    assert_eq!(c.apply_one(long).code, "duplicate_tx");
}

#[test]
fn a_state_of_the_first_applied_txs_layout_is_migrated_and_still_refuses_replays() {
    let mut c = Consortium::new();
    let tx = submit(&c, 50);
    c.ok(tx.clone());
    // Put `applied_txs` back in its first layout (keyed by tx id, with an expiry index), as a
    // node of an earlier version left it.
    Connection::open(c.db_path())
        .expect("open the state file")
        .execute_batch(
            "ALTER TABLE applied_txs RENAME TO current;
             CREATE TABLE applied_txs (tx_id BLOB PRIMARY KEY, valid_until INTEGER NOT NULL) WITHOUT ROWID;
             CREATE INDEX applied_txs_by_expiry ON applied_txs (valid_until);
             INSERT INTO applied_txs (tx_id, valid_until) SELECT tx_id, valid_until FROM current;
             DROP TABLE current;",
        )
        .expect("restore the first layout");

    c.reopen();
    assert!(remembered(&c, &tx.id()));
    let first_column: String = Connection::open(c.db_path())
        .unwrap()
        .query_row(
            "SELECT name FROM pragma_table_info('applied_txs') WHERE cid = 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(first_column, "valid_until");
    fails_unchecked(&mut c, tx, "duplicate_tx");
}
