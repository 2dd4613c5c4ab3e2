//! A validator that loses its whole disk (state, block archive and consensus journal) and
//! rejoins with a blank one must not sign a vote in any view it may have voted in before: its
//! journal was what prevented that (DESIGN §3.6). Deterministic simulation; a failure prints its
//! seed, `CUSTODIA_SEED=<seed>` replays one, `CUSTODIA_SOAK_SEEDS=N` runs N more.

mod common;

use common::*;
use commonware_runtime::{Clock as _, Runner as _, Spawner as _};
use custodia_node::{Ledger, application::Application};
use std::time::Duration;

/// The validator that loses its disk, and the one whose absence freezes the chain meanwhile.
const WIPED: usize = 3;
const FROZEN: usize = 2;

fn height(node: &SimNode) -> u64 {
    node.ledger.head().height
}

#[test]
fn a_validator_with_a_wiped_disk_rejoins_without_voting_in_a_view_it_voted_in_before() {
    for_seeds(&soak_seeds(&[1, 2, 3, 4, 5]), |seed| {
        runner(seed, Duration::from_secs(900)).start(|context| async move {
            let consortium = Consortium::new();
            let peers = consortium.public_keys();
            let oracle = network(&context, peers.clone(), RELIABLE).await;
            let mut nodes = Vec::new();
            for i in 0..VALIDATORS {
                nodes.push(start_node(&context, &oracle, &consortium, i).await);
            }
            let ids = submit_records(&consortium, &nodes[0].ledger, 4, 0);
            wait_applied_everywhere(&context, &nodes, &ids, Duration::from_secs(60), "records")
                .await;

            // Three validators go on; the one about to lose its disk is one of the quorum.
            isolate(&oracle, &peers, &peers[FROZEN]).await;
            let before = height(&nodes[0]);
            wait_until(
                &context,
                Duration::from_secs(60),
                "blocks without FROZEN",
                || height(&nodes[0]) >= before + 3,
            )
            .await;

            // The disk is lost mid-view; with two validators left, the chain stands still in
            // the view the wiped one last voted in.
            let wiped = nodes.remove(WIPED);
            let voted_before = wiped
                .vote_gate
                .highest_signed()
                .expect("the validator voted before its disk was lost");
            wiped.crash().await;

            let blank = Disk::replaced(WIPED, 1);
            let rejoined = start_node_on(
                &context,
                &oracle,
                &consortium,
                WIPED,
                Application::new,
                &blank,
            )
            .await;
            // A blank disk without a new-validator mark closes the vote gate as the engine starts.
            wait_until(&context, Duration::from_secs(1), "the gate closes", || {
                rejoined.vote_gate.is_closed()
            })
            .await;
            reconnect(&oracle, &peers, &peers[FROZEN], RELIABLE).await;

            // It follows the chain, and votes again once a block proposed after its start is
            // finalized: never in a view it may have voted in before.
            wait_until(&context, Duration::from_secs(120), "the gate opens", || {
                !rejoined.vote_gate.is_closed()
            })
            .await;
            wait_until(
                &context,
                Duration::from_secs(60),
                "a vote after the gate",
                || rejoined.vote_gate.first_signed().is_some(),
            )
            .await;
            let first = rejoined.vote_gate.first_signed().unwrap_or_default();
            assert!(
                first > voted_before,
                "the rejoined validator signed in round {first:?}, at or below round \
                 {voted_before:?} it may have voted in before losing its disk"
            );

            // Its votes count again: without FROZEN, the chain needs them to go on.
            isolate(&oracle, &peers, &peers[FROZEN]).await;
            let more = submit_records(&consortium, &rejoined.ledger, 4, 100);
            let live = [&nodes[0], &nodes[1], &rejoined];
            wait_until(
                &context,
                Duration::from_secs(120),
                "records on the 3 left",
                || live.iter().all(|n| has_receipts(&n.ledger, &more)),
            )
            .await;
            reconnect(&oracle, &peers, &peers[FROZEN], RELIABLE).await;
            nodes.insert(WIPED, rejoined);
            wait_applied_everywhere(&context, &nodes, &more, Duration::from_secs(120), "all 4")
                .await;
            let ledgers: Vec<&Ledger> = nodes.iter().map(|n| n.ledger.as_ref()).collect();
            let common = assert_agree(&ledgers);
            assert!(common >= height(&nodes[0]).min(height(&nodes[WIPED])));
            for node in &nodes {
                assert_applied_ok(&node.ledger, &ids);
                assert_applied_ok(&node.ledger, &more);
            }
            context.stop(0, None).await.ok();
        });
    });
}

#[test]
fn a_validator_restarted_on_its_own_disk_votes_at_once() {
    for_seeds(&[21, 22], |seed| {
        runner(seed, Duration::from_secs(300)).start(|context| async move {
            let consortium = Consortium::new();
            let peers = consortium.public_keys();
            let oracle = network(&context, peers.clone(), RELIABLE).await;
            let mut nodes = Vec::new();
            for i in 0..VALIDATORS {
                nodes.push(start_node(&context, &oracle, &consortium, i).await);
            }
            wait_until(&context, Duration::from_secs(60), "a few blocks", || {
                nodes.iter().all(|n| height(n) >= 2)
            })
            .await;
            let node = nodes.remove(WIPED);
            node.crash().await;
            context.sleep(Duration::from_millis(500)).await;
            // No new-validator mark: only the journal found on the disk keeps the gate open.
            let own = Disk {
                new_validator: false,
                ..Disk::of(WIPED)
            };
            let restarted = start_node_on(
                &context,
                &oracle,
                &consortium,
                WIPED,
                Application::new,
                &own,
            )
            .await;
            // A journal that survived keeps the gate open: it votes well before a closed gate
            // could open (a block proposed 10 s after its start).
            wait_until(&context, Duration::from_secs(5), "a vote", || {
                restarted.vote_gate.first_signed().is_some()
            })
            .await;
            assert!(!restarted.vote_gate.is_closed());
            context.stop(0, None).await.ok();
        });
    });
}
