//! [`Ledger`]: what the node's components share — the world state, the mempool, the head of
//! the applied chain and the feed of executed blocks.
//!
//! The executor is the only writer of the state; the API and the gossip path admit txs through
//! [`Ledger::submit`], which runs the mempool's stateless checks and the state precheck. Locks
//! are taken state first, then mempool, and never held across an `.await`.

use crate::{
    epoch::{Epochs, sets::ValidatorSets},
    mempool::{AdmitError, Mempool, MempoolLimits, PeerFault, Signature},
    metrics::NodeMetrics,
};
use custodia_protocol::{
    Digest, Genesis, Params, Tx,
    tx::{signatures_verify, verify_signatures_of},
};
use custodia_state::{
    Certificates, Code, Event, EventKind, Precheck, Queries, Receipt, Rejection, State, StateError,
    StateReader,
};
use std::{
    collections::HashSet,
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard, OnceLock},
};
use tokio::sync::{broadcast, mpsc, watch};

/// How many executed blocks a slow subscriber may lag before it misses some. The feed holds
/// every block a subscriber has not read yet (receipts and events: ~300 KiB for a block of
/// 1,000 txs), so this bounds memory: at 1,024 a supervisor whose worker lagged under load
/// held ~400 MiB. A subscriber that misses blocks recovers (the workers rescan the state, an
/// SSE client gets `event: lagged` and reads the blocks).
const EXECUTED_FEED_CAPACITY: usize = 128;

/// The certificates' database of the state database at `state`: beside it, named after it
/// (`state.sqlite` → `state.certificates.sqlite`; DESIGN §5.9).
pub fn certificates_path(state: &std::path::Path) -> PathBuf {
    state.with_extension("certificates.sqlite")
}

/// The last applied block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Its height (0 before any block).
    pub height: u64,
    /// Its digest.
    pub digest: Digest,
    /// Its proposer's timestamp.
    pub timestamp_ms: u64,
    /// The state commitment after it.
    pub state_commitment: Digest,
}

/// A block the executor applied: what subscribers (role workers, API event stream) receive.
#[derive(Debug, Clone)]
pub struct Executed {
    /// Height.
    pub height: u64,
    /// Block digest.
    pub digest: Digest,
    /// Proposer's timestamp.
    pub timestamp_ms: u64,
    /// The state commitment after the block.
    pub state_commitment: Digest,
    /// One receipt per tx, in block order.
    pub receipts: Vec<Receipt>,
    /// What changed.
    pub events: Vec<Event>,
}

/// The node's shared view of its chain.
pub struct Ledger {
    genesis: Genesis,
    chain: Digest,
    state_path: Option<PathBuf>,
    state: Mutex<State>,
    certificates: Certificates,
    mempool: Mutex<Mempool>,
    head: watch::Sender<Head>,
    executed: broadcast::Sender<Arc<Executed>>,
    gossip: Mutex<Option<mpsc::UnboundedSender<Arc<Tx>>>>,
    metrics: OnceLock<NodeMetrics>,
    epochs: Epochs,
    validators: Arc<ValidatorSets>,
}

impl Ledger {
    /// Opens the state at `state_path` (or in memory when `None`) for `genesis`.
    pub fn open(
        genesis: Genesis,
        state_path: Option<PathBuf>,
        limits: MempoolLimits,
    ) -> Result<Arc<Self>, StateError> {
        let state = match &state_path {
            Some(path) => State::open(path, &genesis)?,
            None => State::open_in_memory(&genesis)?,
        };
        // Beside the state, not in it: a reindex drops the state but must keep these.
        let certificates = match &state_path {
            Some(path) => Certificates::open(&certificates_path(path))?,
            None => Certificates::open_in_memory()?,
        };
        let head = Head {
            height: state.height(),
            digest: state.last_block_digest(),
            timestamp_ms: state.last_timestamp_ms(),
            state_commitment: state.state_commitment(),
        };
        let epochs = Epochs::new(genesis.params.epoch_length);
        let validators = Arc::new(ValidatorSets::from_changes(
            state.queries().validator_changes()?,
            known_through(&epochs, head.height),
        ));
        let (executed, _) = broadcast::channel(EXECUTED_FEED_CAPACITY);
        let mempool = Mempool::for_chain(limits, &genesis);
        let ledger = Arc::new(Self {
            chain: genesis.digest(),
            genesis,
            state_path,
            state: Mutex::new(state),
            certificates,
            mempool: Mutex::new(mempool),
            head: watch::Sender::new(head),
            executed,
            gossip: Mutex::new(None),
            metrics: OnceLock::new(),
            epochs,
            validators,
        });
        ledger.share_mempool();
        Ok(ledger)
    }

    /// Shares the mempool among the organisations the state has now, removed ones excepted
    /// (DESIGN §7.2): at start, and after a block that admitted or removed one.
    fn share_mempool(&self) {
        let orgs = match lock(&self.state).queries().orgs() {
            Ok(orgs) => orgs,
            Err(err) => {
                tracing::warn!(%err, "cannot read the organisations; the mempool shares stay");
                return;
            }
        };
        let names = orgs
            .into_iter()
            .filter(|org| org.membership != custodia_state::Membership::Removed)
            .map(|org| (org.identity_key, org.name))
            .collect();
        lock(&self.mempool).share_among(names);
    }

    /// The chain's epochs.
    pub fn epochs(&self) -> Epochs {
        self.epochs
    }

    /// Each epoch's validators, as the applied state has them (DESIGN §3.2).
    pub fn validator_sets(&self) -> &Arc<ValidatorSets> {
        &self.validators
    }

    /// The chain's genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The chain digest (genesis hash).
    pub fn chain(&self) -> Digest {
        self.chain
    }

    /// The chain parameters.
    pub fn params(&self) -> &Params {
        &self.genesis.params
    }

    /// The last applied block.
    pub fn head(&self) -> Head {
        *self.head.borrow()
    }

    /// Watches the head (changes once per applied block).
    pub fn watch_head(&self) -> watch::Receiver<Head> {
        self.head.subscribe()
    }

    /// Subscribes to executed blocks from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Executed>> {
        self.executed.subscribe()
    }

    /// A fresh read-only connection to the state, for queries that must not wait for the
    /// executor. `None` for an in-memory state.
    pub fn reader(&self) -> Option<Result<StateReader, StateError>> {
        self.state_path.as_deref().map(StateReader::open)
    }

    /// Runs `query` over a read-only connection of its own (or over the writer's when the
    /// state is in memory: then `query` must not call back into the ledger).
    pub fn query<T>(
        &self,
        query: impl FnOnce(&Queries<'_>) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        match self.reader() {
            Some(Ok(reader)) => query(&reader.queries()),
            Some(Err(err)) => Err(err),
            None => query(&self.state().queries()),
        }
    }

    /// The certificates of the state commitment this node holds (DESIGN §5.9).
    pub fn certificates(&self) -> &Certificates {
        &self.certificates
    }

    /// The highest height whose state commitment this node holds a certificate of (0 before
    /// any: the genesis needs none).
    pub fn certified_height(&self) -> u64 {
        match self.certificates.latest() {
            Ok(latest) => latest.map_or(0, |row| row.height),
            Err(err) => {
                tracing::warn!(%err, "cannot read the certificates");
                0
            }
        }
    }

    /// The writable state (executor only, and queries in tests).
    pub fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The mempool.
    pub fn mempool(&self) -> MutexGuard<'_, Mempool> {
        lock(&self.mempool)
    }

    /// Keeps `metrics` current from now on (mempool gauges at every admission and block).
    pub fn attach_metrics(&self, metrics: NodeMetrics) {
        let limits = lock(&self.mempool).limits();
        metrics.set_mempool_limits(limits.max_txs, limits.max_bytes);
        let _ = self.metrics.set(metrics);
    }

    /// The node's metrics, once the engine attached them.
    pub fn metrics(&self) -> Option<&NodeMetrics> {
        self.metrics.get()
    }

    /// Sends every tx admitted through [`Ledger::submit`] to `gossip` from now on.
    pub fn set_gossip(&self, gossip: mpsc::UnboundedSender<Arc<Tx>>) {
        *lock(&self.gossip) = Some(gossip);
    }

    /// Admits a tx from this node's users: checks it, holds it in the mempool and gossips it
    /// to the peers. Returns its id.
    pub fn submit(&self, tx: Tx) -> Result<Digest, AdmitError> {
        // Verify before taking the locks (applying blocks needs the state meanwhile); a tx
        // that fails goes through the checks in their order, for the error they give.
        let id = tx.id();
        let bad = if self.holds(&id) || tx.verify_signature() {
            HashSet::new()
        } else {
            HashSet::from([0])
        };
        let mut results = self.admit_all(vec![(Arc::new(tx), id)], &bad, true);
        results.pop().unwrap_or_else(|| {
            Err(AdmitError::Unavailable(
                "no admission result for the transaction".to_string(),
            ))
        })
    }

    /// Admits a batch of txs from this node's users (the API), verifying their signatures in
    /// one batch, and gossips the ones admitted. One result per tx, in order.
    pub fn submit_batch(&self, txs: Vec<Tx>) -> Vec<Result<Digest, AdmitError>> {
        let txs = identify(txs);
        let bad = self.unverifiable(&txs);
        self.admit_all(txs, &bad, true)
    }

    /// Admits txs this node signed itself (its role workers' duties), without verifying their
    /// signatures again, and gossips the ones admitted. One result per tx, in order.
    pub fn submit_own(&self, txs: Vec<Tx>) -> Vec<Result<Digest, AdmitError>> {
        self.admit_all(identify(txs), &HashSet::new(), true)
    }

    /// Admits a batch of txs a peer gossiped (they are not gossiped again: every peer got them
    /// from the origin), unless the batch shows the peer faulty: a tx that fails a check no
    /// honest node's gossip fails, or signatures that do not all verify in one batch
    /// verification. Then nothing is admitted (DESIGN §7.3). Else one result per tx.
    pub fn admit_gossiped(
        &self,
        txs: Vec<Tx>,
    ) -> Result<Vec<Result<Digest, AdmitError>>, PeerFault> {
        let height = self.head().height + 1;
        for tx in &txs {
            if let Err(err) = tx.check_stateless_with(&self.chain, self.params(), height, true) {
                let err = AdmitError::Invalid(err);
                if err.is_peer_fault() {
                    return Err(PeerFault::Tx(err));
                }
            }
        }
        let txs = identify(txs);
        let unverified: Vec<&Tx> = {
            let mempool = lock(&self.mempool);
            txs.iter()
                .filter(|(_, id)| !mempool.contains(id))
                .map(|(tx, _)| &**tx)
                .collect()
        };
        if !signatures_verify(&unverified) {
            return Err(PeerFault::BadSignatures {
                unverified: unverified.len(),
            });
        }
        Ok(self.admit_all(txs, &HashSet::new(), false))
    }

    /// Whether the mempool holds the tx `id` (its signature was verified on its way in: the
    /// admission reports it as a duplicate).
    fn holds(&self, id: &Digest) -> bool {
        lock(&self.mempool).contains(id)
    }

    /// The positions of the txs of `txs` whose signature fails, verified in one batch outside
    /// the locks (txs the mempool holds were verified on their way in).
    fn unverifiable(&self, txs: &[(Arc<Tx>, Digest)]) -> HashSet<usize> {
        let unverified: Vec<usize> = {
            let mempool = lock(&self.mempool);
            (0..txs.len())
                .filter(|&i| !mempool.contains(&txs[i].1))
                .collect()
        };
        let refs: Vec<&Tx> = unverified.iter().map(|&i| &*txs[i].0).collect();
        verify_signatures_of(&refs)
            .into_iter()
            .map(|j| unverified[j])
            .collect()
    }

    /// Admits `txs` in order, those at `bad` with a signature still to check (a tx whose
    /// signature failed goes through every check in their order, for the error they give: a
    /// wrong chain, say, before the signature), and gossips the admitted ones when `gossip`.
    ///
    /// The whole batch is prechecked in one [`Precheck`] under one hold of the locks: a tx is
    /// checked as if the ones admitted before it were applied (DESIGN §7.2).
    fn admit_all(
        &self,
        txs: Vec<(Arc<Tx>, Digest)>,
        bad: &HashSet<usize>,
        gossip: bool,
    ) -> Vec<Result<Digest, AdmitError>> {
        let results: Vec<Result<Digest, AdmitError>> = {
            let mut state = lock(&self.state);
            let height = state.height() + 1;
            let mut mempool = lock(&self.mempool);
            let results: Vec<Result<Digest, AdmitError>> = match state.precheck(height) {
                Ok(mut precheck) => txs
                    .iter()
                    .enumerate()
                    .map(|(i, (tx, id))| {
                        let signature = if bad.contains(&i) {
                            Signature::Failed
                        } else {
                            Signature::Verified
                        };
                        self.admit_one(&mut mempool, &mut precheck, tx, id, signature)
                    })
                    .collect(),
                Err(err) => txs
                    .iter()
                    .map(|_| Err(AdmitError::Unavailable(err.to_string())))
                    .collect(),
            };
            if let Some(metrics) = self.metrics() {
                metrics.set_mempool(mempool.len(), mempool.bytes());
                for refused in results.iter().filter_map(|r| r.as_ref().err()) {
                    metrics.refused(refused.code());
                }
            }
            results
        };
        if gossip {
            for ((tx, _), result) in txs.into_iter().zip(&results) {
                if result.is_ok() {
                    self.gossip(tx);
                }
            }
        }
        results
    }

    fn admit_one(
        &self,
        mempool: &mut Mempool,
        precheck: &mut Precheck<'_>,
        tx: &Arc<Tx>,
        id: &Digest,
        signature: Signature,
    ) -> Result<Digest, AdmitError> {
        let mut failure = None;
        let admitted = mempool.admit_identified(
            tx.clone(),
            *id,
            signature,
            &self.chain,
            &self.genesis.params,
            precheck.height(),
            |tx| match precheck.check(tx, id) {
                Ok(verdict) => verdict,
                Err(err) => {
                    failure = Some(err);
                    Err(Rejection::new(Code::InvalidTx, "state unavailable"))
                }
            },
        );
        // A database error is the node's problem, not the tx's: report it as such.
        match failure {
            Some(err) => Err(AdmitError::Unavailable(err.to_string())),
            None => admitted.map(|()| *id),
        }
    }

    fn gossip(&self, tx: Arc<Tx>) {
        if let Some(gossip) = lock(&self.gossip).as_ref() {
            let _ = gossip.send(tx);
        }
    }

    /// Records an applied block: moves the head, drops its txs and the expired ones from the
    /// mempool, and publishes it.
    pub(crate) fn applied(&self, head: Head, tx_ids: &[Digest], executed: Executed) {
        let membership = executed.events.iter().any(|e| {
            matches!(
                e.kind,
                EventKind::ProposalEnacted | EventKind::MemberAdmitted | EventKind::MemberRemoved
            )
        });
        if membership {
            self.share_mempool();
        }
        // Before the head moves: the orchestrator, woken by it, takes the next epoch's set.
        if executed
            .events
            .iter()
            .any(|e| e.kind == EventKind::ValidatorSetScheduled)
        {
            match lock(&self.state).queries().validator_changes() {
                Ok(changes) => self.validators.replace(changes),
                Err(err) => tracing::error!(%err, "cannot read the validator sets"),
            }
        }
        self.validators
            .know_through(known_through(&self.epochs, head.height));
        {
            let mut mempool = lock(&self.mempool);
            mempool.remove_applied(tx_ids);
            mempool.evict_expired(head.height + 1);
            if let Some(metrics) = self.metrics() {
                metrics.set_mempool(mempool.len(), mempool.bytes());
            }
        }
        self.head.send_replace(head);
        let _ = self.executed.send(Arc::new(executed));
    }
}

/// The last epoch whose validator set is final once `height` is applied: the set of epoch e is
/// fixed by the end of epoch e − 2, and the node is in `epoch(height + 1)`.
fn known_through(epochs: &Epochs, height: u64) -> u64 {
    epochs.of(height.saturating_add(1)).saturating_add(1)
}

/// `txs` with their ids, computed once.
fn identify(txs: Vec<Tx>) -> Vec<(Arc<Tx>, Digest)> {
    txs.into_iter()
        .map(|tx| {
            let id = tx.id();
            (Arc::new(tx), id)
        })
        .collect()
}

/// Locks `mutex`, recovering from poisoning: a panicked holder cannot have left SQLite or the
/// mempool half-updated (SQLite rolls back, the mempool updates are single-step).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
