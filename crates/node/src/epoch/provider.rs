//! The signing scheme consensus uses in each epoch (DESIGN §3.2): [`EpochSchemes`] is the
//! certificate provider marshal verifies finalizations with and the orchestrator takes each
//! engine's scheme from: a signer where this node's key is in the epoch's set, a verifier where
//! it is not.

use super::sets::ValidatorSets;
use crate::vote_gate::{GatedScheme, VoteGate};
use commonware_consensus::types::Epoch;
use commonware_cryptography::{
    Signer as _,
    certificate::{Provider, Scoped},
    ed25519::PrivateKey,
};
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

/// Schemes kept built, the most recent epochs' (a miss rebuilds one from its set).
const CACHED_SCHEMES: usize = 8;

/// The certificate provider of a node: each epoch's scheme over its validators, signing with
/// this node's key behind its vote gate.
#[derive(Clone)]
pub struct EpochSchemes {
    inner: Arc<Inner>,
}

struct Inner {
    namespace: &'static [u8],
    sets: Arc<ValidatorSets>,
    signer: PrivateKey,
    gate: Arc<VoteGate>,
    cache: SchemeCache<GatedScheme>,
}

/// Each epoch's scheme once built, the [`CACHED_SCHEMES`] most recent epochs' (a miss builds
/// one again): shared by the consensus and the certification providers.
pub struct SchemeCache<S> {
    schemes: Mutex<BTreeMap<u64, Arc<S>>>,
}

impl<S> Default for SchemeCache<S> {
    fn default() -> Self {
        Self {
            schemes: Mutex::default(),
        }
    }
}

impl<S> SchemeCache<S> {
    /// The scheme of `epoch`, built by `build` on a miss (`None` when it cannot be).
    pub fn get_or_build(&self, epoch: u64, build: impl FnOnce() -> Option<S>) -> Option<Arc<S>> {
        let mut schemes = self.schemes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(scheme) = schemes.get(&epoch) {
            return Some(scheme.clone());
        }
        let scheme = Arc::new(build()?);
        schemes.insert(epoch, scheme.clone());
        while schemes.len() > CACHED_SCHEMES {
            schemes.pop_first();
        }
        Some(scheme)
    }
}

impl EpochSchemes {
    /// The schemes of `sets` for a node signing with `signer` behind `gate`.
    pub fn new(
        namespace: &'static [u8],
        sets: Arc<ValidatorSets>,
        signer: PrivateKey,
        gate: Arc<VoteGate>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                namespace,
                sets,
                signer,
                gate,
                cache: SchemeCache::default(),
            }),
        }
    }

    /// The validator sets behind the schemes.
    pub fn sets(&self) -> &Arc<ValidatorSets> {
        &self.inner.sets
    }

    /// Whether this node's key is a validator of `epoch` (`None` if its set is not known).
    pub fn is_validator(&self, epoch: u64) -> Option<bool> {
        let set = self.inner.sets.set(epoch)?;
        Some(set.position(&self.inner.signer.public_key()).is_some())
    }

    /// The scheme of `epoch`: a signer if this node is one of its validators, else a
    /// verifier; `None` if the epoch's set is not known yet.
    pub fn for_epoch(&self, epoch: u64) -> Option<Arc<GatedScheme>> {
        let inner = &self.inner;
        inner.cache.get_or_build(epoch, || {
            let set = inner.sets.set(epoch)?;
            Some(
                GatedScheme::signer(
                    inner.namespace,
                    (*set).clone(),
                    inner.signer.clone(),
                    inner.gate.clone(),
                    Epoch::new(epoch),
                )
                .unwrap_or_else(|| {
                    GatedScheme::verifier(inner.namespace, (*set).clone(), Epoch::new(epoch))
                }),
            )
        })
    }
}

impl Provider for EpochSchemes {
    type Scope = Epoch;
    type Scheme = GatedScheme;

    /// Always a full scope: marshal takes a verify-only scope for "no scheme" when it handles
    /// notarized blocks, and a verifier never signs anyway (its `me()` is `None`).
    fn scoped(&self, epoch: Epoch) -> Option<Scoped<GatedScheme>> {
        self.for_epoch(epoch.get()).map(Scoped::scheme)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_cryptography::certificate::Scheme as _;
    use commonware_utils::ordered::Set;

    fn keys(n: u64) -> Vec<PrivateKey> {
        (0..n).map(PrivateKey::from_seed).collect()
    }

    #[test]
    fn a_node_signs_in_the_epochs_whose_set_holds_its_key_and_nothing_is_served_beyond_the_known() {
        let keys = keys(5);
        let genesis = Set::from_iter_dedup(keys[..4].iter().map(|k| k.public_key()));
        let sets = Arc::new(ValidatorSets::new(genesis, 3));
        let member = EpochSchemes::new(b"ns", sets.clone(), keys[0].clone(), VoteGate::open());
        let outsider = EpochSchemes::new(b"ns", sets.clone(), keys[4].clone(), VoteGate::open());
        for epoch in 0..=3 {
            assert!(member.for_epoch(epoch).expect("known").me().is_some());
            assert!(outsider.for_epoch(epoch).expect("known").me().is_none());
            assert_eq!(member.is_validator(epoch), Some(true));
            assert_eq!(outsider.is_validator(epoch), Some(false));
            assert!(outsider.scoped(Epoch::new(epoch)).is_some());
        }
        assert!(member.for_epoch(4).is_none());
        assert!(member.scoped(Epoch::new(4)).is_none());
        sets.know_through(20);
        assert!(member.for_epoch(20).is_some());
        // The cache keeps a few schemes; a miss rebuilds the same one.
        for epoch in 0..=20 {
            let scheme = member.for_epoch(epoch).expect("known");
            assert_eq!(scheme.participants().len(), 4);
        }
    }
}
