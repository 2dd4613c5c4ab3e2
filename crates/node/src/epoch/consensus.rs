//! One epoch's simplex engine (DESIGN §3.1): its configuration, its journal, and the removal of
//! the journal once the epoch can no longer be needed.

use crate::{
    block::ChainBlock,
    engine::{MAILBOX_SIZE, REPLAY_BUFFER, Timing, WRITE_BUFFER},
    vote_gate::GatedScheme as Scheme,
};
use commonware_consensus::{
    Application as ConsensusApplication,
    marshal::standard::Inline,
    simplex::{
        self,
        config::{Floor, ForwardPolicy, SkipBudget, SkipPolicy},
        elector::RoundRobin,
        types::Context,
    },
    types::{Epoch, FixedEpocher, ViewDelta},
};
use commonware_cryptography::{ed25519::PublicKey, sha256::Sha256};
use commonware_p2p::{Blocker, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::{Clock, Handle, Metrics, Spawner, Storage, buffer::paged::CacheRef};
use commonware_utils::NZDuration;
use custodia_protocol::Digest;
use rand::CryptoRng as CryptoRngCore;
use std::time::Duration;

/// What consensus drives in every epoch: custodia's [`crate::application::Application`], or a
/// test's (a Byzantine proposer), over chain blocks and the gated scheme.
pub trait ChainApplication<E>:
    ConsensusApplication<
        E,
        Block = ChainBlock,
        SigningScheme = Scheme,
        Context = Context<Digest, PublicKey>,
        Input = (),
    > + Sync
{
}

impl<E, A> ChainApplication<E> for A where
    A: ConsensusApplication<
            E,
            Block = ChainBlock,
            SigningScheme = Scheme,
            Context = Context<Digest, PublicKey>,
            Input = (),
        > + Sync
{
}

/// The application every epoch's engine drives: one `Inline` cloned into each engine, so that it
/// releases an epoch's state once a later epoch is active.
pub type EpochApplication<E, A> = Inline<E, Scheme, A, ChainBlock, FixedEpocher>;

/// What one epoch's engine runs on.
pub struct EngineParts<E, A, B>
where
    E: Spawner + Clock + Metrics + Storage + CryptoRngCore,
    A: ChainApplication<E>,
{
    /// Proposes, verifies and reports (marshal behind it).
    pub application: EpochApplication<E, A>,
    /// Blocks misbehaving peers.
    pub blocker: B,
    /// Timeouts.
    pub timing: Timing,
    /// The page cache of the journals.
    pub page_cache: CacheRef,
}

/// Starts the engine of `epoch` over `scheme`, from the boundary block `floor` (the genesis for
/// epoch 0), journalling in `partition`. A journal left by an earlier run of this epoch is
/// resumed: simplex replays it, whatever the floor.
#[allow(clippy::too_many_arguments)]
pub fn start<E, A, B, S, R>(
    context: &E,
    parts: &EngineParts<E, A, B>,
    epoch: u64,
    scheme: Scheme,
    floor: Digest,
    partition: String,
    votes: (S, R),
    certificates: (S, R),
    resolver: (S, R),
) -> Handle<()>
where
    E: Spawner + Clock + Metrics + Storage + CryptoRngCore,
    A: ChainApplication<E>,
    B: Blocker<PublicKey = PublicKey>,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let timing = parts.timing;
    let engine = simplex::Engine::new(
        context.child("simplex").with_attribute("epoch", epoch),
        simplex::config::Config {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker: parts.blocker.clone(),
            automaton: parts.application.clone(),
            relay: parts.application.clone(),
            reporter: parts.application.clone(),
            track_historical_votes: false,
            strategy: Sequential,
            partition,
            mailbox_size: MAILBOX_SIZE,
            epoch: Epoch::new(epoch),
            floor: Floor::Genesis(floor),
            replay_buffer: REPLAY_BUFFER,
            write_buffer: WRITE_BUFFER,
            page_cache: parts.page_cache.clone(),
            leader_timeout: timing.leader_timeout,
            certification_timeout: timing.certification_timeout,
            timeout_retry: timing.timeout_retry,
            view_retention: ViewDelta::new(10),
            skip: SkipPolicy::Enabled {
                timeout: timing.skip_timeout,
                budget: SkipBudget::Participants,
            },
            fetch_timeout: NZDuration!(timing.fetch_timeout),
            fetch_retry_delay: Duration::from_millis(100),
            forward: ForwardPolicy::SilentLeader,
        },
    );
    engine.start(votes, certificates, resolver)
}

/// Whether a simplex journal partition holds anything (a node's votes survive only there).
pub async fn journal_exists(storage: &impl Storage, partition: &str) -> bool {
    match storage.scan(partition).await {
        Ok(blobs) => !blobs.is_empty(),
        Err(commonware_runtime::Error::PartitionMissing(_)) => false,
        Err(err) => {
            // Unreadable is not missing: simplex itself will fail loudly on it.
            tracing::warn!(%err, partition, "cannot list the consensus journal");
            true
        }
    }
}

/// Removes the journal of an epoch this node left for good (its engine stopped and awaited).
pub async fn remove_journal(storage: &impl Storage, partition: &str) {
    match storage.remove(partition, None).await {
        Ok(()) => tracing::debug!(partition, "removed the journal of a past epoch"),
        Err(commonware_runtime::Error::PartitionMissing(_)) => {}
        Err(err) => tracing::warn!(%err, partition, "cannot remove the journal of a past epoch"),
    }
}
