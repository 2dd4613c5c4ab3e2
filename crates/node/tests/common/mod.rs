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

mod checks;
mod nodes;

pub use checks::*;
pub use nodes::*;
