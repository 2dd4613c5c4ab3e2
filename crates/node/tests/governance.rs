//! Governance on a simulated consortium (deterministic runtime, simulated p2p, real SQLite, the
//! role workers running): the supervisor suspends a member with a reason and reinstates it;
//! organisations rotate their encryption keys between records and deliveries; a proposal is
//! enacted with exactly its quorum and one short expires (DESIGN §4.5, §4.10, §6.6).
//! `CUSTODIA_SOAK_SEEDS=N` runs N more seeds.

mod common;

use common::*;
use commonware_runtime::{Runner as _, Spawner as _, deterministic};
use custodia_node::{AdmitError, Ledger, config::ApprovalPolicy};
use custodia_protocol::{
    Body, Change, EncryptionKey, GovernedParam, OrgId, OrgKeys, ProposalId, RecordId, RequestId,
    Tx, testing,
};
use custodia_state::{Code, EventKind, RecordStatus, RequestStatus};
use serde_json::json;
use std::time::Duration;

const SUPERVISOR: usize = 0;
const PROVIDER: usize = 1;
const REQUESTER: usize = 2;
const LIMIT: Duration = Duration::from_secs(120);

async fn consortium_with_workers(
    context: &deterministic::Context,
    consortium: &Consortium,
) -> Vec<SimNode> {
    let oracle = network(context, consortium.public_keys(), RELIABLE).await;
    let mut nodes = Vec::new();
    for i in 0..VALIDATORS {
        let node = start_node(context, &oracle, consortium, i).await;
        nodes.push(node.with_workers(context, i, ApprovalPolicy::Manual));
    }
    nodes
}

/// Signs `body` with `keys`, valid for 100 blocks from `ledger`'s head.
fn signed(consortium: &Consortium, keys: &OrgKeys, ledger: &Ledger, body: Body) -> Tx {
    Tx::sign(
        &keys.identity,
        consortium.chain(),
        ledger.head().height + 100,
        body,
    )
}

/// Org `index` sends `body` through its own node: what the mempool says.
fn send(
    consortium: &Consortium,
    nodes: &[SimNode],
    index: usize,
    body: Body,
) -> Result<(), AdmitError> {
    let node = &nodes[index];
    let tx = signed(consortium, &node.keys.current(), &node.ledger, body);
    node.ledger.submit(tx).map(|_| ())
}

/// The provider submits a claim sealed to the supervisor's key as the provider's state has it;
/// returns its id once accepted.
async fn accepted_record(
    context: &deterministic::Context,
    consortium: &Consortium,
    nodes: &[SimNode],
    amount: f64,
) -> RecordId {
    let ledger = &nodes[PROVIDER].ledger;
    let supervisor_key = org_key(ledger, SUPERVISOR);
    let mut sealing = consortium.keys[SUPERVISOR].clone();
    assert_eq!(
        nodes[SUPERVISOR].keys.current().encryption_key(),
        supervisor_key,
        "the state and the supervisor's keyring agree"
    );
    sealing.encryption = nodes[SUPERVISOR].keys.current().encryption.clone();
    let (record_id, tx) = testing::submit_record(
        &consortium.chain(),
        &consortium.keys[PROVIDER],
        &sealing,
        &[("claim_no", json!("C-7")), ("amount", json!(amount))],
        ledger.head().height + 100,
    );
    ledger.submit(tx).expect("record admitted");
    wait_until(context, LIMIT, "the supervisor's verdict", || {
        record_status(ledger, &record_id) == Some(RecordStatus::Accepted)
    })
    .await;
    record_id
}

/// The requester asks for `amount` of `record_id`; the provider and the supervisor approve.
fn approved_request(consortium: &Consortium, nodes: &[SimNode], record_id: RecordId) -> RequestId {
    let request_id = RequestId::random();
    let body = Body::RequestShare {
        request_id,
        record_ids: vec![record_id],
        fields: vec!["amount".into()],
        purpose: "fraud check".into(),
        ttl: 10_000,
    };
    send(consortium, nodes, REQUESTER, body).expect("request admitted");
    request_id
}

fn approve(consortium: &Consortium, nodes: &[SimNode], index: usize, request_id: RequestId) {
    let body = Body::Decide {
        request_id,
        approve: true,
        reason: String::new(),
    };
    send(consortium, nodes, index, body).expect("decision admitted");
}

async fn wait_status(
    context: &deterministic::Context,
    ledger: &Ledger,
    request_id: RequestId,
    status: RequestStatus,
) {
    wait_until(context, LIMIT, "the request's status", || {
        request_status(ledger, &request_id) == Some(status)
    })
    .await;
}

/// Asks for `record_id`, has both approvers approve once the request is on the chain, and
/// waits for the delivery.
async fn delivered(
    context: &deterministic::Context,
    consortium: &Consortium,
    nodes: &[SimNode],
    record_id: RecordId,
) -> RequestId {
    let request_id = approved_request(consortium, nodes, record_id);
    let ledger = &nodes[REQUESTER].ledger;
    // Each approver's own node must hold the request before it takes the decision.
    for node in [REQUESTER, PROVIDER, SUPERVISOR] {
        wait_status(
            context,
            &nodes[node].ledger,
            request_id,
            RequestStatus::Pending,
        )
        .await;
    }
    approve(consortium, nodes, PROVIDER, request_id);
    approve(consortium, nodes, SUPERVISOR, request_id);
    wait_status(context, ledger, request_id, RequestStatus::Delivered).await;
    request_id
}

/// The current encryption key of org `index` in `ledger`'s state.
fn org_key(ledger: &Ledger, index: usize) -> EncryptionKey {
    let state = ledger.state();
    state.queries().orgs().expect("read orgs")[index].encryption_key
}

/// Org `index` rotates its encryption key through its keyring and waits until every node's
/// state has the new key.
async fn rotate(
    context: &deterministic::Context,
    consortium: &Consortium,
    nodes: &[SimNode],
    index: usize,
) -> EncryptionKey {
    let key = nodes[index].keys.rotate_encryption().expect("rotate");
    let body = Body::RotateKeys {
        encryption_key: key,
    };
    send(consortium, nodes, index, body).expect("rotation admitted");
    wait_until(context, LIMIT, "the new key on every node", || {
        nodes.iter().all(|node| org_key(&node.ledger, index) == key)
    })
    .await;
    key
}

/// The requester opens the delivery of `request_id` with its keyring: the secret of the key
/// the delivery names. Returns the amount and that key.
fn requester_opens(
    consortium: &Consortium,
    nodes: &[SimNode],
    request_id: RequestId,
) -> (f64, EncryptionKey) {
    let delivered = Delivered::of(&nodes[REQUESTER].ledger, &request_id);
    let keys = nodes[REQUESTER].keys.current();
    let secret = keys
        .opener(&delivered.sealed)
        .expect("the keyring has the key");
    let opened = delivered.open(consortium, &request_id, REQUESTER, secret);
    let amount = opened[0].fields["amount"].as_f64().expect("a number");
    (amount, secret.public())
}

fn refused_with(result: Result<(), AdmitError>, code: Code) {
    match result {
        Err(AdmitError::Rejected(rejection)) => assert_eq!(rejection.code, code, "{rejection}"),
        other => panic!("expected {code:?}, got {other:?}"),
    }
}

/// The supervisor suspends the requester with a reason: every node shows it suspended with the
/// reason, the audit trail names who and why, its record, request and decision are refused
/// (`signer_suspended`), and the delivery of its approved request waits. Reinstated, it gets
/// that delivery, once, and can act again.
#[test]
fn a_suspended_member_can_do_nothing_and_gets_its_delivery_once_reinstated() {
    for_seeds(&soak_seeds(&[31, 32]), |seed| {
        runner(seed, Duration::from_secs(600)).start(|context| async move {
            let consortium = Consortium::new();
            let nodes = consortium_with_workers(&context, &consortium).await;
            let record_id = accepted_record(&context, &consortium, &nodes, 100.0).await;
            let other_record = accepted_record(&context, &consortium, &nodes, 7.0).await;
            let request_id = approved_request(&consortium, &nodes, record_id);
            let ledger = &nodes[REQUESTER].ledger;
            wait_status(&context, ledger, request_id, RequestStatus::Pending).await;
            let provider = &nodes[PROVIDER].ledger;
            wait_status(&context, provider, request_id, RequestStatus::Pending).await;
            approve(&consortium, &nodes, PROVIDER, request_id);

            let reason = "late filing of the quarterly report";
            let suspend = Body::SetOrgStatus {
                org: OrgId(REQUESTER as u32),
                active: false,
                reason: reason.into(),
            };
            send(&consortium, &nodes, SUPERVISOR, suspend).expect("suspension admitted");
            wait_until(&context, LIMIT, "the suspension everywhere", || {
                nodes.iter().all(|node| {
                    let orgs = node.ledger.state().queries().orgs().unwrap();
                    !orgs[REQUESTER].active
                        && orgs[REQUESTER].status_reason.as_deref() == Some(reason)
                })
            })
            .await;
            let events = ledger.state().queries().audit(&Default::default()).unwrap();
            let suspended = events
                .iter()
                .find(|e| e.kind == EventKind::OrgSuspended.as_str())
                .expect("the suspension is in the audit trail");
            assert_eq!(suspended.detail, reason);
            assert_eq!(
                suspended.actor.as_deref(),
                Some(testing::ORG_NAMES[SUPERVISOR])
            );
            assert_eq!(
                suspended.subject.as_deref(),
                Some(testing::ORG_NAMES[REQUESTER])
            );

            // Submit, request and decide are refused at admission.
            let (_, record) = testing::submit_record(
                &consortium.chain(),
                &consortium.keys[REQUESTER],
                &consortium.keys[SUPERVISOR],
                &[("x", json!(1))],
                ledger.head().height + 100,
            );
            refused_with(ledger.submit(record).map(|_| ()), Code::SignerSuspended);
            let ask = Body::RequestShare {
                request_id: RequestId::random(),
                record_ids: vec![other_record],
                fields: vec![],
                purpose: "audit".into(),
                ttl: 100,
            };
            refused_with(
                send(&consortium, &nodes, REQUESTER, ask),
                Code::SignerSuspended,
            );
            let decide = Body::Decide {
                request_id,
                approve: true,
                reason: String::new(),
            };
            refused_with(
                send(&consortium, &nodes, REQUESTER, decide),
                Code::SignerSuspended,
            );

            // Approved while suspended: not delivered.
            approve(&consortium, &nodes, SUPERVISOR, request_id);
            wait_status(&context, ledger, request_id, RequestStatus::Approved).await;
            let approved_at = ledger.head().height;
            wait_until(&context, LIMIT, "twenty more blocks", || {
                ledger.head().height >= approved_at + 20
            })
            .await;
            assert_eq!(
                request_status(ledger, &request_id),
                Some(RequestStatus::Approved)
            );

            let reinstate = Body::SetOrgStatus {
                org: OrgId(REQUESTER as u32),
                active: true,
                reason: "report filed".into(),
            };
            send(&consortium, &nodes, SUPERVISOR, reinstate).expect("reinstatement admitted");
            wait_status(&context, ledger, request_id, RequestStatus::Delivered).await;
            assert_eq!(requester_opens(&consortium, &nodes, request_id).0, 100.0);
            // Active again: its next request is taken.
            delivered(&context, &consortium, &nodes, other_record).await;
            let ledgers: Vec<_> = nodes.iter().map(|n| n.ledger.as_ref()).collect();
            assert_agree(&ledgers);
            context.stop(0, None).await.ok();
        });
    });
}

/// The supervisor rotates its encryption key between two records, and the requester rotates
/// its own between two deliveries: both records are attested and delivered (the first opened
/// with the supervisor's retired secret), and both deliveries open, each with the key it names.
#[test]
fn keys_rotated_between_records_and_deliveries_lose_nothing() {
    for_seeds(&soak_seeds(&[41, 42]), |seed| {
        runner(seed, Duration::from_secs(600)).start(|context| async move {
            let consortium = Consortium::new();
            let nodes = consortium_with_workers(&context, &consortium).await;
            let first = accepted_record(&context, &consortium, &nodes, 1.5).await;
            let supervisor_key = rotate(&context, &consortium, &nodes, SUPERVISOR).await;
            assert_ne!(supervisor_key, consortium.keys[SUPERVISOR].encryption_key());
            let second = accepted_record(&context, &consortium, &nodes, 2.5).await;

            let before = delivered(&context, &consortium, &nodes, first).await;
            let (amount, key) = requester_opens(&consortium, &nodes, before);
            assert_eq!(amount, 1.5);
            assert_eq!(key, consortium.keys[REQUESTER].encryption_key());

            let requester_key = rotate(&context, &consortium, &nodes, REQUESTER).await;
            let after = delivered(&context, &consortium, &nodes, second).await;
            let (amount, key) = requester_opens(&consortium, &nodes, after);
            assert_eq!(amount, 2.5);
            assert_eq!(key, requester_key, "sealed to the requester's new key");
            // The delivery of before the rotation still opens, with the retired secret.
            assert_eq!(requester_opens(&consortium, &nodes, before).0, 1.5);

            let keys = nodes[REQUESTER]
                .ledger
                .state()
                .queries()
                .org_keys()
                .unwrap();
            let history: Vec<u64> = keys
                .iter()
                .filter(|k| k.org == OrgId(REQUESTER as u32) && k.kind == "encryption")
                .map(|k| k.from_height)
                .collect();
            assert_eq!(history.len(), 2, "{keys:?}");
            assert_eq!(history[0], 0);
            let ledgers: Vec<_> = nodes.iter().map(|n| n.ledger.as_ref()).collect();
            assert_agree(&ledgers);
            context.stop(0, None).await.ok();
        });
    });
}

fn params_everywhere(nodes: &[SimNode]) -> Vec<u64> {
    nodes
        .iter()
        .map(|n| n.ledger.state().params().max_request_ttl)
        .collect()
}

fn proposal_status(ledger: &Ledger, id: &ProposalId) -> Option<String> {
    let state = ledger.state();
    state.queries().proposal(id).unwrap().map(|p| p.status)
}

/// member-a proposes a shorter `max_request_ttl`; with the supervisor's vote alone it is one
/// member short of more than half and stays open; member-b's vote enacts it on every node. A
/// second proposal, one vote short, expires after its ttl and changes nothing.
#[test]
fn a_proposal_is_enacted_with_exactly_its_quorum_and_one_short_expires() {
    for_seeds(&soak_seeds(&[51, 52]), |seed| {
        runner(seed, Duration::from_secs(600)).start(|context| async move {
            let consortium = Consortium::new();
            let nodes = consortium_with_workers(&context, &consortium).await;
            let ttl = |value| Change::ChangeParams(vec![(GovernedParam::MaxRequestTtl, value)]);
            let id = ProposalId::random();
            let propose = Body::Propose {
                proposal_id: id,
                change: ttl(500),
                ttl: 1_000,
            };
            send(&consortium, &nodes, PROVIDER, propose).expect("proposal admitted");
            let ledger = &nodes[SUPERVISOR].ledger;
            wait_until(&context, LIMIT, "the proposal on the chain", || {
                proposal_status(ledger, &id).is_some()
            })
            .await;
            let ballot = |reason: &str| Body::Vote {
                proposal_id: id,
                approve: true,
                reason: reason.into(),
            };
            send(&consortium, &nodes, SUPERVISOR, ballot("proportionate")).expect("vote");
            let voted_at = ledger.head().height;
            wait_until(&context, LIMIT, "ten more blocks", || {
                ledger.head().height >= voted_at + 10
            })
            .await;
            assert_eq!(proposal_status(ledger, &id).as_deref(), Some("open"));
            assert_eq!(params_everywhere(&nodes), vec![100_000; VALIDATORS]);
            send(&consortium, &nodes, REQUESTER, ballot("")).expect("vote");
            wait_until(&context, LIMIT, "the enactment everywhere", || {
                nodes
                    .iter()
                    .all(|n| proposal_status(&n.ledger, &id).as_deref() == Some("enacted"))
            })
            .await;
            assert_eq!(params_everywhere(&nodes), vec![500; VALIDATORS]);

            // One short: the supervisor only, then the ttl runs out.
            let short = ProposalId::random();
            let propose = Body::Propose {
                proposal_id: short,
                change: ttl(42),
                ttl: 15,
            };
            send(&consortium, &nodes, PROVIDER, propose).expect("proposal admitted");
            wait_until(&context, LIMIT, "the second proposal on the chain", || {
                proposal_status(ledger, &short).is_some()
            })
            .await;
            let vote = Body::Vote {
                proposal_id: short,
                approve: true,
                reason: String::new(),
            };
            send(&consortium, &nodes, SUPERVISOR, vote).expect("vote");
            wait_until(&context, LIMIT, "the expiry everywhere", || {
                nodes
                    .iter()
                    .all(|n| proposal_status(&n.ledger, &short).as_deref() == Some("expired"))
            })
            .await;
            assert_eq!(params_everywhere(&nodes), vec![500; VALIDATORS]);
            let ledgers: Vec<_> = nodes.iter().map(|n| n.ledger.as_ref()).collect();
            assert_agree(&ledgers);
            context.stop(0, None).await.ok();
        });
    });
}
