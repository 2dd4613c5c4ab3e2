//! Epochs (DESIGN §3.2): the chain is cut into epochs of `epoch_length` blocks, and each node runs
//! one simplex engine per epoch, moving on at every boundary block. Deterministic simulation; a
//! failure prints its seed, `CUSTODIA_SEED=<seed>` replays one, `CUSTODIA_SOAK_SEEDS=N` runs N
//! more.

mod common;

use common::*;
use commonware_runtime::{Clock as _, Runner as _, Storage as _, deterministic};
use custodia_node::epoch::{Epochs, journal_partition};
use custodia_protocol::{Body, Change, OrgId, Params, ProposalId, Tx, genesis::MIN_EPOCH_LENGTH};
use custodia_state::Membership;
use std::time::{Duration, SystemTime};

/// Ten seeds for every epoch simulation in CI.
const SEEDS: [u64; 10] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

fn short_epochs() -> Consortium {
    Consortium::with_params(Params {
        epoch_length: MIN_EPOCH_LENGTH,
        ..Params::default()
    })
}

fn epochs() -> Epochs {
    Epochs::new(MIN_EPOCH_LENGTH)
}

fn height(node: &SimNode) -> u64 {
    node.ledger.head().height
}

/// Watches the chain's height on `node` until it passes `target`, submitting a record every
/// 200 ms; returns the longest time the height stood still (simulated time).
async fn load_until(
    context: &deterministic::Context,
    consortium: &Consortium,
    nodes: &[SimNode],
    target: u64,
    limit: Duration,
) -> (Duration, Vec<custodia_protocol::Digest>) {
    let start = context.current();
    let mut last_rise = start;
    let mut last_height = height(&nodes[0]);
    let mut longest = Duration::ZERO;
    let mut ids = Vec::new();
    let mut n = 1_000;
    while last_height <= target {
        let now: SystemTime = context.current();
        assert!(
            now.duration_since(start).unwrap_or_default() < limit,
            "height {last_height} after {limit:?}, wanted {target}"
        );
        ids.extend(submit_records(
            consortium,
            &nodes[(n % 4) as usize].ledger,
            1,
            n,
        ));
        n += 1;
        context.sleep(Duration::from_millis(200)).await;
        let now = context.current();
        let h = height(&nodes[0]);
        if h > last_height {
            last_height = h;
            last_rise = now;
        }
        longest = longest.max(now.duration_since(last_rise).unwrap_or_default());
    }
    (longest, ids)
}

/// The epochs whose journal partition holds anything on the node with `prefix`.
async fn journals(context: &deterministic::Context, prefix: &str, through: u64) -> Vec<u64> {
    let mut found = Vec::new();
    for epoch in 0..=through {
        if let Ok(blobs) = context.scan(&journal_partition(prefix, epoch)).await
            && !blobs.is_empty()
        {
            found.push(epoch);
        }
    }
    found
}

#[test]
fn four_validators_cross_epoch_boundaries_under_load_without_stalling() {
    for_seeds(&soak_seeds(&SEEDS), |seed| {
        runner(seed, Duration::from_secs(900)).start(|context| async move {
            let consortium = short_epochs();
            let oracle = network(&context, consortium.public_keys(), RELIABLE).await;
            let mut nodes = Vec::new();
            for i in 0..VALIDATORS {
                nodes.push(start_node(&context, &oracle, &consortium, i).await);
            }
            // Past four boundaries: into epoch 4.
            let target = epochs().last(3);
            let (longest, ids) = load_until(
                &context,
                &consortium,
                &nodes,
                target,
                Duration::from_secs(600),
            )
            .await;
            eprintln!("seed {seed}: the height stood still at most {longest:?}");
            assert!(
                longest < Duration::from_secs(10),
                "the chain stood still for {longest:?} (boundaries every {MIN_EPOCH_LENGTH} blocks)"
            );
            wait_applied_everywhere(&context, &nodes, &ids, Duration::from_secs(60), "the load")
                .await;
            assert_applied_ok(&nodes[1].ledger, &ids);
            assert_agree(&nodes.iter().map(|n| n.ledger.as_ref()).collect::<Vec<_>>());

            // Each node keeps the journals of its epoch and the one before, no older.
            for (i, node) in nodes.iter().enumerate() {
                let epoch = epochs().of(height(node) + 1);
                let kept = journals(&context, &format!("node{i}"), epoch).await;
                assert!(
                    kept.iter().all(|e| *e + 1 >= epoch) && kept.contains(&epoch),
                    "node {i} in epoch {epoch} keeps journals {kept:?}"
                );
            }
            assert_running_and_stop(nodes, "after four boundaries").await;
        });
    });
}

#[test]
fn a_validator_crashed_across_a_boundary_restarts_catches_up_and_votes_again() {
    for_seeds(&soak_seeds(&SEEDS), |seed| {
        runner(seed, Duration::from_secs(900)).start(|context| async move {
            const CRASHED: usize = 3;
            const LATER: usize = 2;
            let consortium = short_epochs();
            let peers = consortium.public_keys();
            let oracle = network(&context, peers.clone(), RELIABLE).await;
            let mut nodes = Vec::new();
            for i in 0..VALIDATORS {
                nodes.push(start_node(&context, &oracle, &consortium, i).await);
            }
            // It crashes a few blocks before the end of epoch 1.
            let boundary = epochs().last(1);
            wait_until(
                &context,
                Duration::from_secs(300),
                "the blocks before the boundary",
                || height(&nodes[CRASHED]) + 3 >= boundary,
            )
            .await;
            let crashed = nodes.remove(CRASHED);
            let crashed_at = height(&crashed);
            crashed.crash().await;
            assert!(crashed_at < boundary, "crashed at {crashed_at}");

            // The three others go on, past the next boundary too, into epoch 3.
            let into = epochs().last(2) + 5;
            wait_until(&context, Duration::from_secs(300), "epoch 3", || {
                nodes.iter().all(|n| height(n) >= into)
            })
            .await;

            let restarted = start_node(&context, &oracle, &consortium, CRASHED).await;
            wait_until(
                &context,
                Duration::from_secs(120),
                "the restart to catch up",
                || height(&restarted) >= into,
            )
            .await;
            assert!(!restarted.vote_gate.is_closed(), "its journal survived");

            // Its votes count: without another validator, the chain needs them to go on.
            let later = nodes.remove(LATER);
            later.crash().await;
            let ids = submit_records(&consortium, &restarted.ledger, 4, 500);
            nodes.push(restarted);
            wait_applied_everywhere(
                &context,
                &nodes,
                &ids,
                Duration::from_secs(120),
                "records finalized with the restarted validator's votes",
            )
            .await;
            let signed = nodes[2].vote_gate.highest_signed().expect("it voted again");
            assert!(signed.epoch().get() >= 3, "{signed:?}");
            assert_agree(&nodes.iter().map(|n| n.ledger.as_ref()).collect::<Vec<_>>());
            assert_running_and_stop(nodes, "after the restart across a boundary").await;
        });
    });
}

/// `body` signed by org `index`, submitted to its own node (`nodes[index]`).
fn send(consortium: &Consortium, nodes: &[SimNode], index: usize, body: Body) {
    let ledger = &nodes[index].ledger;
    let tx = Tx::sign(
        &consortium.keys[index].identity,
        consortium.chain(),
        ledger.head().height + 100,
        body,
    );
    ledger
        .submit(tx)
        .expect("the node admits the governance tx");
}

/// The first epoch whose validator set (as `node`'s state has it) has `size` validators.
fn first_epoch_of_size(node: &SimNode, size: usize) -> Option<u64> {
    let sets = node.ledger.validator_sets();
    (0..=sets.known_through()).find(|e| sets.set(*e).is_some_and(|set| set.len() == size))
}

#[test]
fn a_removed_validator_stops_signing_from_its_effect_epoch_and_the_chain_goes_on() {
    for_seeds(&soak_seeds(&SEEDS), |seed| {
        runner(seed, Duration::from_secs(900)).start(|context| async move {
            const REMOVED: usize = 3;
            let consortium = short_epochs();
            let oracle = network(&context, consortium.public_keys(), RELIABLE).await;
            let mut nodes = Vec::new();
            for i in 0..VALIDATORS {
                nodes.push(start_node(&context, &oracle, &consortium, i).await);
            }
            // member-a proposes to remove member-c; the supervisor and member-b vote for it.
            let id = ProposalId::random();
            send(
                &consortium,
                &nodes,
                1,
                Body::Propose {
                    proposal_id: id,
                    change: Change::RemoveMember {
                        org: OrgId(REMOVED as u32),
                    },
                    ttl: 1_000,
                },
            );
            wait_until(&context, Duration::from_secs(60), "the proposal", || {
                matches!(nodes[0].ledger.state().queries().proposal(&id), Ok(Some(_)))
            })
            .await;
            for voter in [0, 2] {
                send(
                    &consortium,
                    &nodes,
                    voter,
                    Body::Vote {
                        proposal_id: id,
                        approve: true,
                        reason: String::new(),
                    },
                );
            }
            wait_until(
                &context,
                Duration::from_secs(60),
                "the scheduled set",
                || nodes.iter().all(|n| first_epoch_of_size(n, 3).is_some()),
            )
            .await;
            let effect = first_epoch_of_size(&nodes[0], 3).expect("scheduled");
            assert!(
                effect >= 2,
                "a change takes effect two epochs on at the earliest"
            );

            // A full epoch past the effect, with records of member-a and member-b throughout.
            let past = epochs().last(effect) + 5;
            let mut ids = Vec::new();
            let mut n = 0;
            let start = context.current();
            let mut last_rise = (start, height(&nodes[0]));
            while height(&nodes[0]) < past {
                let now = context.current();
                assert!(
                    now.duration_since(start).unwrap_or_default() < Duration::from_secs(600),
                    "height {} of {past}",
                    height(&nodes[0])
                );
                let provider = 1 + (n % 2) as usize;
                let ledger = &nodes[provider].ledger;
                let tx = consortium.record_tx(provider, ledger.head().height, 2_000 + n);
                ids.push(ledger.submit(tx).expect("a member's record"));
                n += 1;
                context.sleep(Duration::from_millis(300)).await;
                let h = height(&nodes[0]);
                if h > last_rise.1 {
                    last_rise = (context.current(), h);
                }
                let still = context
                    .current()
                    .duration_since(last_rise.0)
                    .unwrap_or_default();
                assert!(
                    still < Duration::from_secs(10),
                    "stood still {still:?} at {h}"
                );
            }
            let (continuing, removed) = nodes.split_at(REMOVED);
            wait_applied_everywhere(
                &context,
                continuing,
                &ids,
                Duration::from_secs(60),
                "records",
            )
            .await;
            assert_applied_ok(&nodes[0].ledger, &ids);
            // No tracked peer set holds the removed node once the others are in the epoch after
            // its first one out: it is disconnected, and gets no block of that epoch.
            let stuck = height(&removed[0]);
            assert!(
                stuck <= epochs().last(effect) + 16,
                "the removed node applied up to {stuck}, past the end of epoch {effect}"
            );
            let membership =
                nodes[0].ledger.state().queries().orgs().expect("orgs")[REMOVED].membership;
            assert_eq!(membership, Membership::Removed);
            // The removed node follows the chain and has signed nothing since its last epoch.
            let signed = nodes[REMOVED]
                .vote_gate
                .highest_signed()
                .expect("it voted before");
            assert!(
                signed.epoch().get() < effect,
                "the removed validator signed in {signed:?}, effect epoch {effect}"
            );
            assert_agree(&nodes.iter().map(|n| n.ledger.as_ref()).collect::<Vec<_>>());
            assert_running_and_stop(nodes, "after a removal").await;
        });
    });
}
