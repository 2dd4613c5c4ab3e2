//! The peers a node tracks in each epoch (DESIGN §3.3): the validators of the epoch as primary
//! peers, and as secondary peers those the next epoch adds (a new member syncs a full epoch
//! before it votes) and, while this node is in neither set, the bootstrap peers of its config.
//! Addresses come from the state: each organisation's `p2p` address, from the genesis or from
//! the `AddMember` that admitted it.

use crate::ledger::Ledger;
use commonware_cryptography::ed25519::PublicKey;
use commonware_p2p::{Address, AddressableTrackedPeers};
use commonware_utils::ordered::Map;
use std::{collections::BTreeMap, net::SocketAddr};
use tracing::warn;

/// A peer given by address in the node's config, for a node that knows no current validator
/// from its own state yet (DESIGN §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapPeer {
    /// The peer's identity key.
    pub key: PublicKey,
    /// Where it listens for p2p.
    pub addr: SocketAddr,
}

/// The most peers one tracked set may hold on a chain of at most `max_validators` validators
/// with `bootstrap` bootstrap peers: the seat a change adds to the next epoch, and this node
/// when it is in neither set, come on top.
pub fn max_peers_per_set(max_validators: u64, bootstrap: usize) -> usize {
    usize::try_from(max_validators)
        .unwrap_or(usize::MAX)
        .saturating_add(2)
        .saturating_add(bootstrap)
}

/// The peer set of `epoch` as this node tracks it, or `None` if the validators of `epoch` or of
/// the next are not known yet (logged).
pub fn peer_set(
    ledger: &Ledger,
    epoch: u64,
    me: &PublicKey,
    bootstrap: &[BootstrapPeer],
) -> Option<AddressableTrackedPeers<PublicKey>> {
    let sets = ledger.validator_sets();
    let (Some(current), Some(next)) = (sets.set(epoch), sets.set(epoch.saturating_add(1))) else {
        warn!(
            epoch,
            "the validators of the epoch are not known: no peers tracked"
        );
        return None;
    };
    let addresses = match ledger.query(|queries| Ok(queries.orgs()?)) {
        Ok(orgs) => orgs
            .into_iter()
            .map(|org| (org.identity_key, org.p2p))
            .collect::<BTreeMap<_, _>>(),
        Err(err) => {
            warn!(%err, epoch, "cannot read the organisations' addresses: no peers tracked");
            return None;
        }
    };
    let address = |key: &PublicKey| -> Option<(PublicKey, Address)> {
        let p2p = addresses.get(key)?;
        match p2p.parse::<SocketAddr>() {
            Ok(addr) => Some((key.clone(), Address::Symmetric(addr))),
            Err(_) => {
                warn!(%key, p2p, "an organisation's p2p address is not IP:PORT: not dialled");
                None
            }
        }
    };
    let primary: Vec<_> = current.iter().filter_map(address).collect();
    let mut secondary: Vec<_> = next
        .iter()
        .filter(|key| current.position(key).is_none())
        .filter_map(address)
        .collect();
    if current.position(me).is_none() && next.position(me).is_none() {
        secondary.extend(
            bootstrap
                .iter()
                .filter(|peer| current.position(&peer.key).is_none())
                .map(|peer| (peer.key.clone(), Address::Symmetric(peer.addr))),
        );
    }
    Some(AddressableTrackedPeers::new(
        Map::from_iter_dedup(primary),
        Map::from_iter_dedup(secondary),
    ))
}
