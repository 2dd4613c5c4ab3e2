//! What the aggregation engine signs (DESIGN §5.9): the automaton gives it this node's own
//! `C_h` once the executor has applied `h`, and the monitor tells it the node's epoch.

use crate::ledger::Ledger;
use commonware_consensus::{
    Automaton, IndexSubscription, Monitor,
    types::{Epoch, Height},
};
use commonware_utils::{
    NZUsize,
    channel::{oneshot, ring},
};
use custodia_protocol::Digest;
use std::sync::{Arc, Mutex};

/// This node's state commitments, in the order the executor applies blocks.
#[derive(Clone)]
pub struct Commitments {
    ledger: Arc<Ledger>,
}

impl Commitments {
    /// The commitments of `ledger`'s state.
    pub fn new(ledger: Arc<Ledger>) -> Self {
        Self { ledger }
    }

    /// This node's `C_height`, once it has applied `height` (waits until then); `None` if the
    /// ledger is gone or the state cannot say.
    pub async fn own(&self, height: u64) -> Option<Digest> {
        let mut heads = self.ledger.watch_head();
        loop {
            let head = *heads.borrow_and_update();
            if head.height == height {
                return Some(head.state_commitment);
            }
            if head.height > height {
                return self.applied(height);
            }
            heads.changed().await.ok()?;
        }
    }

    /// `C_height` of a height this node has applied.
    pub fn applied(&self, height: u64) -> Option<Digest> {
        let head = self.ledger.head();
        if head.height == height {
            return Some(head.state_commitment);
        }
        match self.ledger.query(|q| Ok(q.block(height)?)) {
            Ok(block) => block.map(|b| b.state_commitment),
            Err(err) => {
                tracing::error!(%err, height, "cannot read a block's state commitment");
                None
            }
        }
    }
}

impl Automaton for Commitments {
    type Context = Height;
    type Digest = Digest;

    async fn propose(&mut self, height: Height) -> oneshot::Receiver<Digest> {
        let (sender, receiver) = oneshot::channel();
        if let Some(commitment) = self.own(height.get()).await {
            let _ = sender.send(commitment);
        }
        receiver
    }

    async fn verify(&mut self, height: Height, payload: Digest) -> oneshot::Receiver<bool> {
        let (sender, receiver) = oneshot::channel();
        if let Some(commitment) = self.own(height.get()).await {
            let _ = sender.send(commitment == payload);
        }
        receiver
    }
}

/// The node's epoch, for the engine: `epoch(head + 1)`, as the orchestrator's.
#[derive(Clone)]
pub struct EpochMonitor {
    inner: Arc<Mutex<MonitorInner>>,
}

struct MonitorInner {
    epoch: u64,
    subscribers: Vec<ring::Sender<Epoch>>,
}

impl EpochMonitor {
    /// A monitor at `epoch`.
    pub fn new(epoch: u64) -> Self {
        Self {
            inner: Arc::new(Mutex::new(MonitorInner {
                epoch,
                subscribers: Vec::new(),
            })),
        }
    }

    /// Moves to `epoch` (never back).
    pub fn update(&self, epoch: u64) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if epoch <= inner.epoch {
            return;
        }
        inner.epoch = epoch;
        inner
            .subscribers
            .retain(|subscriber| subscriber.send_lossy(Epoch::new(epoch)));
    }
}

impl Monitor for EpochMonitor {
    type Index = Epoch;

    async fn subscribe(&mut self) -> (Epoch, IndexSubscription<Epoch>) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (sender, receiver) = ring::channel(NZUsize!(1));
        inner.subscribers.push(sender);
        (Epoch::new(inner.epoch), receiver)
    }
}
