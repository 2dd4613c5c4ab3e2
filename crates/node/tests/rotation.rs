//! A validator rotates its identity key under load (DESIGN §3.3, §4.10): member-a's
//! `RotateIdentity` seats its new key two epochs on; when its node applies the last block under
//! the old key, the keyring promotes the new secret and the node restarts consensus and p2p under
//! it (as `custodia node` does, through `identity::rekey_due`). The chain never stands still for
//! long, the old key signs votes up to the boundary and the new one from it, member-a's txs
//! after the boundary carry the new key, and a node whose disk is then wiped syncs the whole
//! chain from genesis, verifying every certificate and every tx signature of both keys against
//! the sets its own state derives, and agrees. Deterministic simulation; a failure prints its
//! seed, `CUSTODIA_SEED=<seed>` replays one, `CUSTODIA_SOAK_SEEDS=N` runs N more.

mod common;

use common::*;
use commonware_runtime::{Clock as _, Runner as _};
use custodia_node::{Keyring, application::Application, epoch::Epochs, identity};
use custodia_protocol::{Body, OrgKeys, Params, Tx, genesis::MIN_EPOCH_LENGTH, rotation, testing};
use futures::FutureExt as _;
use std::{sync::Arc, time::Duration};

/// Ten seeds in CI.
const SEEDS: [u64; 10] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
/// member-a: the validator that rotates.
const ROTATING: usize = 1;
/// member-b: the validator whose disk is wiped at the end.
const WIPED: usize = 2;
const LIMIT: Duration = Duration::from_secs(300);

fn height(node: &SimNode) -> u64 {
    node.ledger.head().height
}

/// A record of member-a, signed by the key its keyring signs with now.
fn record_of_a(consortium: &Consortium, node: &SimNode, n: u64) -> Tx {
    let keys = node.keys.current();
    let fields = [("claim_no", serde_json::json!(format!("A-{n}")))];
    testing::submit_record(
        &consortium.chain(),
        &keys,
        &consortium.keys[0],
        &fields,
        height(node) + 100,
    )
    .1
}

#[test]
fn a_validator_rotates_its_identity_key_under_load_and_every_signature_still_verifies() {
    for_seeds(&soak_seeds(&SEEDS), |seed| {
        runner(seed, Duration::from_secs(1_500)).start(|context| async move {
            let params = Params {
                epoch_length: MIN_EPOCH_LENGTH,
                ..Params::default()
            };
            let epochs = Epochs::new(params.epoch_length);
            let consortium = Consortium::with_params(params);
            let next = OrgKeys::from_seed(1_000 + seed);
            let new_key = next.identity_key();
            let mut everyone = consortium.public_keys();
            everyone.push(new_key.clone());
            let oracle =
                network_with(&context, consortium.public_keys(), &everyone, RELIABLE).await;
            let mut nodes = Vec::new();
            for i in 0..VALIDATORS {
                let mut keys = consortium.keys[i].clone();
                if i == ROTATING {
                    // What `POST /v1/keys/identity` writes into the keyring (seeded here).
                    keys.next_identity = Some(next.identity.clone());
                }
                let keyring = Arc::new(Keyring::in_memory(keys));
                nodes.push(
                    start_node_keyed(
                        &context,
                        &oracle,
                        &consortium,
                        i,
                        keyring,
                        Application::new,
                        &Disk::of(i),
                    )
                    .await,
                );
            }
            wait_until(&context, LIMIT, "a few blocks", || height(&nodes[0]) >= 5).await;

            // member-a announces its next key, proved by it, signed by the current one.
            let old_key = consortium.keys[ROTATING].identity_key();
            let body = Body::RotateIdentity {
                identity_key: new_key.clone(),
                proof: rotation::prove_possession(&next.identity, &consortium.chain(), &old_key),
            };
            let rotation_tx = Tx::sign(
                &consortium.keys[ROTATING].identity,
                consortium.chain(),
                height(&nodes[ROTATING]) + 100,
                body,
            );
            let rotation_id = nodes[ROTATING]
                .ledger
                .submit(rotation_tx)
                .expect("the node admits the rotation");
            wait_until(&context, LIMIT, "the rotation", || {
                has_receipts(&nodes[0].ledger, &[rotation_id])
            })
            .await;
            assert_applied_ok(&nodes[0].ledger, &[rotation_id]);
            let sets = nodes[0].ledger.validator_sets().clone();
            let seated = || {
                (0..=sets.known_through()).find(|e| {
                    sets.set(*e)
                        .is_some_and(|set| set.position(&new_key).is_some())
                })
            };
            wait_until(&context, LIMIT, "the new key's set", || seated().is_some()).await;
            let effect = seated().expect("the new key is seated");
            eprintln!("seed {seed}: member-a's new key validates from epoch {effect}");

            // Load from member-b and member-c every 200 ms throughout; member-a's node
            // restarts under its new key when it applies the end of epoch effect − 1.
            let org = org_name(&consortium, ROTATING);
            let mut old_session = None;
            let target = epochs.last(effect) + 10;
            let start = context.current();
            let mut rise = (start, height(&nodes[0]));
            let mut ids = Vec::new();
            let mut n = 0;
            while height(&nodes[0]) < target {
                assert!(
                    context.current().duration_since(start).unwrap_or_default() < LIMIT * 2,
                    "height {} of {target}",
                    height(&nodes[0])
                );
                let provider = 2 + (n % 2) as usize;
                let ledger = &nodes[provider].ledger;
                let tx = consortium.record_tx(provider, ledger.head().height, n);
                ids.push(ledger.submit(tx).expect("member-b's or member-c's record"));
                n += 1;
                context.sleep(Duration::from_millis(200)).await;
                if old_session.is_none() {
                    let node = &nodes[ROTATING];
                    let due = identity::rekey_due(&node.ledger, &org, &node.keys, &old_key)
                        .now_or_never();
                    if let Some(due) = due {
                        let due = due.expect("an in-memory keyring");
                        assert_eq!(due.key(), new_key);
                        assert!(due.promoted, "the keyring promoted the next secret");
                        assert_eq!(node.keys.current().identity_key(), new_key);
                        let rotated = epochs.of(height(node) + 1);
                        assert_eq!(rotated, effect, "rekeyed at the boundary");
                        let old = nodes.remove(ROTATING);
                        let (keys, gate) = (old.keys.clone(), old.vote_gate.clone());
                        old.crash().await;
                        context.sleep(Duration::from_millis(500)).await;
                        let restarted = start_node_keyed(
                            &context,
                            &oracle,
                            &consortium,
                            ROTATING,
                            keys,
                            Application::new,
                            &Disk::of(ROTATING),
                        )
                        .await;
                        nodes.insert(ROTATING, restarted);
                        old_session = Some(gate);
                    }
                }
                let h = height(&nodes[0]);
                if h > rise.1 {
                    rise = (context.current(), h);
                }
                let still = context.current().duration_since(rise.0).unwrap_or_default();
                assert!(
                    still < Duration::from_secs(15),
                    "stood still {still:?} at {h}"
                );
            }
            let old_gate = old_session.expect("member-a's node restarted under its new key");
            wait_applied_everywhere(&context, &nodes, &ids, LIMIT, "the load").await;
            assert_applied_ok(&nodes[0].ledger, &ids);

            // The old key voted up to the boundary, the new one from it.
            let old_signed = old_gate.highest_signed().expect("the old key voted");
            assert!(
                old_signed.epoch().get() < effect,
                "the old key signed {old_signed:?}, the new key's first epoch is {effect}"
            );
            let new_gate = &nodes[ROTATING].vote_gate;
            let first = new_gate.first_signed().expect("the new key votes");
            assert!(first.epoch().get() >= effect, "{first:?}");

            // member-a's records now carry the new key and apply.
            let mine: Vec<_> = (0..3)
                .map(|i| {
                    let tx = record_of_a(&consortium, &nodes[ROTATING], i);
                    assert_eq!(tx.signer, new_key);
                    nodes[ROTATING].ledger.submit(tx).expect("admitted")
                })
                .collect();
            wait_applied_everywhere(&context, &nodes, &mine, LIMIT, "member-a's records").await;
            assert_applied_ok(&nodes[0].ledger, &mine);

            // member-b's disk is wiped: its node syncs from genesis, verifying every certificate
            // of both keys' epochs and re-applying every tx, and reaches the others' state.
            nodes.remove(WIPED).crash().await;
            let wiped = start_node_on(
                &context,
                &oracle,
                &consortium,
                WIPED,
                Application::new,
                &Disk::replaced(WIPED, 1),
            )
            .await;
            let tip = height(&nodes[0]);
            nodes.insert(WIPED, wiped);
            // The three others finalize meanwhile (member-a under its new key).
            ids = (0..3)
                .map(|i| {
                    let ledger = &nodes[3].ledger;
                    let tx = consortium.record_tx(3, ledger.head().height, 10_000 + i);
                    ledger.submit(tx).expect("member-c's record")
                })
                .collect();
            wait_until(&context, LIMIT, "the wiped node to sync", || {
                height(&nodes[WIPED]) > tip + 5
            })
            .await;
            wait_applied_everywhere(&context, &nodes, &ids, LIMIT, "the last load").await;
            assert_agree(&nodes.iter().map(|n| n.ledger.as_ref()).collect::<Vec<_>>());
            assert_running_and_stop(nodes, "after the rotation").await;
        });
    });
}
