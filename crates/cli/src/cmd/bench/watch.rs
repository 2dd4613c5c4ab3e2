//! Follows one node's event stream and times what the bench waits for: the bench's txs
//! (submit → applied), blocks (count and size), and share requests (request → delivered).
//!
//! When the node drops events because the bench read too slowly, the missed blocks are read
//! back with `GET /v1/blocks/{height}`: their txs count as applied when read, a little late,
//! never early.

use anyhow::{Result, anyhow};
use custodia_client::{Client, Event, Receipt, RequestId};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};
use tokio::sync::{Notify, Semaphore};

/// A tx id (SHA-256 of its encoding).
pub type TxId = [u8; 32];

/// What the watcher saw; shared with the submitters and the share phase.
#[derive(Default)]
pub struct Seen {
    /// Bench txs sent and not yet applied, with when they were (last) sent.
    sent: HashMap<TxId, Instant>,
    /// Per applied bench tx: when, and how long after it was sent.
    pub applied: Vec<(Instant, Duration)>,
    /// Bench txs whose receipt failed, by code.
    pub failed: HashMap<String, u64>,
    /// Per applied block: when, and how many txs (the bench's and the workers').
    pub blocks: Vec<(Instant, usize)>,
    /// Share requests waiting for their delivery, with when they were sent.
    requests: HashMap<RequestId, Instant>,
    /// Deliveries seen before their request was noted (the call that created it had not
    /// returned yet).
    early: HashMap<RequestId, Instant>,
    /// Request → delivered latencies.
    pub delivered: Vec<Duration>,
    /// The supervisor's verdicts (`attest_record` receipts that applied) seen.
    pub verdicts: u64,
    /// Height of the last block seen.
    pub height: u64,
    /// Why the stream ended, if it did.
    pub broken: Option<String>,
}

/// The watcher's handle.
#[derive(Clone)]
pub struct Watch {
    seen: Arc<Mutex<Seen>>,
    /// Permits returned for each bench tx applied (or failed): the submitters' window.
    pub window: Arc<Semaphore>,
    /// Woken on each delivery.
    pub delivered: Arc<Notify>,
}

impl Watch {
    /// Opens `client`'s event stream and follows it in a task until the runtime stops.
    pub async fn start(client: Client, window: usize) -> Result<Self> {
        let height = client.status().await?.height;
        let mut stream = client.events().await?;
        let watch = Self {
            seen: Arc::new(Mutex::new(Seen {
                height,
                ..Seen::default()
            })),
            window: Arc::new(Semaphore::new(window)),
            delivered: Arc::new(Notify::new()),
        };
        let this = watch.clone();
        tokio::spawn(async move {
            let outcome: Result<()> = async {
                while let Some(event) = stream.next().await {
                    match event? {
                        Event::Block(block) => {
                            let missed = this.seen().height + 1..block.height;
                            for height in missed {
                                let old = client.block(height).await?;
                                this.on_block(old.height, &old.txs);
                            }
                            this.on_block(block.height, &block.txs);
                        }
                        Event::Chain(event) if event.kind == "request_delivered" => {
                            if let Some(id) = event.request_id {
                                this.on_delivered(id);
                            }
                        }
                        Event::Chain(_) | Event::Lagged(_) => {}
                    }
                }
                Err(anyhow!("the node closed its event stream"))
            }
            .await;
            if let Err(err) = outcome {
                this.seen().broken = Some(format!("{err:#}"));
                this.delivered.notify_waiters();
            }
        });
        Ok(watch)
    }

    /// The shared observations.
    pub fn seen(&self) -> MutexGuard<'_, Seen> {
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Notes that the bench txs `ids` were sent now.
    pub fn sent(&self, ids: &[TxId]) {
        let now = Instant::now();
        let mut seen = self.seen();
        for id in ids {
            seen.sent.insert(*id, now);
        }
    }

    /// Bench txs sent and not yet applied.
    pub fn outstanding(&self) -> usize {
        self.seen().sent.len()
    }

    /// Forgets bench txs the nodes refused for good (they will never apply).
    pub fn refused(&self, ids: &[TxId]) {
        let mut seen = self.seen();
        for id in ids {
            seen.sent.remove(id);
        }
        drop(seen);
        self.window.add_permits(ids.len());
    }

    /// Notes that share request `id` was sent at `at`.
    pub fn requested(&self, id: RequestId, at: Instant) {
        let mut seen = self.seen();
        match seen.early.remove(&id) {
            Some(done) => seen.delivered.push(done.duration_since(at)),
            None => {
                seen.requests.insert(id, at);
            }
        }
    }

    /// Whether share request `id` is still waiting for its delivery.
    pub fn awaiting(&self, id: &RequestId) -> bool {
        self.seen().requests.contains_key(id)
    }

    fn on_block(&self, height: u64, txs: &[Receipt]) {
        let now = Instant::now();
        let mut done = 0;
        let mut seen = self.seen();
        seen.height = seen.height.max(height);
        seen.blocks.push((now, txs.len()));
        for receipt in txs {
            if receipt.body == "attest_record" && receipt.is_ok() {
                seen.verdicts += 1;
            }
            let Some(id) = tx_id(&receipt.tx_id) else {
                continue;
            };
            let Some(sent) = seen.sent.remove(&id) else {
                continue;
            };
            done += 1;
            if receipt.is_ok() {
                seen.applied.push((now, now.duration_since(sent)));
            } else {
                *seen.failed.entry(receipt.code.clone()).or_default() += 1;
            }
        }
        drop(seen);
        self.window.add_permits(done);
    }

    fn on_delivered(&self, id: RequestId) {
        let now = Instant::now();
        let mut seen = self.seen();
        match seen.requests.remove(&id) {
            Some(sent) => seen.delivered.push(now.duration_since(sent)),
            None => {
                seen.early.insert(id, now);
            }
        }
        drop(seen);
        self.delivered.notify_waiters();
    }
}

fn tx_id(hex_id: &str) -> Option<TxId> {
    let mut id = [0u8; 32];
    hex::decode_to_slice(hex_id, &mut id).ok()?;
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(id: &TxId, code: &str) -> Receipt {
        Receipt {
            tx_id: hex::encode(id),
            height: 1,
            index: 0,
            signer: String::new(),
            body: "submit_record".into(),
            code: code.into(),
            message: String::new(),
        }
    }

    #[test]
    fn only_the_bench_txs_are_timed_and_their_permits_return() {
        let watch = Watch {
            seen: Arc::default(),
            window: Arc::new(Semaphore::new(0)),
            delivered: Arc::new(Notify::new()),
        };
        watch.sent(&[[1; 32], [2; 32]]);
        watch.on_block(5, &[receipt(&[1; 32], "ok"), receipt(&[9; 32], "ok")]);
        watch.on_block(6, &[receipt(&[2; 32], "duplicate_record")]);
        let mut verdict = receipt(&[8; 32], "ok");
        verdict.body = "attest_record".into();
        watch.on_block(7, &[verdict]);
        let seen = watch.seen();
        assert_eq!(seen.applied.len(), 1);
        assert_eq!(seen.failed.get("duplicate_record"), Some(&1));
        assert_eq!(seen.blocks.iter().map(|b| b.1).sum::<usize>(), 4);
        assert_eq!(seen.verdicts, 1);
        assert_eq!(seen.height, 7);
        assert_eq!(watch.window.available_permits(), 2);
    }
}
