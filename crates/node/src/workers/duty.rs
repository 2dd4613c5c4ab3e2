//! A role worker's duty: one tx the organisation owes the chain (an attestation, a delivery, a
//! decision), and how that tx is made the same every time it is made.
//!
//! A worker may crash after submitting a duty's tx and before seeing it finalized; peers may
//! still hold the tx and finalize it later. So that doing the duty again after a restart can
//! never put a second tx on the chain, a duty's tx is a pure function of the duty and of a
//! *validity window*: `valid_until` is the first `anchor + k·W` at or after the next height, the
//! nonce is derived from the duty and `valid_until`, the signature is deterministic (Ed25519) and
//! a delivery is sealed with an ephemeral key drawn from a seed derived with HKDF from the
//! supervisor's delivery-seed key, the chain, the request, the recipient's encryption key and
//! `valid_until` (`custodia_protocol::delivery::delivery_seed`). Re-submitting within a window yields the
//! same tx id, which the mempool and the state's replay protection absorb; a new window starts
//! only once the previous window's tx can no longer be included.

use custodia_protocol::{Body, Digest, OrgKeys, Params, RecordId, RequestId, Tx, hash::sha256};

/// Domain of duty nonces.
const NONCE_DOMAIN: &[u8] = b"custodia/worker/nonce/v1";

/// What a worker owes the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Duty {
    /// The supervisor's verdict on a submitted record.
    Attest(RecordId),
    /// The supervisor's delivery of an approved request.
    Deliver(RequestId),
    /// This organisation's decision on a pending request (the `auto` policy).
    Decide(RequestId),
}

impl Duty {
    /// A short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Duty::Attest(_) => "attest",
            Duty::Deliver(_) => "deliver",
            Duty::Decide(_) => "decide",
        }
    }

    fn tag_and_id(&self) -> (u8, [u8; 16]) {
        match self {
            Duty::Attest(id) => (0, id.0),
            Duty::Deliver(id) => (1, id.0),
            Duty::Decide(id) => (2, id.0),
        }
    }
}

impl std::fmt::Display for Duty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Duty::Attest(id) => write!(f, "attest {id}"),
            Duty::Deliver(id) => write!(f, "deliver {id}"),
            Duty::Decide(id) => write!(f, "decide {id}"),
        }
    }
}

/// Blocks in one validity window: half the chain's tx ttl, so a window's tx fits the admission
/// window `h <= valid_until <= h + max_tx_ttl` at every height of the window.
pub fn window_blocks(params: &Params) -> u64 {
    (params.max_tx_ttl / 2).max(1)
}

/// The `valid_until` of a duty's tx submitted when the next height is `next`: the first
/// `anchor + k·W` (k ≥ 1) at or after `next`. `anchor` is the height the duty arose at.
pub fn valid_until(anchor: u64, next: u64, window: u64) -> u64 {
    let elapsed = next.saturating_sub(anchor).max(1);
    anchor.saturating_add(elapsed.div_ceil(window).saturating_mul(window))
}

/// The nonce of a duty's tx with this `valid_until`.
pub fn nonce(duty: &Duty, valid_until: u64) -> u64 {
    let (tag, id) = duty.tag_and_id();
    let digest = sha256(&[NONCE_DOMAIN, &[tag], &id, &valid_until.to_be_bytes()]);
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest.as_ref()[..8]);
    u64::from_be_bytes(bytes)
}

/// Signs a duty's tx: the same inputs give the same tx.
pub fn sign(keys: &OrgKeys, chain: Digest, duty: &Duty, valid_until: u64, body: Body) -> Tx {
    Tx::sign_with_nonce(
        &keys.identity,
        chain,
        valid_until,
        nonce(duty, valid_until),
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_until_is_the_first_window_end_at_or_after_the_next_height() {
        assert_eq!(valid_until(10, 11, 300), 310);
        assert_eq!(valid_until(10, 310, 300), 310);
        assert_eq!(valid_until(10, 311, 300), 610);
        assert_eq!(valid_until(10, 5, 300), 310);
        for next in 11..2000 {
            let until = valid_until(10, next, 300);
            assert!(until >= next && until < next + 300, "next {next}: {until}");
        }
    }

    #[test]
    fn a_duty_signed_twice_in_one_window_is_the_same_tx() {
        let keys = OrgKeys::from_seed(1);
        let chain = sha256(&[b"chain"]);
        let duty = Duty::Decide(RequestId([3; 16]));
        let body = || Body::Decide {
            request_id: RequestId([3; 16]),
            approve: true,
            reason: String::new(),
        };
        let first = sign(&keys, chain, &duty, 310, body());
        assert_eq!(first.id(), sign(&keys, chain, &duty, 310, body()).id());
        assert_ne!(first.id(), sign(&keys, chain, &duty, 610, body()).id());
        let other = Duty::Attest(RecordId([3; 16]));
        assert_ne!(nonce(&duty, 310), nonce(&other, 310));
    }
}
