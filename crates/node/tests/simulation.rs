//! Deterministic simulations of a 4-validator consortium running the real engine (simplex,
//! marshal, buffered broadcast, executor, gossip) on commonware's simulated network.
//! A failure prints its seed; replay one with `CUSTODIA_SEED=<seed>`.

mod common;

use common::*;
use commonware_runtime::{Runner as _, Spawner as _};
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
        for n in 0..per_node {
            let provider = 1 + (i + n as usize) % 3;
            let tx = consortium.record_tx(provider, node.ledger.head().height, offset + n);
            ids.push(node.ledger.submit(tx).expect("node admits the tx"));
        }
    }
    ids
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
            wait_until(
                &context,
                Duration::from_secs(60),
                "every tx applied on every node",
                || nodes.iter().all(|n| has_receipts(&n.ledger, &ids)),
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
