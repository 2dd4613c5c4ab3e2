//! The authenticated p2p network of a real node (DESIGN §3.3): commonware's `lookup` network
//! with the peers and addresses of the genesis. A connection from a key outside the genesis
//! fails its handshake.

use crate::{engine, ledger::Ledger};
use anyhow::{Context as _, Result, anyhow};
use commonware_cryptography::{
    ChaCha20Poly1305, Signer as _, ed25519::PrivateKey, ed25519::PublicKey,
};
use commonware_p2p::{Address, authenticated::lookup};
use commonware_runtime::Quota;
use commonware_stream::{
    SakeCups,
    cups::{self, Cups},
    sake::{self, Sake},
};
use commonware_utils::{NZU32, NZUsize, ordered::Map};
use custodia_protocol::Genesis;
use std::{net::SocketAddr, num::NonZeroUsize, time::Duration};

/// Namespace of p2p handshakes (DESIGN §3.3, §3.8).
pub const P2P_NAMESPACE: &[u8] = b"_CUSTODIA_P2P";

// Each quota also sizes memory: p2p preallocates, per channel, one queue slot per message of
// one second's burst for every peer (and as many again in its outbound router), so 10,000/s
// on four channels cost ~350 MiB of resident queues per node. The quotas are a few times what
// a busy chain sends: simplex sends a handful of votes and certificates per view, and views
// take at least ~10 ms even on loopback.

/// Messages per second each peer may send on a consensus channel.
pub const QUOTA_CONSENSUS: Quota = Quota::per_second(NZU32!(1_000));
/// Messages per second each peer may send on the block broadcast channel.
pub const QUOTA_BLOCKS: Quota = Quota::per_second(NZU32!(256));
/// Gossip batches per second each peer may send (one per 20 ms is the gossip's pace).
pub const QUOTA_MEMPOOL: Quota = Quota::per_second(NZU32!(256));

/// How long a peer blocked for a fault no honest node makes stays disconnected (its next fault
/// blocks it again). Short enough that a peer blocked by a bug in this software comes back
/// without an operator; the recommended 4 hours would cost the network a validator meanwhile.
pub const BLOCK_DURATION: Duration = Duration::from_secs(10 * 60);

/// The handshake: Sake authentication with the organisation's identity key, then an encrypted
/// (ChaCha20-Poly1305) stream.
pub fn handshake(signer: PrivateKey) -> SakeCups<PrivateKey, ChaCha20Poly1305> {
    Cups::<_, ChaCha20Poly1305>::new(
        Sake {
            signer,
            synchrony_bound: Duration::from_secs(5),
            max_handshake_age: Duration::from_secs(10),
            version: sake::Version::V1,
        },
        cups::Version::V1,
    )
}

/// The network configuration of a node listening on `listen`.
pub fn config(
    signer: PrivateKey,
    listen: SocketAddr,
    ledger: &Ledger,
    allow_private_ips: bool,
) -> lookup::Config<SakeCups<PrivateKey, ChaCha20Poly1305>> {
    let me = signer.public_key();
    let participants = engine::participants(ledger);
    let mut config = lookup::Config::recommended(
        handshake(signer),
        P2P_NAMESPACE,
        listen,
        // Every organisation, plus this node if (wrongly) it is not one of them.
        NonZeroUsize::new(participants.len() + usize::from(participants.position(&me).is_none()))
            .unwrap_or(NZUsize!(1)),
        engine::max_message_size(ledger),
        NZUsize!(4_096),
    );
    config.allow_private_ips = allow_private_ips;
    config.block_duration = BLOCK_DURATION;
    // One peer set, fixed by the genesis (sizes the per-channel queues: see the quotas).
    config.tracked_peer_sets = NZUsize!(1);
    // A restarted peer should be dialled again within seconds, not a minute.
    config.peer_connection_cooldown = Duration::from_secs(2);
    config.dial_frequency = Duration::from_millis(500);
    config.ping_frequency = Duration::from_secs(10);
    // Peers are fixed by the genesis and may share an IP (a devnet shares 127.0.0.1): the
    // recommended one handshake per IP every 5 s would delay their (re)connections.
    config.allowed_handshake_rate_per_ip = Quota::per_second(NZU32!(16));
    config.allowed_handshake_rate_per_subnet = Quota::per_second(NZU32!(128));
    config
}

/// Every organisation's identity key and p2p address, from the genesis.
pub fn peers(genesis: &Genesis) -> Result<Map<PublicKey, Address>> {
    let peers = genesis
        .orgs
        .iter()
        .map(|org| {
            let addr: SocketAddr = org
                .p2p
                .parse()
                .with_context(|| format!("genesis p2p address of {} is not IP:PORT", org.name))?;
            Ok((org.identity_key.clone(), Address::Symmetric(addr)))
        })
        .collect::<Result<Vec<(PublicKey, Address)>>>()?;
    Map::try_from(peers).map_err(|_| anyhow!("the genesis lists an identity key twice"))
}
