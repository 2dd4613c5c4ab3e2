//! The node's hot paths under `custodia bench` (docs/BENCHMARKS.md):
//! - admission of a batch of 512 `SubmitRecord` txs (1 KiB sealed) from the API: one by one
//!   (`Ledger::submit`, one signature verified per tx) against `Ledger::submit_batch` (one
//!   batch verification, outside the state lock);
//! - the supervisor's verdict on a submitted record (`workers::supervisor::attestation`: open
//!   the HPKE payload, check names and commitment), which the role worker runs on every core.
//!
//! `cargo bench -p custodia-node --bench admission`

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use custodia_node::{Ledger, mempool::MempoolLimits, workers::supervisor};
use custodia_protocol::{
    FieldValue, OrgKeys, Params, RecordId, Tx,
    testing::{consortium_keys, genesis_of, submit_record},
};
use std::{sync::Arc, time::Duration};

const BATCH: usize = 512;
const PAYLOAD_BYTES: usize = 1024;

struct Fixture {
    keys: Vec<OrgKeys>,
    params: Params,
}

impl Fixture {
    fn new() -> Self {
        Self {
            keys: consortium_keys(4),
            params: Params::default(),
        }
    }

    fn ledger(&self) -> Arc<Ledger> {
        Ledger::open(
            genesis_of(&self.keys, self.params),
            None,
            MempoolLimits::default(),
        )
        .expect("in-memory ledger")
    }

    /// `n` signed submits from the three members, ~1 KiB sealed each.
    fn submits(&self, n: usize) -> Vec<(RecordId, Tx)> {
        let chain = genesis_of(&self.keys, self.params).digest();
        let value = FieldValue::String("x".repeat(PAYLOAD_BYTES - 150));
        (0..n)
            .map(|i| {
                submit_record(
                    &chain,
                    &self.keys[1 + i % 3],
                    &self.keys[0],
                    &[("payload", value.clone())],
                    100,
                )
            })
            .collect()
    }
}

fn admission(c: &mut Criterion) {
    let fixture = Fixture::new();
    let txs: Vec<Tx> = fixture
        .submits(BATCH)
        .into_iter()
        .map(|(_, tx)| tx)
        .collect();
    let mut group = c.benchmark_group("admission");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("submit_one_by_one_512", |b| {
        b.iter_batched(
            || (fixture.ledger(), txs.clone()),
            |(ledger, txs)| {
                for tx in txs {
                    ledger.submit(tx).expect("admitted");
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("submit_batch_512", |b| {
        b.iter_batched(
            || (fixture.ledger(), txs.clone()),
            |(ledger, txs)| {
                assert!(ledger.submit_batch(txs).iter().all(Result::is_ok));
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn attestation(c: &mut Criterion) {
    let fixture = Fixture::new();
    let ledger = fixture.ledger();
    let submits = fixture.submits(64);
    // Put the records in the state, as a finalized block would.
    let block = custodia_protocol::Block {
        parent: custodia_protocol::Block::genesis(ledger.chain()).digest(),
        height: 1,
        timestamp_ms: 1,
        txs: submits.iter().map(|(_, tx)| tx.clone()).collect(),
    };
    ledger.state().apply(&block).expect("apply");
    let records: Vec<supervisor::Submitted> = ledger
        .query(|queries| {
            submits
                .iter()
                .map(|(id, _)| supervisor::submitted(queries, id).map(|r| r.expect("submitted")))
                .collect()
        })
        .expect("read");
    let supervisor_keys = &fixture.keys[0];
    let chain = ledger.chain();
    let mut group = c.benchmark_group("supervisor");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("attest_64_records_1KiB", |b| {
        b.iter(|| {
            for record in &records {
                std::hint::black_box(supervisor::attestation(
                    &chain,
                    supervisor_keys,
                    &fixture.params,
                    record,
                ));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, admission, attestation);
criterion_main!(benches);
