//! Read-only queries that the API serves: a block's receipts, from the writer and from a reader.

mod common;

use common::*;
use custodia_protocol::Body;
use custodia_state::StateReader;
use serde_json::json;

#[test]
fn a_blocks_receipts_come_back_in_block_order_with_failures_kept() {
    let mut c = Consortium::new();
    let (_, submit) = c.submit_tx(MEMBER_A, "claim", &[("amount", json!(12))]);
    // The supervisor may not submit records: a failed receipt, kept in its block.
    let (_, by_supervisor) = c.submit_tx(SUPERVISOR, "claim", &[("amount", json!(3))]);
    let (_, second) = c.submit_tx(MEMBER_B, "claim", &[("amount", json!(7))]);
    let applied = c.apply(vec![submit, by_supervisor, second]);

    let receipts = c.state.queries().block_receipts(applied.height).unwrap();
    assert_eq!(receipts, applied.receipts);
    assert_eq!(
        receipts.iter().map(|r| r.index).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert!(receipts[0].is_ok() && !receipts[1].is_ok() && receipts[2].is_ok());

    let reader = StateReader::open(&c.db_path()).unwrap();
    assert_eq!(
        reader.queries().block_receipts(applied.height).unwrap(),
        applied.receipts
    );
}

#[test]
fn a_height_without_a_block_or_without_txs_has_no_receipts() {
    let mut c = Consortium::new();
    let empty = c.apply(vec![]);
    assert_eq!(c.state.queries().block_receipts(empty.height).unwrap(), []);
    assert_eq!(c.state.queries().block_receipts(0).unwrap(), []);
    assert_eq!(
        c.state.queries().block_receipts(empty.height + 1).unwrap(),
        []
    );
    let cancel = c.sign_as(
        MEMBER_A,
        Body::Cancel {
            request_id: custodia_protocol::RequestId::random(),
        },
    );
    let applied = c.apply(vec![cancel]);
    assert_eq!(
        c.state
            .queries()
            .block_receipts(applied.height)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn the_records_awaiting_a_verdict_are_the_submitted_ones_oldest_first() {
    let mut c = Consortium::new();
    let accepted = c.accepted_record(MEMBER_A, &[("amount", json!(1))]);
    let (first, tx) = c.submit_tx(MEMBER_A, "claim", &[("amount", json!(2))]);
    let first_height = c.apply(vec![tx]).height;
    let (second, tx) = c.submit_tx(MEMBER_B, "claim", &[("amount", json!(3))]);
    let second_height = c.apply(vec![tx]).height;

    let awaiting = c.state.queries().records_awaiting_verdict().unwrap();
    assert_eq!(
        awaiting,
        vec![(first, first_height), (second, second_height)]
    );
    assert!(!awaiting.iter().any(|(id, _)| *id == accepted));
}
