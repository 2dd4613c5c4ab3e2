//! Issue 18's first measurement (docs/plans/issue-18-evidence.md): what an append-only history of
//! receipts and events in commonware's MMR costs per 10,000-tx block, against `apply` of that
//! block (`benches/apply.rs`). A block of `SubmitRecord`s makes one receipt and one event per
//! tx: 20,000 leaves, about 40,000 new nodes. Measured: appending them to an MMR of 1,000,000
//! leaves kept as its peaks only (`prune_all`), writing the new nodes to SQLite in one
//! transaction (where the node would keep them for proofs) as one row per node or as one blob
//! per block, and verifying one leaf's proof. The proof's size is printed. Results:
//! docs/BENCHMARKS.md, "History commitment".

use commonware_codec::EncodeSize as _;
use commonware_cryptography::Sha256;
use commonware_storage::mmr::{Location, StandardHasher, mem::Mmr};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::time::Duration;

const LEAVES_PER_BLOCK: u64 = 20_000;
const HISTORY: u64 = 1_000_000;

type Hasher = StandardHasher<Sha256>;

fn hasher() -> Hasher {
    StandardHasher::new(commonware_storage::merkle::Bagging::ForwardFold)
}

/// A receipt-sized leaf (tx id, height, index, code, message): about 80 bytes.
fn leaf(n: u64) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(80);
    bytes.extend_from_slice(b"custodia/leaf/receipt/v1");
    bytes.extend_from_slice(&[n as u8; 32]);
    bytes.extend_from_slice(&n.to_be_bytes());
    bytes.extend_from_slice(b"\x00\x00\x00\x02ok");
    bytes
}

fn append(
    mmr: &mut Mmr<commonware_cryptography::sha256::Digest>,
    hasher: &Hasher,
    from: u64,
    n: u64,
) {
    let batch = (from..from + n)
        .fold(mmr.new_batch(), |batch, i| batch.add(hasher, &leaf(i)))
        .merkleize(mmr, hasher);
    mmr.apply_batch(&batch).expect("a batch of this mmr");
}

/// An MMR of `HISTORY` leaves, kept as its peaks, and the full one for proofs.
fn history(
    hasher: &Hasher,
) -> (
    Mmr<commonware_cryptography::sha256::Digest>,
    Mmr<commonware_cryptography::sha256::Digest>,
) {
    let mut full = Mmr::new();
    for chunk in 0..HISTORY / LEAVES_PER_BLOCK {
        append(
            &mut full,
            hasher,
            chunk * LEAVES_PER_BLOCK,
            LEAVES_PER_BLOCK,
        );
    }
    let mut peaks = full.clone();
    peaks.prune_all();
    (peaks, full)
}

/// A fresh SQLite file in WAL mode, as the state opens it, with the table `schema` creates.
fn nodes_db(schema: &str) -> (tempfile::TempDir, rusqlite::Connection) {
    let dir = tempfile::tempdir().expect("temp dir");
    let conn = rusqlite::Connection::open(dir.path().join("nodes.sqlite")).expect("open");
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; {schema}"
    ))
    .expect("schema");
    (dir, conn)
}

fn bench(c: &mut Criterion) {
    let hasher = hasher();
    let (peaks, full) = history(&hasher);
    let root = full.root(&hasher, 0).expect("a root");
    let loc = Location::new(HISTORY / 3);
    let proof = full.proof(&hasher, loc, 0).expect("a proof");
    assert!(proof.verify_element_inclusion(&hasher, &leaf(HISTORY / 3), loc, &root));
    eprintln!(
        "history: the proof of one leaf among {HISTORY} is {} bytes ({} digests)",
        proof.encode_size(),
        proof.digests.len()
    );

    let mut group = c.benchmark_group("history");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(LEAVES_PER_BLOCK));
    group.bench_function("mmr_append_20k_leaves_of_1M", |b| {
        b.iter_batched(
            || peaks.clone(),
            |mut mmr| {
                append(&mut mmr, &hasher, HISTORY, LEAVES_PER_BLOCK);
                let root = mmr.root(&hasher, 0).expect("a root");
                mmr.prune_all();
                (mmr, root)
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("sqlite_insert_40k_nodes", |b| {
        b.iter_batched(
            || {
                nodes_db(
                    "CREATE TABLE history_nodes (pos INTEGER PRIMARY KEY, digest BLOB NOT NULL);",
                )
            },
            |(dir, mut conn)| {
                let tx = conn.transaction().expect("a transaction");
                {
                    let mut insert = tx
                        .prepare_cached("INSERT INTO history_nodes (pos, digest) VALUES (?1, ?2)")
                        .expect("prepare");
                    for pos in 0..2 * LEAVES_PER_BLOCK {
                        insert
                            .execute(rusqlite::params![pos as i64, &[pos as u8; 32][..]])
                            .expect("insert");
                    }
                }
                tx.commit().expect("commit");
                (dir, conn)
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("sqlite_one_blob_of_40k_nodes", |b| {
        b.iter_batched(
            || nodes_db("CREATE TABLE history_blocks (first_pos INTEGER PRIMARY KEY, nodes BLOB NOT NULL);"),
            |(dir, mut conn)| {
                let nodes: Vec<u8> = (0..2 * LEAVES_PER_BLOCK)
                    .flat_map(|pos| [pos as u8; 32])
                    .collect();
                let tx = conn.transaction().expect("a transaction");
                tx.execute(
                    "INSERT INTO history_blocks (first_pos, nodes) VALUES (?1, ?2)",
                    rusqlite::params![0i64, nodes],
                )
                .expect("insert");
                tx.commit().expect("commit");
                (dir, conn)
            },
            BatchSize::PerIteration,
        )
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("verify_one_leaf_proof_of_1M", |b| {
        let element = leaf(HISTORY / 3);
        b.iter(|| assert!(proof.verify_element_inclusion(&hasher, &element, loc, &root)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
