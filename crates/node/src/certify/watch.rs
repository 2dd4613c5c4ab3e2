//! The watcher (DESIGN §5.9): stores each certificate the aggregation engine forms, and stops
//! the node when the validators certified a commitment its own state does not have. Two ways
//! show it: a certificate of a height this node applied with another `C_h` (formed before this
//! node applied it), or a quorum of validly signed acks of a height for a `C_h` that is not this
//! node's (the engine drops those once it holds its own, so the watcher gets a copy of every
//! message of the channel and assembles that certificate itself).

use super::{
    Ack, CommitmentCertificate, automaton::Commitments, engine::Launcher,
    schemes::CommitmentSchemes,
};
use crate::{epoch::Epochs, ledger::Ledger};
use commonware_actor::Feedback;
use commonware_codec::DecodeExt as _;
use commonware_consensus::{
    Reporter,
    aggregation::types::{Activity, TipAck},
};
use commonware_cryptography::{certificate::Scheme as _, ed25519::PublicKey};
use commonware_p2p::{Blocker, Message, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::{Clock, Metrics, Spawner, Storage};
use commonware_utils::{N3f1, non_empty, ordered::Quorum as _};
use custodia_protocol::{Digest, hash::to_hex};
use custodia_state::CertificateRow;
use rand::CryptoRng;
use std::{collections::BTreeMap, sync::Arc};
use tokio::sync::mpsc;

/// Heights above the node's head whose acks the watcher keeps until it applies them.
const EARLY_HEIGHTS: u64 = 64;
/// Acks kept per early height (every validator's, a few times over).
const EARLY_ACKS_PER_HEIGHT: usize = 1_024;
/// Heights below the head whose conflicting acks are kept.
const CONFLICT_HEIGHTS: u64 = 256;
/// Tapped acks waiting for the watcher; more are dropped (the engine still gets every one).
pub(super) const TAP_CAPACITY: usize = 4_096;

/// What the watcher hears: a certificate formed by the engine.
#[derive(Clone)]
pub struct CertificateReporter {
    sender: mpsc::UnboundedSender<CommitmentCertificate>,
}

impl CertificateReporter {
    pub(super) fn new(sender: mpsc::UnboundedSender<CommitmentCertificate>) -> Self {
        Self { sender }
    }
}

impl Reporter for CertificateReporter {
    type Activity = Activity<super::CommitmentScheme, Digest>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        let Activity::Certified(certificate) = activity else {
            return Feedback::Ok;
        };
        match self.sender.send(certificate) {
            Ok(()) => Feedback::Ok,
            Err(_) => Feedback::Closed,
        }
    }
}

/// Why the watcher stopped the node.
pub type Halt = String;

/// The watcher's state.
pub struct Watcher<R> {
    pub(super) ledger: Arc<Ledger>,
    pub(super) commitments: Commitments,
    pub(super) schemes: CommitmentSchemes,
    pub(super) epochs: Epochs,
    pub(super) rng: R,
    /// Certificates of heights this node has not applied yet.
    pub(super) ahead: BTreeMap<u64, CommitmentCertificate>,
    /// Acks of heights this node has not applied yet.
    pub(super) early: BTreeMap<u64, Vec<(PublicKey, Ack)>>,
    /// Validly signed acks of a commitment other than this node's, by height: at most one per
    /// signer and epoch (a validator that signs two commitments of one height gains nothing
    /// but memory from the second, so it is not kept).
    pub(super) conflicting: BTreeMap<u64, Vec<Ack>>,
    /// This node's commitments of the last heights, so that an ack is compared without a read
    /// of the state.
    pub(super) recent: BTreeMap<u64, Digest>,
}

impl<R: CryptoRng + Send> Watcher<R> {
    /// Runs the engines `launcher` starts until the node's state disagrees with the
    /// validators' (returns why) or a part stops.
    pub async fn run<E, B, S>(
        mut self,
        launcher: Launcher<E, B, S>,
        mut certified: mpsc::UnboundedReceiver<CommitmentCertificate>,
        mut copies: mpsc::Receiver<Message<PublicKey>>,
    ) -> Halt
    where
        E: Spawner + Clock + Metrics + Storage + CryptoRng,
        B: Blocker<PublicKey = PublicKey> + Sync,
        S: Sender<PublicKey = PublicKey>,
    {
        let mut heads = self.ledger.watch_head();
        let head = heads.borrow_and_update().height;
        if let Err(halt) = self.check_stored(head) {
            return halt;
        }
        let mut epoch = self.epochs.of(head.saturating_add(1));
        let Some(mut running) = launcher.start(epoch) else {
            return format!("the validator set of epoch {epoch} is unknown");
        };
        loop {
            let step = tokio::select! {
                stopped = &mut running.handle => {
                    return match stopped {
                        Ok(()) => "the aggregation engine stopped".to_string(),
                        Err(err) => format!("the aggregation engine stopped: {err}"),
                    };
                }
                changed = heads.changed() => {
                    if changed.is_err() {
                        return "the ledger is gone".to_string();
                    }
                    let applied = *heads.borrow_and_update();
                    self.recent.insert(applied.height, applied.state_commitment);
                    let head = applied.height;
                    let now = self.epochs.of(head.saturating_add(1));
                    if now > epoch {
                        epoch = now;
                        if launcher.size(epoch) == Some(running.size) {
                            running.monitor.update(epoch);
                        } else {
                            // Another size of set: the next engine, on the same journal.
                            running.handle.abort();
                            let _ = (&mut running.handle).await;
                            tracing::info!(epoch, "the validator set changed size: the aggregation engine restarts");
                            running = match launcher.start(epoch) {
                                Some(next) => next,
                                None => return format!("the validator set of epoch {epoch} is unknown"),
                            };
                        }
                    }
                    self.applied(head)
                }
                certificate = certified.recv() => {
                    let Some(certificate) = certificate else {
                        return "the aggregation engine stopped".to_string();
                    };
                    self.certified(certificate)
                }
                copy = copies.recv() => {
                    let Some((from, bytes)) = copy else {
                        return "the commitment channel closed".to_string();
                    };
                    match TipAck::<super::CommitmentScheme, Digest>::decode(bytes) {
                        Ok(tip_ack) => self.ack(from, tip_ack.ack),
                        // The engine blocks or ignores it; nothing to learn here.
                        Err(_) => Ok(()),
                    }
                }
            };
            if let Err(halt) = step {
                running.handle.abort();
                return halt;
            }
        }
    }

    fn head(&self) -> u64 {
        self.ledger.head().height
    }

    /// At start: the latest stored certificate at or below the head must be this node's own
    /// (`C_h` chains every block and event before `h`, so it covers the earlier ones too).
    fn check_stored(&mut self, head: u64) -> Result<(), Halt> {
        let stored = match self.ledger.certificates().at_most(head) {
            Ok(stored) => stored,
            Err(err) => {
                tracing::error!(%err, "cannot read the stored certificates");
                return Ok(());
            }
        };
        match stored {
            Some(row) => self.compare(row.height, &row.commitment),
            None => Ok(()),
        }
    }

    fn applied(&mut self, head: u64) -> Result<(), Halt> {
        let due: Vec<_> = self.ahead.range(..=head).map(|(h, _)| *h).collect();
        for height in due {
            if let Some(certificate) = self.ahead.remove(&height) {
                self.compare(height, &certificate.item.digest)?;
                self.store(&certificate);
            }
        }
        let early: Vec<_> = self.early.range(..=head).map(|(h, _)| *h).collect();
        for height in early {
            for (from, ack) in self.early.remove(&height).unwrap_or_default() {
                self.ack(from, ack)?;
            }
        }
        let floor = head.saturating_sub(CONFLICT_HEIGHTS);
        self.conflicting.retain(|height, _| *height >= floor);
        self.recent.retain(|height, _| *height >= floor);
        Ok(())
    }

    fn certified(&mut self, certificate: CommitmentCertificate) -> Result<(), Halt> {
        let height = certificate.item.height.get();
        if height > self.head() {
            // Checked and stored once applied: only then are the sets that may have signed it
            // known (a node replaying its blocks after a reindex hears certificates of heights
            // far above its head from the engine's journal).
            self.ahead.insert(height, certificate);
            return Ok(());
        }
        self.compare(height, &certificate.item.digest)?;
        self.store(&certificate);
        Ok(())
    }

    /// Stores a certificate that agrees with this node's state.
    fn store(&mut self, certificate: &CommitmentCertificate) {
        let height = certificate.item.height.get();
        let Some(epoch) = self.epoch_of(certificate) else {
            tracing::error!(
                height,
                "a certificate verifies under no known validator set"
            );
            return;
        };
        let row = CertificateRow {
            height,
            epoch,
            commitment: certificate.item.digest,
            certificate: super::certificate_bytes(certificate),
        };
        if let Err(err) = self.ledger.certificates().insert(&row) {
            tracing::error!(%err, height, "cannot store a certificate");
        }
        tracing::debug!(height, epoch, "state commitment certified");
    }

    /// The epoch whose set signed `certificate`: acks carry the signer's epoch, which is the
    /// height's or a later one.
    fn epoch_of(&mut self, certificate: &CommitmentCertificate) -> Option<u64> {
        let first = self.epochs.of(certificate.item.height.get());
        let last = self
            .epochs
            .of(self.head().saturating_add(1))
            .saturating_add(1)
            .max(first);
        (first..=last).find(|epoch| {
            self.schemes
                .for_epoch(*epoch)
                .is_some_and(|scheme| certificate.verify(&mut self.rng, &*scheme, &Sequential))
        })
    }

    fn ack(&mut self, from: PublicKey, ack: Ack) -> Result<(), Halt> {
        let height = ack.item.height.get();
        let head = self.head();
        if height > head {
            if height <= head.saturating_add(EARLY_HEIGHTS) {
                let acks = self.early.entry(height).or_default();
                if acks.len() < EARLY_ACKS_PER_HEIGHT {
                    acks.push((from, ack));
                }
            }
            return Ok(());
        }
        if height < head.saturating_sub(CONFLICT_HEIGHTS) {
            return Ok(());
        }
        let Some(own) = self.own(height) else {
            return Ok(());
        };
        if own == ack.item.digest {
            return Ok(());
        }
        let epoch = ack.epoch.get();
        let Some(scheme) = self.schemes.for_epoch(epoch) else {
            return Ok(());
        };
        let participants = scheme.participants();
        let signer = ack.attestation.signer;
        let acks = self.conflicting.entry(height).or_default();
        if participants.index(&from) != Some(signer)
            || acks
                .iter()
                .any(|a| a.epoch == ack.epoch && a.attestation.signer == signer)
            || !ack.verify(&mut self.rng, &*scheme, &Sequential)
        {
            return Ok(());
        }
        tracing::warn!(
            height, signer = %from, "a validator signed a state commitment this node does not have"
        );
        acks.push(ack);
        let digest = acks.last().map(|a| a.item.digest).unwrap_or(own);
        let agreeing: Vec<&Ack> = acks
            .iter()
            .filter(|a| a.epoch.get() == epoch && a.item.digest == digest)
            .collect();
        if agreeing.len() < participants.quorum::<N3f1>() as usize {
            return Ok(());
        }
        let certificate = CommitmentCertificate::from_acks(
            &*scheme,
            non_empty![@agreeing.into_iter()],
            &Sequential,
        )
        .map_err(|err| format!("cannot assemble the conflicting certificate: {err:?}"))?;
        Err(diverged(height, &own, &certificate.item.digest))
    }

    /// This node's `C_height` of an applied height.
    fn own(&mut self, height: u64) -> Option<Digest> {
        if let Some(own) = self.recent.get(&height) {
            return Some(*own);
        }
        let own = self.commitments.applied(height)?;
        self.recent.insert(height, own);
        Some(own)
    }

    fn compare(&mut self, height: u64, certified: &Digest) -> Result<(), Halt> {
        match self.own(height) {
            Some(own) if own != *certified => Err(diverged(height, &own, certified)),
            _ => Ok(()),
        }
    }
}

fn diverged(height: u64, own: &Digest, certified: &Digest) -> Halt {
    format!(
        "this node's state commitment at height {height} is {}, but the validators certified {}: \
         its state is not the chain's. Rebuild it from the block archive \
         (custodia node --reindex), or restore the data directory from a healthy node",
        to_hex(own),
        to_hex(certified)
    )
}
