//! `custodia demo`: the whole flow of DESIGN §1.1, narrated (§8.4), on an ephemeral local network.
//!
//! A devnet of 4 organisations (one node process each) in a temporary directory that is
//! removed afterwards. Two insurers share 2 fields of a claim for a fraud check: the provider
//! submits, the supervisor attests, the requester asks, provider and supervisor approve, the
//! supervisor delivers, the requester opens and verifies. Then a request the provider rejects
//! and one the supervisor refuses, the access rules, the audit trail and the agreement of the
//! four nodes. Every step prints its block height and tx id; the exit status is 0 only if
//! every step verified.

use super::devnet::{self, Manifest, Nodes};
use anyhow::{Context as _, Result, anyhow, bail, ensure};
use custodia_client::{
    AuditFilter, Client, NewRecord, NewRequest, Receipt, RecordId, RecordStatus, RequestId, Wait,
};
use serde_json::{Value, json};
use std::{collections::BTreeMap, time::Duration};

/// Members of the demo consortium besides the supervisor.
const MEMBERS: usize = 3;
/// How long a step may wait for the chain.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// `custodia demo` takes no arguments.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the demo; fails (non-zero exit) if any step does not verify.
pub fn run(_args: Args) -> Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("custodia-demo-")
        .tempdir()
        .context("cannot create a temporary directory for the demo network")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcome = runtime.block_on(async {
        let manifest = devnet::create(dir.path(), MEMBERS)?;
        let mut nodes = Nodes::start(&manifest)?;
        let outcome = tokio::select! {
            outcome = narrate(&manifest) => outcome,
            _ = devnet::shutdown_signal() => Err(anyhow!("interrupted")),
        };
        nodes.stop().await;
        outcome
    });
    // Keep the nodes' logs when something failed: they say why.
    if outcome.is_err() {
        let kept = dir.keep();
        eprintln!(
            "the demo network's files (node.log per org) are kept in {}",
            kept.display()
        );
    }
    outcome
}

/// The four organisations' clients.
struct Orgs {
    supervisor: Client,
    /// The insurer that holds the claim (the provider).
    provider: Client,
    /// The insurer that runs the fraud check (the requester).
    requester: Client,
    /// A third member, not a party to the request.
    outsider: Client,
}

async fn narrate(manifest: &Manifest) -> Result<()> {
    println!("custodia demo: supervised data sharing on a local network of 4 organisations");
    let height = devnet::wait_ready(manifest).await?;
    let client = |name: &str| -> Result<Client> {
        let org = manifest
            .orgs
            .iter()
            .find(|org| org.name == name)
            .ok_or_else(|| anyhow!("the demo network has no organisation {name}"))?;
        Ok(Client::from_org_dir(&org.dir)?)
    };
    let orgs = Orgs {
        supervisor: client("supervisor")?,
        provider: client("member-a")?,
        requester: client("member-b")?,
        outsider: client("member-c")?,
    };
    println!(
        "network ready at height {height}: supervisor (the regulator), member-a and member-b \
         (insurers), member-c (a third member); one node process each\n"
    );
    let wait = Wait::Finalized(STEP_TIMEOUT);

    // 1. The provider submits a claim, sealed to the supervisor.
    let claim = claim_fields();
    let submitted = orgs
        .provider
        .submit_record(
            &NewRecord {
                kind: "claim".into(),
                tags: vec!["motor".into(), "2026".into()],
                fields: claim.clone().into(),
            },
            wait,
        )
        .await?;
    let record_id = submitted.record_id;
    step(
        1,
        &format!(
            "member-a submits claim {record_id}: {} fields sealed to the supervisor, with a \
             salted commitment",
            claim.len()
        ),
        submitted.receipt.as_ref().map(|r| r.height),
        &submitted.tx_id,
    );

    // 2. The supervisor's node opens it and checks it against the commitment.
    let verdict = orgs.provider.wait_verdict(&record_id, STEP_TIMEOUT).await?;
    ensure!(
        verdict.status == RecordStatus::Accepted,
        "the supervisor did not accept the claim: {}",
        verdict.reason.unwrap_or_default()
    );
    let attest_tx = tx_of(&orgs.provider, record_id, "record_accepted").await?;
    step(
        2,
        &format!(
            "the supervisor's node opens it, checks every field against the commitment: \
             accepted ({})",
            verdict.reason.unwrap_or_default()
        ),
        verdict.attested_height,
        &attest_tx,
    );

    // 3–6. A fraud check: member-b asks for 2 fields; both parties approve; delivery.
    let shared = ["amount", "incident_date"];
    caught_up_to(&orgs.requester, verdict.attested_height.unwrap_or(0)).await?;
    let request = orgs
        .requester
        .create_request(
            &NewRequest {
                record_ids: vec![record_id],
                fields: shared.iter().map(|f| f.to_string()).collect(),
                purpose: "fraud check: the same vehicle appears in a claim of ours".into(),
                ttl: None,
            },
            wait,
        )
        .await?;
    let request_id = request.request_id;
    step(
        3,
        &format!(
            "member-b requests {} of the claim for a fraud check: request {request_id}",
            shared.join(" and ")
        ),
        request.receipt.as_ref().map(|r| r.height),
        &request.tx_id,
    );
    caught_up(&orgs.provider, request.receipt.as_ref()).await?;
    caught_up(&orgs.supervisor, request.receipt.as_ref()).await?;
    let approved = orgs.provider.approve(&request_id, None, wait).await?;
    step(
        4,
        "member-a, the provider, approves",
        approved.receipt.as_ref().map(|r| r.height),
        &approved.tx_id,
    );
    let approved = orgs
        .supervisor
        .approve(&request_id, Some("proportionate to the purpose"), wait)
        .await?;
    step(
        5,
        "the supervisor approves: every required party approved",
        approved.receipt.as_ref().map(|r| r.height),
        &approved.tx_id,
    );
    // Each node applies blocks on its own: member-b's must have seen the approval.
    caught_up(&orgs.requester, approved.receipt.as_ref()).await?;
    let fetched = orgs.requester.fetch(&request_id, wait).await?;
    let detail = orgs.requester.request(&request_id).await?;
    let delivery = detail
        .delivery
        .ok_or_else(|| anyhow!("request {request_id} has no delivery on the chain"))?;
    step(
        6,
        &format!(
            "the supervisor's node opens the claim, keeps the 2 approved fields and seals them \
             to member-b ({} bytes)",
            delivery.sealed_bytes
        ),
        Some(delivery.height),
        &delivery.tx_id,
    );

    // 7. The requester opens and verifies.
    ensure!(
        fetched.records.len() == 1,
        "the delivery holds {} records, not 1",
        fetched.records.len()
    );
    let opened = &fetched.records[0];
    let expected: BTreeMap<String, Value> = shared
        .iter()
        .map(|name| (name.to_string(), claim[*name].clone()))
        .collect();
    ensure!(
        opened.verified && opened.fields == expected,
        "member-b's delivery does not hold exactly the approved fields: {:?}",
        opened.fields.keys().collect::<Vec<_>>()
    );
    println!(
        "step  7  member-b opens the delivery with its private key and verifies each field \
         against member-a's commitment:"
    );
    for (name, value) in &opened.fields {
        println!("            {name} = {value}  (verified)");
    }
    println!(
        "          the other {} fields stay sealed to the supervisor",
        claim.len() - opened.fields.len()
    );

    // 8. Only the requester can open its delivery.
    for (who, client) in [("member-c", &orgs.outsider), ("member-a", &orgs.provider)] {
        match client.fetch(&request_id, Wait::No).await {
            Err(err) if err.status() == Some(403) => {}
            other => bail!("{who} fetching member-b's delivery should be refused: {other:?}"),
        }
    }
    println!(
        "step  8  member-c and member-a (the provider) ask for member-b's delivery: refused (403)"
    );

    // 9. A request the provider rejects.
    let request = orgs
        .outsider
        .create_request(
            &NewRequest {
                record_ids: vec![record_id],
                fields: vec!["insured_name".into(), "amount".into()],
                purpose: "marketing study".into(),
                ttl: None,
            },
            wait,
        )
        .await?;
    caught_up(&orgs.provider, request.receipt.as_ref()).await?;
    let rejected = orgs
        .provider
        .reject(
            &request.request_id,
            "not a purpose our policyholders agreed to",
            wait,
        )
        .await?;
    caught_up(&orgs.outsider, rejected.receipt.as_ref()).await?;
    expect_closed(&orgs.outsider, &request.request_id, "rejected").await?;
    step(
        9,
        &format!(
            "member-c requests insured_name and amount for a marketing study ({}); member-a \
             rejects it: nothing is delivered",
            request.request_id
        ),
        rejected.receipt.as_ref().map(|r| r.height),
        &rejected.tx_id,
    );

    // 10. A request the supervisor refuses although the provider approved.
    let request = orgs
        .requester
        .create_request(
            &NewRequest {
                record_ids: vec![record_id],
                fields: vec!["diagnosis".into()],
                purpose: "fraud check: injury consistent with the accident?".into(),
                ttl: None,
            },
            wait,
        )
        .await?;
    caught_up(&orgs.provider, request.receipt.as_ref()).await?;
    caught_up(&orgs.supervisor, request.receipt.as_ref()).await?;
    orgs.provider
        .approve(&request.request_id, None, wait)
        .await?;
    let refused = orgs
        .supervisor
        .reject(
            &request.request_id,
            "health data is not proportionate to a fraud check",
            wait,
        )
        .await?;
    caught_up(&orgs.requester, refused.receipt.as_ref()).await?;
    expect_closed(&orgs.requester, &request.request_id, "rejected").await?;
    step(
        10,
        &format!(
            "member-b requests the diagnosis ({}); member-a approves, the supervisor refuses: \
             nothing is delivered",
            request.request_id
        ),
        refused.receipt.as_ref().map(|r| r.height),
        &refused.tx_id,
    );

    // 11. The audit trail, from any node.
    caught_up(&orgs.outsider, refused.receipt.as_ref()).await?;
    let trail = orgs
        .outsider
        .audit_all(&AuditFilter {
            record: Some(record_id),
            ..AuditFilter::default()
        })
        .await?;
    println!("step 11  the audit trail of the claim, as member-c's node reads it from the chain:");
    for entry in &trail {
        println!(
            "            block {:>4}  {:<18}  {:<10}  {}",
            entry.height,
            entry.kind,
            entry.actor.as_deref().unwrap_or("-"),
            entry.detail
        );
    }
    let kinds: Vec<&str> = trail.iter().map(|e| e.kind.as_str()).collect();
    for kind in [
        "record_submitted",
        "record_accepted",
        "request_created",
        "request_approved",
        "request_delivered",
        "request_rejected",
    ] {
        ensure!(
            kinds.contains(&kind),
            "the audit trail lacks a {kind} entry"
        );
    }

    // 12. Every node agrees on the state.
    let (height, commitment) = agreed_commitment(&orgs).await?;
    println!(
        "step 12  all 4 nodes agree on the state commitment after block {height}: {commitment}"
    );

    // 13. The delivery, proven against that commitment, checked here.
    let delivered = trail
        .iter()
        .find(|entry| entry.kind == "request_delivered")
        .ok_or_else(|| anyhow!("the audit trail lacks a request_delivered entry"))?;
    let proof = orgs
        .outsider
        .event_proof(delivered.seq, Some(height))
        .await?;
    let proven = custodia_client::verify_event_answer(&proof, delivered.seq, Some(height))?;
    ensure!(
        custodia_protocol::hash::to_hex(&proven.state_commitment) == commitment,
        "the delivery's proof is against another commitment than the nodes agree on"
    );
    println!(
        "step 13  the delivery (audit entry {}) is leaf {} of the history that commitment \
         covers: its {}-byte proof checks out here",
        delivered.seq,
        proven.location,
        proof.proof.proof.len() / 2
    );

    // 14. That commitment, certified by a quorum of the validators, checked here.
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    while orgs.outsider.status().await?.certified_height < height {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "block {height}'s state commitment was not certified within {STEP_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let certificate = orgs.outsider.certificate(height).await?;
    super::audit::check_certificate(&certificate)?;
    ensure!(
        certificate.state_commitment == commitment,
        "the certificate of block {height} is of another commitment than the nodes agree on"
    );
    println!(
        "step 14  that commitment is certified by {} of the {} validators ({}): their \
         signatures check out here",
        certificate.signers.len(),
        certificate.validators.len(),
        certificate.signers.join(", ")
    );
    println!("\ndemo complete: every step verified");
    Ok(())
}

/// A motor claim of 6 fields.
fn claim_fields() -> BTreeMap<String, Value> {
    [
        ("claim_no", json!("CLM-2026-004211")),
        ("insured_name", json!("Jane Roe")),
        ("vehicle_vin", json!("WVWZZZ1KZAW000001")),
        ("incident_date", json!("2026-10-03")),
        ("amount", json!(18250.5)),
        ("diagnosis", json!("whiplash, grade II")),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value))
    .collect()
}

/// Prints a step with its block height and tx id.
fn step(number: u32, text: &str, height: Option<u64>, tx_id: &str) {
    let height = height.map_or_else(|| "?".to_string(), |h| h.to_string());
    println!("step {number:>2}  {text}");
    println!("          block {height}, tx {tx_id}");
}

/// Waits until `client`'s node applied the block holding `receipt`.
async fn caught_up(client: &Client, receipt: Option<&Receipt>) -> Result<()> {
    let Some(receipt) = receipt else {
        bail!("a write returned without its receipt although it waited for finalization");
    };
    caught_up_to(client, receipt.height).await
}

/// Waits until `client`'s node applied block `height`.
async fn caught_up_to(client: &Client, height: u64) -> Result<()> {
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    while client.status().await?.height < height {
        if tokio::time::Instant::now() > deadline {
            bail!(
                "{} did not apply block {height} within {} s",
                client.base_url(),
                STEP_TIMEOUT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// The tx of the audit entry `kind` about `record_id`.
async fn tx_of(client: &Client, record_id: RecordId, kind: &str) -> Result<String> {
    let trail = client
        .audit_all(&AuditFilter {
            record: Some(record_id),
            ..AuditFilter::default()
        })
        .await?;
    trail
        .into_iter()
        .find(|entry| entry.kind == kind)
        .and_then(|entry| entry.tx_id)
        .ok_or_else(|| anyhow!("the audit trail of {record_id} has no {kind} entry"))
}

/// Checks the request ended with `status` and that fetching it says so.
async fn expect_closed(client: &Client, request_id: &RequestId, status: &str) -> Result<()> {
    let detail = client.request(request_id).await?;
    ensure!(
        detail.request.status.as_str() == status,
        "request {request_id} is {}, not {status}",
        detail.request.status
    );
    ensure!(
        detail.delivery.is_none(),
        "request {request_id} was delivered although {status}"
    );
    match client.fetch(request_id, Wait::No).await {
        Err(err) if err.code() == Some(status) => Ok(()),
        other => bail!("fetching request {request_id} should fail with {status:?}: {other:?}"),
    }
}

/// The state commitment all four nodes report for one block height.
async fn agreed_commitment(orgs: &Orgs) -> Result<(u64, String)> {
    let clients = [
        &orgs.supervisor,
        &orgs.provider,
        &orgs.requester,
        &orgs.outsider,
    ];
    let mut lowest = u64::MAX;
    for client in clients {
        lowest = lowest.min(client.status().await?.height);
    }
    let mut commitments = Vec::new();
    for client in clients {
        commitments.push(client.block(lowest).await?.state_commitment);
    }
    ensure!(
        commitments.iter().all(|c| c == &commitments[0]),
        "the nodes disagree on the state after block {lowest}: {commitments:?}"
    );
    Ok((lowest, commitments.swap_remove(0)))
}
