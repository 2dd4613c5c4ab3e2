//! Listening ports: the check a node makes before its p2p network binds, and the ports a
//! devnet (or a test) gives its nodes.
//!
//! A port the kernel hands out for `bind(0)` comes from its ephemeral range, the range it also
//! takes the local ports of outgoing connections from: a port that was free a moment ago can be
//! the source port of a node's connection by the time another node listens on it. Ports
//! chosen here come from below that range, so no outgoing connection takes them.

use anyhow::{Result, anyhow};
use std::{
    collections::HashSet,
    net::{Ipv4Addr, SocketAddr, TcpListener},
    sync::{Mutex, PoisonError},
};

/// The lowest port [`unused_port`] chooses.
const FLOOR: u16 = 10_000;
/// The kernel's ephemeral range when `/proc` does not say (Linux's default).
const DEFAULT_EPHEMERAL_START: u16 = 32_768;

/// Ports this process handed out already (so two nodes of one devnet never share one).
static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// A port on 127.0.0.1 that nothing listens on now, below the kernel's ephemeral range, and
/// that this process did not hand out before. Chosen at random, so two devnets started at the
/// same moment rarely try the same one.
pub fn unused_port() -> Result<u16> {
    let top = ephemeral_start().max(FLOOR + 1_000);
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    let handed_out = handed_out.get_or_insert_with(HashSet::new);
    for _ in 0..1_000 {
        let port = rand::random_range(FLOOR..top);
        if handed_out.contains(&port) {
            continue;
        }
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            handed_out.insert(port);
            return Ok(port);
        }
    }
    Err(anyhow!(
        "no free port on 127.0.0.1 between {FLOOR} and {top}: free some, or give the nodes \
         their addresses by hand"
    ))
}

/// The first port of the kernel's ephemeral range (`net.ipv4.ip_local_port_range`).
fn ephemeral_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(DEFAULT_EPHEMERAL_START)
}

/// Fails with a message an operator can act on if `addr` cannot be listened on. The p2p
/// network binds its address itself and cannot report a failure other than by panicking, so
/// the node tries first.
pub fn check_listen(addr: SocketAddr, what: &str) -> Result<()> {
    TcpListener::bind(addr).map(drop).map_err(|err| {
        anyhow!(
            "cannot listen on the {what} address {addr}: {err}. Is another node or program \
             using it? Stop it, or set another address in the config"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_free_and_below_the_ephemeral_range() {
        let ports: Vec<u16> = (0..50).map(|_| unused_port().unwrap()).collect();
        let distinct: HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len());
        assert!(ports.iter().all(|p| (FLOOR..ephemeral_start()).contains(p)));
    }

    #[test]
    fn a_taken_address_is_refused_with_what_to_do() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let err = check_listen(taken.local_addr().unwrap(), "p2p").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("p2p address"), "{message}");
        assert!(message.contains("set another address"), "{message}");
        drop(taken);
    }
}
