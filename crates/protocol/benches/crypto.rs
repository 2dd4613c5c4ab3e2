//! The protocol's cryptographic hot paths: signing and verifying txs (one by one and batched, as
//! block verification does), decoding a tx and computing its id (every node does both for every
//! tx it receives), and HPKE sealing and opening of records of growing size.
//!
//! `cargo bench -p custodia-protocol --bench crypto`

use bytes::Bytes;
use commonware_codec::Encode as _;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use custodia_protocol::{
    Body, Digest, OrgKeys, Params, RecordId, Tx,
    seal::{RECORD_INFO, open, record_aad, seal},
    tx::{TxCfg, verify_signatures},
};
use std::{hint::black_box, time::Duration};

/// Sealed payload of the txs signed and verified: a typical small record.
const TX_PAYLOAD_BYTES: usize = 1024;
/// Txs verified in one batch (a busy block).
const BATCH_TXS: usize = 1_000;
/// Plaintext sizes sealed and opened.
const SEAL_SIZES: [(usize, &str); 3] = [(1 << 10, "1KiB"), (64 << 10, "64KiB"), (1 << 20, "1MiB")];

fn chain() -> Digest {
    commonware_cryptography::sha256::Digest([0xc5; 32])
}

/// A `SubmitRecord` with a sealed payload of [`TX_PAYLOAD_BYTES`] random-looking bytes.
fn submit_body(i: u64) -> Body {
    let sealed: Vec<u8> = (0..TX_PAYLOAD_BYTES as u64)
        .map(|b| (b.wrapping_mul(31).wrapping_add(i)) as u8)
        .collect();
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&i.to_be_bytes());
    Body::SubmitRecord {
        record_id: RecordId(id),
        kind: "claim".into(),
        tags: vec!["2026".into()],
        fields: (0..8).map(|f| format!("field_{f}")).collect(),
        commitment: commonware_cryptography::sha256::Digest([0x11; 32]),
        sealed: Bytes::from(sealed),
    }
}

fn signed_txs(n: usize) -> Vec<Tx> {
    let signers: Vec<OrgKeys> = (1..=3).map(OrgKeys::from_seed).collect();
    (0..n as u64)
        .map(|i| {
            let keys = &signers[i as usize % signers.len()];
            Tx::sign_with_nonce(&keys.identity, chain(), 600, i, submit_body(i))
        })
        .collect()
}

fn tx_signatures(c: &mut Criterion) {
    let keys = OrgKeys::from_seed(1);
    let body = submit_body(0);
    let mut group = c.benchmark_group("tx");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sign", |b| {
        b.iter(|| Tx::sign_with_nonce(&keys.identity, chain(), 600, 7, black_box(body.clone())))
    });
    let tx = Tx::sign_with_nonce(&keys.identity, chain(), 600, 7, body);
    group.bench_function("verify_single", |b| {
        b.iter(|| assert!(black_box(&tx).verify_signature()))
    });
    // The signer's key is decompressed once per process (keys::identity_key_from_array), so
    // this is the steady state of a node decoding its consortium's txs.
    let bytes = tx.encode();
    let cfg = TxCfg::from(&Params::default());
    group.bench_function("decode", |b| {
        b.iter(|| Tx::decode_bytes(black_box(bytes.clone()), &cfg).expect("decodes"))
    });
    group.bench_function("id", |b| b.iter(|| black_box(&tx).id()));
    let txs = signed_txs(BATCH_TXS);
    group.throughput(Throughput::Elements(BATCH_TXS as u64));
    group.bench_function(BenchmarkId::new("verify_batch", BATCH_TXS), |b| {
        b.iter(|| assert!(verify_signatures(black_box(&txs)).is_empty()))
    });
    group.finish();
}

fn sealing(c: &mut Criterion) {
    let supervisor = OrgKeys::from_seed(0);
    let provider = OrgKeys::from_seed(1);
    let aad = record_aad(&chain(), &RecordId([1; 16]), &provider.identity_key());
    let recipient = supervisor.encryption_key();
    let mut group = c.benchmark_group("seal");
    for (size, label) in SEAL_SIZES {
        let plaintext: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("seal", label), |b| {
            b.iter(|| seal(&recipient, RECORD_INFO, &aad, black_box(&plaintext)).unwrap())
        });
        let sealed = seal(&recipient, RECORD_INFO, &aad, &plaintext).unwrap();
        group.bench_function(BenchmarkId::new("open", label), |b| {
            b.iter(|| {
                open(
                    &supervisor.encryption,
                    RECORD_INFO,
                    &aad,
                    black_box(&sealed),
                )
                .unwrap()
            })
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(15)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
}

criterion_group! {
    name = benches;
    config = config();
    targets = tx_signatures, sealing
}
criterion_main!(benches);
