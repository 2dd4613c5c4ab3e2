//! Which identity key this node's consensus and p2p run under (DESIGN §3.3, §6.6): the one the
//! chain, as this node applied it, gives the organisation. A rotation applied in epoch E makes
//! the new key the organisation's at the end of the last block of E + 1. When the node applies
//! that block, the keyring promotes its next secret (the key file first), and the node rebuilds
//! its p2p network and engine under the new key, since the lookup network has one fixed signer.
//! A node whose state is behind (a reindex) runs under the key its state gives, if the keyring
//! still holds that secret.

use crate::{Keyring, Ledger};
use commonware_cryptography::Signer as _;
use custodia_protocol::{IdentityKey, IdentitySecret, OrgKeys};
use tracing::{info, warn};

/// The identity key the chain, as `ledger` applied it, gives organisation `org`; `None` while
/// the organisation is not on the chain (or the state cannot be read).
pub fn on_chain(ledger: &Ledger, org: &str) -> Option<IdentityKey> {
    ledger
        .query(|queries| Ok(queries.orgs()?))
        .ok()?
        .into_iter()
        .find(|o| o.name == org)
        .map(|o| o.identity_key)
}

/// The secret that signs a tx this node makes now, whose block is at height `first` or
/// later, and the last height that secret may sign (DESIGN §6.6): once the chain schedules the
/// keyring's next key from height `from`, a tx signed by the current key is valid until
/// `from − 1` only (in a later block it would fail `signer_rotated`), and from `from` on the
/// next key signs, also while the keyring has not promoted it yet.
#[derive(Clone)]
pub struct TxSigner {
    /// The secret.
    pub secret: IdentitySecret,
    /// The last height it signs, when a scheduled switch ends its use.
    pub until: Option<u64>,
}

/// The [`TxSigner`] of `keys` for a tx whose first possible height is `first`, given the height
/// from which the chain schedules the keyring's next identity key (`next_from`, when it does).
pub fn tx_signer(keys: &OrgKeys, next_from: Option<u64>, first: u64) -> TxSigner {
    match (&keys.next_identity, next_from) {
        (Some(next), Some(from)) if from <= first => TxSigner {
            secret: next.clone(),
            until: None,
        },
        (Some(_), Some(from)) => TxSigner {
            secret: keys.identity.clone(),
            until: Some(from - 1),
        },
        _ => TxSigner {
            secret: keys.identity.clone(),
            until: None,
        },
    }
}

/// The height from which the chain, as `ledger` applied it, schedules identity key `key` to
/// sign; `None` when no organisation has it (or the state cannot be read).
pub fn scheduled_from(ledger: &Ledger, key: &IdentityKey) -> Option<u64> {
    ledger
        .query(|queries| Ok(queries.org_keys()?))
        .ok()?
        .into_iter()
        .find(|k| k.kind == "identity" && k.key.as_slice() == key.as_ref())
        .map(|k| k.from_height)
}

/// The secret to run consensus and p2p under now.
#[derive(Clone)]
pub struct SessionKey {
    /// The secret.
    pub secret: IdentitySecret,
    /// Whether the keyring just promoted it: it never voted (a new-validator marker names it).
    pub promoted: bool,
}

impl SessionKey {
    /// Its public key.
    pub fn key(&self) -> IdentityKey {
        self.secret.public_key()
    }
}

/// The secret of the key the chain gives `org` now, promoting the keyring's next secret if
/// that is the one (written to the key file first). The keyring's current secret while the
/// organisation is not on the chain, or when the keyring lacks the chain's key (logged: the
/// node then follows without voting).
pub fn session_key(ledger: &Ledger, org: &str, keys: &Keyring) -> std::io::Result<SessionKey> {
    let current = keys.current();
    let Some(chain_key) = on_chain(ledger, org) else {
        return Ok(SessionKey {
            secret: current.identity.clone(),
            promoted: false,
        });
    };
    let promoted = keys.promote_identity(&chain_key)?;
    if promoted {
        info!(identity_key = %chain_key, "the chain made the next identity key this organisation's: the keyring signs with it");
    }
    let current = keys.current();
    match current.identity_secret_for(&chain_key) {
        Some(secret) => Ok(SessionKey {
            secret: secret.clone(),
            promoted,
        }),
        None => {
            warn!(
                identity_key = %chain_key,
                "the chain gives this organisation an identity key that the key file does not \
                 hold: the node follows the chain and does not vote"
            );
            Ok(SessionKey {
                secret: current.identity.clone(),
                promoted: false,
            })
        }
    }
}

/// Waits until the chain gives `org` another identity key than `session` whose secret the
/// keyring holds (promoting the next secret as [`session_key`] does), and returns it.
pub async fn rekey_due(
    ledger: &Ledger,
    org: &str,
    keys: &Keyring,
    session: &IdentityKey,
) -> std::io::Result<SessionKey> {
    let mut head = ledger.watch_head();
    let mut warned = None;
    loop {
        if let Some(chain_key) = on_chain(ledger, org)
            && &chain_key != session
            && warned.as_ref() != Some(&chain_key)
        {
            let next = session_key(ledger, org, keys)?;
            if next.key() == chain_key {
                return Ok(next);
            }
            // Warned once by session_key: the keyring lacks it.
            warned = Some(chain_key);
        }
        if head.changed().await.is_err() {
            return futures::future::pending().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use custodia_protocol::testing::consortium_keys;

    fn key_of(signer: &TxSigner) -> IdentityKey {
        signer.secret.public_key()
    }

    #[test]
    fn without_a_scheduled_switch_the_current_key_signs_for_the_whole_window() {
        let mut keys = consortium_keys(1).remove(0);
        let current = keys.identity_key();
        let signer = tx_signer(&keys, None, 10);
        assert_eq!((key_of(&signer), signer.until), (current.clone(), None));
        // A next key the chain has not scheduled (its rotation not applied yet) signs nothing.
        keys.make_next_identity();
        let signer = tx_signer(&keys, None, 10);
        assert_eq!((key_of(&signer), signer.until), (current, None));
    }

    #[test]
    fn before_the_switch_the_current_key_signs_until_the_height_before_it() {
        let mut keys = consortium_keys(1).remove(0);
        let current = keys.identity_key();
        keys.make_next_identity();
        for first in [1, 100, 127] {
            let signer = tx_signer(&keys, Some(128), first);
            assert_eq!(key_of(&signer), current, "first height {first}");
            assert_eq!(signer.until, Some(127), "first height {first}");
        }
    }

    #[test]
    fn from_the_switch_the_next_key_signs_before_the_keyring_promotes_it() {
        let mut keys = consortium_keys(1).remove(0);
        let next = keys.make_next_identity();
        for first in [128, 129, 500] {
            let signer = tx_signer(&keys, Some(128), first);
            assert_eq!((key_of(&signer), signer.until), (next.clone(), None));
        }
    }
}
