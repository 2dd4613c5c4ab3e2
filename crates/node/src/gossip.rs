//! Mempool gossip: txs this node's users submit go to every peer, so whichever validator leads
//! the next view can include them.
//!
//! Txs are sent in batches (one p2p message per [`FLUSH_INTERVAL`] or [`BATCH_BYTES`]) so the
//! per-message cost and the channel's rate quota are spent per batch, not per tx. A peer admits
//! each gossiped tx with the same checks as its API (signature and state precheck included),
//! in [`admission`] — off the consensus threads, within a budget per peer, blocking a peer that
//! sends what no honest node does — and does not forward it: the origin sent it to everyone.

pub mod admission;

use crate::ledger::Ledger;
use admission::Inbox;
pub use admission::{Fault, PEER_BUDGET_BURST, PEER_BUDGET_PER_SECOND, PEER_QUEUE_MESSAGES};
use commonware_codec::{EncodeSize, Write};
use commonware_cryptography::ed25519::PublicKey;
use commonware_macros::select;
use commonware_p2p::{Blocker, Receiver, Recipients, Sender};
use commonware_runtime::{Clock, Handle, Spawner, Supervisor};
use custodia_protocol::Tx;
use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};
use tokio::sync::mpsc;
use tracing::debug;

/// Longest a submitted tx waits before its batch is sent.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(20);
/// A batch is sent as soon as it holds this many bytes.
pub const BATCH_BYTES: usize = 1 << 20;
/// Most txs in one gossip message.
pub const MAX_BATCH_TXS: usize = 10_000;

/// Gossips this node's txs and admits its peers'.
pub struct Gossip<E, S, R, B> {
    context: E,
    ledger: Arc<Ledger>,
    outbound: mpsc::UnboundedReceiver<Arc<Tx>>,
    sender: S,
    receiver: R,
    blocker: B,
}

impl<E, S, R, B> Gossip<E, S, R, B>
where
    E: Spawner + Clock + Supervisor,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
{
    /// Gossip over the `(sender, receiver)` channel, blocking faulty peers with `blocker`;
    /// registers itself with `ledger`.
    pub fn new(context: E, ledger: Arc<Ledger>, (sender, receiver): (S, R), blocker: B) -> Self {
        let (outbound_tx, outbound) = mpsc::unbounded_channel();
        ledger.set_gossip(outbound_tx);
        Self {
            context,
            ledger,
            outbound,
            sender,
            receiver,
            blocker,
        }
    }

    /// Runs until the network or the ledger goes away; admission runs on a thread of its own
    /// and stops with it.
    pub fn start(self) -> Handle<()> {
        let context = self.context.child("run");
        context.spawn(move |context| async move {
            let inbox = Inbox::new();
            let admission = context.child("admission").dedicated().spawn({
                let ledger = self.ledger.clone();
                let inbox = inbox.clone();
                let blocker = self.blocker.clone();
                move |context| admission::run(context, ledger, inbox, blocker)
            });
            select! {
                _ = self.run(inbox) => {},
                _ = admission => {},
            }
        })
    }

    async fn run(mut self, inbox: Arc<Inbox<PublicKey>>) {
        let mut batch: Vec<Arc<Tx>> = Vec::new();
        let mut batch_bytes = 0usize;
        let mut deadline: Option<SystemTime> = None;
        loop {
            let flush_at = deadline;
            let timer = match flush_at {
                Some(at) => futures::future::Either::Left(self.context.sleep_until(at)),
                None => futures::future::Either::Right(futures::future::pending::<()>()),
            };
            select! {
                _ = timer => {
                    self.flush(&mut batch, &mut batch_bytes);
                    deadline = None;
                },
                tx = self.outbound.recv() => {
                    let Some(tx) = tx else { return };
                    let size = tx.encode_size();
                    if !batch.is_empty()
                        && (batch_bytes + size > BATCH_BYTES || batch.len() >= MAX_BATCH_TXS)
                    {
                        self.flush(&mut batch, &mut batch_bytes);
                        deadline = None;
                    }
                    batch_bytes += size;
                    batch.push(tx);
                    if deadline.is_none() {
                        deadline = Some(self.context.current() + FLUSH_INTERVAL);
                    }
                },
                message = self.receiver.recv() => {
                    let Ok((peer, message)) = message else { return };
                    if !inbox.file(peer.clone(), message, self.context.current()) {
                        let name = admission::peer_name(&self.ledger, &peer);
                        debug!(peer = %name, "gossip message dropped: over the peer's budget or blocked");
                        if let Some(metrics) = self.ledger.metrics() {
                            metrics.gossip_dropped(&name, 1);
                        }
                    }
                },
            }
        }
    }

    fn flush(&mut self, batch: &mut Vec<Arc<Tx>>, batch_bytes: &mut usize) {
        if batch.is_empty() {
            return;
        }
        let mut message = Vec::with_capacity(*batch_bytes + 5);
        batch.len().write(&mut message);
        for tx in batch.iter() {
            tx.write(&mut message);
        }
        let _ = self
            .sender
            .send(Recipients::All, bytes::Bytes::from(message), false);
        batch.clear();
        *batch_bytes = 0;
    }
}
