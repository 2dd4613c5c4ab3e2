//! Duties to make again (DESIGN §7.6): those whose tx reached the chain and failed, and the
//! deliveries that wait for their requester to be reinstated.
//!
//! A duty's tx is the same bytes within a window, and the chain refuses a tx it applied before
//! (`duplicate_tx`), so a duty whose tx failed can only be done by a tx of a later window. That
//! keeps "exactly once": every tx of a duty is still a pure function of the duty and its window,
//! the state's rules refuse a second success, and after a restart the worker finds the failed
//! window again (its tx is a duplicate whose receipt failed) and moves to the same next window.

use super::duty::Duty;
use custodia_state::Code;
use std::collections::{BTreeMap, HashMap};

/// Whether a duty refused with `code` waits for its requester's reinstatement.
pub(super) fn waits_for_reinstatement(code: &str) -> bool {
    code == Code::RequesterSuspended.as_str()
}

#[derive(Default)]
pub(super) struct Redo {
    /// Per duty, the `valid_until` of its last tx that the chain applied and failed: its next
    /// tx is made in a later window.
    failed: HashMap<Duty, u64>,
    /// Deliveries waiting for their requester's reinstatement, with their anchors.
    parked: BTreeMap<Duty, u64>,
}

impl Redo {
    /// Notes that `duty`'s tx valid until `valid_until` is on the chain and failed.
    pub(super) fn failed(&mut self, duty: Duty, valid_until: u64) {
        let last = self.failed.entry(duty).or_default();
        *last = (*last).max(valid_until);
    }

    /// The height from which `duty`'s next window is chosen when the next height is `next`:
    /// past its failed window, if any.
    pub(super) fn from(&self, duty: &Duty, next: u64) -> u64 {
        self.failed
            .get(duty)
            .map_or(next, |failed| next.max(failed.saturating_add(1)))
    }

    /// Sets `duty` aside until an organisation is reinstated.
    pub(super) fn park(&mut self, duty: Duty, anchor: u64) {
        self.parked.insert(duty, anchor);
    }

    /// The parked duties, to make again now that an organisation was reinstated (a rescan of
    /// the state, after missing part of the feed, makes them again too: it may have missed the
    /// reinstatement).
    pub(super) fn reinstated(&mut self) -> Vec<(Duty, u64)> {
        std::mem::take(&mut self.parked).into_iter().collect()
    }

    /// Forgets `duty` (done, or no longer owed).
    pub(super) fn forget(&mut self, duty: &Duty) {
        self.failed.remove(duty);
        self.parked.remove(duty);
    }

    /// How many duties are parked.
    pub(super) fn parked(&self) -> usize {
        self.parked.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workers::duty::{valid_until, window_blocks};
    use custodia_protocol::{Params, RequestId};

    #[test]
    fn a_failed_window_is_never_chosen_again_and_the_next_one_is_admissible() {
        let params = Params::default();
        let window = window_blocks(&params);
        let duty = Duty::Deliver(RequestId([1; 16]));
        let mut redo = Redo::default();
        // The duty arose at 10; its first tx (valid until 310) failed in the block at 50.
        assert_eq!(valid_until(10, redo.from(&duty, 51), window), 310);
        redo.failed(duty, 310);
        for next in 51..=310 {
            let until = valid_until(10, redo.from(&duty, next), window);
            assert_eq!(until, 610, "next {next}");
            assert!(until <= next + params.max_tx_ttl, "admissible at {next}");
        }
        assert_eq!(valid_until(10, redo.from(&duty, 611), window), 910);
        redo.forget(&duty);
        assert_eq!(valid_until(10, redo.from(&duty, 51), window), 310);
    }

    #[test]
    fn parked_deliveries_come_back_on_a_reinstatement() {
        let mut redo = Redo::default();
        let duty = Duty::Deliver(RequestId([2; 16]));
        redo.park(duty, 7);
        assert_eq!(redo.parked(), 1);
        assert_eq!(redo.reinstated(), vec![(duty, 7)]);
        assert_eq!(redo.parked(), 0);
        assert!(waits_for_reinstatement("requester_suspended"));
        assert!(!waits_for_reinstatement("request_not_approved"));
    }
}
