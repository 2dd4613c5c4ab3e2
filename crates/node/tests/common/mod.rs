//! A simulated consortium: 4 validators running the real engine on commonware's deterministic
//! runtime and simulated p2p network, each with its own SQLite state in a temp directory.

#![allow(dead_code)]

use commonware_consensus::{Application as ConsensusApplication, simplex::types::Context};
use commonware_cryptography::{Signer as _, ed25519::PublicKey};
use commonware_p2p::simulated::{self, Link, Oracle};
use commonware_runtime::{Clock, Handle, Supervisor as _, deterministic};
use commonware_utils::probability;
use custodia_node::{
    ChainBlock, GatedScheme, Keyring, Ledger, MempoolLimits, VoteGate,
    application::Application,
    config::ApprovalPolicy,
    engine::{self, Channels, Timing, channel},
    epoch::peers,
    identity, p2p, workers,
};
use custodia_protocol::{Digest, Genesis, OrgKeys, Params, RecordId, RequestId, Tx, testing};
use custodia_state::{Receipt, RecordStatus, RequestStatus};
use std::{
    num::NonZeroUsize,
    panic::{AssertUnwindSafe, catch_unwind},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

pub const VALIDATORS: usize = 4;

pub const RELIABLE: Link = Link {
    latency: Duration::from_millis(20),
    jitter: Duration::from_millis(5),
    success_rate: probability!(1.0),
};

pub const LOSSY: Link = Link {
    latency: Duration::from_millis(50),
    jitter: Duration::from_millis(40),
    success_rate: probability!(0.9),
};

/// Runs `simulation` once per seed (or only for `CUSTODIA_SEED` when set); a failure names its
/// seed so it can be replayed.
pub fn for_seeds(seeds: &[u64], simulation: impl Fn(u64)) {
    let seeds: Vec<u64> = match std::env::var("CUSTODIA_SEED") {
        Ok(seed) => vec![seed.parse().expect("CUSTODIA_SEED is a number")],
        Err(_) => seeds.to_vec(),
    };
    for seed in seeds {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| simulation(seed))) {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!(
                "simulation failed with seed {seed} (replay with CUSTODIA_SEED={seed}): {message}"
            );
        }
    }
}

/// `base`, and with `CUSTODIA_SOAK_SEEDS=N` N more seeds (from 10,000), for a soak.
pub fn soak_seeds(base: &[u64]) -> Vec<u64> {
    let mut seeds = base.to_vec();
    if let Ok(n) = std::env::var("CUSTODIA_SOAK_SEEDS") {
        let n: u64 = n.parse().expect("CUSTODIA_SOAK_SEEDS is a number");
        seeds.extend((0..n).map(|i| 10_000 + i));
    }
    seeds
}

/// A deterministic runner for `seed`, stopped after `timeout` of simulated time.
pub fn runner(seed: u64, timeout: Duration) -> deterministic::Runner {
    deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(seed)
            .with_timeout(Some(timeout)),
    )
}

/// The consortium's fixed keys and genesis.
pub struct Consortium {
    pub keys: Vec<OrgKeys>,
    pub genesis: Genesis,
    pub dir: tempfile::TempDir,
}

impl Consortium {
    pub fn new() -> Self {
        Self::with_params(Params::default())
    }

    pub fn with_params(params: Params) -> Self {
        Self::with_newcomers(params, 0)
    }

    /// A consortium of [`VALIDATORS`] genesis organisations and the keys of `newcomers` more,
    /// to be admitted later (`keys[VALIDATORS..]`).
    pub fn with_newcomers(params: Params, newcomers: usize) -> Self {
        let keys = testing::consortium_keys(VALIDATORS + newcomers);
        let genesis = testing::genesis_of(&keys[..VALIDATORS], params);
        genesis.validate().expect("valid test genesis");
        Self {
            keys,
            genesis,
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn chain(&self) -> Digest {
        self.genesis.digest()
    }

    pub fn public_keys(&self) -> Vec<PublicKey> {
        self.keys.iter().map(|k| k.identity.public_key()).collect()
    }

    pub fn state_path(&self, index: usize) -> PathBuf {
        self.dir.path().join(format!("node{index}.sqlite"))
    }

    /// A signed `SubmitRecord` by member `provider` (1..=3), valid for 100 blocks after `height`.
    pub fn record_tx(&self, provider: usize, height: u64, n: u64) -> Tx {
        let fields = [
            ("claim_no", serde_json::json!(format!("C-{n}"))),
            ("amount", serde_json::json!(n * 10)),
        ];
        testing::submit_record(
            &self.chain(),
            &self.keys[provider],
            &self.keys[0],
            &fields,
            height + 100,
        )
        .1
    }
}

/// The simulated network with every validator registered.
pub async fn network(
    context: &deterministic::Context,
    peers: Vec<PublicKey>,
    link: Link,
) -> Oracle<PublicKey, deterministic::Context> {
    network_with(context, peers.clone(), &peers, link).await
}

/// The simulated network with `genesis` as its first peer set (the nodes track the sets of
/// later epochs) and every pair of `linked` linked with `link`.
pub async fn network_with(
    context: &deterministic::Context,
    genesis: Vec<PublicKey>,
    linked: &[PublicKey],
    link: Link,
) -> Oracle<PublicKey, deterministic::Context> {
    let (network, oracle) = simulated::Network::new_with_peers(
        context.child("network"),
        simulated::Config {
            max_size: 64 << 20,
            max_peers_per_set: NonZeroUsize::new(peers::max_peers_per_set(
                Params::default().max_validators,
                0,
            ))
            .expect("some peers"),
            disconnect_on_block: true,
            tracked_peer_sets: p2p::TRACKED_PEER_SETS,
        },
        genesis,
    )
    .await;
    network.start();
    link_all(&oracle, linked, link).await;
    oracle
}

/// Links every pair of `peers` both ways with `link`.
pub async fn link_all(
    oracle: &Oracle<PublicKey, deterministic::Context>,
    peers: &[PublicKey],
    link: Link,
) {
    for a in peers {
        for b in peers {
            if a != b {
                let _ = oracle.add_link(a.clone(), b.clone(), link.clone()).await;
            }
        }
    }
}

/// Cuts every link between `peer` and the others, both ways.
pub async fn isolate(
    oracle: &Oracle<PublicKey, deterministic::Context>,
    peers: &[PublicKey],
    peer: &PublicKey,
) {
    for other in peers {
        if other != peer {
            let _ = oracle.remove_link(peer.clone(), other.clone()).await;
            let _ = oracle.remove_link(other.clone(), peer.clone()).await;
        }
    }
}

/// Restores the links between `peer` and the others.
pub async fn reconnect(
    oracle: &Oracle<PublicKey, deterministic::Context>,
    peers: &[PublicKey],
    peer: &PublicKey,
    link: Link,
) {
    for other in peers {
        if other != peer {
            let _ = oracle
                .add_link(peer.clone(), other.clone(), link.clone())
                .await;
            let _ = oracle
                .add_link(other.clone(), peer.clone(), link.clone())
                .await;
        }
    }
}

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
    let mut next = || registered.next().expect("six channels");
    let channels = Channels {
        votes: next(),
        certificates: next(),
        resolver: next(),
        broadcast: next(),
        backfill: next(),
        mempool: next(),
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

/// Waits (in simulated time) until `done` holds, checking every 100 ms; panics after `limit`.
pub async fn wait_until(
    context: &deterministic::Context,
    limit: Duration,
    what: &str,
    mut done: impl FnMut() -> bool,
) {
    let start = context.current();
    while !done() {
        if context.current().duration_since(start).unwrap_or_default() > limit {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        context.sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until every node applied every tx of `ids`; panics after `limit` naming `what`.
pub async fn wait_applied_everywhere(
    context: &deterministic::Context,
    nodes: &[SimNode],
    ids: &[Digest],
    limit: Duration,
    what: &str,
) {
    wait_until(context, limit, what, || {
        nodes.iter().all(|n| has_receipts(&n.ledger, ids))
    })
    .await;
}

/// Whether every tx id has a receipt in `ledger`'s state.
pub fn has_receipts(ledger: &Ledger, ids: &[Digest]) -> bool {
    let state = ledger.state();
    let queries = state.queries();
    ids.iter()
        .all(|id| matches!(queries.receipt(id), Ok(Some(_))))
}

/// Submits `count` records through `ledger` (providers taken in turn, claim numbers from
/// `first`) and returns their ids.
pub fn submit_records(
    consortium: &Consortium,
    ledger: &Ledger,
    count: u64,
    first: u64,
) -> Vec<Digest> {
    (first..first + count)
        .map(|n| {
            let provider = 1 + (n % 3) as usize;
            let tx = consortium.record_tx(provider, ledger.head().height, n);
            ledger.submit(tx).expect("node admits the tx")
        })
        .collect()
}

/// The receipts of `ids` in `ledger`'s state (`None` for a tx not applied).
pub fn receipts(ledger: &Ledger, ids: &[Digest]) -> Vec<Option<Receipt>> {
    let state = ledger.state();
    let queries = state.queries();
    ids.iter()
        .map(|id| queries.receipt(id).expect("read receipt"))
        .collect()
}

/// Asserts every tx of `ids` applied successfully on `ledger`.
pub fn assert_applied_ok(ledger: &Ledger, ids: &[Digest]) {
    for (id, receipt) in ids.iter().zip(receipts(ledger, ids)) {
        let receipt = receipt.unwrap_or_else(|| panic!("tx {id:?} has no receipt"));
        assert!(receipt.is_ok(), "{receipt:?}");
    }
}

/// Asserts every node applied the same blocks up to the lowest common height and reached the
/// same state commitment there; returns that height.
pub fn assert_agree(nodes: &[&Ledger]) -> u64 {
    let height = nodes.iter().map(|n| n.head().height).min().unwrap_or(0);
    let reference = nodes[0].state();
    let reference = reference.queries();
    for h in 1..=height {
        let block = reference.block(h).unwrap().expect("block applied");
        for (i, node) in nodes.iter().enumerate().skip(1) {
            let state = node.state();
            let other = state.queries().block(h).unwrap().expect("block applied");
            assert_eq!(
                (other.digest, other.state_commitment),
                (block.digest, block.state_commitment),
                "node {i} differs from node 0 at height {h}"
            );
        }
    }
    height
}

/// The honest load of the scenarios with one faulty validator: 3 records every 500 ms for
/// `load`, through the `nodes` in turn; returns their tx ids.
pub async fn honest_load(
    context: &deterministic::Context,
    consortium: &Consortium,
    nodes: &[SimNode],
    load: Duration,
) -> Vec<Digest> {
    let start = context.current();
    let mut honest = Vec::new();
    let mut n = 0;
    while context.current().duration_since(start).unwrap_or_default() < load {
        let node = &nodes[n as usize % nodes.len()];
        honest.extend(submit_records(consortium, &node.ledger, 3, n));
        n += 3;
        context.sleep(Duration::from_millis(500)).await;
    }
    honest
}

/// Asserts every tx of `honest` succeeded on every node within `bound` and the nodes agree
/// on at least one block.
pub async fn assert_honest_finalized(
    context: &deterministic::Context,
    nodes: &[SimNode],
    honest: &[Digest],
    bound: Duration,
) {
    wait_applied_everywhere(context, nodes, honest, bound, "the honest txs").await;
    for node in nodes {
        assert_applied_ok(&node.ledger, honest);
    }
    let ledgers: Vec<&Ledger> = nodes.iter().map(|n| &*n.ledger).collect();
    assert!(assert_agree(&ledgers) > 0);
}

/// Asserts no node of `nodes` stopped (`what` names the run), then stops them.
pub async fn assert_running_and_stop(nodes: Vec<SimNode>, what: &str) {
    for mut node in nodes {
        assert!(
            futures::FutureExt::now_or_never(&mut node.handle).is_none(),
            "an honest node stopped ({what})"
        );
        node.crash().await;
    }
}

/// The status of record `id` in `ledger`'s state.
pub fn record_status(ledger: &Ledger, id: &RecordId) -> Option<RecordStatus> {
    let state = ledger.state();
    state.queries().record(id).expect("read").map(|r| r.status)
}

/// The status of request `id` in `ledger`'s state.
pub fn request_status(ledger: &Ledger, id: &RequestId) -> Option<RequestStatus> {
    let state = ledger.state();
    state.queries().request(id).expect("read").map(|r| r.status)
}

/// What a requester's node holds of a delivered request: the fields asked for, the sealed
/// delivery, and the on-chain headers of its records.
pub struct Delivered {
    pub fields: Vec<String>,
    pub sealed: Vec<u8>,
    pub headers: Vec<custodia_protocol::record::RecordHeader>,
}

impl Delivered {
    /// The delivery of `request_id` as `ledger`'s state has it; panics if it is not delivered.
    pub fn of(ledger: &Ledger, request_id: &RequestId) -> Self {
        let state = ledger.state();
        let queries = state.queries();
        let request = queries.request(request_id).expect("read").expect("request");
        let delivery = queries
            .delivery(request_id)
            .expect("read")
            .expect("delivered");
        let headers = request
            .record_ids
            .iter()
            .map(|id| queries.record(id).expect("read").expect("record").header())
            .collect();
        Self {
            fields: request.fields,
            sealed: delivery.sealed,
            headers,
        }
    }

    /// Opens and verifies it as `consortium`'s organisation `requester` with `secret`; panics
    /// if it does not open or verify.
    pub fn open(
        &self,
        consortium: &Consortium,
        request_id: &RequestId,
        requester: usize,
        secret: &custodia_protocol::EncryptionSecret,
    ) -> Vec<custodia_protocol::delivery::VerifiedRecord> {
        custodia_protocol::delivery::open_delivery(
            &consortium.chain(),
            request_id,
            &consortium.keys[requester].identity_key(),
            secret,
            &self.sealed,
            &self.fields,
            &self.headers,
        )
        .expect("the delivery opens and verifies against the provider's commitment")
    }
}
