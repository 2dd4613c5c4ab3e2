//! Which identity key this node's consensus and p2p run under (DESIGN §3.3, §6.6): the one the
//! chain, as this node applied it, gives the organisation. A rotation applied in epoch E makes
//! the new key the organisation's at the end of the last block of E + 1. When the node applies
//! that block, the keyring promotes its next secret (the key file first), and the node rebuilds
//! its p2p network and engine under the new key, since the lookup network has one fixed signer.
//! A node whose state is behind (a reindex) runs under the key its state gives, if the keyring
//! still holds that secret.

use crate::{Keyring, Ledger};
use commonware_cryptography::Signer as _;
use custodia_protocol::{IdentityKey, IdentitySecret};
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
