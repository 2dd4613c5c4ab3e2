//! The engine: wires p2p channels, simplex, marshal, buffered broadcast, the executor and the
//! mempool gossip into one running node. It only wires; deciding is [`crate::application`]'s,
//! applying is [`crate::executor`]'s.
//!
//! The engine is generic over the network, so the same wiring runs on the authenticated `lookup`
//! network (a real node) and on commonware's simulated network (the deterministic tests).

use crate::{
    application::Application,
    block::{ChainBlock, ChainBlockCfg},
    certify,
    epoch::{
        Epochs,
        consensus::{ChainApplication, EngineParts},
        orchestrator::Orchestrator,
        peers::BootstrapPeer,
        provider::EpochSchemes,
    },
    executor::Executor,
    gossip::Gossip,
    ledger::Ledger,
    metrics::NodeMetrics,
    vote_gate::{GatedScheme as Scheme, VoteGate},
};
use commonware_broadcast::buffered;
use commonware_consensus::{
    marshal::{
        self,
        core::{Actor as Marshal, Mailbox as MarshalMailbox},
        standard::{Inline, Standard},
    },
    types::ViewDelta,
};
use commonware_cryptography::{
    Digested, Digestible, Signer as _,
    certificate::Verifier as _,
    ed25519::{PrivateKey, PublicKey},
};
use commonware_p2p::{AddressableManager, Blocker, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::{Clock, Handle, Metrics, Spawner, Storage, buffer::paged::CacheRef};
use commonware_storage::archive::immutable;
use commonware_utils::{NZDuration, NZU16, NZU64, NZUsize};
use custodia_protocol::Digest;
use rand::CryptoRng as CryptoRngCore;
use std::{
    num::{NonZeroU16, NonZeroUsize},
    sync::Arc,
    time::Duration,
};

/// Namespace of consensus votes and certificates (DESIGN §3.8).
pub const CONSENSUS_NAMESPACE: &[u8] = b"_CUSTODIA_CONSENSUS";

/// p2p channel numbers, one per purpose (DESIGN §3.4).
pub mod channel {
    /// simplex votes.
    pub const VOTES: u64 = 0;
    /// simplex certificates.
    pub const CERTIFICATES: u64 = 1;
    /// simplex's resolver (missing certificates).
    pub const RESOLVER: u64 = 2;
    /// Proposed blocks (buffered broadcast).
    pub const BROADCAST: u64 = 3;
    /// marshal's backfill of finalized blocks.
    pub const BACKFILL: u64 = 4;
    /// Mempool gossip.
    pub const MEMPOOL: u64 = 5;
    /// Signatures over the state commitment (DESIGN §5.9).
    pub const COMMITMENTS: u64 = 6;
    /// Every channel, in the order of [`super::Channels`]' fields.
    pub const ALL: [u64; 7] = [
        VOTES,
        CERTIFICATES,
        RESOLVER,
        BROADCAST,
        BACKFILL,
        MEMPOOL,
        COMMITMENTS,
    ];
}

const PAGE_SIZE: NonZeroU16 = NZU16!(16_384);
const PAGE_CACHE_PAGES: NonZeroUsize = NZUsize!(1_024);
pub(crate) const MAILBOX_SIZE: NonZeroUsize = NZUsize!(1_024);
pub(crate) const REPLAY_BUFFER: NonZeroUsize = NZUsize!(1 << 20);
pub(crate) const WRITE_BUFFER: NonZeroUsize = NZUsize!(1 << 20);
/// Blocks marshal may hand the executor before it acknowledges the first.
const MAX_PENDING_ACKS: NonZeroUsize = NZUsize!(16);

/// Consensus timeouts.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How long to wait for the leader's proposal.
    pub leader_timeout: Duration,
    /// How long to wait for a view to be certified.
    pub certification_timeout: Duration,
    /// How often to repeat a nullify vote while stuck in a view.
    pub timeout_retry: Duration,
    /// After how long an inactive leader's views are skipped at once.
    pub skip_timeout: Duration,
    /// How long to wait for a peer to answer a fetch.
    pub fetch_timeout: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            leader_timeout: Duration::from_secs(1),
            certification_timeout: Duration::from_secs(2),
            timeout_retry: Duration::from_secs(5),
            skip_timeout: Duration::from_secs(10),
            fetch_timeout: Duration::from_secs(2),
        }
    }
}

/// A `(sender, receiver)` pair of one p2p channel.
pub type Channel<S, R> = (S, R);

/// The node's p2p channels.
pub struct Channels<S, R> {
    /// [`channel::VOTES`].
    pub votes: Channel<S, R>,
    /// [`channel::CERTIFICATES`].
    pub certificates: Channel<S, R>,
    /// [`channel::RESOLVER`].
    pub resolver: Channel<S, R>,
    /// [`channel::BROADCAST`].
    pub broadcast: Channel<S, R>,
    /// [`channel::BACKFILL`].
    pub backfill: Channel<S, R>,
    /// [`channel::MEMPOOL`].
    pub mempool: Channel<S, R>,
    /// [`channel::COMMITMENTS`].
    pub commitments: Channel<S, R>,
}

/// What the engine needs besides the network.
pub struct Config<B, M> {
    /// The organisation's identity key (signs votes, authenticates p2p).
    pub signer: PrivateKey,
    /// The node's ledger.
    pub ledger: Arc<Ledger>,
    /// Blocks misbehaving peers.
    pub blocker: B,
    /// The network's peer sets: the engine tracks each epoch's.
    pub peer_manager: M,
    /// Peers to dial while this node is in no validator set (DESIGN §3.3).
    pub bootstrap: Vec<BootstrapPeer>,
    /// Prefix of every storage partition of this node.
    pub partition_prefix: String,
    /// Timeouts.
    pub timing: Timing,
    /// Whether this node has never voted with its key (its data directory was just made by
    /// `custodia init`): only then may it vote at once without a consensus journal.
    pub new_validator: bool,
    /// Which views this node may vote in; closed by the engine when the journal is missing
    /// and the node is not a new validator.
    pub vote_gate: Arc<VoteGate>,
}

/// Why the engine stopped.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A storage archive failed to open.
    #[error("cannot open the {0}")]
    Archive(String),
    /// A part of the engine stopped, so the node cannot go on.
    #[error("{0}")]
    Stopped(String),
}

/// The largest p2p message any channel carries, for a chain with `ledger`'s parameters: sized
/// for `max_validators`, the most any epoch may have.
pub fn max_message_size(ledger: &Ledger) -> u32 {
    let cfg = ChainBlockCfg::from(ledger.params());
    let validators = u32::try_from(ledger.params().max_validators).unwrap_or(u32::MAX);
    let marshal = marshal::max_payload_size::<Standard<ChainBlock>, Scheme>(validators, &cfg);
    // Votes, certificates and simplex's resolver are multiplexed by epoch (a varint prefix).
    let simplex =
        commonware_p2p::utils::mux::prefixed(commonware_consensus::simplex::max_payload_size::<
            Scheme,
            Digest,
        >(validators));
    // Gossip batches are at most BATCH_BYTES plus one tx, and no tx exceeds a block.
    let gossip = crate::gossip::BATCH_BYTES + cfg.max_bytes;
    commonware_p2p::max_message_size(&[marshal, simplex, gossip, certify::max_payload_size()])
}

/// Starts the whole node under one task: aborting the returned handle stops every part.
pub fn start<E, B, M, S, R>(
    context: E,
    config: Config<B, M>,
    channels: Channels<S, R>,
) -> Handle<Result<(), EngineError>>
where
    E: Spawner + Clock + Metrics + Storage + CryptoRngCore,
    B: Blocker<PublicKey = PublicKey> + Sync,
    M: AddressableManager<PublicKey = PublicKey> + Sync,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let application = Application::new(config.ledger.clone());
    start_with(context, config, channels, application)
}

/// [`start`] with another application (tests use it to run a Byzantine proposer).
pub fn start_with<E, B, M, S, R, A>(
    context: E,
    config: Config<B, M>,
    channels: Channels<S, R>,
    application: A,
) -> Handle<Result<(), EngineError>>
where
    E: Spawner + Clock + Metrics + Storage + CryptoRngCore,
    B: Blocker<PublicKey = PublicKey> + Sync,
    M: AddressableManager<PublicKey = PublicKey> + Sync,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    A: ChainApplication<E>,
{
    context
        .child("engine")
        .spawn(move |context| run(context, config, channels, application))
}

async fn run<E, B, M, S, R, A>(
    context: E,
    config: Config<B, M>,
    channels: Channels<S, R>,
    application: A,
) -> Result<(), EngineError>
where
    E: Spawner + Clock + Metrics + Storage + CryptoRngCore,
    B: Blocker<PublicKey = PublicKey> + Sync,
    M: AddressableManager<PublicKey = PublicKey> + Sync,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    A: ChainApplication<E>,
{
    let Config {
        signer,
        ledger,
        blocker,
        peer_manager,
        bootstrap,
        partition_prefix,
        timing,
        new_validator,
        vote_gate,
    } = config;
    let public_key = signer.public_key();
    let block_cfg = ChainBlockCfg::from(ledger.params());
    let page_cache = CacheRef::new(PAGE_SIZE, PAGE_CACHE_PAGES);
    let epochs = Epochs::new(ledger.params().epoch_length);
    let schemes = EpochSchemes::new(
        CONSENSUS_NAMESPACE,
        ledger.validator_sets().clone(),
        signer.clone(),
        vote_gate.clone(),
    );
    let genesis = ChainBlock::genesis(ledger.chain());
    let genesis_digest = genesis.digest();
    let metrics = NodeMetrics::register(&context.child("custodia"));
    ledger.attach_metrics(metrics.clone());
    metrics.set_vote_gate(&vote_gate);
    // marshal: finalized blocks in order, backfill, and the archives (the source of truth).
    let finalizations = match immutable::Archive::init(
        context.child("finalizations_by_height"),
        archive_config(
            &partition_prefix,
            "finalizations",
            &page_cache,
            Scheme::certificate_codec_config_unbounded(),
        ),
    )
    .await
    {
        Ok(archive) => archive,
        Err(err) => {
            tracing::error!(%err, "cannot open the finalization archive");
            return Err(EngineError::Archive(format!("finalization archive: {err}")));
        }
    };
    let blocks = match immutable::Archive::init(
        context.child("finalized_blocks"),
        archive_config(&partition_prefix, "blocks", &page_cache, block_cfg),
    )
    .await
    {
        Ok(archive) => archive,
        Err(err) => {
            tracing::error!(%err, "cannot open the block archive");
            return Err(EngineError::Archive(format!("block archive: {err}")));
        }
    };
    let (marshal, marshal_mailbox, _floor): (_, MarshalMailbox<Scheme, Standard<ChainBlock>>, _) =
        Marshal::init(
            context.child("marshal"),
            finalizations,
            blocks,
            marshal::Config {
                provider: schemes.clone(),
                epocher: epochs.epocher(),
                start: marshal::Start::Genesis(Digested::precomputed(genesis, genesis_digest)),
                partition_prefix: format!("{partition_prefix}-marshal"),
                mailbox_size: MAILBOX_SIZE,
                view_retention: ViewDelta::new(10),
                prunable_items_per_section: NZU64!(256),
                page_cache: page_cache.clone(),
                replay_buffer: REPLAY_BUFFER,
                key_write_buffer: WRITE_BUFFER,
                value_write_buffer: WRITE_BUFFER,
                block_codec_config: block_cfg,
                max_repair: NZUsize!(16),
                max_pending_acks: MAX_PENDING_ACKS,
                strategy: Sequential,
            },
        )
        .await;

    let resolver = marshal::resolver::p2p::init(
        context.child("backfill"),
        marshal::resolver::p2p::Config {
            public_key: public_key.clone(),
            peer_provider: peer_manager.clone(),
            blocker: blocker.clone(),
            mailbox_size: MAILBOX_SIZE,
            fetch_timeout: NZDuration!(Duration::from_secs(2)),
            fetch_retry_delay: Duration::from_millis(100),
            priority_requests: false,
            priority_responses: false,
        },
        channels.backfill,
    );

    let (broadcast, buffer) = buffered::Engine::new(
        context.child("broadcast"),
        buffered::Config {
            public_key: public_key.clone(),
            mailbox_size: MAILBOX_SIZE,
            deque_size: 16,
            priority: false,
            codec_config: block_cfg,
            peer_provider: peer_manager.clone(),
            strategy: Sequential,
        },
    );
    let broadcast = broadcast.start(channels.broadcast);

    let (executor, executor_mailbox) = Executor::new(
        context.child("executor"),
        ledger.clone(),
        marshal_mailbox.clone(),
        metrics.clone(),
        vote_gate.clone(),
    );
    let halted = executor.halted();
    let executor = executor.start();
    let marshal = marshal.start(executor_mailbox, buffer, resolver);

    let gossip = Gossip::new(
        context.child("gossip"),
        ledger.clone(),
        channels.mempool,
        blocker.clone(),
    )
    .start();

    let certify = certify::start(
        context.child("certify"),
        certify::Parts {
            ledger: ledger.clone(),
            signer: signer.clone(),
            blocker: blocker.clone(),
            page_cache: page_cache.clone(),
            partition_prefix: partition_prefix.clone(),
        },
        channels.commitments,
    );
    let certify = async move {
        match certify.await {
            Ok(halt) => format!("certification stopped: {halt}"),
            Err(err) => format!("certification stopped: {err}"),
        }
    };

    let application = Inline::new(
        context.child("application"),
        application,
        marshal_mailbox.clone(),
        epochs.epocher(),
    );
    let orchestrator = Orchestrator {
        ledger: ledger.clone(),
        epochs,
        schemes,
        marshal: marshal_mailbox,
        parts: EngineParts {
            application,
            blocker,
            timing,
            page_cache,
        },
        partition_prefix,
        new_validator,
        vote_gate,
        metrics,
        manager: peer_manager,
        me: public_key.clone(),
        bootstrap,
    }
    .start(
        context.child("orchestrator"),
        channels.votes,
        channels.certificates,
        channels.resolver,
    );

    tracing::info!(%public_key, "node started");
    // Every part runs until the node stops; if one ends, stop (the supervisor aborts the rest).
    let executor = async move {
        match executor.await {
            Ok(Err(halt)) => format!("the executor halted: {halt}"),
            Ok(Ok(())) => "the executor stopped".to_string(),
            Err(err) => format!("the executor stopped: {err}"),
        }
    };
    let parts = [
        stopped("consensus", orchestrator),
        stopped("marshal", marshal),
        stopped("broadcast", broadcast),
        Box::pin(executor),
        stopped("gossip", gossip),
        Box::pin(certify),
    ];
    let (why, _, _) = futures::future::select_all(parts).await;
    // A halted executor is why the others stop: say so, whichever was seen to stop first.
    let why = halted.get().cloned().unwrap_or(why);
    // The node was told to stop (a signal): its parts end because of it, which is no fault.
    if halted.get().is_none() && futures::FutureExt::now_or_never(context.stopped()).is_some() {
        tracing::info!(first = %why, "the engine stopped with the node");
        return Ok(());
    }
    tracing::error!(reason = %why, "a node component stopped; shutting the engine down");
    Err(EngineError::Stopped(why))
}

/// What a part of the engine says when it ends: none ends while the node runs.
fn stopped(
    name: &'static str,
    handle: Handle<()>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = String> + Send>> {
    Box::pin(async move {
        match handle.await {
            Ok(()) => format!("{name} stopped"),
            Err(err) => format!("{name} stopped: {err}"),
        }
    })
}

fn archive_config<C>(
    prefix: &str,
    name: &str,
    page_cache: &CacheRef,
    codec_config: C,
) -> immutable::Config<C> {
    immutable::Config {
        metadata_partition: format!("{prefix}-{name}-metadata"),
        freezer_table_partition: format!("{prefix}-{name}-freezer-table"),
        freezer_table_initial_size: 65_536,
        freezer_table_resize_frequency: 4,
        freezer_table_resize_chunk_size: 16_384,
        freezer_key_partition: format!("{prefix}-{name}-freezer-key"),
        freezer_key_page_cache: page_cache.clone(),
        freezer_value_partition: format!("{prefix}-{name}-freezer-value"),
        freezer_value_target_size: 1 << 30,
        freezer_value_compression: None,
        ordinal_partition: format!("{prefix}-{name}-ordinal"),
        items_per_section: NZU64!(4_096),
        freezer_key_write_buffer: WRITE_BUFFER,
        freezer_value_write_buffer: WRITE_BUFFER,
        ordinal_write_buffer: WRITE_BUFFER,
        replay_buffer: REPLAY_BUFFER,
        codec_config,
    }
}
