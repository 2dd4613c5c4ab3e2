//! The schemes that sign and check certificates of the state commitment (DESIGN §5.9): each
//! epoch's scheme over its validator set, signing with this node's key where the set holds it.

use super::{COMMITMENT_NAMESPACE, CommitmentScheme};
use crate::epoch::{provider::SchemeCache, sets::ValidatorSets};
use commonware_consensus::types::Epoch;
use commonware_cryptography::{
    certificate::{Provider, Scoped},
    ed25519::{PrivateKey, PublicKey},
};
use commonware_utils::ordered::Set;
use std::sync::Arc;

/// The scheme that checks a certificate signed by `set` (no signer).
pub fn verifier(set: Set<PublicKey>) -> CommitmentScheme {
    CommitmentScheme::verifier(COMMITMENT_NAMESPACE, set)
}

/// The certificate provider of the aggregation engine.
#[derive(Clone)]
pub struct CommitmentSchemes {
    inner: Arc<Inner>,
}

struct Inner {
    sets: Arc<ValidatorSets>,
    signer: PrivateKey,
    cache: SchemeCache<CommitmentScheme>,
}

impl CommitmentSchemes {
    /// The schemes of `sets` for a node whose key is `signer`.
    pub fn new(sets: Arc<ValidatorSets>, signer: PrivateKey) -> Self {
        Self {
            inner: Arc::new(Inner {
                sets,
                signer,
                cache: SchemeCache::default(),
            }),
        }
    }

    /// The scheme of `epoch`, `None` beyond the epochs whose set is known.
    pub fn for_epoch(&self, epoch: u64) -> Option<Arc<CommitmentScheme>> {
        let inner = &self.inner;
        inner.cache.get_or_build(epoch, || {
            let set = (*inner.sets.set(epoch)?).clone();
            Some(
                CommitmentScheme::signer(COMMITMENT_NAMESPACE, set.clone(), inner.signer.clone())
                    .unwrap_or_else(|| verifier(set)),
            )
        })
    }
}

impl Provider for CommitmentSchemes {
    type Scope = Epoch;
    type Scheme = CommitmentScheme;

    fn scoped(&self, epoch: Epoch) -> Option<Scoped<CommitmentScheme>> {
        self.for_epoch(epoch.get()).map(Scoped::scheme)
    }
}
