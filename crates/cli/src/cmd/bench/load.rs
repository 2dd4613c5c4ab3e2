//! The load: `SubmitRecord` txs from every member, sealed to the supervisor with real HPKE and
//! real salted commitments, then sent in batches to every node as fast as they admit them.
//!
//! Sealing (the expensive part) happens before the clock starts, on every core. Each batch is
//! signed just before it is sent: a tx is valid for only `max_tx_ttl` blocks, and a busy chain
//! passes that many in seconds, so txs signed at the start would expire before the last are
//! sent. The submitters keep at most `window` bench txs sent and not yet applied (a closed
//! loop); txs a full mempool refused are sent again.

use super::watch::{TxId, Watch};
use anyhow::{Context as _, Result, bail};
use commonware_codec::Encode as _;
use commonware_cryptography::Signer as _;
use custodia_client::{Client, Error as ClientError};
use custodia_protocol::{
    Body, Digest, EncryptionKey, FieldValue, IdentitySecret, RecordId, Tx, record::seal_record,
};
use indicatif::ProgressBar;
use serde_json::json;
use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

/// Txs per `POST /v1/txs`.
pub const BATCH_TXS: usize = 512;
/// Kind of the bench's records.
pub const KIND: &str = "bench_claim";
/// The fields a share request asks for.
pub const SHARED_FIELDS: [&str; 2] = ["amount", "incident_date"];
/// Pause before a batch the mempool was too full for is sent again.
const FULL_PAUSE: Duration = Duration::from_millis(25);

/// A sealed record not yet signed.
pub struct Unsigned {
    /// Index of the member that provides it.
    pub member: usize,
    /// The `SubmitRecord` body.
    pub body: Body,
}

impl Unsigned {
    /// The record's id.
    pub fn record_id(&self) -> Option<RecordId> {
        match &self.body {
            Body::SubmitRecord { record_id, .. } => Some(*record_id),
            _ => None,
        }
    }
}

/// The fields of record `i`, with `padding` bytes of notes.
fn fields(i: usize, padding: usize) -> BTreeMap<String, FieldValue> {
    BTreeMap::from([
        ("amount".into(), json!(1000 + (i % 90_000))),
        (
            "incident_date".into(),
            json!(format!("2026-{:02}-{:02}", 1 + i % 12, 1 + i % 28)),
        ),
        ("policy".into(), json!(format!("POL-{i:09}"))),
        ("notes".into(), json!("n".repeat(padding))),
    ])
}

/// Seals `n` records (round-robin over `members`, each about `payload_bytes` sealed) on every
/// core; `progress` counts them.
pub fn seal_all(
    chain: Digest,
    supervisor: EncryptionKey,
    members: &[IdentitySecret],
    n: usize,
    payload_bytes: usize,
    progress: &ProgressBar,
) -> Result<Vec<Unsigned>> {
    let seal_one = |i: usize, padding: usize| -> Result<Unsigned> {
        let member = i % members.len();
        let record_id = RecordId::random();
        let sealed = seal_record(
            &chain,
            &record_id,
            KIND,
            &members[member].public_key(),
            &supervisor,
            fields(i, padding),
        )
        .context("cannot seal a bench record")?;
        Ok(Unsigned {
            member,
            body: sealed.into_body(record_id, KIND.into(), vec!["bench".into()]),
        })
    };
    // Calibrate: the sealed size without notes, then pad every record to the size asked.
    let bare = match seal_one(0, 0)?.body {
        Body::SubmitRecord { sealed, .. } => sealed.len(),
        _ => unreachable!("seal_one builds SubmitRecord bodies"),
    };
    if payload_bytes < bare {
        bail!("--payload-bytes must be at least {bare}: a bench record's fields seal to that");
    }
    let padding = payload_bytes - bare;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = AtomicU64::new(0);
    let sealed: Mutex<Vec<Unsigned>> = Mutex::new(Vec::with_capacity(n));
    std::thread::scope(|scope| -> Result<()> {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    loop {
                        let start = next.fetch_add(256, Ordering::Relaxed) as usize;
                        if start >= n {
                            return Ok(());
                        }
                        let end = (start + 256).min(n);
                        let chunk = (start..end)
                            .map(|i| seal_one(i, padding))
                            .collect::<Result<Vec<_>>>()?;
                        sealed
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .extend(chunk);
                        progress.inc((end - start) as u64);
                    }
                })
            })
            .collect();
        for worker in workers {
            worker
                .join()
                .map_err(|_| anyhow::anyhow!("a sealing thread panicked"))??;
        }
        Ok(())
    })?;
    Ok(sealed.into_inner().unwrap_or_else(|p| p.into_inner()))
}

/// What the nodes refused for good, by code.
pub type Refused = HashMap<String, u64>;

/// The signing side of the submitters.
#[derive(Clone)]
pub struct Signing {
    /// The chain.
    pub chain: Digest,
    /// Every member's identity secret, by member index.
    pub members: Arc<Vec<IdentitySecret>>,
    /// Blocks a signed tx stays valid beyond the height last seen.
    pub valid_for: u64,
}

/// Sends every record of `load` to the nodes of `clients` (one submitter per node) within the
/// watcher's window; `progress` counts the txs the nodes took.
pub async fn submit_all(
    load: Vec<Unsigned>,
    clients: Vec<Client>,
    signing: Signing,
    watch: Watch,
    progress: ProgressBar,
) -> Result<Refused> {
    let queue = Arc::new(Mutex::new(load.into_iter()));
    let refused = Arc::new(Mutex::new(Refused::new()));
    let mut tasks = Vec::new();
    for client in clients {
        let (queue, refused) = (queue.clone(), refused.clone());
        let (signing, watch, progress) = (signing.clone(), watch.clone(), progress.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let batch: Vec<Unsigned> = {
                    let mut queue = queue.lock().unwrap_or_else(|p| p.into_inner());
                    queue.by_ref().take(BATCH_TXS).collect()
                };
                if batch.is_empty() {
                    return Ok::<(), anyhow::Error>(());
                }
                watch
                    .window
                    .acquire_many(batch.len() as u32)
                    .await
                    .context("the bench's window closed")?
                    .forget();
                let valid_until = watch.seen().height + signing.valid_for;
                let signer = signing.clone();
                let (ids, txs) =
                    tokio::task::spawn_blocking(move || sign(&signer, batch, valid_until))
                        .await
                        .context("a signing task failed")?;
                send(&client, ids, txs, &watch, &refused, &progress).await?;
            }
        }));
    }
    for task in tasks {
        task.await.context("a submitter failed")??;
    }
    let refused = refused.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok(refused)
}

fn sign(signing: &Signing, batch: Vec<Unsigned>, valid_until: u64) -> (Vec<TxId>, Vec<Tx>) {
    batch
        .into_iter()
        .map(|unsigned| {
            let tx = Tx::sign(
                &signing.members[unsigned.member],
                signing.chain,
                valid_until,
                unsigned.body,
            );
            (tx.id().0, tx)
        })
        .unzip()
}

/// Sends `txs` until the node took or refused each (resending those a full mempool refused).
async fn send(
    client: &Client,
    mut ids: Vec<TxId>,
    mut txs: Vec<Tx>,
    watch: &Watch,
    refused: &Mutex<Refused>,
    progress: &ProgressBar,
) -> Result<()> {
    while !txs.is_empty() {
        // The body of a batch `POST /v1/txs`: the codec encoding of a list of txs.
        let bytes = txs.encode().to_vec();
        watch.sent(&ids);
        let answer = match client.submit_txs(bytes).await {
            Ok(answer) => answer,
            Err(ClientError::Api { status: 503, .. }) => {
                tokio::time::sleep(FULL_PAUSE).await;
                continue;
            }
            Err(err) => return Err(err).context("a node refused a batch of bench txs"),
        };
        progress.inc(answer.accepted.len() as u64);
        let (mut again_ids, mut again) = (Vec::new(), Vec::new());
        let mut lost = Vec::new();
        let mut rejected: HashMap<usize, String> = answer
            .rejected
            .into_iter()
            .map(|r| (r.index as usize, r.code))
            .collect();
        for (index, (id, tx)) in ids.into_iter().zip(txs).enumerate() {
            match rejected.remove(&index).as_deref() {
                None => {}
                Some("mempool_full" | "unavailable") => {
                    again_ids.push(id);
                    again.push(tx);
                }
                Some(code) => {
                    *refused
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .entry(code.to_string())
                        .or_default() += 1;
                    lost.push(id);
                }
            }
        }
        watch.refused(&lost);
        if !again.is_empty() {
            tokio::time::sleep(FULL_PAUSE).await;
        }
        (ids, txs) = (again_ids, again);
    }
    Ok(())
}
