//! The physical limit: how many tx signatures one core verifies per second with the Ed25519
//! code the nodes run (`Tx::verify_signature` and the batch `verify_signatures`), and what that
//! allows a network of `validators` nodes sharing this machine's cores:
//! `limit_tx_per_s = cores × batch rate / validators` (every node verifies every tx once).
//! It bounds any chain whose validators share the machine: ours verifies each tx once per
//! node (the mempool's check is reused when the block comes), so nothing verifies less.

use custodia_protocol::{Tx, tx::verify_signatures};
use serde::Serialize;
use std::{
    hint::black_box,
    time::{Duration, Instant},
};

/// How long each rate is measured.
const MEASURE_FOR: Duration = Duration::from_millis(1500);
/// Txs per batch, about a busy block's share of one gossip batch.
pub const BATCH: usize = 512;

/// The measured verify rates and the limit they set.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Limit {
    /// Signatures verified per second on one core, one by one.
    pub single_per_s: f64,
    /// Signatures verified per second on one core, in batches of [`BATCH`].
    pub batch_per_s: f64,
    /// Cores of this machine.
    pub cores: usize,
}

impl Limit {
    /// The txs per second `validators` nodes sharing this machine's cores can verify:
    /// `cores × batch_per_s / validators`.
    pub fn tx_per_s(&self, validators: usize) -> f64 {
        self.cores as f64 * self.batch_per_s / validators.max(1) as f64
    }
}

/// Measures the verify rates on the calling thread with `txs` (real signed txs, at least one).
pub fn measure(txs: &[Tx]) -> Limit {
    let single_per_s = rate(|| {
        let mut n = 0;
        for tx in txs {
            assert!(
                black_box(tx).verify_signature(),
                "a bench tx does not verify"
            );
            n += 1;
        }
        n
    });
    let batch_per_s = rate(|| {
        let mut n = 0;
        for chunk in txs.chunks(BATCH) {
            assert!(verify_signatures(black_box(chunk)).is_empty());
            n += chunk.len();
        }
        n
    });
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Limit {
        single_per_s,
        batch_per_s,
        cores,
    }
}

/// Runs `round` (which returns how many signatures it verified) until [`MEASURE_FOR`] passed.
fn rate(mut round: impl FnMut() -> usize) -> f64 {
    round(); // warm up
    let start = Instant::now();
    let mut verified = 0;
    while start.elapsed() < MEASURE_FOR {
        verified += round();
    }
    verified as f64 / start.elapsed().as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use custodia_protocol::{Body, OrgKeys};

    #[test]
    fn the_limit_is_cores_times_the_batch_rate_over_validators() {
        let keys = OrgKeys::from_seed(3);
        let chain = commonware_cryptography::sha256::Digest([7; 32]);
        let txs: Vec<Tx> = (0..64)
            .map(|i| {
                let body = Body::Cancel {
                    request_id: custodia_protocol::RequestId([i as u8; 16]),
                };
                Tx::sign_with_nonce(&keys.identity, chain, 10, i, body)
            })
            .collect();
        let limit = measure(&txs);
        assert!(limit.single_per_s > 0.0 && limit.batch_per_s > 0.0);
        let expected = limit.cores as f64 * limit.batch_per_s / 4.0;
        assert!((limit.tx_per_s(4) - expected).abs() < 1e-6);
    }
}
