//! Admission of gossiped txs (DESIGN §7.3), off the threads that run consensus.
//!
//! The receive loop only files each message in its peer's [`Inbox`] queue (at most
//! [`PEER_QUEUE_MESSAGES`]; a message over that is dropped unexamined). One admission task, on
//! a thread of its own ([`commonware_runtime::Spawner::dedicated`]), takes the queues in turn
//! — one message of each peer with work waiting — so one peer's flood delays another's txs by
//! at most one message. Each peer has a **budget** of txs examined: [`PEER_BUDGET_PER_SECOND`],
//! up to [`PEER_BUDGET_BURST`] at once; a peer over it waits, and while it waits its queue fills
//! and its further messages are dropped. A peer whose message shows a fault no honest peer can
//! make ([`Fault`]) is blocked through p2p's [`Blocker`], logged and counted, and what it had
//! queued is dropped.

use crate::{ledger::Ledger, p2p::BLOCK_DURATION};
use commonware_codec::{Decode as _, RangeCfg};
use commonware_cryptography::ed25519::PublicKey;
use commonware_p2p::Blocker;
use commonware_runtime::{Clock, IoBuf};
use custodia_protocol::{Tx, TxCfg};
use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
    task::Poll,
    time::{Duration, SystemTime},
};
use tokio::sync::Notify;
use tracing::{debug, warn};

use super::{BATCH_BYTES, MAX_BATCH_TXS};

/// Messages a peer may have waiting for admission; more are dropped.
pub const PEER_QUEUE_MESSAGES: usize = 4;
/// Txs of one peer's gossip a node examines per second, at most.
pub const PEER_BUDGET_PER_SECOND: usize = 10_000;
/// Txs of one peer's gossip a node examines at once, at most (two full batches).
pub const PEER_BUDGET_BURST: usize = 2 * MAX_BATCH_TXS;

/// Why a peer is blocked: what no honest peer sends (an honest node gossips only txs its own
/// admission took, in batches of at most [`BATCH_BYTES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The message is not a batch of txs under the chain's limits.
    Undecodable,
    /// The batch holds more than one tx and more than [`BATCH_BYTES`].
    Oversized,
    /// A tx fails a check that depends only on the tx and the genesis: its code
    /// (`bad_signature`, `wrong_chain`, `malformed_tx`, `too_large`).
    Tx(&'static str),
}

impl Fault {
    /// The label of `gossip_blocked_total`.
    pub fn label(self) -> &'static str {
        match self {
            Fault::Undecodable => "undecodable",
            Fault::Oversized => "oversized",
            Fault::Tx(code) => code,
        }
    }
}

/// The peers' queues of messages waiting for admission, shared by the receive loop and the
/// admission task.
pub struct Inbox<P = PublicKey> {
    queues: Mutex<Queues<P>>,
    work: Notify,
}

struct Queues<P> {
    waiting: BTreeMap<P, VecDeque<IoBuf>>,
    /// Peers blocked here, until when (the network's block lasts as long).
    blocked: HashMap<P, SystemTime>,
    /// The peer served last: the next turn goes to the one after it.
    last: Option<P>,
}

impl<P: Ord + Clone + std::hash::Hash> Inbox<P> {
    /// An empty inbox.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            queues: Mutex::new(Queues {
                waiting: BTreeMap::new(),
                blocked: HashMap::new(),
                last: None,
            }),
            work: Notify::new(),
        })
    }

    fn queues(&self) -> MutexGuard<'_, Queues<P>> {
        self.queues
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Files `message` from `peer`; false when it was dropped (the peer's queue is full, or
    /// the peer is blocked).
    pub fn file(&self, peer: P, message: IoBuf, now: SystemTime) -> bool {
        let mut queues = self.queues();
        if queues.blocked.get(&peer).is_some_and(|until| now < *until) {
            return false;
        }
        let queue = queues.waiting.entry(peer).or_default();
        if queue.len() >= PEER_QUEUE_MESSAGES {
            return false;
        }
        queue.push_back(message);
        drop(queues);
        self.work.notify_one();
        true
    }

    /// Blocks `peer` here until `until` and drops what it had queued; returns how many
    /// messages that was.
    fn block(&self, peer: &P, until: SystemTime) -> usize {
        let mut queues = self.queues();
        queues.blocked.insert(peer.clone(), until);
        queues.waiting.remove(peer).map_or(0, |queue| queue.len())
    }

    /// The next message to admit: the first of the next peer in turn (after the last served)
    /// with a message and budget left, or else the earliest time one will have budget.
    fn next(&self, budgets: &mut Budgets<P>, now: SystemTime) -> Next<P> {
        let mut queues = self.queues();
        queues.blocked.retain(|_, until| now < *until);
        let mut peers: Vec<P> = queues.waiting.keys().cloned().collect();
        if let Some(last) = &queues.last {
            let split = peers.partition_point(|peer| peer <= last);
            peers.rotate_left(split);
        }
        let mut wake: Option<SystemTime> = None;
        for peer in peers {
            match budgets.ready_at(&peer, now) {
                None => {
                    let queue = queues.waiting.get_mut(&peer).expect("listed peer");
                    let message = queue.pop_front().expect("queues are never empty");
                    if queue.is_empty() {
                        queues.waiting.remove(&peer);
                    }
                    queues.last = Some(peer.clone());
                    return Next::Message(peer, message);
                }
                Some(at) => wake = Some(wake.map_or(at, |w| w.min(at))),
            }
        }
        match wake {
            Some(at) => Next::Wait(at),
            None => Next::Idle,
        }
    }
}

enum Next<P> {
    Message(P, IoBuf),
    Wait(SystemTime),
    Idle,
}

/// Each peer's budget of txs examined: a token bucket that may go into debt by one message.
struct Budgets<P> {
    buckets: HashMap<P, (f64, SystemTime)>,
}

impl<P: Eq + Clone + std::hash::Hash> Budgets<P> {
    fn refill(&mut self, peer: &P, now: SystemTime) -> &mut f64 {
        let (tokens, at) = self
            .buckets
            .entry(peer.clone())
            .or_insert((PEER_BUDGET_BURST as f64, now));
        let elapsed = now.duration_since(*at).unwrap_or_default().as_secs_f64();
        *tokens = (*tokens + elapsed * PEER_BUDGET_PER_SECOND as f64).min(PEER_BUDGET_BURST as f64);
        *at = now;
        tokens
    }

    /// `None` when `peer` has budget now, else when it will have.
    fn ready_at(&mut self, peer: &P, now: SystemTime) -> Option<SystemTime> {
        let tokens = *self.refill(peer, now);
        if tokens > 0.0 {
            return None;
        }
        let wait = (1.0 - tokens) / PEER_BUDGET_PER_SECOND as f64;
        Some(now + Duration::from_secs_f64(wait))
    }

    fn charge(&mut self, peer: &P, txs: usize, now: SystemTime) {
        *self.refill(peer, now) -= txs.max(1) as f64;
    }
}

/// The admission task: runs until the inbox's receive loop is gone.
pub(crate) async fn run<E, B>(context: E, ledger: Arc<Ledger>, inbox: Arc<Inbox>, blocker: B)
where
    E: Clock,
    B: Blocker<PublicKey = PublicKey>,
{
    let mut admission = Admission {
        tx_cfg: TxCfg::from(ledger.params()),
        ledger,
        blocker,
        budgets: Budgets {
            buckets: HashMap::new(),
        },
    };
    loop {
        let now = context.current();
        match inbox.next(&mut admission.budgets, now) {
            Next::Message(peer, message) => {
                admission.admit(&inbox, peer, message, now);
                // Let the other tasks of a single-threaded runtime run between messages.
                yield_now().await;
            }
            Next::Wait(at) => {
                let notified = inbox.work.notified();
                futures::pin_mut!(notified);
                let sleep = context.sleep_until(at);
                futures::pin_mut!(sleep);
                futures::future::select(notified, sleep).await;
            }
            Next::Idle => inbox.work.notified().await,
        }
    }
}

struct Admission<B> {
    ledger: Arc<Ledger>,
    tx_cfg: TxCfg,
    blocker: B,
    budgets: Budgets<PublicKey>,
}

impl<B: Blocker<PublicKey = PublicKey>> Admission<B> {
    fn admit(&mut self, inbox: &Inbox, peer: PublicKey, message: IoBuf, now: SystemTime) {
        let name = self.name(&peer);
        let bytes = message.len();
        let range = RangeCfg::from(0..=MAX_BATCH_TXS);
        let txs = match Vec::<Tx>::decode_cfg(message, &(range, self.tx_cfg)) {
            Ok(txs) => txs,
            Err(err) => {
                self.budgets.charge(&peer, 1, now);
                self.count(&name, 0);
                warn!(peer = %name, %err, "undecodable gossip message");
                return self.block(inbox, peer, &name, Fault::Undecodable, now);
            }
        };
        self.budgets.charge(&peer, txs.len(), now);
        self.count(&name, txs.len());
        // An honest batch is flushed before it would pass BATCH_BYTES (DESIGN §7.3).
        if txs.len() > 1 && bytes > BATCH_BYTES + 5 {
            warn!(peer = %name, bytes, txs = txs.len(), "oversized gossip batch");
            return self.block(inbox, peer, &name, Fault::Oversized, now);
        }
        match self.ledger.admit_gossiped(txs) {
            Ok(results) => {
                let admitted = results.iter().filter(|r| r.is_ok()).count();
                for err in results.iter().filter_map(|r| r.as_ref().err()) {
                    debug!(peer = %name, %err, "gossiped tx not admitted");
                }
                debug!(peer = %name, admitted, txs = results.len(), "admitted gossiped txs");
            }
            Err(fault) => {
                warn!(peer = %name, %fault, "gossiped batch no honest node sends");
                self.block(inbox, peer, &name, Fault::Tx(fault.code()), now);
            }
        }
    }

    fn block(&mut self, inbox: &Inbox, peer: PublicKey, name: &str, fault: Fault, now: SystemTime) {
        let dropped = inbox.block(&peer, now + BLOCK_DURATION);
        if let Some(metrics) = self.ledger.metrics() {
            metrics.gossip_blocked(name, fault.label());
            metrics.gossip_dropped(name, dropped);
        }
        warn!(
            peer = %name,
            fault = fault.label(),
            dropped,
            minutes = BLOCK_DURATION.as_secs() / 60,
            "blocking a peer whose gossip no honest node sends"
        );
        let _ = self.blocker.block(peer);
    }

    fn count(&self, name: &str, txs: usize) {
        if let Some(metrics) = self.ledger.metrics() {
            metrics.gossip_txs(name, txs);
        }
    }

    fn name(&self, peer: &PublicKey) -> String {
        peer_name(&self.ledger, peer)
    }
}

/// The peer's organisation name (its key in hex if it is none).
pub fn peer_name(ledger: &Ledger, peer: &PublicKey) -> String {
    ledger
        .genesis()
        .orgs
        .iter()
        .find(|org| &org.identity_key == peer)
        .map(|org| org.name.clone())
        .unwrap_or_else(|| hex::encode(peer.as_ref()))
}

/// Returns once, after the task was rescheduled.
async fn yield_now() {
    let mut yielded = false;
    futures::future::poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}
