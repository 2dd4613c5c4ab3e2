//! Running the aggregation engine (DESIGN §5.9). The pinned engine keeps one tip per validator
//! and requires every epoch's set to have the size of the first it saw (it panics on another:
//! `SafeTip::reconcile`); a consortium's set grows and shrinks with its members, so the node
//! runs one engine per stretch of epochs whose sets have one size, and starts the next on the
//! same journal when the size changes. The channel's messages go through a pump that gives the
//! watcher a copy of each and keeps the rest for whichever engine runs.

use super::{
    ACTIVITY_TIMEOUT, REBROADCAST, WINDOW,
    automaton::{Commitments, EpochMonitor},
    schemes::CommitmentSchemes,
    watch::CertificateReporter,
};
use commonware_consensus::{
    aggregation,
    types::{EpochDelta, HeightDelta},
};
use commonware_cryptography::{certificate::Scheme as _, ed25519::PublicKey};
use commonware_p2p::{Blocker, Message, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::{Clock, Handle, Metrics, Spawner, Storage, buffer::paged::CacheRef};
use commonware_utils::{NZU64, NZUsize, NonZeroDuration};
use rand::CryptoRng;
use std::{num::NonZeroUsize, sync::Arc};
use tokio::sync::{Mutex, mpsc};

/// The commitment channel's messages for the engine that runs, shared by successive engines.
#[derive(Debug, Clone)]
pub struct Inbox {
    queue: Arc<Mutex<mpsc::Receiver<Message<PublicKey>>>>,
    capacity: NonZeroUsize,
}

/// The pump stopped: the p2p channel closed.
#[derive(Debug, thiserror::Error)]
#[error("the commitment channel closed")]
pub struct Closed;

impl Receiver for Inbox {
    type Error = Closed;
    type PublicKey = PublicKey;

    async fn recv(&mut self) -> Result<Message<PublicKey>, Closed> {
        self.queue.lock().await.recv().await.ok_or(Closed)
    }

    fn capacity(&self) -> NonZeroUsize {
        self.capacity
    }
}

/// Reads `receiver` until it closes: a copy of each message to the watcher (dropped when its
/// queue is full), the message itself to the engine's inbox.
pub async fn pump<R: Receiver<PublicKey = PublicKey>>(
    mut receiver: R,
    inbox: mpsc::Sender<Message<PublicKey>>,
    copies: mpsc::Sender<Message<PublicKey>>,
) {
    while let Ok(message) = receiver.recv().await {
        let _ = copies.try_send(message.clone());
        if inbox.send(message).await.is_err() {
            return;
        }
    }
}

/// The channel's inbox over a pump reading `receiver`'s messages.
pub fn inbox<R: Receiver<PublicKey = PublicKey>>(
    receiver: &R,
) -> (Inbox, mpsc::Sender<Message<PublicKey>>) {
    let capacity = receiver.capacity();
    let (sender, queue) = mpsc::channel(capacity.get());
    (
        Inbox {
            queue: Arc::new(Mutex::new(queue)),
            capacity,
        },
        sender,
    )
}

/// One engine that runs: its monitor, and the size of its epochs' sets.
pub struct Running {
    /// The engine's task.
    pub handle: Handle<()>,
    /// Its epoch.
    pub monitor: EpochMonitor,
    /// The number of validators of its epochs.
    pub size: usize,
}

/// Starts engines.
pub struct Launcher<E, B, S> {
    pub(super) context: E,
    pub(super) schemes: CommitmentSchemes,
    pub(super) commitments: Commitments,
    pub(super) reporter: CertificateReporter,
    pub(super) blocker: B,
    pub(super) page_cache: CacheRef,
    pub(super) partition: String,
    pub(super) sender: S,
    pub(super) inbox: Inbox,
}

impl<E, B, S> Launcher<E, B, S>
where
    E: Spawner + Clock + Metrics + Storage + CryptoRng,
    B: Blocker<PublicKey = PublicKey> + Sync,
    S: Sender<PublicKey = PublicKey>,
{
    /// The size of `epoch`'s set (`None` if it is not known yet).
    pub fn size(&self, epoch: u64) -> Option<usize> {
        self.schemes
            .for_epoch(epoch)
            .map(|scheme| scheme.participants().len())
    }

    /// Starts an engine at `epoch` (whose set must be known).
    pub fn start(&self, epoch: u64) -> Option<Running> {
        let size = self.size(epoch)?;
        let monitor = EpochMonitor::new(epoch);
        let engine = aggregation::Engine::new(
            self.context.child("aggregation"),
            aggregation::Config {
                monitor: monitor.clone(),
                provider: self.schemes.clone(),
                automaton: self.commitments.clone(),
                reporter: self.reporter.clone(),
                blocker: self.blocker.clone(),
                priority_acks: false,
                rebroadcast_timeout: NonZeroDuration::new_panic(REBROADCAST),
                epoch_bounds: (EpochDelta::new(1), EpochDelta::new(1)),
                window: NZU64!(WINDOW),
                activity_timeout: HeightDelta::new(ACTIVITY_TIMEOUT),
                journal_partition: self.partition.clone(),
                journal_write_buffer: NZUsize!(1 << 16),
                journal_replay_buffer: NZUsize!(1 << 16),
                journal_heights_per_section: NZU64!(1_024),
                journal_compression: None,
                journal_page_cache: self.page_cache.clone(),
                strategy: Sequential,
            },
        );
        let handle = engine.start((self.sender.clone(), self.inbox.clone()));
        Some(Running {
            handle,
            monitor,
            size,
        })
    }
}
