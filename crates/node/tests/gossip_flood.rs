//! A gossip flooder among 4 validators (DESIGN §7.3): member-c runs no engine and sends, on the
//! mempool channel at its quota (256 messages/s), one kind of garbage per run: undecodable
//! batches, batches of bad-signature txs, batches of wrong-chain txs, oversized messages, or
//! maximal batches of txs that pass every stateless check but fail their rules. The three honest
//! validators must keep finalizing the honest txs (within 30 s of simulated time of the last
//! submission) and agree on every block.
//!
//! Simulated time does not show CPU starvation, so the work is asserted by counters: a faulty
//! peer (a fault no honest peer makes) is blocked by every honest node after one message and
//! charged at most that message's txs; a peer whose txs only fail rules is never blocked, and
//! the txs its gossip costs each node stay within its budget (10,000 a second, 20,000 at once);
//! what is over it is dropped unexamined (and a gossiped batch with a bad signature costs one
//! batch verification: `tests/signature_work.rs`).
//!
//! Before the fix (commit 5540f49) no peer was ever blocked and every message was admitted:
//! see the closing note of issue 14 for the numbers. Seeds: `CUSTODIA_SEED=<seed>` replays one, `CUSTODIA_SOAK_SEEDS=N`
//! runs N more.

mod common;

use common::*;
use commonware_codec::{EncodeSize, Write};
use commonware_cryptography::ed25519::PublicKey;
use commonware_p2p::{Recipients, Sender as _, simulated::Oracle};
use commonware_runtime::{
    Clock, Metrics as _, Runner as _, Spawner as _, Supervisor as _, deterministic,
};
use custodia_node::gossip::{
    BATCH_BYTES, MAX_BATCH_TXS, PEER_BUDGET_BURST, PEER_BUDGET_PER_SECOND,
};
use custodia_protocol::{Body, Digest, RequestId, Tx, testing::ORG_NAMES};
use std::time::Duration;

/// The flooder (member-c).
const FLOODER: usize = 3;
/// The flooder's pace: its channel's quota on a real node (`p2p::QUOTA_MEMPOOL`).
const MESSAGES_PER_SECOND: u64 = 256;
/// How long the flood and the honest load last (shorter for the flood that is examined within
/// its budget: each of its runs costs ~40,000 real signature checks per second of attack).
fn attack(flood: Flood) -> Duration {
    match flood {
        Flood::FailingRules => Duration::from_secs(3),
        _ => Duration::from_secs(5),
    }
}
/// Every honest tx is finalized within this of the last one's submission.
const BOUND: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flood {
    /// Bytes that decode to no batch.
    Undecodable,
    /// Txs whose signatures fail.
    BadSignature,
    /// Txs signed for another chain.
    WrongChain,
    /// A batch longer than any honest peer sends.
    Oversized,
    /// Txs that pass every stateless check and fail their rules (cancel an unknown request).
    FailingRules,
}

impl Flood {
    fn punished(self) -> bool {
        self != Flood::FailingRules
    }
}

/// The encoded batch of `txs` (what an honest node's gossip sends).
fn batch(txs: &[Tx]) -> Vec<u8> {
    let mut message = Vec::new();
    txs.len().write(&mut message);
    for tx in txs {
        tx.write(&mut message);
    }
    message
}

/// Cancels of unknown requests by the flooder, `count` of them, for `chain`.
fn cancels(consortium: &Consortium, chain: Digest, count: usize, valid_until: u64) -> Vec<Tx> {
    (0..count)
        .map(|i| {
            Tx::sign_with_nonce(
                &consortium.keys[FLOODER].identity,
                chain,
                valid_until,
                i as u64,
                Body::Cancel {
                    request_id: RequestId::random(),
                },
            )
        })
        .collect()
}

/// As many cancels as fit in one honest batch.
fn maximal(consortium: &Consortium, chain: Digest, valid_until: u64) -> Vec<Tx> {
    let size = cancels(consortium, chain, 1, valid_until)[0].encode_size();
    cancels(
        consortium,
        chain,
        (BATCH_BYTES / size).min(MAX_BATCH_TXS),
        valid_until,
    )
}

/// The message the flooder sends over and over, and how many txs it holds.
fn message(consortium: &Consortium, flood: Flood) -> (Vec<u8>, usize) {
    let chain = consortium.chain();
    let ttl = consortium.genesis.params.max_tx_ttl;
    match flood {
        Flood::Undecodable => (vec![0xff; 4096], 0),
        Flood::BadSignature => {
            let mut txs = cancels(consortium, chain, 1_000, ttl);
            for tx in txs.iter_mut() {
                tx.nonce ^= 1 << 40;
            }
            (batch(&txs), 1_000)
        }
        Flood::WrongChain => {
            let txs = cancels(consortium, Digest::from([7u8; 32]), 1_000, ttl);
            (batch(&txs), 1_000)
        }
        Flood::Oversized => {
            let mut txs = maximal(consortium, chain, ttl);
            let more = txs.len() / 2;
            txs.extend(cancels(consortium, chain, more, ttl));
            let n = txs.len();
            (batch(&txs), n)
        }
        Flood::FailingRules => {
            let txs = maximal(consortium, chain, ttl);
            let n = txs.len();
            (batch(&txs), n)
        }
    }
}

/// The sum of the node metric `name` (e.g. `gossip_txs_total`) of validator `index` over the
/// series labelled `peer="<peer>"`.
fn metric(context: &deterministic::Context, name: &str, index: usize, peer: &str) -> u64 {
    let prefix = format!("validator_engine_custodia_{name}{{");
    context
        .encode()
        .lines()
        .filter(|line| line.starts_with(&prefix))
        .filter(|line| line.contains(&format!("index=\"{index}\"")))
        .filter(|line| line.contains(&format!("peer=\"{peer}\"")))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

async fn blocked_by_every_honest_node(
    oracle: &Oracle<PublicKey, deterministic::Context>,
    keys: &[PublicKey],
) -> bool {
    let blocked = oracle.blocked().await.expect("blocked peers");
    (0..FLOODER).all(|i| blocked.contains(&(keys[i].clone(), keys[FLOODER].clone())))
}

fn run(seed: u64, flood: Flood) {
    runner(seed, Duration::from_secs(180)).start(|context| async move {
        let attack = attack(flood);
        let consortium = Consortium::new();
        let keys = consortium.public_keys();
        let oracle = network(&context, keys.clone(), RELIABLE).await;
        let mut nodes = Vec::new();
        for i in 0..FLOODER {
            nodes.push(start_node(&context, &oracle, &consortium, i).await);
        }
        let (message, txs_per_message) = message(&consortium, flood);
        let (mut sender, _receiver) = oracle
            .control(keys[FLOODER].clone())
            .register(
                custodia_node::engine::channel::MEMPOOL,
                custodia_node::p2p::QUOTA_MEMPOOL,
            )
            .await
            .expect("register the flooder's channel");
        let message = bytes::Bytes::from(message);
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let flooder = context.child("flooder").spawn({
            let sent = sent.clone();
            move |context| async move {
                let start = context.current();
                while context.current().duration_since(start).unwrap_or_default() < attack {
                    let _ = sender.send(Recipients::All, message.clone(), false);
                    sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    context
                        .sleep(Duration::from_micros(1_000_000 / MESSAGES_PER_SECOND))
                        .await;
                }
            }
        });

        // The honest load: 3 records every 500 ms through the nodes in turn.
        let honest = honest_load(&context, &consortium, &nodes, attack).await;
        let _ = flooder.await;
        assert_honest_finalized(&context, &nodes, &honest, BOUND).await;

        let flooder_name = ORG_NAMES[FLOODER];
        let sent = sent.load(std::sync::atomic::Ordering::Relaxed);
        let charged: Vec<u64> = (0..FLOODER)
            .map(|i| metric(&context, "gossip_txs_total", i, flooder_name))
            .collect();
        let dropped: Vec<u64> = (0..FLOODER)
            .map(|i| metric(&context, "gossip_dropped_total", i, flooder_name))
            .collect();
        let blocked = blocked_by_every_honest_node(&oracle, &keys).await;
        eprintln!(
            "seed {seed} {flood:?}: {sent} messages of {txs_per_message} txs sent, txs charged \
             per node {charged:?}, messages dropped per node {dropped:?}, blocked {blocked}"
        );
        if flood.punished() {
            assert!(blocked, "every honest node blocks the flooder");
            for (i, charged) in charged.iter().enumerate() {
                assert!(
                    *charged <= txs_per_message.max(1) as u64,
                    "node {i} examined {charged} of the flooder's txs after its first fault"
                );
            }
        } else {
            assert!(!blocked, "a peer whose txs only fail rules is not blocked");
            let budget = PEER_BUDGET_BURST as u64
                + PEER_BUDGET_PER_SECOND as u64 * (attack.as_secs() + BOUND.as_secs() + 1);
            for (i, charged) in charged.iter().enumerate() {
                assert!(
                    *charged > 0 && *charged <= budget,
                    "node {i} examined {charged} of the flooder's txs (budget {budget})"
                );
                assert!(dropped[i] > 0, "node {i} dropped none of the flood");
            }
        }
        assert_running_and_stop(nodes, &format!("{flood:?}, seed {seed}")).await;
    });
}

fn flood(flood: Flood) {
    for_seeds(&soak_seeds(&(0..10).collect::<Vec<_>>()), |seed| {
        run(seed, flood)
    });
}

/// The flood examined within its budget costs real signature checks: its 10 seeds run as two
/// tests of 5, in parallel.
fn flood_half(flood: Flood, seeds: &[u64]) {
    for_seeds(seeds, |seed| run(seed, flood));
}

#[test]
fn a_flooder_of_undecodable_batches_is_blocked() {
    flood(Flood::Undecodable);
}

#[test]
fn a_flooder_of_bad_signatures_is_blocked() {
    flood(Flood::BadSignature);
}

#[test]
fn a_flooder_of_wrong_chain_txs_is_blocked() {
    flood(Flood::WrongChain);
}

#[test]
fn a_flooder_of_oversized_batches_is_blocked() {
    flood(Flood::Oversized);
}

#[test]
fn a_flooder_of_txs_failing_their_rules_is_held_to_its_budget() {
    flood_half(Flood::FailingRules, &soak_seeds(&[0, 1, 2, 3, 4]));
}

#[test]
fn a_flooder_of_txs_failing_their_rules_is_held_to_its_budget_five_more_seeds() {
    flood_half(Flood::FailingRules, &[5, 6, 7, 8, 9]);
}
