//! What the role workers have in flight: the duty txs waiting for a block, by duty and by tx
//! id, and the parallel map the supervisor opens records with.

use super::duty::Duty;
use custodia_protocol::Digest;
use std::collections::{BTreeMap, HashMap};

/// A duty's tx awaiting finalization.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pending {
    /// The height the duty arose at (its windows count from there).
    pub(super) anchor: u64,
    /// The tx submitted, if the mempool took it.
    pub(super) tx_id: Option<Digest>,
    /// The last height it may be included at (0: submit again at the next block).
    pub(super) valid_until: u64,
}

/// The duties in flight, by duty and by tx id (a block's receipts are matched by tx id).
#[derive(Default)]
pub(super) struct InFlight {
    pub(super) by_duty: BTreeMap<Duty, Pending>,
    pub(super) by_tx: HashMap<Digest, Duty>,
}

impl InFlight {
    pub(super) fn insert(&mut self, duty: Duty, pending: Pending) {
        self.remove(&duty);
        if let Some(tx_id) = pending.tx_id {
            self.by_tx.insert(tx_id, duty);
        }
        self.by_duty.insert(duty, pending);
    }

    pub(super) fn remove(&mut self, duty: &Duty) {
        if let Some(Pending {
            tx_id: Some(tx_id), ..
        }) = self.by_duty.remove(duty)
        {
            self.by_tx.remove(&tx_id);
        }
    }

    /// Duties in flight.
    pub(super) fn len(&self) -> usize {
        self.by_duty.len()
    }

    /// Whether `duty` is in flight.
    pub(super) fn contains(&self, duty: &Duty) -> bool {
        self.by_duty.contains_key(duty)
    }

    /// Whether `duty`'s tx was admitted and can still be included at `next`.
    pub(super) fn awaits_block(&self, duty: &Duty, next: u64) -> bool {
        self.by_duty
            .get(duty)
            .is_some_and(|pending| pending.tx_id.is_some() && pending.valid_until >= next)
    }

    /// `duty`'s entry, if it is in flight.
    pub(super) fn get(&self, duty: &Duty) -> Option<Pending> {
        self.by_duty.get(duty).copied()
    }

    pub(super) fn duty_of(&self, tx_id: &Digest) -> Option<Duty> {
        self.by_tx.get(tx_id).copied()
    }

    /// The duties whose tx can no longer be included at `next` (or was never admitted), with
    /// their anchors.
    pub(super) fn lapsed(&self, next: u64) -> Vec<(Duty, u64)> {
        self.by_duty
            .iter()
            .filter(|(_, pending)| pending.valid_until < next)
            .map(|(duty, pending)| (*duty, pending.anchor))
            .collect()
    }
}

/// `items` mapped by `f` on every core (in order); inline when there are few.
pub(super) fn parallel_map<T: Send, U: Send>(items: Vec<T>, f: impl Fn(T) -> U + Sync) -> Vec<U> {
    const INLINE_BELOW: usize = 32;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || items.len() < INLINE_BELOW {
        return items.into_iter().map(f).collect();
    }
    let per_thread = items.len().div_ceil(threads);
    let mut items = items.into_iter();
    let chunks: Vec<Vec<T>> = (0..threads)
        .map(|_| items.by_ref().take(per_thread).collect())
        .collect();
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| scope.spawn(move || chunk.into_iter().map(f).collect::<Vec<U>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use custodia_protocol::RecordId;

    #[test]
    fn only_a_duty_admitted_and_still_includable_awaits_a_block() {
        let mut in_flight = InFlight::default();
        let (admitted, refused) = (
            Duty::Attest(RecordId([1; 16])),
            Duty::Attest(RecordId([2; 16])),
        );
        in_flight.insert(
            admitted,
            Pending {
                anchor: 0,
                tx_id: Some(Digest::from([3; 32])),
                valid_until: 300,
            },
        );
        in_flight.insert(
            refused,
            Pending {
                anchor: 0,
                tx_id: None,
                valid_until: 0,
            },
        );
        assert!(in_flight.awaits_block(&admitted, 300));
        assert!(!in_flight.awaits_block(&admitted, 301));
        assert!(!in_flight.awaits_block(&refused, 1));
        assert!(!in_flight.awaits_block(&Duty::Attest(RecordId([9; 16])), 1));
    }

    #[test]
    fn parallel_map_keeps_the_order() {
        let items: Vec<u64> = (0..1000).collect();
        let doubled = parallel_map(items, |i| i * 2);
        assert_eq!(doubled, (0..1000).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(parallel_map(vec![3u8], |i| i + 1), vec![4]);
    }
}
