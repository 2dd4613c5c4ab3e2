//! The certified state commitment (DESIGN §5.9): after applying block `h`, each validator signs
//! `(h, C_h)`; commonware's aggregation engine gathers the signatures of 2f + 1 validators of
//! an epoch into a certificate, which every node stores (`certificates.sqlite`) and serves. A
//! node whose own `C_h` differs from a certified one stops ([`watch`]).
//!
//! Chosen over a later block's header carrying `C_h`: proposals run ahead of execution, so a
//! proposer would wait for its own execution of `h` before it could propose `h + k`, tying the
//! two pipelines together. The aggregation runs beside consensus and never slows it.

mod automaton;
mod engine;
mod schemes;
mod watch;

pub use automaton::{Commitments, EpochMonitor};
pub use schemes::{CommitmentSchemes, verifier};
pub use watch::{CertificateReporter, Halt, Watcher};

use crate::{epoch::Epochs, ledger::Ledger};
use commonware_codec::{Decode as _, Encode as _};
use commonware_consensus::aggregation::{self, scheme::ed25519, types};
use commonware_cryptography::ed25519::{PrivateKey, PublicKey};
use commonware_p2p::{Blocker, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::{Clock, Handle, Metrics, Spawner, Storage, buffer::paged::CacheRef};
use commonware_utils::ordered::Set;
use custodia_protocol::Digest;
use rand::CryptoRng;
use std::{collections::BTreeMap, sync::Arc, time::Duration};
use tokio::sync::mpsc;

/// Namespace of the signatures over `(h, C_h)` (DESIGN §3.8); the engine appends `_AGG_ACK`.
pub const COMMITMENT_NAMESPACE: &[u8] = b"_CUSTODIA_COMMITMENT";

/// The scheme of certificates: ed25519, one signature per signer, so a certificate names who
/// signed it (evidence a third party can attribute).
pub type CommitmentScheme = ed25519::Scheme;
/// A certificate of `(h, C_h)`.
pub type CommitmentCertificate = types::Certificate<CommitmentScheme, Digest>;
/// A certificate's signatures, without the item they sign.
type Signatures = <CommitmentScheme as commonware_cryptography::certificate::Verifier>::Certificate;
/// One validator's signature over `(h, C_h)`.
pub type Ack = types::Ack<CommitmentScheme, Digest>;

/// Heights the engine works on at once: the executor may run this far ahead of certification.
const WINDOW: u64 = 16;
/// Heights below the tip whose acks are still collected.
const ACTIVITY_TIMEOUT: u64 = 256;
/// How often an ack is sent again while its height lacks a quorum.
const REBROADCAST: Duration = Duration::from_secs(2);

/// The largest message of the commitment channel.
pub const fn max_payload_size() -> usize {
    aggregation::max_payload_size::<CommitmentScheme, Digest>()
}

/// Why a certificate does not certify `(height, commitment)` under a validator set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The bytes are not a certificate for a set of that size.
    #[error("the certificate does not decode: {0}")]
    Malformed(String),
    /// It certifies another height or commitment.
    #[error(
        "the certificate is of height {height} and commitment {commitment}, not the ones asked"
    )]
    OtherItem {
        /// Its height.
        height: u64,
        /// Its commitment (hex).
        commitment: String,
    },
    /// Its signatures are not a quorum of the set's.
    #[error("the certificate's signatures are not those of a quorum of the validator set")]
    BadSignatures,
}

/// Checks that `bytes` certify `(height, commitment)` under `set`; returns the signers' seats.
pub fn verify_certificate(
    set: &Set<PublicKey>,
    height: u64,
    commitment: &Digest,
    bytes: &[u8],
) -> Result<Vec<u32>, CertificateError> {
    let certificate = Signatures::decode_cfg(bytes::Bytes::copy_from_slice(bytes), &set.len())
        .map_err(|e| CertificateError::Malformed(e.to_string()))?;
    let certificate = CommitmentCertificate {
        item: types::Item {
            height: commonware_consensus::types::Height::new(height),
            digest: *commitment,
        },
        certificate,
    };
    if !certificate.verify(&mut rand::rng(), &verifier(set.clone()), &Sequential) {
        return Err(CertificateError::BadSignatures);
    }
    Ok(certificate
        .certificate
        .signers
        .iter()
        .map(|p| p.get())
        .collect())
}

/// The certificate bytes of a [`CommitmentCertificate`] as stored and served.
pub fn certificate_bytes(certificate: &CommitmentCertificate) -> Vec<u8> {
    certificate.certificate.encode().to_vec()
}

/// What the certification needs from the node.
pub struct Parts<B> {
    /// The node's ledger.
    pub ledger: Arc<Ledger>,
    /// This node's key.
    pub signer: PrivateKey,
    /// Blocks peers whose acks are forged.
    pub blocker: B,
    /// The journal's page cache.
    pub page_cache: CacheRef,
    /// Prefix of the journal's partition.
    pub partition_prefix: String,
}

/// Starts the aggregation engine and the watcher on the commitment channel. The handle ends
/// with why the node must stop.
pub fn start<E, B, S, R>(context: E, parts: Parts<B>, channel: (S, R)) -> Handle<Halt>
where
    E: Spawner + Clock + Metrics + Storage + CryptoRng,
    B: Blocker<PublicKey = PublicKey> + Sync,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let Parts {
        ledger,
        signer,
        blocker,
        page_cache,
        partition_prefix,
    } = parts;
    let epochs = Epochs::new(ledger.params().epoch_length);
    let schemes = CommitmentSchemes::new(ledger.validator_sets().clone(), signer);
    let commitments = Commitments::new(ledger.clone());
    let (certified_tx, certified_rx) = mpsc::unbounded_channel();
    let (copies_tx, copies_rx) = mpsc::channel(watch::TAP_CAPACITY);
    let (sender, receiver) = channel;
    let (inbox, inbox_tx) = engine::inbox(&receiver);
    context
        .child("commitment_pump")
        .spawn(move |_| engine::pump(receiver, inbox_tx, copies_tx));
    let launcher = engine::Launcher {
        context: context.child("certify"),
        schemes: schemes.clone(),
        commitments: commitments.clone(),
        reporter: CertificateReporter::new(certified_tx),
        blocker,
        page_cache,
        partition: format!("{partition_prefix}-aggregation"),
        sender,
        inbox,
    };
    let watcher = Watcher {
        ledger,
        commitments,
        schemes,
        epochs,
        rng: context.child("watcher_rng"),
        ahead: BTreeMap::new(),
        early: BTreeMap::new(),
        conflicting: BTreeMap::new(),
        recent: BTreeMap::new(),
    };
    context
        .child("watcher")
        .spawn(move |_| watcher.run(launcher, certified_rx, copies_rx))
}
