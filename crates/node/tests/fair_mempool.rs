//! A fair mempool (DESIGN §7.2), on the deterministic runtime: a member that floods its node
//! with valid txs, as fast as the node takes them, fills only its own share of every mempool;
//! the other members' txs, sent to the same node meanwhile, are admitted and finalized on every
//! node within a bound of simulated time, and the nodes agree. `CUSTODIA_SEED=N` replays one
//! seed; `CUSTODIA_SOAK_SEEDS=N` runs N more.

mod common;

use common::*;
use commonware_runtime::{Clock as _, Runner as _, Spawner as _, Supervisor as _};
use custodia_node::{
    application::Application,
    mempool::{AdmitError, MempoolLimits},
};
use custodia_protocol::Digest;
use std::{sync::Arc, time::Duration};

/// Bounds of every node's mempool: 4 organisations, so 25 txs each.
const LIMITS: MempoolLimits = MempoolLimits {
    max_txs: 100,
    max_bytes: 512 << 20,
};
/// The flooding member (member-a) and the honest members whose txs must get through.
const FLOODER: usize = 1;
const HONEST: [usize; 2] = [2, 3];
/// How long the honest txs may take to be finalized everywhere, in simulated time.
const BOUND: Duration = Duration::from_secs(30);

#[test]
fn a_member_flooding_its_node_fills_only_its_share_and_the_others_are_finalized() {
    for_seeds(&soak_seeds(&(1..=10).collect::<Vec<_>>()), |seed| {
        runner(seed, Duration::from_secs(300)).start(|context| async move {
            let consortium = Arc::new(Consortium::new());
            let oracle = network(&context, consortium.public_keys(), RELIABLE).await;
            let mut nodes = Vec::new();
            for i in 0..VALIDATORS {
                let disk = Disk {
                    mempool: LIMITS,
                    ..Disk::of(i)
                };
                nodes.push(
                    start_node_on(&context, &oracle, &consortium, i, Application::new, &disk).await,
                );
            }
            let target = nodes[FLOODER].ledger.clone();
            let share = LIMITS.max_txs / VALIDATORS;

            // The flood: member-a's records, until its share is full.
            let mut n = 0u64;
            let refused = loop {
                let tx = consortium.record_tx(FLOODER, target.head().height, n);
                match target.submit(tx) {
                    Ok(_) => n += 1,
                    Err(err) => break err,
                }
            };
            assert_eq!(n as usize, share, "member-a held {n} txs: {refused}");
            assert!(matches!(refused, AdmitError::ShareFull { .. }), "{refused}");
            assert!(
                refused.to_string().starts_with("mempool full for member-a"),
                "{refused}"
            );

            // It goes on flooding, as fast as the node takes its txs, while the others submit.
            let flooding = {
                let (ledger, consortium) = (target.clone(), consortium.clone());
                context.child("flooder").spawn(move |context| async move {
                    let mut n = 1_000_000u64;
                    loop {
                        for _ in 0..10 {
                            let tx = consortium.record_tx(FLOODER, ledger.head().height, n);
                            let _ = ledger.submit(tx);
                            n += 1;
                        }
                        context.sleep(Duration::from_millis(20)).await;
                    }
                })
            };
            let mut honest: Vec<Digest> = Vec::new();
            for k in 0..10u64 {
                for member in HONEST {
                    let tx = consortium.record_tx(member, target.head().height, 500 + k);
                    let id = target.submit(tx).unwrap_or_else(|err| {
                        panic!("member {member}'s tx refused during the flood: {err}")
                    });
                    honest.push(id);
                }
            }
            wait_applied_everywhere(
                &context,
                &nodes,
                &honest,
                BOUND,
                "the honest members' txs finalized everywhere during the flood",
            )
            .await;
            for node in &nodes {
                assert_applied_ok(&node.ledger, &honest);
            }
            flooding.abort();
            let ledgers: Vec<_> = nodes.iter().map(|n| n.ledger.as_ref()).collect();
            assert_agree(&ledgers);
            context.stop(0, None).await.ok();
        });
    });
}
