//! Role workers on a simulated consortium (deterministic runtime, simulated p2p, real SQLite):
//! the supervisor attests records and delivers approved requests, the `auto` policy approves,
//! and a supervisor that crashes between the last approval and the delivery delivers once
//! after its restart.

mod common;

use common::*;
use commonware_runtime::{Runner as _, Spawner as _, deterministic};
use custodia_node::{Ledger, config::ApprovalPolicy};
use custodia_protocol::{Body, Digest, RecordId, RequestId, Tx, hash::sha256, testing};
use custodia_state::{RecordStatus, RequestStatus};
use serde_json::json;
use std::time::Duration;

const SUPERVISOR: usize = 0;
const PROVIDER: usize = 1;
const REQUESTER: usize = 2;
const LIMIT: Duration = Duration::from_secs(120);

/// Starts the four nodes with their workers (`auto` for the orgs in `auto`).
async fn consortium_with_workers(
    context: &deterministic::Context,
    consortium: &Consortium,
    auto: &[usize],
) -> (Vec<SimNode>, OracleOf) {
    let oracle = network(context, consortium.public_keys(), RELIABLE).await;
    let mut nodes = Vec::new();
    for i in 0..VALIDATORS {
        let node = start_node(context, &oracle, consortium, i).await;
        nodes.push(node.with_workers(context, i, policy(auto, i)));
    }
    (nodes, oracle)
}

type OracleOf = commonware_p2p::simulated::Oracle<
    commonware_cryptography::ed25519::PublicKey,
    deterministic::Context,
>;

fn policy(auto: &[usize], index: usize) -> ApprovalPolicy {
    if auto.contains(&index) {
        ApprovalPolicy::Auto
    } else {
        ApprovalPolicy::Manual
    }
}

/// Signs `body` as org `index`, valid for 100 blocks from `ledger`'s head.
fn signed(consortium: &Consortium, index: usize, ledger: &Ledger, body: Body) -> Tx {
    Tx::sign(
        &consortium.keys[index].identity,
        consortium.chain(),
        ledger.head().height + 100,
        body,
    )
}

/// The provider submits a claim of 3 fields; returns its id once the supervisor accepted it.
async fn accepted_record(
    context: &deterministic::Context,
    consortium: &Consortium,
    nodes: &[SimNode],
) -> RecordId {
    let ledger = &nodes[PROVIDER].ledger;
    let (record_id, tx) = testing::submit_record(
        &consortium.chain(),
        &consortium.keys[PROVIDER],
        &consortium.keys[SUPERVISOR],
        &[
            ("claim_no", json!("C-1042")),
            ("amount", json!(18250.5)),
            ("diagnosis", json!("fracture")),
        ],
        ledger.head().height + 100,
    );
    ledger.submit(tx).expect("record admitted");
    wait_until(context, LIMIT, "the supervisor's verdict", || {
        record_status(ledger, &record_id) == Some(RecordStatus::Accepted)
    })
    .await;
    record_id
}

/// The requester asks for `amount` of `record_id`; returns the request id once pending.
async fn request_amount(
    context: &deterministic::Context,
    consortium: &Consortium,
    nodes: &[SimNode],
    record_id: RecordId,
) -> RequestId {
    let request_id = RequestId::random();
    let ledger = &nodes[REQUESTER].ledger;
    let body = Body::RequestShare {
        request_id,
        record_ids: vec![record_id],
        fields: vec!["amount".into()],
        purpose: "fraud check".into(),
        ttl: 10_000,
    };
    ledger
        .submit(signed(consortium, REQUESTER, ledger, body))
        .expect("request admitted");
    wait_until(context, LIMIT, "the request on the chain", || {
        request_status(ledger, &request_id).is_some()
    })
    .await;
    request_id
}

/// Org `index` approves `request_id` through its own node.
fn approve(consortium: &Consortium, nodes: &[SimNode], index: usize, request_id: RequestId) {
    let ledger = &nodes[index].ledger;
    let body = Body::Decide {
        request_id,
        approve: true,
        reason: String::new(),
    };
    ledger
        .submit(signed(consortium, index, ledger, body))
        .expect("decision admitted");
}

/// The requester opens its delivery and checks it discloses exactly `amount`.
fn requester_opens(consortium: &Consortium, ledger: &Ledger, request_id: RequestId) {
    let opened = Delivered::of(ledger, &request_id).open(
        consortium,
        &request_id,
        REQUESTER,
        &consortium.keys[REQUESTER].encryption,
    );
    assert_eq!(opened.len(), 1);
    assert_eq!(
        opened[0].fields.keys().collect::<Vec<_>>(),
        vec!["amount"],
        "only the requested field is disclosed"
    );
    assert_eq!(opened[0].fields["amount"], json!(18250.5));
}

/// Every receipt of a `body` tx on `ledger`'s chain, as (tx id, ok).
fn receipts_of(ledger: &Ledger, body: &str) -> Vec<(Digest, bool)> {
    let state = ledger.state();
    let queries = state.queries();
    (1..=ledger.head().height)
        .flat_map(|h| queries.block_receipts(h).expect("read receipts"))
        .filter(|r| r.body == body)
        .map(|r| (r.tx_id, r.is_ok()))
        .collect()
}

#[test]
fn provider_submits_supervisor_attests_both_approve_supervisor_delivers_requester_opens() {
    for_seeds(&[11, 12], |seed| {
        runner(seed, Duration::from_secs(600)).start(|context| async move {
            let consortium = Consortium::new();
            let (nodes, _oracle) = consortium_with_workers(&context, &consortium, &[]).await;
            let record_id = accepted_record(&context, &consortium, &nodes).await;
            let request_id = request_amount(&context, &consortium, &nodes, record_id).await;
            approve(&consortium, &nodes, PROVIDER, request_id);
            approve(&consortium, &nodes, SUPERVISOR, request_id);
            wait_until(&context, LIMIT, "the delivery", || {
                request_status(&nodes[REQUESTER].ledger, &request_id)
                    == Some(RequestStatus::Delivered)
            })
            .await;
            requester_opens(&consortium, &nodes[REQUESTER].ledger, request_id);
            let attests = receipts_of(&nodes[REQUESTER].ledger, "attest_record");
            assert_eq!(attests.len(), 1, "one verdict: {attests:?}");
            assert!(attests[0].1);
            context.stop(0, None).await.ok();
        });
    });
}

#[test]
fn auto_policies_approve_and_the_request_is_delivered_without_anyone_deciding_by_hand() {
    for_seeds(&[21], |seed| {
        runner(seed, Duration::from_secs(600)).start(|context| async move {
            let consortium = Consortium::new();
            let (nodes, _oracle) =
                consortium_with_workers(&context, &consortium, &[SUPERVISOR, PROVIDER]).await;
            let record_id = accepted_record(&context, &consortium, &nodes).await;
            let request_id = request_amount(&context, &consortium, &nodes, record_id).await;
            wait_until(
                &context,
                LIMIT,
                "the automatic approvals and delivery",
                || {
                    request_status(&nodes[REQUESTER].ledger, &request_id)
                        == Some(RequestStatus::Delivered)
                },
            )
            .await;
            requester_opens(&consortium, &nodes[REQUESTER].ledger, request_id);
            let decisions = receipts_of(&nodes[REQUESTER].ledger, "decide");
            assert_eq!(decisions.len(), 2, "one decision each: {decisions:?}");
            assert!(decisions.iter().all(|(_, ok)| *ok));
            context.stop(0, None).await.ok();
        });
    });
}

#[test]
fn a_record_whose_sealed_fields_do_not_match_its_commitment_is_rejected_with_a_reason() {
    for_seeds(&[31], |seed| {
        runner(seed, Duration::from_secs(600)).start(|context| async move {
            let consortium = Consortium::new();
            let (nodes, _oracle) = consortium_with_workers(&context, &consortium, &[]).await;
            let ledger = &nodes[PROVIDER].ledger;
            let (_, tx) = testing::submit_record(
                &consortium.chain(),
                &consortium.keys[PROVIDER],
                &consortium.keys[SUPERVISOR],
                &[("amount", json!(1))],
                ledger.head().height + 100,
            );
            // The provider signs a commitment that is not the sealed fields'.
            let Body::SubmitRecord {
                record_id,
                kind,
                tags,
                fields,
                sealed,
                ..
            } = tx.body
            else {
                unreachable!("a SubmitRecord");
            };
            let forged = Body::SubmitRecord {
                record_id,
                kind,
                tags,
                fields,
                commitment: sha256(&[b"another commitment"]),
                sealed,
            };
            ledger
                .submit(signed(&consortium, PROVIDER, ledger, forged))
                .expect("admitted: only the supervisor can tell");
            wait_until(&context, LIMIT, "the supervisor's verdict", || {
                record_status(ledger, &record_id) == Some(RecordStatus::Rejected)
            })
            .await;
            let reason = {
                let state = ledger.state();
                let row = state.queries().record(&record_id).unwrap().unwrap();
                row.reason.unwrap_or_default()
            };
            assert!(reason.contains("commitment_mismatch"), "{reason}");
            context.stop(0, None).await.ok();
        });
    });
}

#[test]
fn a_supervisor_crashed_between_the_last_approval_and_the_delivery_delivers_once_after_restart() {
    for_seeds(&[41, 42], |seed| {
        runner(seed, Duration::from_secs(900)).start(|context| async move {
            let consortium = Consortium::new();
            let (mut nodes, oracle) = consortium_with_workers(&context, &consortium, &[]).await;
            let record_id = accepted_record(&context, &consortium, &nodes).await;
            let request_id = request_amount(&context, &consortium, &nodes, record_id).await;
            approve(&consortium, &nodes, SUPERVISOR, request_id);
            wait_until(&context, LIMIT, "the supervisor's approval", || {
                receipts_of(&nodes[SUPERVISOR].ledger, "decide").len() == 1
            })
            .await;

            // The supervisor's workers stop first, so its node applies the provider's approval
            // (which completes the request) and then crashes without having delivered.
            if let Some(workers) = nodes[SUPERVISOR].workers.take() {
                workers.abort();
                let _ = workers.await;
            }
            approve(&consortium, &nodes, PROVIDER, request_id);
            wait_until(
                &context,
                LIMIT,
                "the supervisor applying the approval",
                || {
                    request_status(&nodes[SUPERVISOR].ledger, &request_id)
                        == Some(RequestStatus::Approved)
                },
            )
            .await;
            let supervisor = nodes.remove(SUPERVISOR);
            supervisor.crash().await;
            let provider = &nodes[PROVIDER - 1].ledger;
            let approved_at = provider.head().height;
            wait_until(&context, LIMIT, "ten more blocks", || {
                provider.head().height >= approved_at + 10
            })
            .await;
            assert_eq!(
                request_status(provider, &request_id),
                Some(RequestStatus::Approved),
                "nobody but the supervisor delivers"
            );

            // Restarted, it finds the approved request in its state and delivers it, once.
            let restarted = start_node(&context, &oracle, &consortium, SUPERVISOR)
                .await
                .with_workers(&context, SUPERVISOR, ApprovalPolicy::Manual);
            nodes.insert(SUPERVISOR, restarted);
            wait_until(&context, LIMIT, "the delivery after the restart", || {
                nodes.iter().all(|n| {
                    request_status(&n.ledger, &request_id) == Some(RequestStatus::Delivered)
                })
            })
            .await;
            // Let the chain run on: a second delivery would show up here.
            let delivered_at = nodes[REQUESTER].ledger.head().height;
            wait_until(&context, LIMIT, "twenty more blocks", || {
                nodes[REQUESTER].ledger.head().height >= delivered_at + 20
            })
            .await;
            let deliveries = receipts_of(&nodes[REQUESTER].ledger, "deliver");
            assert_eq!(deliveries.len(), 1, "exactly one Deliver: {deliveries:?}");
            assert!(deliveries[0].1);
            requester_opens(&consortium, &nodes[REQUESTER].ledger, request_id);
            let ledgers: Vec<_> = nodes.iter().map(|n| n.ledger.as_ref()).collect();
            assert_agree(&ledgers);
            context.stop(0, None).await.ok();
        });
    });
}

/// The supervisor suspends (`false`) or reinstates (`true`) the requester.
fn set_requester_status(consortium: &Consortium, nodes: &[SimNode], active: bool) {
    let ledger = &nodes[SUPERVISOR].ledger;
    let body = Body::SetOrgStatus {
        org: custodia_protocol::OrgId(REQUESTER as u32),
        active,
        reason: if active {
            String::new()
        } else {
            "overdue audit".into()
        },
    };
    ledger
        .submit(signed(consortium, SUPERVISOR, ledger, body))
        .expect("status change admitted");
}

fn requester_active(consortium: &Consortium, ledger: &Ledger) -> bool {
    let key = consortium.keys[REQUESTER].identity_key();
    let state = ledger.state();
    let orgs = state.queries().orgs().expect("read orgs");
    orgs.iter().any(|org| org.identity_key == key && org.active)
}

/// Restarts the supervisor's role workers (its node keeps running).
async fn restart_supervisor_workers(context: &deterministic::Context, nodes: &mut Vec<SimNode>) {
    let mut supervisor = nodes.remove(SUPERVISOR);
    if let Some(workers) = supervisor.workers.take() {
        workers.abort();
        let _ = workers.await;
    }
    let supervisor = supervisor.with_workers(context, SUPERVISOR, ApprovalPolicy::Manual);
    nodes.insert(SUPERVISOR, supervisor);
}

// DESIGN §7.6: a Deliver that fails on the chain because the requester was suspended (or is
// refused at admission for it) waits, across a restart of the supervisor in the same window,
// and is made — once — when the requester is reinstated. Before: the failed Deliver was
// "not retried until restart", and after a restart in the same window its tx was a duplicate
// taken for done, so the request stayed approved forever.
#[test]
fn a_delivery_to_a_suspended_requester_is_made_once_it_is_reinstated_even_across_a_restart() {
    for_seeds(&[51, 52], |seed| {
        runner(seed, Duration::from_secs(900)).start(|context| async move {
            let consortium = Consortium::new();
            let (mut nodes, oracle) = consortium_with_workers(&context, &consortium, &[]).await;
            let record_id = accepted_record(&context, &consortium, &nodes).await;
            let request_id = request_amount(&context, &consortium, &nodes, record_id).await;

            // The supervisor's workers are away while the request is approved, and come back
            // just as the requester's suspension is submitted: their Deliver is admitted (the
            // suspension is not applied yet) and fails in a block after it, or is refused.
            if let Some(workers) = nodes[SUPERVISOR].workers.take() {
                workers.abort();
                let _ = workers.await;
            }
            approve(&consortium, &nodes, SUPERVISOR, request_id);
            approve(&consortium, &nodes, PROVIDER, request_id);
            wait_until(&context, LIMIT, "the approval", || {
                request_status(&nodes[SUPERVISOR].ledger, &request_id)
                    == Some(RequestStatus::Approved)
            })
            .await;
            set_requester_status(&consortium, &nodes, false);
            restart_supervisor_workers(&context, &mut nodes).await;
            wait_until(&context, LIMIT, "the suspension", || {
                !requester_active(&consortium, &nodes[REQUESTER].ledger)
            })
            .await;
            let ledger = nodes[REQUESTER].ledger.clone();
            let suspended_at = ledger.head().height;
            wait_until(&context, LIMIT, "ten blocks", || {
                ledger.head().height >= suspended_at + 10
            })
            .await;
            assert_eq!(
                request_status(&ledger, &request_id),
                Some(RequestStatus::Approved)
            );

            // The supervisor crashes and restarts in the same window; the delivery still waits.
            let supervisor = nodes.remove(SUPERVISOR);
            supervisor.crash().await;
            let restarted = start_node(&context, &oracle, &consortium, SUPERVISOR)
                .await
                .with_workers(&context, SUPERVISOR, ApprovalPolicy::Manual);
            nodes.insert(SUPERVISOR, restarted);
            let restarted_at = ledger.head().height;
            wait_until(&context, LIMIT, "ten blocks after the restart", || {
                ledger.head().height >= restarted_at + 10
            })
            .await;
            assert_eq!(
                request_status(&ledger, &request_id),
                Some(RequestStatus::Approved)
            );

            // Reinstated: delivered, exactly once, within 30 s of simulated time.
            set_requester_status(&consortium, &nodes, true);
            wait_until(
                &context,
                Duration::from_secs(30),
                "the delivery after the reinstatement",
                || {
                    nodes.iter().all(|n| {
                        request_status(&n.ledger, &request_id) == Some(RequestStatus::Delivered)
                    })
                },
            )
            .await;
            let delivered_at = ledger.head().height;
            wait_until(&context, LIMIT, "twenty more blocks", || {
                ledger.head().height >= delivered_at + 20
            })
            .await;
            let deliveries = receipts_of(&ledger, "deliver");
            let succeeded: Vec<_> = deliveries.iter().filter(|(_, ok)| *ok).collect();
            assert_eq!(
                succeeded.len(),
                1,
                "exactly one Deliver succeeded: {deliveries:?}"
            );
            requester_opens(&consortium, &ledger, request_id);
            let ledgers: Vec<_> = nodes.iter().map(|n| n.ledger.as_ref()).collect();
            assert_agree(&ledgers);
            context.stop(0, None).await.ok();
        });
    });
}
