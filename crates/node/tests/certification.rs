//! The certified state commitment (DESIGN §5.9) on the deterministic runtime: the validators
//! certify every node's `C_h`, the certified height follows the head under load and across an
//! epoch boundary, and a node whose state was edited stops instead of serving it. A failure
//! prints its seed, `CUSTODIA_SEED=<seed>` replays one, `CUSTODIA_SOAK_SEEDS=N` runs N more.

mod common;

use common::*;
use commonware_runtime::{Clock as _, Runner as _};
use custodia_node::{Ledger, certify::verify_certificate, ledger::certificates_path};
use custodia_protocol::{Params, genesis::MIN_EPOCH_LENGTH};
use std::time::Duration;

fn short_epochs() -> Consortium {
    Consortium::with_params(Params {
        epoch_length: MIN_EPOCH_LENGTH,
        ..Params::default()
    })
}

/// Asserts `ledger`'s certificate of `height` certifies its own `C_height` under the validator
/// set of the certificate's epoch, signed by a quorum; returns that commitment.
fn assert_certified(ledger: &Ledger, height: u64) -> custodia_protocol::Digest {
    let row = ledger
        .certificates()
        .get(height)
        .expect("reads")
        .unwrap_or_else(|| panic!("no certificate of height {height}"));
    let own = ledger
        .state()
        .queries()
        .block(height)
        .expect("reads")
        .expect("applied")
        .state_commitment;
    assert_eq!(
        row.commitment, own,
        "the certificate of {height} is not C_{height}"
    );
    let set = ledger
        .validator_sets()
        .set(row.epoch)
        .expect("a known epoch");
    let signers = verify_certificate(&set, height, &own, &row.certificate)
        .unwrap_or_else(|e| panic!("the certificate of {height} does not verify: {e}"));
    assert!(signers.len() >= 3, "{} signers of 4", signers.len());
    own
}

#[test]
fn every_node_certifies_the_same_commitments_and_the_certified_height_follows_the_head() {
    for_seeds(&soak_seeds(&[1, 2, 3]), |seed| {
        runner(seed, Duration::from_secs(600)).start(|context| async move {
            let consortium = short_epochs();
            let oracle = network(&context, consortium.public_keys(), RELIABLE).await;
            let mut nodes = Vec::new();
            for i in 0..VALIDATORS {
                nodes.push(start_node(&context, &oracle, &consortium, i).await);
            }
            // Load through an epoch boundary (64 blocks): the sets of both epochs sign.
            let target = MIN_EPOCH_LENGTH + 8;
            let mut n = 0;
            wait_until(
                &context,
                Duration::from_secs(400),
                "certification past the boundary",
                || {
                    n += 1;
                    if n % 5 == 0 {
                        let node = &nodes[(n / 5) as usize % nodes.len()];
                        submit_records(&consortium, &node.ledger, 2, n);
                    }
                    nodes
                        .iter()
                        .all(|node| node.ledger.certified_height() >= target)
                },
            )
            .await;
            let ledgers: Vec<&Ledger> = nodes.iter().map(|n| n.ledger.as_ref()).collect();
            assert_agree(&ledgers);
            for height in [1, MIN_EPOCH_LENGTH - 1, MIN_EPOCH_LENGTH, target] {
                let commitments: Vec<_> = ledgers
                    .iter()
                    .filter(|ledger| ledger.certificates().get(height).expect("reads").is_some())
                    .map(|ledger| assert_certified(ledger, height))
                    .collect();
                assert!(
                    !commitments.is_empty(),
                    "no node holds a certificate of {height}"
                );
                assert!(commitments.windows(2).all(|w| w[0] == w[1]));
            }
            // The certified height keeps up with the head: within the engine's window.
            let head = nodes[0].ledger.head().height;
            context.sleep(Duration::from_secs(5)).await;
            assert!(
                nodes[0].ledger.certified_height() >= head,
                "certification lags the head"
            );
            assert_running_and_stop(nodes, "certification").await;
        });
    });
}

#[test]
fn a_node_whose_history_was_edited_stops_at_the_next_certified_block() {
    for_seeds(&soak_seeds(&[4, 5]), |seed| {
        runner(seed, Duration::from_secs(600)).start(|context| async move {
            let consortium = Consortium::new();
            let oracle = network(&context, consortium.public_keys(), RELIABLE).await;
            let mut nodes = Vec::new();
            for i in 0..VALIDATORS {
                nodes.push(start_node(&context, &oracle, &consortium, i).await);
            }
            let ids = submit_records(&consortium, &nodes[0].ledger, 5, 0);
            wait_applied_everywhere(&context, &nodes, &ids, Duration::from_secs(60), "records")
                .await;
            wait_until(&context, Duration::from_secs(60), "a certificate", || {
                nodes[3].ledger.certified_height() > 0
            })
            .await;
            // Node 3 crashes; someone edits the history its state keeps (every node of the
            // last block it wrote, the MMR's newest peak among them).
            let edited = nodes.pop().expect("four nodes");
            edited.crash().await;
            let state = consortium.dir.path().join(Disk::of(3).state_file);
            assert!(certificates_path(&state).exists());
            let db = rusqlite::Connection::open(&state).expect("opens");
            let changed = db
                .execute(
                    "UPDATE history_nodes SET nodes = randomblob(length(nodes))
                     WHERE first_pos = (SELECT max(first_pos) FROM history_nodes)",
                    [],
                )
                .expect("edits");
            assert_eq!(changed, 1);
            drop(db);
            // Restarted, it applies the next blocks to another history: the others' signed
            // commitments do not match its own, and it stops saying so.
            let restarted = start_node(&context, &oracle, &consortium, 3).await;
            let more = submit_records(&consortium, &nodes[0].ledger, 3, 100);
            let stopped = restarted.handle;
            let why = match futures::future::select(
                stopped,
                Box::pin(context.sleep(Duration::from_secs(120))),
            )
            .await
            {
                futures::future::Either::Left((Ok(result), _)) => result,
                futures::future::Either::Left((Err(err), _)) => panic!("the task failed: {err}"),
                futures::future::Either::Right(_) => panic!("the edited node is still running"),
            };
            let why = why
                .expect_err("the edited node stops with an error")
                .to_string();
            assert!(why.contains("its state is not the chain's"), "{why}");
            assert!(why.contains("--reindex"), "{why}");
            // The others go on.
            wait_applied_everywhere(&context, &nodes, &more, Duration::from_secs(60), "more").await;
            assert_running_and_stop(nodes, "one edited node").await;
        });
    });
}
