//! The mempool's precheck over a batch (`State::precheck`): each tx is checked as if those that
//! passed before it were applied, a refused tx changes nothing for the next, and nothing a
//! precheck does is ever committed.

mod common;

use common::*;
use custodia_protocol::RecordId;

#[test]
fn a_batch_sees_the_txs_that_passed_before_and_commits_nothing() {
    let mut c = Consortium::new();
    let world = c.world();
    let record = RecordId::random();
    let first = c.sign_as(MEMBER_A, raw_submit(record, &["a"], 64));
    let again = c.sign_as(MEMBER_B, raw_submit(record, &["b"], 64));
    let other = c.sign_as(MEMBER_B, raw_submit(RecordId::random(), &["b"], 64));
    let height = c.state.height() + 1;

    let mut precheck = c.state.precheck(height).expect("precheck");
    assert_eq!(precheck.height(), height);
    assert_eq!(precheck.check(&first, &first.id()).unwrap(), Ok(()));
    let refused = precheck.check(&again, &again.id()).unwrap().unwrap_err();
    assert_eq!(refused.code.as_str(), "record_exists", "{refused:?}");
    assert_eq!(precheck.check(&other, &other.id()).unwrap(), Ok(()));
    drop(precheck);

    // Rolled back: the state is as before, and the txs apply in a block as usual.
    assert_eq!(c.world(), world);
    assert!(c.state.queries().record(&record).unwrap().is_none());
    let applied = c.apply(vec![first, other]);
    assert!(applied.receipts.iter().all(|r| r.is_ok()), "{applied:?}");
}

#[test]
fn a_refused_tx_leaves_nothing_for_the_next_check() {
    let mut c = Consortium::new();
    let record = RecordId::random();
    // An outsider's submit is refused; the same record from a member then passes.
    let outsider_tx = c.sign(&outsider(), raw_submit(record, &["a"], 64));
    let member_tx = c.sign_as(MEMBER_A, raw_submit(record, &["a"], 64));
    let height = c.state.height() + 1;

    let mut precheck = c.state.precheck(height).expect("precheck");
    let refused = precheck
        .check(&outsider_tx, &outsider_tx.id())
        .unwrap()
        .unwrap_err();
    assert_eq!(refused.code.as_str(), "unknown_signer", "{refused:?}");
    assert_eq!(precheck.check(&member_tx, &member_tx.id()).unwrap(), Ok(()));
}

#[test]
fn a_tx_that_depends_on_one_earlier_in_the_batch_passes() {
    let mut c = Consortium::new();
    let record = RecordId::random();
    let submit = c.sign_as(MEMBER_A, raw_submit(record, &["a"], 64));
    let attest = c.sign_as(
        SUPERVISOR,
        custodia_protocol::Body::AttestRecord {
            record_id: record,
            accepted: true,
            reason: String::new(),
        },
    );
    let height = c.state.height() + 1;
    // Alone, the verdict refers to a record that does not exist yet.
    let alone = c.state.check(&attest, height).unwrap().unwrap_err();
    assert_eq!(alone.code.as_str(), "record_not_found", "{alone:?}");

    let mut precheck = c.state.precheck(height).expect("precheck");
    assert_eq!(precheck.check(&submit, &submit.id()).unwrap(), Ok(()));
    assert_eq!(precheck.check(&attest, &attest.id()).unwrap(), Ok(()));
}
