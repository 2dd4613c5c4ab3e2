//! Starting simulated validators: on their own disk, with their application, keys and workers.

use super::*;

/// One running validator.
pub struct SimNode {
    pub ledger: Arc<Ledger>,
    pub handle: Handle<Result<(), custodia_node::engine::EngineError>>,
    /// Which views the node may vote in (closed after a lost journal).
    pub vote_gate: Arc<VoteGate>,
    /// The role workers, when started ([`SimNode::with_workers`]).
    pub workers: Option<Handle<()>>,
    /// The organisation's keyring, shared by its workers (rotations stay in memory).
    pub keys: Arc<Keyring>,
}

impl SimNode {
    /// Stops every task of the node, as a crash would.
    pub async fn crash(self) {
        self.handle.abort();
        let _ = self.handle.await;
        if let Some(workers) = self.workers {
            workers.abort();
            let _ = workers.await;
        }
    }

    /// Starts the node's role workers with `policy`, as `custodia node` does.
    pub fn with_workers(
        mut self,
        context: &deterministic::Context,
        index: usize,
        policy: ApprovalPolicy,
    ) -> Self {
        self.workers = Some(workers::start(
            context.child("workers").with_attribute("index", index),
            self.ledger.clone(),
            self.keys.clone(),
            policy,
        ));
        self
    }
}

/// Starts validator `index` (its state file and storage partitions survive a crash).
pub async fn start_node(
    context: &deterministic::Context,
    oracle: &Oracle<PublicKey, deterministic::Context>,
    consortium: &Consortium,
    index: usize,
) -> SimNode {
    start_node_with(context, oracle, consortium, index, Application::new).await
}

/// [`start_node`] with the application `application` builds over the node's ledger (e.g. a
/// Byzantine proposer, or a wrapper that records blocks).
pub async fn start_node_with<A>(
    context: &deterministic::Context,
    oracle: &Oracle<PublicKey, deterministic::Context>,
    consortium: &Consortium,
    index: usize,
    application: impl FnOnce(Arc<Ledger>) -> A,
) -> SimNode
where
    A: ConsensusApplication<
            deterministic::Context,
            Block = ChainBlock,
            SigningScheme = GatedScheme,
            Context = Context<Digest, PublicKey>,
            Input = (),
        > + Sync,
{
    start_node_on(
        context,
        oracle,
        consortium,
        index,
        application,
        &Disk::of(index),
    )
    .await
}

/// Where a simulated node keeps its data: its state file and its storage partitions.
pub struct Disk {
    /// The state file's name under the consortium's directory.
    pub state_file: String,
    /// The prefix of its storage partitions.
    pub partition_prefix: String,
    /// Whether the node never voted with its key (a new `custodia init` directory).
    pub new_validator: bool,
    /// Its mempool's bounds.
    pub mempool: MempoolLimits,
}

impl Disk {
    /// Validator `index`'s disk, as first made.
    pub fn of(index: usize) -> Self {
        Self {
            state_file: format!("node{index}.sqlite"),
            partition_prefix: format!("node{index}"),
            new_validator: true,
            mempool: MempoolLimits::default(),
        }
    }

    /// A blank disk that replaced validator `index`'s lost one (generation `n`): no state,
    /// no archive, no consensus journal, and no new-validator mark.
    pub fn replaced(index: usize, n: usize) -> Self {
        Self {
            state_file: format!("node{index}-disk{n}.sqlite"),
            partition_prefix: format!("node{index}-disk{n}"),
            new_validator: false,
            mempool: MempoolLimits::default(),
        }
    }
}

/// [`start_node_with`] on `disk`.
pub async fn start_node_on<A>(
    context: &deterministic::Context,
    oracle: &Oracle<PublicKey, deterministic::Context>,
    consortium: &Consortium,
    index: usize,
    application: impl FnOnce(Arc<Ledger>) -> A,
    disk: &Disk,
) -> SimNode
where
    A: ConsensusApplication<
            deterministic::Context,
            Block = ChainBlock,
            SigningScheme = GatedScheme,
            Context = Context<Digest, PublicKey>,
            Input = (),
        > + Sync,
{
    let keys = Arc::new(Keyring::in_memory(consortium.keys[index].clone()));
    start_node_keyed(context, oracle, consortium, index, keys, application, disk).await
}

/// [`start_node_on`] with `keys` as the organisation's keyring: the node runs under the key
/// that its state gives its organisation (`identity::session_key`, as `custodia node` does), so
/// a node restarted after the chain rotated its identity key votes under the new one.
pub async fn start_node_keyed<A>(
    context: &deterministic::Context,
    oracle: &Oracle<PublicKey, deterministic::Context>,
    consortium: &Consortium,
    index: usize,
    keys: Arc<Keyring>,
    application: impl FnOnce(Arc<Ledger>) -> A,
    disk: &Disk,
) -> SimNode
where
    A: ConsensusApplication<
            deterministic::Context,
            Block = ChainBlock,
            SigningScheme = GatedScheme,
            Context = Context<Digest, PublicKey>,
            Input = (),
        > + Sync,
{
    let ledger = Ledger::open(
        consortium.genesis.clone(),
        Some(consortium.dir.path().join(&disk.state_file)),
        disk.mempool,
    )
    .expect("open ledger");
    let session = identity::session_key(&ledger, &org_name(consortium, index), &keys)
        .expect("an in-memory keyring writes no file");
    let public_key = session.key();
    let control = oracle.control(public_key.clone());
    let mut registered = Vec::new();
    for ch in channel::ALL {
        registered.push(
            control
                .register(ch, p2p::quota(ch))
                .await
                .expect("register channel"),
        );
    }
    let mut registered = registered.into_iter();
    let mut next = || registered.next().expect("a channel of each");
    let channels = Channels {
        votes: next(),
        certificates: next(),
        resolver: next(),
        broadcast: next(),
        backfill: next(),
        mempool: next(),
        commitments: next(),
    };
    let application = application(ledger.clone());
    let vote_gate = VoteGate::open();
    let handle = engine::start_with(
        context.child("validator").with_attribute("index", index),
        engine::Config {
            signer: session.secret,
            ledger: ledger.clone(),
            blocker: control,
            peer_manager: oracle.socket_manager(),
            bootstrap: Vec::new(),
            partition_prefix: disk.partition_prefix.clone(),
            timing: Timing::default(),
            new_validator: disk.new_validator || session.promoted,
            vote_gate: vote_gate.clone(),
        },
        channels,
        application,
    );
    SimNode {
        keys,
        ledger,
        handle,
        vote_gate,
        workers: None,
    }
}

/// The name of organisation `index` (a genesis one, or a newcomer of `keys[VALIDATORS..]`).
pub fn org_name(consortium: &Consortium, index: usize) -> String {
    testing::genesis_of(&consortium.keys, Params::default()).orgs[index]
        .name
        .clone()
}
