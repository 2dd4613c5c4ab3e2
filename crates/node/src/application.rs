//! The application consensus drives: proposes blocks from the mempool and verifies the blocks
//! of others against every stateless rule of DESIGN §5.1–5.2. It only decides; the wiring is in
//! [`crate::engine`].

use crate::{block::ChainBlock, ledger::Ledger, vote_gate::GatedScheme};
use commonware_codec::EncodeSize;
use commonware_consensus::{
    Application as ConsensusApplication, Heightable, marshal::ancestry::Ancestry,
    simplex::types::Context,
};
use commonware_cryptography::{Digested, Digestible, ed25519::PublicKey};
use commonware_runtime::Clock;
use custodia_protocol::{Block, Digest, Tx};
use futures::StreamExt;
use std::{
    collections::HashSet,
    sync::Arc,
    time::{Duration, UNIX_EPOCH},
};
use tracing::{debug, warn};

/// How far into the future (by the verifier's clock) a block's timestamp may be.
pub const MAX_TIMESTAMP_DRIFT_MS: u64 = 10_000;

/// Bytes of a block that are not txs: parent, height, timestamp and the tx count's varint.
const BLOCK_HEADER_BYTES: usize = 32 + 8 + 8 + 5;

/// How many not-yet-applied ancestors a proposer looks through to avoid re-including their
/// txs. A tx included twice is harmless (the second copy gets a `duplicate_tx` receipt).
const MAX_PENDING_ANCESTORS: usize = 64;

/// How long a leader with an empty mempool waits for txs before proposing an empty block.
pub const EMPTY_BLOCK_WAIT: Duration = Duration::from_millis(500);
/// How often it looks at the mempool meanwhile.
const EMPTY_BLOCK_POLL: Duration = Duration::from_millis(10);

/// Proposes and verifies custodia blocks.
#[derive(Clone)]
pub struct Application {
    ledger: Arc<Ledger>,
}

impl Application {
    /// An application over `ledger`.
    pub fn new(ledger: Arc<Ledger>) -> Self {
        Self { ledger }
    }
}

/// Milliseconds since the Unix epoch on `clock`.
pub fn now_ms(clock: &impl Clock) -> u64 {
    clock
        .current()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl<E: Clock + Send + Sync + 'static> ConsensusApplication<E> for Application {
    type SigningScheme = GatedScheme;
    type Context = Context<Digest, PublicKey>;
    type Block = ChainBlock;
    type Input = ();

    async fn propose(
        &mut self,
        (runtime, _context): (E, Self::Context),
        mut ancestry: impl Ancestry<ChainBlock>,
        _input: (),
    ) -> Option<Digested<ChainBlock>> {
        let parent = ancestry.next().await?;
        let height = parent.height().get() + 1;

        // Txs of ancestors that are notarized but not yet applied are still in the mempool.
        let applied = self.ledger.head().height;
        let mut pending: HashSet<Digest> = HashSet::new();
        let mut ancestor = Some(parent.clone());
        for _ in 0..MAX_PENDING_ANCESTORS {
            let Some(block) = ancestor.take() else { break };
            if block.inner().number() <= applied {
                break;
            }
            pending.extend(block.inner().tx_ids().iter().copied());
            ancestor = ancestry.next().await;
        }

        let params = self.ledger.params();
        let max_txs = params.max_block_txs as usize;
        let max_bytes = (params.max_block_bytes as usize).saturating_sub(BLOCK_HEADER_BYTES);
        // An idle chain should not write dozens of empty blocks a second: with nothing to
        // include, wait a little for txs (well within the leader timeout) before proposing.
        let deadline = runtime.current() + EMPTY_BLOCK_WAIT;
        let txs: Vec<Tx> = loop {
            let txs =
                self.ledger
                    .mempool()
                    .select(height, max_txs, max_bytes, params.max_tx_ttl, |id| {
                        pending.contains(id)
                    });
            if !txs.is_empty() || runtime.current() >= deadline {
                break txs.into_iter().map(|tx| Tx::clone(&tx)).collect();
            }
            runtime.sleep(EMPTY_BLOCK_POLL).await;
        };
        let block = Block {
            parent: parent.digest(),
            height,
            timestamp_ms: now_ms(&runtime).max(parent.inner().timestamp_ms()),
            txs,
        };
        let block = ChainBlock::new(block);
        debug!(
            height,
            txs = block.tx_ids().len(),
            bytes = block.encode_size(),
            "proposing block"
        );
        let digest = block.digest();
        Some(Digested::precomputed(block, digest))
    }

    async fn verify(
        &mut self,
        (runtime, _context): (E, Self::Context),
        mut ancestry: impl Ancestry<ChainBlock>,
    ) -> bool {
        let (Some(block), Some(parent)) = (ancestry.next().await, ancestry.next().await) else {
            return false;
        };
        let verified = {
            let mempool = self.ledger.mempool();
            let ids = block.inner().tx_ids();
            let known: Vec<bool> = ids.iter().map(|id| mempool.contains(id)).collect();
            known
        };
        let result = block.inner().block().check_stateless_with(
            &self.ledger.chain(),
            self.ledger.params(),
            &parent.digest(),
            parent.inner().number(),
            parent.inner().timestamp_ms(),
            now_ms(&runtime),
            MAX_TIMESTAMP_DRIFT_MS,
            |i| verified[i],
        );
        match result {
            Ok(()) => true,
            Err(err) => {
                warn!(
                    height = block.inner().number(),
                    digest = %block.digest(),
                    %err,
                    "refusing to vote for an invalid block"
                );
                false
            }
        }
    }
}
