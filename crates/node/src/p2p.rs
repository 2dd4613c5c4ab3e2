//! The authenticated p2p network of a real node (DESIGN §3.3): commonware's `lookup` network,
//! whose peer sets the orchestrator tracks per epoch ([`crate::epoch::peers`]). A connection
//! from a key in no tracked set fails its handshake.

use crate::{engine, epoch::peers, ledger::Ledger};
use commonware_cryptography::{ChaCha20Poly1305, ed25519::PrivateKey};
use commonware_p2p::authenticated::lookup;
use commonware_runtime::Quota;
use commonware_stream::{
    SakeCups,
    cups::{self, Cups},
    sake::{self, Sake},
};
use commonware_utils::{NZU32, NZUsize};
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

/// The quota of p2p channel `channel` ([`engine::channel`]).
pub fn quota(channel: u64) -> Quota {
    match channel {
        engine::channel::BROADCAST => QUOTA_BLOCKS,
        engine::channel::MEMPOOL => QUOTA_MEMPOOL,
        _ => QUOTA_CONSENSUS,
    }
}

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

/// How many peer sets p2p keeps: the current epoch's and the last one's, so that a validator
/// removed at a boundary is disconnected one epoch after its last (DESIGN §3.3).
pub const TRACKED_PEER_SETS: NonZeroUsize = NZUsize!(2);

/// The network configuration of a node listening on `listen`, with `bootstrap` bootstrap peers.
pub fn config(
    signer: PrivateKey,
    listen: SocketAddr,
    ledger: &Ledger,
    allow_private_ips: bool,
    bootstrap: usize,
) -> lookup::Config<SakeCups<PrivateKey, ChaCha20Poly1305>> {
    let mut config = lookup::Config::recommended(
        handshake(signer),
        P2P_NAMESPACE,
        listen,
        NonZeroUsize::new(peers::max_peers_per_set(
            ledger.params().max_validators,
            bootstrap,
        ))
        .unwrap_or(NZUsize!(1)),
        engine::max_message_size(ledger),
        NZUsize!(4_096),
    );
    config.allow_private_ips = allow_private_ips;
    config.block_duration = BLOCK_DURATION;
    // The sets of two epochs (they size the per-channel queues: see the quotas).
    config.tracked_peer_sets = TRACKED_PEER_SETS;
    // A restarted peer should be dialled again within seconds, not a minute.
    config.peer_connection_cooldown = Duration::from_secs(2);
    config.dial_frequency = Duration::from_millis(500);
    config.ping_frequency = Duration::from_secs(10);
    // Peers are few, known from the state, and may share an IP (a devnet shares 127.0.0.1): the
    // recommended one handshake per IP every 5 s would delay their (re)connections.
    config.allowed_handshake_rate_per_ip = Quota::per_second(NZU32!(16));
    config.allowed_handshake_rate_per_subnet = Quota::per_second(NZU32!(128));
    config
}
