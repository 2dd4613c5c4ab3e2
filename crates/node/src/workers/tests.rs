//! Unit tests of the role workers: the backlog bound on duties in flight.

use super::*;
use crate::mempool::MempoolLimits;
use custodia_protocol::{
    Params, RecordId,
    testing::{consortium_keys, genesis_of},
};

/// The supervisor's worker on an empty in-memory state.
fn supervisor_worker(policy: ApprovalPolicy) -> Worker {
    let keys = consortium_keys(4);
    let ledger = Ledger::open(
        genesis_of(&keys, Params::default()),
        None,
        MempoolLimits::default(),
    )
    .unwrap();
    let supervisor = Arc::new(Keyring::in_memory(keys.into_iter().next().unwrap()));
    Worker::new(ledger, supervisor, policy)
}

#[test]
fn verdicts_beyond_the_in_flight_bound_wait_in_the_backlog_and_others_do_not() {
    let mut worker = supervisor_worker(ApprovalPolicy::Auto);
    let busy = |i: usize| {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&(i as u64).to_be_bytes());
        Duty::Attest(RecordId(id))
    };
    for i in 0..MAX_IN_FLIGHT {
        let pending = Pending {
            anchor: 0,
            tx_id: Some(Digest::from([1; 32])),
            valid_until: 300,
        };
        worker.pending.by_duty.insert(busy(i), pending);
    }
    let verdict = Duty::Attest(RecordId([0xee; 16]));
    let decision = Duty::Decide(custodia_protocol::RequestId([0xdd; 16]));
    worker.perform(vec![(verdict, 5), (verdict, 5), (decision, 5)]);
    assert_eq!(worker.backlog, VecDeque::from([(verdict, 5)]));
    // The decision was made at once (it is not owed in this empty state, so it is gone).
    assert!(!worker.pending.contains(&decision));

    worker.pending.remove(&busy(0));
    worker.perform_backlog();
    assert!(worker.backlog.is_empty() && worker.in_backlog.is_empty());
}

#[test]
fn a_duty_whose_window_passed_during_admission_is_made_again_not_dropped() {
    let mut worker = supervisor_worker(ApprovalPolicy::Manual);
    let duty = Duty::Attest(RecordId([7; 16]));
    let passed = AdmitError::Invalid(TxError::OutsideWindow {
        valid_until: 300,
        height: 301,
        max_ttl: 600,
    });
    assert!(!worker.settle(duty, 0, 300, Digest::from([1; 32]), Err(passed)));
    // Still owed: made again (in the next window) at the next block.
    assert_eq!(worker.pending.lapsed(302), vec![(duty, 0)]);

    let other = AdmitError::Invalid(TxError::Malformed("bad".into()));
    assert!(!worker.settle(duty, 0, 300, Digest::from([1; 32]), Err(other)));
    assert!(worker.pending.lapsed(302).is_empty());
}
