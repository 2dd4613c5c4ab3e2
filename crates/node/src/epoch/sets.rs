//! Each epoch's validators (DESIGN §3.2), in memory: marshal looks them up synchronously, so they
//! never come from SQLite there. The state's `validator_sets` table is the source; the ledger
//! loads it at start and again after a block that scheduled a new set.

use commonware_cryptography::ed25519::PublicKey;
use commonware_utils::ordered::Set;
use std::{
    collections::BTreeMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

/// The validator sets of a chain, by the epoch from which each applies, up to the last epoch
/// whose set is final ([`Self::known_through`]).
#[derive(Debug)]
pub struct ValidatorSets {
    changes: RwLock<BTreeMap<u64, Arc<Set<PublicKey>>>>,
    known_through: AtomicU64,
}

impl ValidatorSets {
    /// The sets of a chain whose validators are `genesis` from epoch 0 on, with sets known up
    /// to `known_through`.
    pub fn new(genesis: Set<PublicKey>, known_through: u64) -> Self {
        Self {
            changes: RwLock::new(BTreeMap::from([(0, Arc::new(genesis))])),
            known_through: AtomicU64::new(known_through),
        }
    }

    /// The sets of `changes` (each from its epoch on; the first from epoch 0), known up to
    /// `known_through`.
    pub fn from_changes(
        changes: impl IntoIterator<Item = (u64, Vec<PublicKey>)>,
        known_through: u64,
    ) -> Self {
        let sets = Self {
            changes: RwLock::default(),
            known_through: AtomicU64::new(known_through),
        };
        sets.replace(changes);
        sets
    }

    /// Replaces every set by `changes` (the state's, reloaded after a block scheduled one).
    pub fn replace(&self, changes: impl IntoIterator<Item = (u64, Vec<PublicKey>)>) {
        let changes = changes
            .into_iter()
            .map(|(from, keys)| (from, Arc::new(Set::from_iter_dedup(keys))))
            .collect();
        *self.changes.write().unwrap_or_else(|p| p.into_inner()) = changes;
    }

    /// The set of `epoch`, or `None` beyond the epochs whose set is known.
    pub fn set(&self, epoch: u64) -> Option<Arc<Set<PublicKey>>> {
        if epoch > self.known_through() {
            return None;
        }
        let changes = self.changes.read().unwrap_or_else(|p| p.into_inner());
        changes
            .range(..=epoch)
            .next_back()
            .map(|(_, set)| set.clone())
    }

    /// The last epoch whose set is known.
    pub fn known_through(&self) -> u64 {
        self.known_through.load(Ordering::SeqCst)
    }

    /// Records that the sets are known up to `epoch` (never lowers it).
    pub fn know_through(&self, epoch: u64) {
        self.known_through.fetch_max(epoch, Ordering::SeqCst);
    }
}
