//! The vote gate: a node that lost its consensus journal signs no vote in a round (epoch and
//! view) it may have voted in before the loss (DESIGN §3.6).
//!
//! simplex's journal is what stops a restarted honest node from signing a vote that conflicts
//! with one it signed before (a `nullify` and a `finalize` of one view, or a second proposal
//! when it leads). A node whose data directory was wiped has no journal, and cannot know in
//! which views it voted. It can bound them: every vote it signed was signed before the loss,
//! hence before it started again. A finalized block whose timestamp is later than that start by
//! more than the timestamp drift honest verifiers allow (`MAX_TIMESTAMP_DRIFT_MS`) was verified
//! by honest validators after the start, so the network was still in that block's view after
//! the loss, and (views only grow) no view above it had been entered before. The gate therefore
//! refuses to sign anything until such a block is finalized, and afterwards only in rounds
//! above that block's round (epochs first, then views: views restart in every epoch).
//!
//! The gate sits in the signing scheme ([`GatedScheme`]): a vote that is never signed cannot
//! leak through a certificate or a resolver answer. simplex treats a refused signature as a
//! vote already cast in that round, so it does not try again there.

use commonware_consensus::{
    Viewable as _,
    simplex::{scheme::Namespace, types::Subject},
    types::{Epoch, Round},
};
use commonware_cryptography::{
    Digest,
    certificate::{
        AssemblyError, Attestation, Membership, Scheme as CertificateScheme, Verification, Verifier,
    },
    ed25519::{self, PrivateKey, PublicKey, certificate::Generic},
};
use commonware_parallel::Strategy;
use commonware_utils::{N3f1, iter::NonEmpty, ordered::Set};
use rand::CryptoRng;
use std::sync::{Arc, Mutex, MutexGuard};

/// Which rounds this node may sign in. Shared by the signing schemes of every epoch (which ask)
/// and the executor (which opens it once the chain has passed every round the node could have
/// voted in). Views restart in every epoch, so the gate compares rounds: epoch, then view.
#[derive(Debug, Default)]
pub struct VoteGate {
    state: Mutex<GateState>,
}

#[derive(Debug, Default)]
struct GateState {
    /// `None`: every round is refused. `Some(r)`: rounds at or below `r` are refused (round
    /// zero is the genesis, never voted in).
    floor: Option<Round>,
    /// While closed: a finalized block must carry a later timestamp than this (ms) to open it.
    open_after_ms: u64,
    /// The first round this node signed in since it started.
    first_signed: Option<Round>,
    /// The highest round this node signed in since it started.
    highest_signed: Option<Round>,
}

impl VoteGate {
    /// A gate that refuses nothing (the journal is intact, or the node never voted).
    pub fn open() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(GateState {
                floor: Some(Round::zero()),
                ..GateState::default()
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, GateState> {
        // The state is plain data, valid whatever a panicking holder did.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Closes the gate of a node that started at `started_ms` without its journal: it opens
    /// once a finalized block carries a timestamp after `started_ms + drift_ms`.
    pub fn close(&self, started_ms: u64, drift_ms: u64) {
        let mut state = self.state();
        state.open_after_ms = started_ms.saturating_add(drift_ms);
        state.floor = None;
    }

    /// Whether the node refuses every vote (it has not yet synced past the rounds it may have
    /// voted in before losing its journal).
    pub fn is_closed(&self) -> bool {
        self.state().floor.is_none()
    }

    /// While closed, the timestamp (ms) a finalized block must exceed to open the gate.
    pub fn opens_after_ms(&self) -> Option<u64> {
        let state = self.state();
        state.floor.is_none().then_some(state.open_after_ms)
    }

    /// Opens the gate for rounds above `round`: the round of a finalized block whose timestamp
    /// is past [`Self::opens_after_ms`].
    pub fn open_above(&self, round: Round) {
        self.state().floor = Some(round);
    }

    /// The round at or below which nothing is signed (`None` while closed, round zero when
    /// nothing is refused).
    pub fn floor(&self) -> Option<Round> {
        self.state().floor
    }

    /// The first round this node signed a vote in since it started.
    pub fn first_signed(&self) -> Option<Round> {
        self.state().first_signed
    }

    /// The highest round this node signed a vote in since it started.
    pub fn highest_signed(&self) -> Option<Round> {
        self.state().highest_signed
    }

    /// Whether a vote in `round` may be signed; records it as signed if so.
    fn admit(&self, round: Round) -> bool {
        let mut state = self.state();
        match state.floor {
            Some(floor) if round > floor => {}
            _ => return false,
        }
        state.first_signed.get_or_insert(round);
        state.highest_signed = state.highest_signed.max(Some(round));
        true
    }
}

/// simplex's Ed25519 certificate scheme with a [`VoteGate`] in front of signing. Verification,
/// certificates and their encoding are exactly those of
/// `commonware_consensus::simplex::scheme::ed25519::Scheme` (the same `Generic` over the same
/// namespace), so gated and ungated nodes interoperate byte for byte.
#[derive(Clone, Debug)]
pub struct GatedScheme {
    generic: Generic<Namespace>,
    gate: Arc<VoteGate>,
    /// The epoch this scheme signs in (simplex runs one engine, with its own scheme, per epoch).
    epoch: Epoch,
}

impl GatedScheme {
    /// A signer for `private_key` among `participants` in `epoch`, or `None` if its key is not
    /// one of them.
    pub fn signer(
        namespace: &[u8],
        participants: Set<PublicKey>,
        private_key: PrivateKey,
        gate: Arc<VoteGate>,
        epoch: Epoch,
    ) -> Option<Self> {
        Some(Self {
            generic: Generic::signer(namespace, participants, private_key)?,
            gate,
            epoch,
        })
    }

    /// A scheme that verifies and never signs.
    pub fn verifier(namespace: &[u8], participants: Set<PublicKey>, epoch: Epoch) -> Self {
        Self {
            generic: Generic::verifier(namespace, participants),
            gate: VoteGate::open(),
            epoch,
        }
    }
}

impl Verifier for GatedScheme {
    type Subject<'a, D: Digest> = Subject<'a, D>;
    type Faults = N3f1;
    type PublicKey = PublicKey;
    type Certificate = ed25519::certificate::Certificate;

    fn verify_certificate<R, D>(
        &self,
        rng: &mut R,
        subject: Self::Subject<'_, D>,
        certificate: &Self::Certificate,
        strategy: &impl Strategy,
    ) -> bool
    where
        R: CryptoRng,
        D: Digest,
    {
        self.generic
            .verify_certificate::<Self, _>(rng, subject, certificate, strategy)
    }

    fn verify_certificates<'a, R, D, I>(
        &self,
        rng: &mut R,
        certificates: NonEmpty<I>,
        strategy: &impl Strategy,
    ) -> bool
    where
        R: CryptoRng,
        D: Digest,
        I: Iterator<Item = (Self::Subject<'a, D>, &'a Self::Certificate)>,
    {
        self.generic
            .verify_certificates::<Self, _, _, _>(rng, certificates, strategy)
    }

    fn is_batchable() -> bool {
        Generic::<Namespace>::is_batchable()
    }

    fn max_certificate_size(participants: u32) -> usize {
        Generic::<Namespace>::max_certificate_size(participants)
    }

    fn certificate_codec_config(&self) -> <Self::Certificate as commonware_codec::Read>::Cfg {
        self.generic.certificate_codec_config()
    }

    fn certificate_codec_config_unbounded() -> <Self::Certificate as commonware_codec::Read>::Cfg {
        Generic::<Namespace>::certificate_codec_config_unbounded()
    }
}

impl CertificateScheme for GatedScheme {
    type Signature = ed25519::Signature;

    fn me(&self) -> Option<Membership> {
        self.generic.signer_index().map(Membership::Signer)
    }

    fn participants(&self) -> &Set<Self::PublicKey> {
        &self.generic.participants
    }

    fn sign<D: Digest>(&self, subject: Self::Subject<'_, D>) -> Option<Attestation<Self>> {
        if self.generic.signer_index().is_none()
            || !self.gate.admit(Round::new(self.epoch, subject.view()))
        {
            return None;
        }
        self.generic.sign(subject)
    }

    fn verify_attestation<R, D>(
        &self,
        _rng: &mut R,
        subject: Self::Subject<'_, D>,
        attestation: &Attestation<Self>,
        _strategy: &impl Strategy,
    ) -> bool
    where
        R: CryptoRng,
        D: Digest,
    {
        self.generic.verify_attestation(subject, attestation)
    }

    fn verify_attestations<R, D, I>(
        &self,
        rng: &mut R,
        subject: Self::Subject<'_, D>,
        attestations: I,
        strategy: &impl Strategy,
    ) -> Verification<Self>
    where
        R: CryptoRng,
        D: Digest,
        I: IntoIterator<Item = Attestation<Self>>,
        I::IntoIter: Send,
    {
        self.generic
            .verify_attestations(rng, subject, attestations, strategy)
    }

    fn optimistic_assemble<'a, R, D, I, J>(
        &self,
        rng: &mut R,
        subject: Self::Subject<'_, D>,
        pending: I,
        verified: J,
        strategy: &impl Strategy,
    ) -> Result<Self::Certificate, Verification<Self>>
    where
        R: CryptoRng,
        D: Digest,
        I: IntoIterator<Item = Attestation<Self>>,
        I::IntoIter: ExactSizeIterator + Send,
        J: IntoIterator<Item = &'a Attestation<Self>>,
        J::IntoIter: Send,
    {
        commonware_cryptography::certificate::verify_then_assemble::<Self, _, D, _, _>(
            self, rng, subject, pending, verified, strategy,
        )
    }

    fn assemble<I>(
        &self,
        attestations: NonEmpty<I>,
        _strategy: &impl Strategy,
    ) -> Result<Self::Certificate, AssemblyError>
    where
        I: Iterator<Item = Attestation<Self>> + Send,
    {
        self.generic.assemble::<Self, _>(attestations)
    }

    fn is_attributable() -> bool {
        Generic::<Namespace>::is_attributable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_consensus::{simplex::types::Proposal, types::View};
    use commonware_cryptography::{Signer as _, sha256};

    fn schemes(
        gate: Arc<VoteGate>,
    ) -> (
        GatedScheme,
        commonware_consensus::simplex::scheme::ed25519::Scheme,
    ) {
        let keys: Vec<PrivateKey> = (0..4u64).map(PrivateKey::from_seed).collect();
        let participants = Set::from_iter_dedup(keys.iter().map(|k| k.public_key()));
        let gated = GatedScheme::signer(
            b"ns",
            participants.clone(),
            keys[0].clone(),
            gate,
            Epoch::new(3),
        )
        .expect("a participant");
        let plain = commonware_consensus::simplex::scheme::ed25519::Scheme::signer(
            b"ns",
            participants,
            keys[0].clone(),
        )
        .expect("a participant");
        (gated, plain)
    }

    fn proposal(view: u64) -> Proposal<sha256::Digest> {
        Proposal::new(
            Round::new(Epoch::new(3), View::new(view)),
            View::new(view - 1),
            sha256::Digest::from([7; 32]),
        )
    }

    #[test]
    fn an_open_gate_signs_exactly_as_simplex_ed25519_does() {
        let (gated, plain) = schemes(VoteGate::open());
        let proposal = proposal(3);
        let ours = gated
            .sign(Subject::Notarize {
                proposal: &proposal,
            })
            .expect("signs");
        let theirs = plain
            .sign(Subject::Notarize {
                proposal: &proposal,
            })
            .expect("signs");
        assert_eq!(ours.signer, theirs.signer);
        assert_eq!(ours.signature, theirs.signature);
        assert!(plain.verify_attestation(
            &mut rand::rng(),
            Subject::Notarize {
                proposal: &proposal
            },
            &Attestation::<commonware_consensus::simplex::scheme::ed25519::Scheme> {
                signer: ours.signer,
                signature: ours.signature.clone(),
            },
            &commonware_parallel::Sequential,
        ));
    }

    fn round(epoch: u64, view: u64) -> Round {
        Round::new(Epoch::new(epoch), View::new(view))
    }

    #[test]
    fn a_closed_gate_signs_nothing_until_opened_and_then_only_above_the_floor() {
        let gate = VoteGate::open();
        let (gated, _) = schemes(gate.clone());
        gate.close(1_000, 10_000);
        assert!(gate.is_closed());
        assert_eq!(gate.opens_after_ms(), Some(11_000));
        for view in [1, 5, 1_000_000] {
            let proposal = proposal(view);
            assert!(
                gated
                    .sign(Subject::Finalize {
                        proposal: &proposal
                    })
                    .is_none()
            );
            assert!(
                gated
                    .sign::<sha256::Digest>(Subject::Nullify {
                        round: round(3, view)
                    })
                    .is_none()
            );
        }
        assert_eq!(gate.highest_signed(), None);

        gate.open_above(round(3, 7));
        assert!(!gate.is_closed());
        assert_eq!(gate.floor(), Some(round(3, 7)));
        let at_floor = proposal(7);
        assert!(
            gated
                .sign(Subject::Notarize {
                    proposal: &at_floor
                })
                .is_none()
        );
        let above = proposal(8);
        assert!(gated.sign(Subject::Notarize { proposal: &above }).is_some());
        assert_eq!(gate.highest_signed(), Some(round(3, 8)));
        assert_eq!(gate.first_signed(), Some(round(3, 8)));
    }

    /// Views restart in every epoch: the gate orders rounds by epoch first.
    #[test]
    fn the_gate_compares_rounds_across_epochs() {
        let gate = VoteGate::open();
        gate.close(0, 0);
        gate.open_above(round(3, 7));
        assert!(!gate.admit(round(3, 7)));
        assert!(!gate.admit(round(2, 99)));
        assert!(gate.admit(round(3, 8)));
        assert!(gate.admit(round(4, 1)));
        assert_eq!(gate.first_signed(), Some(round(3, 8)));
        assert_eq!(gate.highest_signed(), Some(round(4, 1)));
        // An engine of an earlier epoch signs nothing once a later round was opened.
        let keys: Vec<PrivateKey> = (0..4u64).map(PrivateKey::from_seed).collect();
        let participants = Set::from_iter_dedup(keys.iter().map(|k| k.public_key()));
        let old = GatedScheme::signer(b"ns", participants, keys[0].clone(), gate, Epoch::new(2))
            .expect("a participant");
        assert!(
            old.sign::<sha256::Digest>(Subject::Nullify {
                round: round(2, 100)
            })
            .is_none()
        );
    }
}
