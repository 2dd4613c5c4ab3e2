//! Issue 18's second measurement (docs/plans/issue-18-evidence.md): what a commitment to the
//! world state in commonware's `qmdb::current` (unordered, fixed-size values) costs per
//! 10,000-tx block, against `apply` of that block (`benches/apply.rs`).
//!
//! A block of 10,000 `SubmitRecord`s, once the supervisor attests them in a later block,
//! changes about 20,000 rows; a busier block (requests, decisions, deliveries) about 30,000.
//! Modelled: a database of `KEYS` rows (keys `SHA-256(n)`, values 32-byte row digests), then a
//! block of `NEW` new rows and `UPDATED` updates of existing ones — merkleized (its root
//! computed), applied and committed to its journals on disk (what `C_h` would need before the
//! block's SQLite commit, and what must be durable after it). Results: docs/BENCHMARKS.md,
//! "World-state commitment".

use commonware_cryptography::{Hasher as _, Sha256, sha256::Digest};
use commonware_parallel::Sequential;
use commonware_runtime::{
    BLOB_PAGE_SIZE, Runner as _,
    buffer::paged::{CacheRef, page_size},
    tokio,
};
use commonware_storage::{
    journal::contiguous::fixed::Config as JournalConfig,
    merkle::{full::Config as MerkleConfig, mmr},
    qmdb::{
        current::{FixedConfig, unordered::fixed::Db},
        floor::Proportional,
    },
    translator::EightCap,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::{
    num::{NonZeroU64, NonZeroUsize},
    time::{Duration, Instant},
};

/// Rows in the world state before the measured blocks.
const KEYS: u64 = 1_000_000;
/// Rows a block creates.
const NEW: u64 = 20_000;
/// Rows a block updates.
const UPDATED: u64 = 10_000;

type World = Db<mmr::Family, tokio::Context, Digest, Digest, Sha256, EightCap, 32, Sequential>;

/// The partitions' names follow qmdb's own tests: with `world-merkle` and
/// `world-merkle-metadata` (one a prefix of the other) the tokio runtime's storage refused the
/// first open with `BlobAlreadyOpen("world-merkle-metadata", "left")`.
fn config() -> FixedConfig<EightCap, Sequential> {
    let nz = |n: u64| NonZeroU64::new(n).expect("non-zero");
    let nzu = |n: usize| NonZeroUsize::new(n).expect("non-zero");
    let page_cache = CacheRef::new(page_size(BLOB_PAGE_SIZE), nzu(512));
    FixedConfig {
        merkle_config: MerkleConfig {
            journal_partition: "world-journal-partition".into(),
            metadata_partition: "world-metadata-partition".into(),
            items_per_blob: nz(50_000),
            write_buffer: nzu(2 << 20),
            replay_buffer: nzu(2 << 20),
            strategy: Sequential,
            page_cache: page_cache.clone(),
        },
        journal_config: JournalConfig {
            partition: "world-partition-prefix".into(),
            items_per_blob: nz(50_000),
            page_cache,
            write_buffer: nzu(2 << 20),
            replay_buffer: nzu(2 << 20),
        },
        grafted_metadata_partition: "world-grafted-metadata-partition".into(),
        translator: EightCap,
        init_cache: Some(nzu(1 << 18)),
        init_buffer: nzu(1 << 21),
        init_concurrency: (),
    }
}

fn key(n: u64) -> Digest {
    Sha256::hash(&[&n.to_be_bytes()])
}

fn value(n: u64, version: u64) -> Digest {
    Sha256::hash(&[&n.to_be_bytes(), &version.to_be_bytes()])
}

/// One block's changes: `NEW` rows after the `next` first, `UPDATED` earlier rows.
async fn block(db: World, next: u64, version: u64) -> (World, Digest) {
    let mut batch = db.new_batch();
    for n in next..next + NEW {
        batch = batch.write(key(n), Some(value(n, version)));
    }
    for i in 0..UPDATED {
        // Spread over the rows that exist, deterministically.
        let n = (i * 7_919 + version * 104_729) % next;
        batch = batch.write(key(n), Some(value(n, version)));
    }
    let merkleized = batch
        .merkleize(&db, None, &mut Proportional)
        .await
        .expect("merkleize");
    let root = merkleized.root();
    let db = db.apply_batch(merkleized).await.expect("apply");
    (db.commit().await.expect("commit"), root)
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let runner = || tokio::Runner::new(tokio::Config::new().with_storage_directory(dir.path()));
    // The seeded database, written once.
    runner().start(|context| async move {
        let mut db = World::init(context, config(), None).await.expect("init");
        let mut batch = db.new_batch();
        for n in 0..KEYS {
            batch = batch.write(key(n), Some(value(n, 0)));
        }
        let merkleized = batch
            .merkleize(&db, None, &mut Proportional)
            .await
            .expect("merkleize");
        db = db.apply_batch(merkleized).await.expect("apply");
        db.commit().await.expect("commit");
    });

    let mut group = c.benchmark_group("world");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(NEW + UPDATED));
    let mut rows = KEYS;
    let mut version = 1;
    group.bench_function("qmdb_current_30k_changes_of_1M_rows", |b| {
        b.iter_custom(|iters| {
            let (start_rows, start_version) = (rows, version);
            let took = runner().start(|context| async move {
                let mut db = World::init(context, config(), None).await.expect("reopen");
                let mut took = Duration::ZERO;
                for i in 0..iters {
                    let started = Instant::now();
                    let (next, _root) = block(db, start_rows + i * NEW, start_version + i).await;
                    took += started.elapsed();
                    db = next;
                }
                db.sync().await.expect("sync");
                took
            });
            rows += iters * NEW;
            version += iters;
            took
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
