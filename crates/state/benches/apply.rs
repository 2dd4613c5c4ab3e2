//! `apply` of a 10,000-tx block of `SubmitRecord` with 1 KiB sealed payloads, on a real SQLite
//! file in WAL mode. Target (issue 2): ≥ 50,000 `SubmitRecord`/s on one core.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use custodia_protocol::{
    Block, Genesis, OrgKeys, Params, RecordId, Tx, commitment::FieldValue, record::seal_record,
};
use custodia_state::State;
use std::{collections::BTreeMap, time::Duration};

const TXS: usize = 10_000;
const PAYLOAD_BYTES: usize = 1024;

fn consortium() -> (Vec<OrgKeys>, Genesis) {
    let keys = custodia_protocol::testing::consortium_keys(4);
    let genesis = custodia_protocol::testing::genesis_of(&keys, Params::default());
    (keys, genesis)
}

/// A block of `TXS` submits from the three members, each sealing ~1 KiB to the supervisor.
fn submit_block(keys: &[OrgKeys], genesis: &Genesis) -> Block {
    let chain = genesis.digest();
    let supervisor = keys[0].encryption_key();
    // The JSON payload (name, salt, value) plus the HPKE overhead comes to ~1 KiB sealed.
    let value = FieldValue::String("x".repeat(PAYLOAD_BYTES - 150));
    let txs = (0..TXS)
        .map(|i| {
            let provider = &keys[1 + i % 3];
            let record_id = RecordId::random();
            let fields = BTreeMap::from([("payload".to_string(), value.clone())]);
            let sealed = seal_record(
                &chain,
                &record_id,
                "bench",
                &provider.identity_key(),
                &supervisor,
                fields,
            )
            .expect("seal");
            let body = sealed.into_body(record_id, "bench".into(), vec![]);
            Tx::sign(&provider.identity, chain, 100, body)
        })
        .collect();
    Block {
        parent: Block::genesis(chain).digest(),
        height: 1,
        timestamp_ms: 1,
        txs,
    }
}

fn apply(c: &mut Criterion) {
    let (keys, genesis) = consortium();
    let block = submit_block(&keys, &genesis);
    let mut group = c.benchmark_group("apply");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(TXS as u64));
    group.bench_function("submit_record_block_10k_1KiB", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("temp dir");
                let state = State::open(&dir.path().join("state.sqlite"), &genesis).expect("open");
                (dir, state)
            },
            |(dir, mut state)| {
                let applied = state.apply(&block).expect("apply").expect("applied");
                assert!(applied.receipts.iter().all(|r| r.is_ok()));
                (dir, state)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, apply);
criterion_main!(benches);
