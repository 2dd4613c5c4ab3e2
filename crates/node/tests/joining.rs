//! A new member joins a running chain (DESIGN §3.2, §3.3): four organisations admit a fifth; its
//! node, started with only the genesis, syncs epoch by epoch, votes from the first epoch whose set
//! holds its key, and the chain never stops finalizing across that boundary. Then one of the five
//! crashes, and the four left (the newcomer among them) keep finalizing: the newcomer's votes
//! count. The newcomer provides a record of which another member gets 2 fields, verified.
//! Deterministic simulation; a failure prints its seed, `CUSTODIA_SEED=<seed>` replays one,
//! `CUSTODIA_SOAK_SEEDS=N` runs N more.

mod common;

use common::*;
use commonware_runtime::{Clock as _, Runner as _, deterministic};
use custodia_node::{Ledger, config::ApprovalPolicy, epoch::Epochs};
use custodia_protocol::{
    Body, Change, OrgKeys, Params, ProposalId, RecordId, RequestId, Tx, genesis::MIN_EPOCH_LENGTH,
    testing,
};
use custodia_state::{Membership, RecordStatus, RequestStatus};
use serde_json::json;
use std::time::Duration;

/// Ten seeds in CI.
const SEEDS: [u64; 10] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

const SUPERVISOR: usize = 0;
const REQUESTER: usize = 2;
/// The genesis member that crashes once the newcomer votes.
const CRASHED: usize = 3;
/// The newcomer: `keys[VALIDATORS]`, in no genesis.
const NEWCOMER: usize = VALIDATORS;
const LIMIT: Duration = Duration::from_secs(120);

fn height(ledger: &Ledger) -> u64 {
    ledger.head().height
}

/// `body` signed by `keys`, valid for 100 blocks from `ledger`'s head, submitted to `ledger`.
fn send(consortium: &Consortium, keys: &OrgKeys, ledger: &Ledger, body: Body) {
    let tx = Tx::sign(
        &keys.identity,
        consortium.chain(),
        height(ledger) + 100,
        body,
    );
    ledger.submit(tx).expect("the node admits the tx");
}

/// Submits a record of member 1 or 2 every 200 ms until `ledger` passes `target`; panics if the
/// height stands still for 10 s (simulated) or the whole takes more than `limit`.
async fn load_until(
    context: &deterministic::Context,
    consortium: &Consortium,
    ledgers: [&Ledger; 2],
    target: u64,
    limit: Duration,
) {
    let start = context.current();
    let mut rise = (start, height(ledgers[0]));
    let mut n = 0;
    while height(ledgers[0]) <= target {
        let now = context.current();
        assert!(
            now.duration_since(start).unwrap_or_default() < limit,
            "height {} after {limit:?}, wanted {target}",
            rise.1
        );
        let member = 1 + n % 2;
        let ledger = ledgers[n % 2];
        let tx = consortium.record_tx(member, height(ledger), 3_000 + n as u64);
        ledger.submit(tx).expect("a member's record");
        n += 1;
        context.sleep(Duration::from_millis(200)).await;
        let h = height(ledgers[0]);
        if h > rise.1 {
            rise = (context.current(), h);
        }
        let still = context.current().duration_since(rise.0).unwrap_or_default();
        assert!(
            still < Duration::from_secs(10),
            "the chain stood still {still:?} at {h}"
        );
    }
}

/// The newcomer provides a claim of 3 fields; the requester asks for 2; the newcomer (auto) and
/// the supervisor (auto) approve; the supervisor delivers; the requester opens and verifies it.
async fn newcomer_record_is_shared(
    context: &deterministic::Context,
    consortium: &Consortium,
    newcomer: &Ledger,
    requester: &Ledger,
) {
    let (record_id, tx): (RecordId, Tx) = testing::submit_record(
        &consortium.chain(),
        &consortium.keys[NEWCOMER],
        &consortium.keys[SUPERVISOR],
        &[
            ("claim_no", json!("N-7")),
            ("amount", json!(4200.25)),
            ("diagnosis", json!("sprain")),
        ],
        height(newcomer) + 100,
    );
    newcomer
        .submit(tx)
        .expect("the newcomer's record is admitted");
    wait_until(context, LIMIT, "the supervisor's verdict", || {
        record_status(requester, &record_id) == Some(RecordStatus::Accepted)
    })
    .await;
    let request_id = RequestId::random();
    send(
        consortium,
        &consortium.keys[REQUESTER],
        requester,
        Body::RequestShare {
            request_id,
            record_ids: vec![record_id],
            fields: vec!["amount".into(), "claim_no".into()],
            purpose: "fraud check".into(),
            ttl: 10_000,
        },
    );
    wait_until(context, LIMIT, "the delivery", || {
        request_status(requester, &request_id) == Some(RequestStatus::Delivered)
    })
    .await;
    let opened = Delivered::of(requester, &request_id).open(
        consortium,
        &request_id,
        REQUESTER,
        &consortium.keys[REQUESTER].encryption,
    );
    assert_eq!(opened.len(), 1);
    assert_eq!(
        opened[0].fields.keys().collect::<Vec<_>>(),
        vec!["amount", "claim_no"],
        "exactly the two requested fields"
    );
    assert_eq!(opened[0].fields["amount"], json!(4200.25));
    assert_eq!(opened[0].fields["claim_no"], json!("N-7"));
}

#[test]
fn a_new_member_syncs_from_genesis_votes_from_its_first_epoch_and_provides_a_record() {
    for_seeds(&soak_seeds(&SEEDS), |seed| {
        runner(seed, Duration::from_secs(1_200)).start(|context| async move {
            let params = Params {
                epoch_length: MIN_EPOCH_LENGTH,
                ..Params::default()
            };
            let epochs = Epochs::new(params.epoch_length);
            let consortium = Consortium::with_newcomers(params, 1);
            let everyone: Vec<_> = consortium.public_keys();
            let oracle = network_with(
                &context,
                everyone[..VALIDATORS].to_vec(),
                &everyone,
                RELIABLE,
            )
            .await;
            let mut nodes = Vec::new();
            for i in 0..VALIDATORS {
                let policy = if i == SUPERVISOR {
                    ApprovalPolicy::Auto
                } else {
                    ApprovalPolicy::Manual
                };
                let node = start_node(&context, &oracle, &consortium, i).await;
                nodes.push(node.with_workers(&context, i, policy));
            }

            // member-a proposes the newcomer (its org.pub.toml, as a genesis entry); the
            // supervisor and member-b vote for it.
            let newcomer_org =
                testing::genesis_of(&consortium.keys, Params::default()).orgs[NEWCOMER].clone();
            let proposal_id = ProposalId::random();
            send(
                &consortium,
                &consortium.keys[1],
                &nodes[1].ledger,
                Body::Propose {
                    proposal_id,
                    change: Change::AddMember(Box::new(newcomer_org)),
                    ttl: 1_000,
                },
            );
            wait_until(&context, LIMIT, "the proposal", || {
                matches!(
                    nodes[0].ledger.state().queries().proposal(&proposal_id),
                    Ok(Some(_))
                )
            })
            .await;
            for voter in [SUPERVISOR, REQUESTER] {
                send(
                    &consortium,
                    &consortium.keys[voter],
                    &nodes[voter].ledger,
                    Body::Vote {
                        proposal_id,
                        approve: true,
                        reason: String::new(),
                    },
                );
            }
            let sets = nodes[0].ledger.validator_sets().clone();
            wait_until(&context, LIMIT, "the scheduled set of five", || {
                (0..=sets.known_through())
                    .any(|e| sets.set(e).is_some_and(|set| set.len() == VALIDATORS + 1))
            })
            .await;
            let effect = (0..=sets.known_through())
                .find(|e| sets.set(*e).is_some_and(|set| set.len() == VALIDATORS + 1))
                .expect("scheduled");
            eprintln!("seed {seed}: the newcomer validates from epoch {effect}");

            // Its node starts from the genesis alone, on a fresh disk.
            let newcomer = start_node(&context, &oracle, &consortium, NEWCOMER)
                .await
                .with_workers(&context, NEWCOMER, ApprovalPolicy::Auto);
            assert_eq!(height(&newcomer.ledger), 0);

            // The chain goes on, under load, across the boundary into the newcomer's first epoch.
            let into = epochs.last(effect - 1) + 20;
            load_until(
                &context,
                &consortium,
                [&nodes[1].ledger, &nodes[2].ledger],
                into,
                Duration::from_secs(600),
            )
            .await;
            wait_until(&context, LIMIT, "the newcomer to catch up", || {
                height(&newcomer.ledger) >= into
            })
            .await;
            let membership =
                newcomer.ledger.state().queries().orgs().expect("orgs")[NEWCOMER].membership;
            assert_eq!(membership, Membership::Member);
            let signed = newcomer
                .vote_gate
                .highest_signed()
                .expect("the newcomer votes");
            assert!(
                signed.epoch().get() >= effect,
                "the newcomer signed {signed:?}, its first epoch is {effect}"
            );
            assert!(
                newcomer
                    .vote_gate
                    .first_signed()
                    .expect("voted")
                    .epoch()
                    .get()
                    >= effect,
                "the newcomer signed nothing before its first epoch"
            );

            // The commitment stays certified as the set grows (a set of another size starts
            // the next aggregation engine, DESIGN §5.9): a certificate under the five.
            wait_until(&context, LIMIT, "certification in the set of five", || {
                nodes[1].ledger.certified_height() >= into
                    && newcomer.ledger.certified_height() >= into
            })
            .await;
            let row = nodes[1]
                .ledger
                .certificates()
                .at_most(into)
                .expect("reads")
                .expect("certified");
            let set = nodes[1]
                .ledger
                .validator_sets()
                .set(row.epoch)
                .expect("known");
            assert_eq!(set.len(), VALIDATORS + 1, "signed by epoch {}", row.epoch);
            custodia_node::certify::verify_certificate(
                &set,
                row.height,
                &row.commitment,
                &row.certificate,
            )
            .expect("the certificate verifies under the five");

            // One of the five crashes: the four left need the newcomer's votes (quorum 4 of 5).
            nodes.remove(CRASHED).crash().await;
            nodes.push(newcomer);
            let from = height(&nodes[0].ledger);
            load_until(
                &context,
                &consortium,
                [&nodes[1].ledger, &nodes[2].ledger],
                from + 20,
                Duration::from_secs(300),
            )
            .await;
            let newcomer = &nodes.last().expect("the newcomer").ledger;
            newcomer_record_is_shared(&context, &consortium, newcomer, &nodes[REQUESTER].ledger)
                .await;
            assert_agree(&nodes.iter().map(|n| n.ledger.as_ref()).collect::<Vec<_>>());
            assert_running_and_stop(nodes, "after the newcomer joined").await;
        });
    });
}
