//! Deterministic simulations of a 4-validator consortium running the real engine (simplex,
//! marshal, buffered broadcast, executor, gossip) on commonware's simulated network.
//! A failure prints its seed; replay one with `CUSTODIA_SEED=<seed>`.

mod common;

use common::*;
use commonware_cryptography::ed25519::PublicKey;
use commonware_p2p::simulated::Oracle;
use commonware_runtime::{Clock as _, Runner as _, Spawner as _, deterministic};
use custodia_node::Ledger;
use custodia_protocol::Digest;
use std::time::Duration;

/// Submits `per_node` records through each node's own mempool and returns their ids.
fn submit_to_every_node(
    consortium: &Consortium,
    nodes: &[SimNode],
    per_node: u64,
    offset: u64,
) -> Vec<Digest> {
    let mut ids = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let first = offset + i as u64 * per_node;
        ids.extend(submit_records(consortium, &node.ledger, per_node, first));
    }
    ids
}

/// Starts every validator of `consortium`.
async fn start_all(
    context: &deterministic::Context,
    oracle: &Oracle<PublicKey, deterministic::Context>,
    consortium: &Consortium,
) -> Vec<SimNode> {
    let mut nodes = Vec::new();
    for i in 0..VALIDATORS {
        nodes.push(start_node(context, oracle, consortium, i).await);
    }
    nodes
}

fn ledgers(nodes: &[SimNode]) -> Vec<&Ledger> {
    nodes.iter().map(|n| n.ledger.as_ref()).collect()
}

fn highest(nodes: &[SimNode]) -> u64 {
    nodes
        .iter()
        .map(|n| n.ledger.head().height)
        .max()
        .unwrap_or(0)
}

#[test]
fn txs_submitted_to_different_nodes_are_applied_identically_everywhere() {
    for_seeds(&[1, 2, 3], |seed| {
        runner(seed, Duration::from_secs(300)).start(|context| async move {
            let consortium = Consortium::new();
            let oracle = network(&context, consortium.public_keys(), RELIABLE).await;
            let mut nodes = Vec::new();
            for i in 0..VALIDATORS {
                nodes.push(start_node(&context, &oracle, &consortium, i).await);
            }
            let ids = submit_to_every_node(&consortium, &nodes, 5, 0);
            wait_applied_everywhere(
                &context,
                &nodes,
                &ids,
                Duration::from_secs(60),
                "every tx applied on every node",
            )
            .await;
            let ledgers: Vec<_> = nodes.iter().map(|n| n.ledger.as_ref()).collect();
            let height = assert_agree(&ledgers);
            assert!(height >= 1);
            for node in &nodes {
                let state = node.ledger.state();
                for id in &ids {
                    let receipt = state.queries().receipt(id).unwrap().unwrap();
                    assert!(receipt.is_ok(), "{receipt:?}");
                }
            }
            context.stop(0, None).await.ok();
        });
    });
}

#[test]
fn txs_are_finalized_identically_despite_message_loss_and_jitter() {
    for_seeds(&[11, 12, 13], |seed| {
        runner(seed, Duration::from_secs(600)).start(|context| async move {
            let consortium = Consortium::new();
            let oracle = network(&context, consortium.public_keys(), LOSSY).await;
            let nodes = start_all(&context, &oracle, &consortium).await;
            let ids = submit_to_every_node(&consortium, &nodes, 5, 0);
            wait_applied_everywhere(
                &context,
                &nodes,
                &ids,
                Duration::from_secs(240),
                "every tx applied on every node despite 10% loss",
            )
            .await;
            // A second wave, submitted once the first is in, goes through as well.
            let more = submit_to_every_node(&consortium, &nodes, 3, 100);
            wait_applied_everywhere(
                &context,
                &nodes,
                &more,
                Duration::from_secs(240),
                "the second wave applied on every node",
            )
            .await;
            let height = assert_agree(&ledgers(&nodes));
            assert!(height >= 2, "only {height} blocks in common");
            for node in &nodes {
                assert_applied_ok(&node.ledger, &ids);
                assert_applied_ok(&node.ledger, &more);
                // Each tx was applied once, in the same block and position everywhere.
                assert_eq!(
                    receipts(&node.ledger, &ids),
                    receipts(&nodes[0].ledger, &ids)
                );
            }
            context.stop(0, None).await.ok();
        });
    });
}

#[test]
fn a_partitioned_node_catches_up_after_healing() {
    const CUT: usize = 3;
    for_seeds(&[21, 22, 23], |seed| {
        runner(seed, Duration::from_secs(900)).start(|context| async move {
            let consortium = Consortium::new();
            let peers = consortium.public_keys();
            let oracle = network(&context, peers.clone(), RELIABLE).await;
            let nodes = start_all(&context, &oracle, &consortium).await;
            let (others, cut) = (&nodes[..CUT], &nodes[CUT]);

            let before = submit_to_every_node(&consortium, &nodes, 2, 0);
            wait_applied_everywhere(
                &context,
                &nodes,
                &before,
                Duration::from_secs(60),
                "first wave applied everywhere",
            )
            .await;

            // Cut node 3 off; the other three still form a quorum and keep finalizing.
            isolate(&oracle, &peers, &peers[CUT]).await;
            let cut_at = highest(&nodes);
            let during = submit_to_every_node(&consortium, others, 4, 100);
            wait_until(
                &context,
                Duration::from_secs(240),
                "the connected nodes finalize without node 3",
                || {
                    others.iter().all(|n| {
                        has_receipts(&n.ledger, &during) && n.ledger.head().height >= cut_at + 30
                    })
                },
            )
            .await;
            assert!(
                !has_receipts(&cut.ledger, &during),
                "an isolated node applied txs it could not have seen"
            );
            let stale = cut.ledger.head().height;
            let target = highest(others);
            assert!(
                stale < target,
                "node 3 kept up while isolated ({stale} >= {target})"
            );

            // Heal: node 3 backfills the blocks it missed and applies every tx in them.
            reconnect(&oracle, &peers, &peers[CUT], RELIABLE).await;
            wait_until(
                &context,
                Duration::from_secs(240),
                "node 3 catches up after healing",
                || cut.ledger.head().height >= target && has_receipts(&cut.ledger, &during),
            )
            .await;
            // It takes part again: txs submitted to it reach every node.
            let after = submit_to_every_node(&consortium, &nodes, 2, 200);
            wait_applied_everywhere(
                &context,
                &nodes,
                &after,
                Duration::from_secs(120),
                "the last wave applied everywhere",
            )
            .await;

            let height = assert_agree(&ledgers(&nodes));
            assert!(height >= target, "agreement only up to {height} < {target}");
            for node in &nodes {
                for ids in [&before, &during, &after] {
                    assert_applied_ok(&node.ledger, ids);
                }
            }
            context.stop(0, None).await.ok();
        });
    });
}

#[test]
fn a_crashed_node_recovers_and_no_finalized_tx_is_lost() {
    const VICTIM: usize = 2;
    for_seeds(&[31, 32, 33], |seed| {
        runner(seed, Duration::from_secs(900)).start(|context| async move {
            let consortium = Consortium::new();
            let oracle = network(&context, consortium.public_keys(), RELIABLE).await;
            let mut nodes = start_all(&context, &oracle, &consortium).await;

            let mut ids = submit_to_every_node(&consortium, &nodes, 3, 0);
            wait_applied_everywhere(
                &context,
                &nodes,
                &ids,
                Duration::from_secs(60),
                "first wave applied everywhere",
            )
            .await;

            // Keep submitting one tx per node every 50 ms, and crash node 2 in the middle of
            // it, at a seed-dependent moment: some of the txs are finalized by then, some are
            // in flight. Every tx reached the others (gossip flushes within 20 ms) before the
            // crash, so none may be lost.
            let crash_round = 3 + (seed * 7) % 30;
            let mut finalized = Vec::new();
            let mut crashed_at = None;
            for round in 0..40 {
                context.sleep(Duration::from_millis(50)).await;
                if round == crash_round {
                    let node = nodes.remove(VICTIM);
                    finalized = receipts(&node.ledger, &ids)
                        .into_iter()
                        .zip(&ids)
                        .filter_map(|(receipt, id)| receipt.map(|r| (*id, r)))
                        .collect();
                    crashed_at = Some(node.ledger.head());
                    assert!(
                        !finalized.is_empty() && finalized.len() < ids.len(),
                        "the crash should come while txs are being finalized ({} of {} are)",
                        finalized.len(),
                        ids.len()
                    );
                    node.crash().await;
                }
                ids.extend(submit_to_every_node(
                    &consortium,
                    &nodes,
                    1,
                    100 + round * 10,
                ));
            }
            let crashed_at = crashed_at.expect("crashed");

            // The others keep finalizing without it.
            ids.extend(submit_to_every_node(&consortium, &nodes, 4, 1000));
            wait_until(
                &context,
                Duration::from_secs(120),
                "the three others finalize every tx",
                || {
                    nodes.iter().all(|n| {
                        has_receipts(&n.ledger, &ids)
                            && n.ledger.head().height >= crashed_at.height + 10
                    })
                },
            )
            .await;

            // Restart it from its SQLite file and storage partitions.
            let restarted = start_node(&context, &oracle, &consortium, VICTIM).await;
            let resumed = restarted.ledger.head();
            assert!(
                resumed.height >= crashed_at.height,
                "the restarted state went back from {} to {}",
                crashed_at.height,
                resumed.height
            );
            nodes.insert(VICTIM, restarted);
            let target = highest(&nodes);
            wait_until(
                &context,
                Duration::from_secs(240),
                "the restarted node catches up",
                || {
                    let ledger = &nodes[VICTIM].ledger;
                    ledger.head().height >= target && has_receipts(ledger, &ids)
                },
            )
            .await;
            let after = submit_to_every_node(&consortium, &nodes, 2, 2000);
            wait_applied_everywhere(
                &context,
                &nodes,
                &after,
                Duration::from_secs(120),
                "the last wave applied everywhere",
            )
            .await;
            ids.extend(after);

            let height = assert_agree(&ledgers(&nodes));
            assert!(height >= target);
            for node in &nodes {
                assert_applied_ok(&node.ledger, &ids);
                // Every receipt the victim had before the crash is unchanged, on every node.
                let (finalized_ids, before): (Vec<Digest>, Vec<_>) =
                    finalized.iter().cloned().unzip();
                let now: Vec<_> = receipts(&node.ledger, &finalized_ids)
                    .into_iter()
                    .map(|r| r.expect("a finalized tx is still applied"))
                    .collect();
                assert_eq!(now, before);
            }
            context.stop(0, None).await.ok();
        });
    });
}
