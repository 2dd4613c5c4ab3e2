//! Verifying the signatures of many txs at once (DESIGN §7.2): one batch, and bisection to
//! find the bad ones when it fails; and the process's counters of signature work.

use super::Tx;
use crate::{IdentityKey, TX_NAMESPACE};
use commonware_cryptography::{BatchEntry, BatchVerifier};

/// Verifies the signatures of many txs at once (faster than one by one). Returns the indexes of
/// the txs whose signature fails; empty when all verify.
pub fn verify_signatures(txs: &[Tx]) -> Vec<usize> {
    let refs: Vec<&Tx> = txs.iter().collect();
    verify_signatures_of(&refs)
}

/// Signatures this process checked so far, one by one and as entries of batches: the work
/// counters the tests of DESIGN §7.2 read to bound what a bad signature costs.
static CHECKED_SINGLY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static CHECKED_IN_BATCHES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Counts one signature checked on its own ([`Tx::verify_signature`]).
pub(super) fn count_single() {
    CHECKED_SINGLY.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// How many signatures this process has checked: `(one by one, as batch entries)`.
pub fn signatures_checked() -> (u64, u64) {
    use std::sync::atomic::Ordering::Relaxed;
    (
        CHECKED_SINGLY.load(Relaxed),
        CHECKED_IN_BATCHES.load(Relaxed),
    )
}

/// [`verify_signatures`] over borrowed txs (a subset of a block, say).
///
/// One batch verification for all; if it fails, the failing part is found by bisection: a half
/// that verifies is done with, a half that fails is split again (and when the first half
/// verifies, the second is known to fail without checking it whole). One bad signature among
/// `n` costs about `2.4n` batch entries (a batch entry costs ~1/2.8 of a single check), instead
/// of `n` single checks after the batch, and each tx is in at most `log2 n + 1` batches.
pub fn verify_signatures_of(txs: &[&Tx]) -> Vec<usize> {
    if txs.is_empty() {
        return Vec::new();
    }
    let payloads: Vec<Vec<u8>> = txs.iter().map(|tx| tx.signing_payload()).collect();
    let mut bad = Vec::new();
    if !batch_verifies(txs, &payloads, 0..txs.len()) {
        bisect(txs, &payloads, 0..txs.len(), &mut bad);
    }
    bad
}

/// Whether every signature of `txs` verifies, in one batch and nothing more: for a batch whose
/// one bad signature condemns all of it (a peer's gossip, DESIGN §7.3).
pub fn signatures_verify(txs: &[&Tx]) -> bool {
    let payloads: Vec<Vec<u8>> = txs.iter().map(|tx| tx.signing_payload()).collect();
    txs.is_empty() || batch_verifies(txs, &payloads, 0..txs.len())
}

/// Whether every signature of `txs[range]` verifies, in one batch.
fn batch_verifies(txs: &[&Tx], payloads: &[Vec<u8>], range: std::ops::Range<usize>) -> bool {
    CHECKED_IN_BATCHES.fetch_add(range.len() as u64, std::sync::atomic::Ordering::Relaxed);
    let part = &txs[range.clone()];
    let start = range.start;
    IdentityKey::verify_batch(
        &mut rand::rng(),
        part,
        |i, tx| BatchEntry {
            namespace: TX_NAMESPACE,
            message: &payloads[start + i],
            public_key: &tx.signer,
            signature: &tx.signature,
        },
        &commonware_parallel::Sequential,
    )
}

/// Adds to `bad` the positions of the failing signatures of `txs[range]`, known to hold at
/// least one.
fn bisect(txs: &[&Tx], payloads: &[Vec<u8>], range: std::ops::Range<usize>, bad: &mut Vec<usize>) {
    if range.len() == 1 {
        bad.push(range.start);
        return;
    }
    let middle = range.start + range.len() / 2;
    let (left, right) = (range.start..middle, middle..range.end);
    if batch_verifies(txs, payloads, left.clone()) {
        // The failure is on the right.
        bisect(txs, payloads, right, bad);
        return;
    }
    bisect(txs, payloads, left, bad);
    if !batch_verifies(txs, payloads, right.clone()) {
        bisect(txs, payloads, right, bad);
    }
}
