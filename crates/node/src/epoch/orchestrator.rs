//! The orchestrator (DESIGN §3.2): runs the simplex engine of the epoch the node is in, and moves
//! to the next epoch once the node has applied the boundary block of the last.
//!
//! The node's epoch is a function of its applied height: `epoch(head + 1)`, the epoch of the
//! next block to finalize. When the executor commits `last(e)`, the orchestrator starts the
//! engine of `e + 1` on that block (`Floor::Genesis` of its digest), then stops the engine of `e`
//! and removes the journal of `e − 1` (the one of `e` is kept until the next boundary, so that a
//! restart can tell a node that just moved on from one that lost its disk). Votes,
//! certificates and simplex's resolver traffic are multiplexed by epoch on their channels: a
//! message for an epoch the node does not run goes to the vote channel's backup queue, and one
//! from a later epoch makes marshal fetch this epoch's boundary block from that peer, which is
//! how a node that fell behind (or syncs from genesis) crosses each boundary.

use super::{
    Epochs,
    consensus::{self, ChainApplication, EngineParts},
    journal_partition,
    peers::{self, BootstrapPeer},
    provider::EpochSchemes,
};
use crate::{
    application::{MAX_TIMESTAMP_DRIFT_MS, now_ms},
    block::ChainBlock,
    ledger::{Head, Ledger},
    metrics::NodeMetrics,
    vote_gate::{GatedScheme as Scheme, VoteGate},
};
use commonware_consensus::{
    marshal::{core::Mailbox as MarshalMailbox, standard::Standard},
    types::Height,
};
use commonware_cryptography::{Digestible as _, certificate::Scheme as _, ed25519::PublicKey};
use commonware_p2p::{
    AddressableManager, Blocker, Receiver, Sender,
    utils::mux::{Builder as _, MuxHandle, Muxer},
};
use commonware_runtime::{
    Clock, Handle, Metrics, Spawner, Storage, telemetry::metrics::GaugeExt as _,
};
use commonware_utils::{Faults as _, N3f1, vec::NonEmptyVec};
use custodia_protocol::Digest;
use rand::CryptoRng as CryptoRngCore;
use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, SystemTime},
};
use tracing::{debug, error, info, warn};

/// How often one peer's messages from a later epoch may make marshal fetch the boundary block.
const HINT_INTERVAL: Duration = Duration::from_secs(1);

/// The orchestrator's parts.
pub struct Orchestrator<E, A, B, M>
where
    E: Spawner + Clock + Metrics + Storage + CryptoRngCore,
    A: ChainApplication<E>,
{
    /// The ledger whose applied height decides the epoch.
    pub ledger: Arc<Ledger>,
    /// The chain's epochs.
    pub epochs: Epochs,
    /// Each epoch's scheme.
    pub schemes: EpochSchemes,
    /// Marshal, hinted to fetch a boundary block.
    pub marshal: MarshalMailbox<Scheme, Standard<ChainBlock>>,
    /// What every epoch's engine runs on.
    pub parts: EngineParts<E, A, B>,
    /// Prefix of the journals' partitions.
    pub partition_prefix: String,
    /// Whether this node never voted with its key (then a missing journal is no loss).
    pub new_validator: bool,
    /// Closed here when the node starts without its journal (DESIGN §3.6).
    pub vote_gate: Arc<VoteGate>,
    /// The epoch gauge.
    pub metrics: NodeMetrics,
    /// The p2p network's peer sets, one tracked per epoch.
    pub manager: M,
    /// This node's key (its p2p identity).
    pub me: PublicKey,
    /// Peers to dial while this node is in no validator set.
    pub bootstrap: Vec<BootstrapPeer>,
}

/// The engine of the epoch the node is in.
struct Running {
    epoch: u64,
    handle: Handle<()>,
}

/// The three multiplexed consensus channels.
struct Muxes<S: Sender> {
    votes: MuxHandle<S>,
    certificates: MuxHandle<S>,
    resolver: MuxHandle<S>,
}

impl<E, A, B, M> Orchestrator<E, A, B, M>
where
    E: Spawner + Clock + Metrics + Storage + CryptoRngCore,
    A: ChainApplication<E>,
    B: Blocker<PublicKey = PublicKey> + Sync,
    M: AddressableManager<PublicKey = PublicKey> + Sync,
{
    /// Runs the orchestrator over the three consensus channels until the node stops; it ends
    /// early only if an epoch cannot be entered (logged).
    pub fn start<S, R>(
        self,
        context: E,
        votes: (S, R),
        certificates: (S, R),
        resolver: (S, R),
    ) -> Handle<()>
    where
        S: Sender<PublicKey = PublicKey>,
        R: Receiver<PublicKey = PublicKey>,
    {
        context.spawn(move |context| self.run(context, votes, certificates, resolver))
    }

    async fn run<S, R>(self, context: E, votes: (S, R), certificates: (S, R), resolver: (S, R))
    where
        S: Sender<PublicKey = PublicKey>,
        R: Receiver<PublicKey = PublicKey>,
    {
        let (mux, votes, mut backup) = Muxer::builder(context.child("vote_mux"), votes.0, votes.1)
            .with_backup()
            .build();
        mux.start();
        let (mux, certificates) = Muxer::new(
            context.child("certificate_mux"),
            certificates.0,
            certificates.1,
        );
        mux.start();
        let (mux, resolver) = Muxer::new(context.child("resolver_mux"), resolver.0, resolver.1);
        mux.start();
        let mut muxes = Muxes {
            votes,
            certificates,
            resolver,
        };

        let mut heads = self.ledger.watch_head();
        let head = *heads.borrow_and_update();
        let first = self.epochs.of(head.height.saturating_add(1));
        self.decide_vote_gate(&context, first).await;
        // A crash between a boundary and the removal of a journal leaves it behind.
        if let Some(stale) = first.checked_sub(2) {
            consensus::remove_journal(&context, &self.partition(stale)).await;
        }
        let Some(mut running) = self.enter(&context, &mut muxes, first, &head).await else {
            return;
        };
        let mut hinted: HashMap<PublicKey, SystemTime> = HashMap::new();
        loop {
            ::tokio::select! {
                changed = heads.changed() => {
                    if changed.is_err() {
                        debug!("the ledger is gone: the orchestrator stops");
                        return;
                    }
                    let head = *heads.borrow_and_update();
                    let target = self.epochs.of(head.height.saturating_add(1));
                    if target <= running.epoch {
                        continue;
                    }
                    let Some(next) = self.enter(&context, &mut muxes, target, &head).await else {
                        return;
                    };
                    let left = std::mem::replace(&mut running, next);
                    self.leave(&context, left, target).await;
                    hinted.clear();
                }
                message = backup.recv() => {
                    let Some((their_epoch, (from, _))) = message else {
                        debug!("the vote channel closed: the orchestrator stops");
                        return;
                    };
                    if their_epoch <= running.epoch {
                        // A peer behind this node: it fetches from us when it hears our votes.
                        continue;
                    }
                    let now = context.current();
                    if hinted.get(&from).is_some_and(|at| {
                        now.duration_since(*at).unwrap_or_default() < HINT_INTERVAL
                    }) {
                        continue;
                    }
                    hinted.insert(from.clone(), now);
                    let boundary = self.epochs.last(running.epoch);
                    debug!(
                        %from, their_epoch, our_epoch = running.epoch, boundary,
                        "a peer is in a later epoch: fetching this epoch's boundary block"
                    );
                    self.marshal.hint_finalized(Height::new(boundary), NonEmptyVec::new(from));
                }
            }
        }
    }

    fn partition(&self, epoch: u64) -> String {
        journal_partition(&self.partition_prefix, epoch)
    }

    /// Closes the vote gate if the node has voted before but has the journal of neither the
    /// epoch it starts in nor the one before (DESIGN §3.6).
    async fn decide_vote_gate(&self, context: &E, epoch: u64) {
        if self.new_validator {
            return;
        }
        let partition = self.partition(epoch);
        if consensus::journal_exists(context, &partition).await {
            return;
        }
        if let Some(previous) = epoch.checked_sub(1)
            && consensus::journal_exists(context, &self.partition(previous)).await
        {
            return;
        }
        self.vote_gate
            .close(now_ms(context), MAX_TIMESTAMP_DRIFT_MS);
        self.metrics.set_vote_gate(&self.vote_gate);
        warn!(
            %partition,
            "the consensus journal is missing and this node has voted before: it follows the \
             chain and signs no vote until a block finalized after this start shows it is past \
             every round it may have voted in (DESIGN §3.6)"
        );
    }

    /// The boundary block the engine of `epoch` starts from: the genesis for epoch 0, else the
    /// last block of the epoch before (applied: the node is in `epoch` because it applied it).
    fn floor(&self, epoch: u64, head: &Head) -> Option<Digest> {
        let Some(previous) = epoch.checked_sub(1) else {
            return Some(ChainBlock::genesis(self.ledger.chain()).digest());
        };
        let boundary = self.epochs.last(previous);
        if head.height == boundary {
            return Some(head.digest);
        }
        match self.ledger.query(|queries| Ok(queries.block(boundary)?)) {
            Ok(Some(block)) => Some(block.digest),
            Ok(None) => {
                error!(
                    boundary,
                    "the state lacks the boundary block of the last epoch"
                );
                None
            }
            Err(err) => {
                error!(%err, boundary, "cannot read the boundary block of the last epoch");
                None
            }
        }
    }

    /// Starts the engine of `epoch`; `None` (logged) if it cannot.
    async fn enter<S: Sender<PublicKey = PublicKey>>(
        &self,
        context: &E,
        muxes: &mut Muxes<S>,
        epoch: u64,
        head: &Head,
    ) -> Option<Running> {
        let Some(scheme) = self.schemes.for_epoch(epoch) else {
            error!(
                epoch,
                "the validators of the epoch are not known: consensus stops"
            );
            return None;
        };
        let floor = self.floor(epoch, head)?;
        self.track(epoch);
        let subchannels = async {
            Ok::<_, commonware_p2p::utils::mux::Error>((
                muxes.votes.register(epoch).await?,
                muxes.certificates.register(epoch).await?,
                muxes.resolver.register(epoch).await?,
            ))
        };
        let (votes, certificates, resolver) = match subchannels.await {
            Ok(subchannels) => subchannels,
            Err(err) => {
                error!(%err, epoch, "cannot open the epoch's consensus channels");
                return None;
            }
        };
        let validator = scheme.me().is_some();
        let handle = consensus::start(
            context,
            &self.parts,
            epoch,
            (*scheme).clone(),
            floor,
            self.partition(epoch),
            votes,
            certificates,
            resolver,
        );
        let _ = self.metrics.epoch.try_set(epoch);
        self.metrics
            .quorum
            .set(i64::from(N3f1::quorum(scheme.participants().len())));
        info!(
            epoch,
            validator,
            validators = scheme.participants().len(),
            from_height = head.height,
            "entered epoch"
        );
        let was_validator = epoch.checked_sub(1).is_some_and(|previous| {
            self.ledger
                .validator_sets()
                .set(previous)
                .is_some_and(|set| set.position(&self.me).is_some())
        });
        if was_validator && !validator {
            warn!(
                epoch,
                "this organisation is no longer a validator from this epoch: the node follows \
                 the chain, and its p2p connections close once no tracked peer set holds it"
            );
        }
        Some(Running { epoch, handle })
    }

    /// Tracks the peers of `epoch` (its validators, the ones the next epoch adds, and the
    /// bootstrap peers while this node is in neither set). The ids of tracked sets are epochs.
    fn track(&self, epoch: u64) {
        let Some(peers) = peers::peer_set(&self.ledger, epoch, &self.me, &self.bootstrap) else {
            return;
        };
        debug!(
            epoch,
            primary = peers.primary.len(),
            secondary = peers.secondary.len(),
            "tracking the epoch's peers"
        );
        let _ = self.manager.clone().track(epoch, peers);
    }

    /// Stops the engine of an epoch the node left for `target`, and removes the journals no
    /// restart can need: every one below `target − 1`.
    async fn leave(&self, context: &E, left: Running, target: u64) {
        left.handle.abort();
        // Its channels close and its journal's handles drop once it is gone.
        let _ = left.handle.await;
        info!(epoch = left.epoch, "left epoch");
        for epoch in [left.epoch.checked_sub(1), Some(left.epoch)]
            .into_iter()
            .flatten()
            .filter(|epoch| epoch.saturating_add(1) < target)
        {
            consensus::remove_journal(context, &self.partition(epoch)).await;
        }
    }
}
