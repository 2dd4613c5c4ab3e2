//! A deterministic simulation with one Byzantine validator among 4: it runs the real engine but
//! every block it proposes is corrupt in turn: invalid (a tx with a bad signature, a wrong
//! parent digest, more txs than `max_block_txs`) or full of txs that all fail their rules (a
//! valid block). The 3 honest validators must never finalize an invalid one, must give every tx
//! of a finalized block of failing txs a failed receipt, and must keep finalizing the honest txs.
//! A failure prints its seed; replay one with `CUSTODIA_SEED=<seed>`.

mod common;

use common::*;
use commonware_consensus::{
    Application as ConsensusApplication, marshal::ancestry::Ancestry, simplex::types::Context,
};
use commonware_cryptography::{Digested, Digestible, ed25519::PublicKey};
use commonware_runtime::{Clock, Runner as _, Spawner as _};
use custodia_node::{ChainBlock, GatedScheme, application::Application};
use custodia_protocol::{
    Block, Body, Digest, OrgKeys, Params, RequestId, Tx, hash::sha256, testing,
};
use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

/// The Byzantine validator (member-c).
const BYZANTINE: usize = 3;

/// How the Byzantine validator corrupts its proposals, in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Corruption {
    /// One tx's signature is another tx's.
    BadSignature,
    /// The parent digest is not the parent's.
    WrongParent,
    /// One tx more than `max_block_txs`.
    TooManyTxs,
    /// Only txs that pass every stateless check and fail their rules (cancels of requests that
    /// do not exist). Such a block is valid (DESIGN §4.8): it may be finalized, and then each of
    /// its txs has a failed receipt and changes nothing.
    FailingTxs,
}

impl Corruption {
    /// Whether honest validators must refuse the block.
    fn invalid(self) -> bool {
        self != Corruption::FailingTxs
    }
}

const CYCLE: [Corruption; 4] = [
    Corruption::BadSignature,
    Corruption::WrongParent,
    Corruption::TooManyTxs,
    Corruption::FailingTxs,
];

/// What the simulation saw, shared by every node's application.
#[derive(Default)]
struct Evidence {
    /// Every block any validator proposed, by digest (every finalized block is one of them).
    proposed: Mutex<HashMap<Digest, ChainBlock>>,
    /// The Byzantine proposals, in order.
    forged: Mutex<Vec<(Corruption, Digest)>>,
    /// Txs that only ever appeared in Byzantine proposals.
    forged_txs: Mutex<HashSet<Digest>>,
    /// The txs of the valid Byzantine blocks of failing txs.
    failing_txs: Mutex<HashSet<Digest>>,
}

impl Evidence {
    fn record(&self, block: &ChainBlock) {
        self.proposed
            .lock()
            .unwrap()
            .insert(block.digest(), block.clone());
    }
}

/// An honest validator's application that records its proposals.
#[derive(Clone)]
struct Recording {
    honest: Application,
    evidence: Arc<Evidence>,
}

impl<E: Clock + Send + Sync + 'static> ConsensusApplication<E> for Recording {
    type SigningScheme = GatedScheme;
    type Context = Context<Digest, PublicKey>;
    type Block = ChainBlock;
    type Input = ();

    async fn propose(
        &mut self,
        context: (E, Self::Context),
        ancestry: impl Ancestry<ChainBlock>,
        input: (),
    ) -> Option<Digested<ChainBlock>> {
        let block = self.honest.propose(context, ancestry, input).await?;
        self.evidence.record(block.inner());
        Some(block)
    }

    async fn verify(
        &mut self,
        context: (E, Self::Context),
        ancestry: impl Ancestry<ChainBlock>,
    ) -> bool {
        self.honest.verify(context, ancestry).await
    }
}

/// A Byzantine proposer: builds the honest block, then corrupts it. Votes honestly.
#[derive(Clone)]
struct Byzantine {
    honest: Application,
    evidence: Arc<Evidence>,
    keys: OrgKeys,
    supervisor: OrgKeys,
    chain: Digest,
    params: Params,
    proposals: Arc<AtomicUsize>,
}

impl Byzantine {
    /// A well-formed `SubmitRecord` signed by the Byzantine member, never gossiped.
    fn signed_tx(&self, height: u64) -> Tx {
        let fields = [("claim_no", serde_json::json!("forged"))];
        testing::submit_record(
            &self.chain,
            &self.keys,
            &self.supervisor,
            &fields,
            height + 10,
        )
        .1
    }

    fn corrupt(&self, corruption: Corruption, mut block: Block) -> Block {
        let mut forged_txs = self.evidence.forged_txs.lock().unwrap();
        match corruption {
            Corruption::BadSignature => {
                let mut tx = self.signed_tx(block.height);
                tx.signature = self.signed_tx(block.height).signature;
                assert!(!tx.verify_signature());
                if block.txs.len() as u64 >= self.params.max_block_txs {
                    block.txs.pop();
                }
                forged_txs.insert(tx.id());
                block.txs.push(tx);
            }
            Corruption::WrongParent => {
                block.parent = sha256(&[b"not the parent", &block.height.to_be_bytes()]);
            }
            Corruption::TooManyTxs => {
                while block.txs.len() as u64 <= self.params.max_block_txs {
                    let tx = self.signed_tx(block.height);
                    forged_txs.insert(tx.id());
                    block.txs.push(tx);
                }
            }
            Corruption::FailingTxs => {
                let mut failing = self.evidence.failing_txs.lock().unwrap();
                block.txs = (0..self.params.max_block_txs)
                    .map(|_| {
                        let tx = Tx::sign(
                            &self.keys.identity,
                            self.chain,
                            block.height + 10,
                            Body::Cancel {
                                request_id: RequestId::random(),
                            },
                        );
                        failing.insert(tx.id());
                        tx
                    })
                    .collect();
            }
        }
        block
    }
}

impl<E: Clock + Send + Sync + 'static> ConsensusApplication<E> for Byzantine {
    type SigningScheme = GatedScheme;
    type Context = Context<Digest, PublicKey>;
    type Block = ChainBlock;
    type Input = ();

    async fn propose(
        &mut self,
        context: (E, Self::Context),
        ancestry: impl Ancestry<ChainBlock>,
        input: (),
    ) -> Option<Digested<ChainBlock>> {
        let honest = self.honest.propose(context, ancestry, input).await?;
        let corruption = CYCLE[self.proposals.fetch_add(1, Ordering::SeqCst) % CYCLE.len()];
        let block = ChainBlock::new(self.corrupt(corruption, honest.inner().block().clone()));
        let digest = block.digest();
        self.evidence.record(&block);
        self.evidence
            .forged
            .lock()
            .unwrap()
            .push((corruption, digest));
        Some(Digested::precomputed(block, digest))
    }

    async fn verify(
        &mut self,
        context: (E, Self::Context),
        ancestry: impl Ancestry<ChainBlock>,
    ) -> bool {
        self.honest.verify(context, ancestry).await
    }
}

/// Asserts every block the honest `nodes` applied up to `height` is none of the Byzantine
/// proposals and is a valid child of the block before it (DESIGN §5.1 stateless rules).
fn assert_only_valid_blocks(
    nodes: &[SimNode],
    evidence: &Evidence,
    chain: Digest,
    params: &Params,
    height: u64,
) {
    let forged: HashSet<Digest> = evidence
        .forged
        .lock()
        .unwrap()
        .iter()
        .filter(|(corruption, _)| corruption.invalid())
        .map(|(_, digest)| *digest)
        .collect();
    let proposed = evidence.proposed.lock().unwrap();
    for (i, node) in nodes.iter().enumerate() {
        let state = node.ledger.state();
        let queries = state.queries();
        let mut parent = ChainBlock::genesis(chain);
        for h in 1..=height {
            let row = queries.block(h).unwrap().expect("block applied");
            assert!(
                !forged.contains(&row.digest),
                "node {i} finalized a Byzantine block at height {h}"
            );
            let block = proposed
                .get(&row.digest)
                .expect("every finalized block was proposed by a validator");
            assert_eq!(row.parent, parent.digest());
            assert_eq!(block.number(), h);
            assert_eq!(block.tx_ids().len() as u64, row.tx_count);
            block
                .block()
                .check_stateless(
                    &chain,
                    params,
                    &parent.digest(),
                    parent.number(),
                    parent.timestamp_ms(),
                    block.timestamp_ms(),
                    0,
                )
                .unwrap_or_else(|err| panic!("node {i}: finalized block {h}: {err}"));
            parent = block.clone();
        }
    }
}

#[test]
fn a_byzantine_proposer_never_gets_an_invalid_block_finalized() {
    for_seeds(&[41, 42, 43], |seed| {
        runner(seed, Duration::from_secs(900)).start(|context| async move {
            // A small tx limit, so an oversized block is cheap to build.
            let params = Params {
                max_block_txs: 8,
                ..Params::default()
            };
            params.validate().expect("valid test params");
            let consortium = Consortium::with_params(params);
            let chain = consortium.chain();
            let oracle = network(&context, consortium.public_keys(), RELIABLE).await;
            let evidence = Arc::new(Evidence::default());
            let mut nodes = Vec::new();
            for i in 0..VALIDATORS {
                let evidence = evidence.clone();
                let node = if i == BYZANTINE {
                    let byzantine = |ledger| Byzantine {
                        honest: Application::new(ledger),
                        evidence,
                        keys: consortium.keys[i].clone(),
                        supervisor: consortium.keys[0].clone(),
                        chain,
                        params,
                        proposals: Arc::new(AtomicUsize::new(0)),
                    };
                    start_node_with(&context, &oracle, &consortium, i, byzantine).await
                } else {
                    let recording = |ledger| Recording {
                        honest: Application::new(ledger),
                        evidence,
                    };
                    start_node_with(&context, &oracle, &consortium, i, recording).await
                };
                nodes.push(node);
            }
            let honest = &nodes[..BYZANTINE];
            let submit = |first: u64| -> Vec<Digest> {
                let mut ids = Vec::new();
                for (i, node) in honest.iter().enumerate() {
                    ids.extend(submit_records(
                        &consortium,
                        &node.ledger,
                        6,
                        first + i as u64 * 6,
                    ));
                }
                ids
            };

            // Honest txs go through while the Byzantine validator proposes every corruption
            // at least twice.
            let first = submit(0);
            wait_until(
                &context,
                Duration::from_secs(300),
                "honest txs applied and two rounds of Byzantine proposals",
                || {
                    honest.iter().all(|n| has_receipts(&n.ledger, &first))
                        && evidence.forged.lock().unwrap().len() >= 2 * CYCLE.len()
                },
            )
            .await;
            // The chain keeps finalizing afterwards.
            let second = submit(100);
            wait_until(
                &context,
                Duration::from_secs(300),
                "a second wave of honest txs applied",
                || honest.iter().all(|n| has_receipts(&n.ledger, &second)),
            )
            .await;

            let ledgers: Vec<_> = honest.iter().map(|n| n.ledger.as_ref()).collect();
            let height = assert_agree(&ledgers);
            for node in honest {
                assert_applied_ok(&node.ledger, &first);
                assert_applied_ok(&node.ledger, &second);
            }
            assert_only_valid_blocks(honest, &evidence, chain, &params, height);
            // No tx that only a Byzantine block carried was ever applied, on any node.
            let forged_txs: Vec<Digest> = evidence
                .forged_txs
                .lock()
                .unwrap()
                .iter()
                .copied()
                .collect();
            assert!(!forged_txs.is_empty());
            for node in &nodes {
                assert!(
                    receipts(&node.ledger, &forged_txs)
                        .iter()
                        .all(Option::is_none)
                );
            }
            let kinds: HashSet<Corruption> = evidence
                .forged
                .lock()
                .unwrap()
                .iter()
                .map(|(kind, _)| *kind)
                .collect();
            assert_eq!(kinds.len(), CYCLE.len(), "{kinds:?}");
            // The blocks of failing txs that were finalized: every tx failed and changed nothing
            // (the honest nodes agree on the state, checked above).
            let failing: Vec<Digest> = evidence
                .failing_txs
                .lock()
                .unwrap()
                .iter()
                .copied()
                .collect();
            for node in honest {
                for receipt in receipts(&node.ledger, &failing).into_iter().flatten() {
                    assert_eq!(receipt.code, "request_not_found", "{receipt:?}");
                }
            }
            context.stop(0, None).await.ok();
        });
    });
}
