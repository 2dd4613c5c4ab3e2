//! `--reindex`: a node whose state database is gone rebuilds it from its own finalized block
//! archive and reaches the same state commitment as the others (deterministic simulation).

mod common;

use common::*;
use commonware_runtime::{Runner as _, Spawner as _};
use std::time::Duration;

#[test]
fn a_node_without_its_state_database_rebuilds_it_from_the_block_archive() {
    for_seeds(&[7, 8], |seed| {
        runner(seed, Duration::from_secs(300)).start(|context| async move {
            let consortium = Consortium::new();
            let oracle = network(&context, consortium.public_keys(), RELIABLE).await;
            let mut nodes = Vec::new();
            for i in 0..VALIDATORS {
                nodes.push(start_node(&context, &oracle, &consortium, i).await);
            }
            let ids: Vec<_> = (0..12)
                .map(|n| {
                    let node = &nodes[n % VALIDATORS];
                    let tx = consortium.record_tx(1 + n % 3, node.ledger.head().height, n as u64);
                    node.ledger.submit(tx).expect("admitted")
                })
                .collect();
            wait_applied_everywhere(
                &context,
                &nodes,
                &ids,
                Duration::from_secs(60),
                "txs applied everywhere",
            )
            .await;

            // Node 3 stops; its state database is deleted, as `--reindex` does.
            let node = nodes.pop().expect("four nodes");
            let before = node.ledger.head().height;
            node.crash().await;
            for suffix in ["", "-wal", "-shm"] {
                let path = format!("{}{suffix}", consortium.state_path(3).display());
                let _ = std::fs::remove_file(path);
            }
            let restarted = start_node(&context, &oracle, &consortium, 3).await;
            nodes.push(restarted);

            wait_until(
                &context,
                Duration::from_secs(60),
                "node 3 rebuilt past its old height",
                || nodes[3].ledger.head().height > before && has_receipts(&nodes[3].ledger, &ids),
            )
            .await;
            let ledgers: Vec<_> = nodes.iter().map(|n| n.ledger.as_ref()).collect();
            assert!(assert_agree(&ledgers) > before);
            context.stop(0, None).await.ok();
        });
    });
}
