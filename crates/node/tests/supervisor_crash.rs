//! The supervisor crashing and restarting at random points of the workflow (DESIGN §7.6), on a
//! simulated consortium: member-a and member-b submit a record every second for 20 s, member-c
//! asks for each once it is accepted, and the supervisor's and providers' `auto` policies approve.
//! Meanwhile the supervisor's node and workers are killed every 1.5–5 s (a random point of the
//! flow: a record between submission and verdict, a request between approval and delivery, a
//! duty tx in flight) and restarted 0.2–3 s later.
//!
//! Within 60 s of simulated time after its last restart every record is attested and every
//! request delivered, on every node, and the nodes agree. Each record has exactly one
//! `attest_record` receipt and each request exactly one `deliver`, and no duty tx of the
//! supervisor failed: a duty re-sent after a restart is the same tx (its replay is refused
//! at admission as a duplicate), never a second, different one (which the chain would apply
//! and fail). 10 seeds (two tests of 5, so they run in parallel); `CUSTODIA_SOAK_SEEDS=N` runs N more,
//! `CUSTODIA_SEED` replays one.

mod common;

use common::*;
use commonware_runtime::{Clock, Runner as _, deterministic};
use custodia_node::{Ledger, config::ApprovalPolicy};
use custodia_protocol::{Body, RecordId, RequestId, Tx, testing};
use custodia_state::{RecordStatus, RequestStatus};
use rand::Rng as _;
use serde_json::json;
use std::time::Duration;

const SUPERVISOR: usize = 0;
const REQUESTER: usize = 3;
/// How long records keep coming and the supervisor keeps crashing.
const LOAD: Duration = Duration::from_secs(20);
/// Every duty is done within this of the supervisor's last restart.
const BOUND: Duration = Duration::from_secs(60);

fn auto(index: usize) -> ApprovalPolicy {
    if index == REQUESTER {
        ApprovalPolicy::Manual
    } else {
        ApprovalPolicy::Auto
    }
}

async fn start(
    context: &deterministic::Context,
    oracle: &commonware_p2p::simulated::Oracle<
        commonware_cryptography::ed25519::PublicKey,
        deterministic::Context,
    >,
    consortium: &Consortium,
    index: usize,
) -> SimNode {
    start_node(context, oracle, consortium, index)
        .await
        .with_workers(context, index, auto(index))
}

/// member-c asks for the amount of `record_id` through `requester` (its node).
fn ask_for_amount(consortium: &Consortium, requester: &Ledger, record_id: RecordId) -> RequestId {
    let request_id = RequestId::random();
    let body = Body::RequestShare {
        request_id,
        record_ids: vec![record_id],
        fields: vec!["amount".into()],
        purpose: "fraud check".into(),
        ttl: 10_000,
    };
    let tx = Tx::sign(
        &consortium.keys[REQUESTER].identity,
        consortium.chain(),
        requester.head().height + 100,
        body,
    );
    requester.submit(tx).expect("request admitted");
    request_id
}

/// Per body, the (succeeded, failed) receipts of the supervisor's txs on `ledger`'s chain.
fn supervisor_receipts(consortium: &Consortium, ledger: &Ledger, body: &str) -> (usize, usize) {
    let supervisor = consortium.keys[SUPERVISOR].identity_key();
    let state = ledger.state();
    let queries = state.queries();
    let receipts: Vec<_> = (1..=ledger.head().height)
        .flat_map(|h| queries.block_receipts(h).expect("read receipts"))
        .filter(|r| r.body == body && r.signer == supervisor)
        .collect();
    let ok = receipts.iter().filter(|r| r.is_ok()).count();
    (ok, receipts.len() - ok)
}

/// A random duration in `[from, to)` milliseconds, from the runtime's seeded randomness.
fn random_ms(context: &mut deterministic::Context, from: u64, to: u64) -> Duration {
    Duration::from_millis(from + context.next_u64() % (to - from))
}

fn run(seed: u64) {
    runner(seed, Duration::from_secs(600)).start(|mut context| async move {
        let consortium = Consortium::new();
        let oracle = network(&context, consortium.public_keys(), RELIABLE).await;
        let mut nodes = Vec::new();
        for i in 0..VALIDATORS {
            nodes.push(Some(start(&context, &oracle, &consortium, i).await));
        }
        let member = |nodes: &[Option<SimNode>], i: usize| {
            nodes[i]
                .as_ref()
                .expect("members never crash")
                .ledger
                .clone()
        };

        let mut records: Vec<(RecordId, usize)> = Vec::new();
        let mut requests: Vec<RequestId> = Vec::new();
        let mut requested = 0;
        let mut crashes = 0;
        let start_time = context.current();
        let mut next_crash = start_time + random_ms(&mut context, 1_500, 5_000);
        let mut restart_at = None;
        let mut last_restart = start_time;
        let mut n = 0u64;
        while context
            .current()
            .duration_since(start_time)
            .unwrap_or_default()
            < LOAD
        {
            let now = context.current();
            // The supervisor's fate.
            if let Some(at) = restart_at {
                if now >= at {
                    nodes[SUPERVISOR] =
                        Some(start(&context, &oracle, &consortium, SUPERVISOR).await);
                    restart_at = None;
                    last_restart = context.current();
                    next_crash = last_restart + random_ms(&mut context, 1_500, 5_000);
                }
            } else if now >= next_crash {
                if let Some(supervisor) = nodes[SUPERVISOR].take() {
                    supervisor.crash().await;
                    crashes += 1;
                }
                restart_at = Some(context.current() + random_ms(&mut context, 200, 3_000));
            }
            // A record from member-a or member-b.
            let provider = 1 + (n % 2) as usize;
            let ledger = member(&nodes, provider);
            let (record_id, tx) = testing::submit_record(
                &consortium.chain(),
                &consortium.keys[provider],
                &consortium.keys[SUPERVISOR],
                &[("claim_no", json!(format!("C-{n}"))), ("amount", json!(n))],
                ledger.head().height + 100,
            );
            ledger.submit(tx).expect("record admitted");
            records.push((record_id, provider));
            n += 1;
            // member-c asks for each record accepted since.
            let requester = member(&nodes, REQUESTER);
            while requested < records.len()
                && record_status(&requester, &records[requested].0) == Some(RecordStatus::Accepted)
            {
                requests.push(ask_for_amount(
                    &consortium,
                    &requester,
                    records[requested].0,
                ));
                requested += 1;
            }
            context.sleep(Duration::from_secs(1)).await;
        }
        if nodes[SUPERVISOR].is_none() {
            nodes[SUPERVISOR] = Some(start(&context, &oracle, &consortium, SUPERVISOR).await);
            last_restart = context.current();
        }
        let nodes: Vec<SimNode> = nodes.into_iter().map(|n| n.expect("all up")).collect();
        // The records accepted after the load get their requests too.
        let requester = nodes[REQUESTER].ledger.clone();
        wait_until(&context, BOUND, "every record attested", || {
            nodes.iter().all(|node| {
                records
                    .iter()
                    .all(|(id, _)| record_status(&node.ledger, id) == Some(RecordStatus::Accepted))
            })
        })
        .await;
        for (record_id, _) in &records[requested..] {
            requests.push(ask_for_amount(&consortium, &requester, *record_id));
        }
        let waited = context
            .current()
            .duration_since(last_restart)
            .unwrap_or_default();
        wait_until(
            &context,
            BOUND.saturating_sub(waited),
            "every request delivered within the bound of the last restart",
            || {
                nodes.iter().all(|node| {
                    requests.iter().all(|id| {
                        request_status(&node.ledger, id) == Some(RequestStatus::Delivered)
                    })
                })
            },
        )
        .await;
        // Let the chain run on: a second, different duty tx would show up as a failed receipt.
        let done_at = requester.head().height;
        wait_until(&context, BOUND, "twenty more blocks", || {
            requester.head().height >= done_at + 20
        })
        .await;
        let ledgers: Vec<&Ledger> = nodes.iter().map(|n| &*n.ledger).collect();
        assert_agree(&ledgers);
        assert!(crashes >= 2, "the supervisor crashed {crashes} times");
        assert_eq!(
            supervisor_receipts(&consortium, &requester, "attest_record"),
            (records.len(), 0),
            "one verdict per record, none failed ({crashes} crashes)"
        );
        assert_eq!(
            supervisor_receipts(&consortium, &requester, "deliver"),
            (requests.len(), 0),
            "one delivery per request, none failed ({crashes} crashes)"
        );
        assert_eq!(
            supervisor_receipts(&consortium, &requester, "decide").1,
            0,
            "no decision of the supervisor failed"
        );
        for node in nodes {
            node.crash().await;
        }
    });
}

// Two tests of 5 seeds each, so both run at once.
#[test]
fn a_supervisor_crashing_at_random_points_attests_and_delivers_everything_once_within_the_bound() {
    for_seeds(&soak_seeds(&[0, 1, 2, 3, 4]), run);
}

#[test]
fn the_same_with_five_more_seeds() {
    for_seeds(&[5, 6, 7, 8, 9], run);
}
