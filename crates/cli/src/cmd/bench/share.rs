//! The share phase: requests for two fields of one of the provider's bench records, from the
//! requester, each timed from the call that creates it to its delivery on the chain (the
//! provider's and the supervisor's nodes approve on their own: approval = "auto"), then
//! fetched: opened with the requester's key and verified against the provider's commitment.

use super::{load::SHARED_FIELDS, watch::Watch};
use anyhow::{Context as _, Result, bail, ensure};
use custodia_client::{Client, NewRequest, RecordFilter, RecordId, RecordStatus, Wait};
use futures::{StreamExt as _, TryStreamExt as _};
use indicatif::ProgressBar;
use std::time::{Duration, Instant};

/// Share requests in flight at once.
const CONCURRENT: usize = 8;
/// Longest a request may take to be delivered.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest the supervisor may take to attest the bench's records.
const ATTEST_TIMEOUT: Duration = Duration::from_secs(900);

/// Waits until the supervisor has given `records` verdicts (as the watcher saw them) and no
/// record awaits one (as `client`'s node says). The node is asked only once the count is
/// reached: a bench must not load the node it measures.
pub async fn attested(client: &Client, watch: &Watch, records: u64) -> Result<()> {
    let deadline = Instant::now() + ATTEST_TIMEOUT;
    let waiting = RecordFilter {
        status: Some(RecordStatus::Submitted),
        limit: Some(1),
        ..RecordFilter::default()
    };
    loop {
        if let Some(broken) = watch.seen().broken.clone() {
            bail!("lost the node's event stream: {broken}");
        }
        if watch.seen().verdicts >= records && client.records(&waiting).await?.records.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "the supervisor has not attested every bench record after {} s: see its node.log",
                ATTEST_TIMEOUT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs one share request per record of `records` and waits for each delivery; returns how
/// many deliveries the requester opened and verified.
pub async fn run(
    requester: &Client,
    records: &[RecordId],
    watch: &Watch,
    progress: &ProgressBar,
) -> Result<usize> {
    futures::stream::iter(records.iter().copied())
        .map(|record| async move {
            let verified = share(requester, record, watch).await?;
            progress.inc(1);
            Ok::<usize, anyhow::Error>(verified)
        })
        .buffer_unordered(CONCURRENT)
        .try_fold(0, |sum, verified| async move { Ok(sum + verified) })
        .await
}

async fn share(requester: &Client, record: RecordId, watch: &Watch) -> Result<usize> {
    let start = Instant::now();
    let request = NewRequest {
        record_ids: vec![record],
        fields: SHARED_FIELDS.iter().map(|f| f.to_string()).collect(),
        purpose: "bench: fraud check".into(),
        ttl: None,
    };
    let created = requester
        .create_request(&request, Wait::No)
        .await
        .context("cannot create a bench share request")?;
    let id = created.request_id;
    watch.requested(id, start);
    let deadline = tokio::time::Instant::now() + DELIVERY_TIMEOUT;
    loop {
        let delivered = watch.delivered.notified();
        if !watch.awaiting(&id) {
            break;
        }
        if let Some(broken) = watch.seen().broken.clone() {
            bail!("lost the node's event stream: {broken}");
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "request {id} was not delivered within {} s: see the supervisor's node.log",
                DELIVERY_TIMEOUT.as_secs()
            );
        }
        let _ = tokio::time::timeout(Duration::from_millis(250), delivered).await;
    }
    // The delivery is on the chain; the requester's node opens and verifies it.
    let fetched = requester
        .fetch(&id, Wait::Finalized(Duration::from_secs(30)))
        .await?;
    let complete = fetched.records.len() == 1
        && fetched.records.iter().all(|r| {
            r.verified
                && r.fields
                    .keys()
                    .map(String::as_str)
                    .eq(SHARED_FIELDS.iter().copied())
        });
    ensure!(
        complete,
        "the delivery of request {id} did not verify: {fetched:?}"
    );
    Ok(1)
}
