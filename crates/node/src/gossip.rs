//! Mempool gossip: txs this node's users submit go to every peer, so whichever validator leads
//! the next view can include them.
//!
//! Txs are sent in batches (one p2p message per [`FLUSH_INTERVAL`] or [`BATCH_BYTES`]) so the
//! per-message cost and the channel's rate quota are spent per batch, not per tx. A peer admits
//! each gossiped tx with the same checks as its API (signature and state precheck included) and
//! does not forward it: the origin sent it to everyone.

use crate::ledger::Ledger;
use commonware_codec::{Decode as _, EncodeSize, RangeCfg, Write};
use commonware_macros::select;
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::{Clock, Handle, Spawner, Supervisor};
use custodia_protocol::{Tx, TxCfg};
use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};
use tokio::sync::mpsc;
use tracing::{debug, warn};

/// Longest a submitted tx waits before its batch is sent.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(20);
/// A batch is sent as soon as it holds this many bytes.
pub const BATCH_BYTES: usize = 1 << 20;
/// Most txs in one gossip message.
pub const MAX_BATCH_TXS: usize = 10_000;

/// Gossips this node's txs and admits its peers'.
pub struct Gossip<E, S, R> {
    context: E,
    ledger: Arc<Ledger>,
    outbound: mpsc::UnboundedReceiver<Arc<Tx>>,
    sender: S,
    receiver: R,
    tx_cfg: TxCfg,
}

impl<E, S, R> Gossip<E, S, R>
where
    E: Spawner + Clock + Supervisor,
    S: Sender,
    R: Receiver<PublicKey = S::PublicKey>,
{
    /// Gossip over the `(sender, receiver)` channel; registers itself with `ledger`.
    pub fn new(context: E, ledger: Arc<Ledger>, (sender, receiver): (S, R)) -> Self {
        let (outbound_tx, outbound) = mpsc::unbounded_channel();
        ledger.set_gossip(outbound_tx);
        let tx_cfg = TxCfg::from(ledger.params());
        Self {
            context,
            ledger,
            outbound,
            sender,
            receiver,
            tx_cfg,
        }
    }

    /// Runs until the network or the ledger goes away.
    pub fn start(self) -> Handle<()> {
        let context = self.context.child("run");
        context.spawn(move |_| self.run())
    }

    async fn run(mut self) {
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
                    let range = RangeCfg::from(0..=MAX_BATCH_TXS);
                    let txs = match Vec::<Tx>::decode_cfg(message, &(range, self.tx_cfg)) {
                        Ok(txs) => txs,
                        Err(err) => {
                            warn!(%peer, %err, "dropping a malformed gossip message");
                            continue;
                        }
                    };
                    let mut admitted = 0usize;
                    for result in self.ledger.admit_gossiped(txs) {
                        match result {
                            Ok(_) => admitted += 1,
                            Err(err) => debug!(%peer, %err, "gossiped tx not admitted"),
                        }
                    }
                    debug!(%peer, admitted, "admitted gossiped txs");
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
