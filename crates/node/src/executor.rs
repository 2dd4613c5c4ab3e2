//! The executor: applies each finalized block exactly once through `custodia-state`.
//!
//! Marshal delivers finalized blocks in height order, at least once. The executor skips heights
//! it already applied, fills a gap from marshal's archive (the state can trail marshal after a
//! power loss, since SQLite runs with `synchronous = NORMAL`), acknowledges marshal only after
//! the SQLite commit, and then publishes the block on the ledger's feed.

use crate::{
    block::ChainBlock,
    ledger::{Executed, Head, Ledger},
    metrics::NodeMetrics,
    vote_gate::{GatedScheme as Scheme, VoteGate},
};
use commonware_actor::Feedback;
use commonware_consensus::{
    Reporter,
    marshal::{Update, core::Mailbox, standard::Standard},
    types::Height,
};
use commonware_cryptography::Digestible;
use commonware_runtime::{Clock, Handle, Spawner, Supervisor, telemetry::metrics::GaugeExt as _};
use commonware_utils::Acknowledgement;
use custodia_state::StateError;
use std::{sync::Arc, time::Duration};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

/// How long the executor waits before retrying a block it could not apply.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// Attempts at a block whose apply fails in SQLite (busy, a full disk, an I/O error) before the
/// executor halts: a fault that lasts this long needs the operator.
const MAX_SQLITE_ATTEMPTS: u32 = 30;

/// Why the executor stopped applying blocks (DESIGN §7.5): the node stops with it.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot apply finalized block {height} after {attempts} attempt(s): {source}; the state \
     database does not match the chain (restored from another node or damaged?): stop the node \
     and rebuild the state with `custodia node --reindex` (docs/OPERATIONS.md)"
)]
pub struct ExecutorHalt {
    /// The block that could not be applied.
    pub height: u64,
    /// How many times it was tried.
    pub attempts: u32,
    /// The last error.
    #[source]
    pub source: StateError,
}

/// Whether another attempt at a failed apply can succeed: a gap waits for marshal, and SQLite
/// may recover (a while); a block that does not follow the state, or a state that is not what
/// this version wrote, fails the same way every time.
fn worth_retrying(err: &StateError, attempts: u32) -> bool {
    match err {
        StateError::HeightGap { .. } => true,
        StateError::Sqlite(_) => attempts < MAX_SQLITE_ATTEMPTS,
        _ => false,
    }
}

/// The executor's mailbox: marshal reports finalized blocks here.
#[derive(Clone)]
pub struct ExecutorMailbox {
    sender: mpsc::UnboundedSender<Update<ChainBlock>>,
}

impl Reporter for ExecutorMailbox {
    type Activity = Update<ChainBlock>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        // Marshal bounds how many blocks await an acknowledgement, so this queue is bounded too.
        match self.sender.send(activity) {
            Ok(()) => Feedback::Ok,
            Err(_) => Feedback::Closed,
        }
    }
}

/// Applies finalized blocks.
pub struct Executor<E> {
    context: E,
    ledger: Arc<Ledger>,
    marshal: Mailbox<Scheme, Standard<ChainBlock>>,
    metrics: NodeMetrics,
    vote_gate: Arc<VoteGate>,
    updates: mpsc::UnboundedReceiver<Update<ChainBlock>>,
    halted: Arc<std::sync::OnceLock<String>>,
}

impl<E: Spawner + Clock + Supervisor> Executor<E> {
    /// An executor over `ledger`, and the mailbox marshal reports to.
    pub fn new(
        context: E,
        ledger: Arc<Ledger>,
        marshal: Mailbox<Scheme, Standard<ChainBlock>>,
        metrics: NodeMetrics,
        vote_gate: Arc<VoteGate>,
    ) -> (Self, ExecutorMailbox) {
        let (sender, updates) = mpsc::unbounded_channel();
        (
            Self {
                context,
                ledger,
                marshal,
                metrics,
                vote_gate,
                updates,
                halted: Arc::default(),
            },
            ExecutorMailbox { sender },
        )
    }

    /// Where the executor writes why it halted, before it stops: the parts that stop because it
    /// did (marshal, whose reporter it was) may be seen to stop first.
    pub fn halted(&self) -> Arc<std::sync::OnceLock<String>> {
        self.halted.clone()
    }

    /// Runs the executor until marshal goes away, or until a block cannot be applied.
    pub fn start(self) -> Handle<Result<(), ExecutorHalt>> {
        // SQLite commits block the thread: give the executor its own where the runtime can.
        let context = self.context.child("run").dedicated();
        context.spawn(move |_| self.run())
    }

    async fn run(mut self) -> Result<(), ExecutorHalt> {
        self.catch_up().await?;
        while let Some(update) = self.updates.recv().await {
            match update {
                Update::Tip(_, height, _) => {
                    let _ = self.metrics.finalized_height.try_set(height.get());
                }
                Update::Block(block, ack) => {
                    let block = block.inner().clone();
                    // Never acknowledge a block that is not durably applied.
                    let mut attempts = 0;
                    while let Err(err) = self.execute(&block).await {
                        attempts += 1;
                        self.failed(block.number(), attempts, err).await?;
                    }
                    ack.acknowledge();
                    self.open_vote_gate(&block).await;
                }
            }
        }
        Ok(())
    }

    /// Counts a failed apply of block `height`, then waits to retry it, or halts the executor
    /// (logged, `executor_halted` = 1) when no retry can succeed.
    async fn failed(
        &mut self,
        height: u64,
        attempts: u32,
        err: StateError,
    ) -> Result<(), ExecutorHalt> {
        self.metrics.apply_errors.inc();
        if worth_retrying(&err, attempts) {
            warn!(height, attempts, %err, "cannot apply finalized block; retrying");
            self.context.sleep(RETRY_DELAY).await;
            return Ok(());
        }
        let halt = ExecutorHalt {
            height,
            attempts,
            source: err,
        };
        let _ = self.metrics.executor_halted.try_set(1);
        error!(%halt, "the executor halts");
        let _ = self.halted.set(format!("the executor halted: {halt}"));
        Err(halt)
    }

    /// Opens a closed vote gate once `block` (finalized) was proposed after every view this
    /// node may have voted in before it lost its journal: votes resume above its view.
    async fn open_vote_gate(&mut self, block: &ChainBlock) {
        let Some(after_ms) = self.vote_gate.opens_after_ms() else {
            return;
        };
        if block.timestamp_ms() <= after_ms {
            return;
        }
        let Some(finalization) = self
            .marshal
            .get_finalization(Height::new(block.number()))
            .await
        else {
            return;
        };
        let round = finalization.proposal.round;
        self.vote_gate.open_above(round);
        self.metrics.set_vote_gate(&self.vote_gate);
        info!(
            height = block.number(),
            epoch = round.epoch().get(),
            view = round.view().get(),
            "synced past every round this node may have voted in before: voting again"
        );
    }

    /// Replays, from marshal's archive, the blocks marshal already processed but the state
    /// lacks: after `--reindex` (the state starts empty) or a power loss (SQLite's last commits
    /// lost). Marshal only delivers blocks above its processed height, so without this the
    /// state would wait for the next finalized block to notice the gap.
    async fn catch_up(&mut self) -> Result<(), ExecutorHalt> {
        let Some(processed) = self.marshal.get_processed().await else {
            return Ok(());
        };
        let target = processed.height().get();
        let from = self.ledger.head().height;
        if target <= from {
            return Ok(());
        }
        info!(from, target, "replaying finalized blocks from the archive");
        for height in from + 1..=target {
            let Some(block) = self.marshal.get_block(Height::new(height)).await else {
                warn!(
                    height,
                    "block missing from the archive; waiting for marshal"
                );
                return Ok(());
            };
            let mut attempts = 0;
            while let Err(err) = self.apply(block.inner()) {
                attempts += 1;
                self.failed(height, attempts, err).await?;
            }
        }
        info!(height = target, "state caught up with the archive");
        Ok(())
    }

    /// Applies `block` after any height the state misses below it.
    async fn execute(&mut self, block: &ChainBlock) -> Result<(), StateError> {
        let applied = self.ledger.head().height;
        if block.number() <= applied {
            // Delivered again after a restart: check it is the block we applied.
            return self.apply(block).map(|_| ());
        }
        for height in applied + 1..block.number() {
            let Some(missing) = self.marshal.get_block(Height::new(height)).await else {
                return Err(StateError::HeightGap {
                    last: self.ledger.head().height,
                    found: block.number(),
                });
            };
            warn!(height, "replaying a finalized block the state missed");
            self.apply(missing.inner())?;
        }
        self.apply(block)
    }

    /// Applies one block (a no-op for a height already applied).
    fn apply(&mut self, block: &ChainBlock) -> Result<(), StateError> {
        let applied = self
            .ledger
            .state()
            .apply_identified(block.block(), block.tx_ids())?;
        let Some(applied) = applied else {
            return Ok(());
        };
        let failed = applied.receipts.iter().filter(|r| !r.is_ok()).count();
        for receipt in applied.receipts.iter().filter(|r| !r.is_ok()) {
            self.metrics.failed_receipt(&receipt.code);
        }
        self.metrics
            .finalized_txs
            .inc_by(applied.receipts.len() as u64);
        let _ = self.metrics.applied_height.try_set(applied.height);
        let now_ms = crate::application::now_ms(&self.context);
        self.metrics
            .finalization_latency
            .observe(now_ms.saturating_sub(block.timestamp_ms()) as f64 / 1000.0);
        info!(
            height = applied.height,
            txs = applied.receipts.len(),
            failed,
            commitment = %applied.state_commitment,
            "applied block"
        );
        let head = Head {
            height: applied.height,
            digest: block.digest(),
            timestamp_ms: block.timestamp_ms(),
            state_commitment: applied.state_commitment,
        };
        let executed = Executed {
            height: applied.height,
            digest: applied.digest,
            timestamp_ms: block.timestamp_ms(),
            state_commitment: applied.state_commitment,
            receipts: applied.receipts,
            events: applied.events,
        };
        self.ledger.applied(head, block.tx_ids(), executed);
        Ok(())
    }
}
