//! `custodia bench`: the throughput and latency of a 4-node devnet on this machine, next to the
//! machine's physical limit (DESIGN §8.6, docs/BENCHMARKS.md).
//!
//! 1. The limit: one core's Ed25519 verify rate, one by one and batched, with the nodes' code.
//! 2. The network: the devnet running in `--dir`, or one started there (or in a temporary
//!    directory), every node with approval = "auto".
//! 3. The load: `--txs` records of `--payload-bytes` sealed bytes from every member, sealed
//!    before the clock starts, sent in signed batches to all nodes within a window of txs in
//!    flight; the finalized-and-applied rate over the middle 80% of the run, submit → applied
//!    latency, blocks/s and txs per block, as one node's event stream shows them.
//! 4. The share requests: `--requests` requests (member-b asks member-a), request → delivered
//!    latency; every delivery opened and verified by the requester's node.
//! 5. The nodes' resident memory at the end.
//!
//! `custodia bench flood` ([`flood`]) measures instead the honest finalization rate of a
//! running devnet before and during a gossip flood from one of its validators.

mod flood;
mod limit;
mod load;
mod network;
mod report;
mod share;
mod stats;
mod watch;

use super::{client_args::GlobalArgs, output};
use anyhow::{Context as _, Result, anyhow, bail};
use custodia_client::Client;
use custodia_node::config::{CONFIG_FILE, NodeConfig};
use custodia_protocol::{Genesis, OrgKeys, Role, Tx};
use load::{Signing, Unsigned};
use network::Network;
use report::Report;
use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};
use watch::Watch;

/// Longest the chain may take to apply the last bench txs once all were sent.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(300);

/// Arguments of `custodia bench`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    /// Another measurement instead of the throughput bench.
    #[command(subcommand)]
    pub mode: Option<Mode>,
    /// Devnet directory: the devnet running there is benchmarked, else one is started there
    /// (and created if missing). Without it, a temporary devnet is used and removed.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Records to submit (SubmitRecord txs, from every member).
    #[arg(long, default_value_t = 300_000,
          value_parser = clap::value_parser!(u64).range(100..=10_000_000))]
    pub txs: u64,
    /// Sealed payload of each record, in bytes.
    #[arg(long, default_value_t = 1024,
          value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    pub payload_bytes: u64,
    /// Share requests to time from request to delivery.
    #[arg(long, default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(0..=100_000))]
    pub requests: u64,
    /// Most bench txs sent and not yet applied (the closed loop's window; at least one batch
    /// of 512). Latency is about the window over the throughput (Little's law): a smaller
    /// window trades a little throughput for latency (docs/BENCHMARKS.md).
    #[arg(long, default_value_t = 4_000,
          value_parser = clap::value_parser!(u64).range(512..=200_000))]
    pub in_flight: u64,
}

/// The measurements of `custodia bench` besides its throughput bench.
#[derive(Debug, clap::Subcommand)]
pub enum Mode {
    /// The honest finalization rate of a running devnet before and during a gossip flood from
    /// one of its validators (whose node is stopped; the flooder takes its p2p identity).
    Flood(flood::Args),
}

/// Runs the bench and prints its report (a table, or JSON with `--json`).
pub fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    if let Some(Mode::Flood(args)) = args.mode {
        return flood::run(args, global);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(async {
        tokio::select! {
            report = bench(&args) => report,
            _ = super::devnet::shutdown_signal() => Err(anyhow!("interrupted")),
        }
    })?;
    if global.json {
        output::print_json(&report)
    } else {
        output::print_stdout(&report.table())
    }
}

async fn bench(args: &Args) -> Result<Report> {
    network::check_dir(args.dir.as_deref())?;
    let payload_bytes = args.payload_bytes as usize;
    let limit = measure_limit(payload_bytes).await?;
    eprintln!(
        "limit: one core verifies {:.0} signatures/s one by one, {:.0}/s in batches",
        limit.single_per_s, limit.batch_per_s
    );
    let network = Network::acquire(args.dir.as_deref()).await?;
    let outcome = measure(&network, args, limit).await;
    let kept = network.stop(outcome.is_err()).await;
    if let Some(kept) = kept {
        eprintln!(
            "the bench network's files (node.log per org) are kept in {}",
            kept.display()
        );
    }
    outcome
}

async fn measure_limit(payload_bytes: usize) -> Result<limit::Limit> {
    tokio::task::spawn_blocking(move || {
        let keys: Vec<OrgKeys> = (0..3).map(|_| OrgKeys::generate()).collect();
        let members: Vec<_> = keys.iter().map(|k| k.identity.clone()).collect();
        let chain = commonware_cryptography::sha256::Digest([0x5a; 32]);
        let sealed = load::seal_all(
            chain,
            OrgKeys::generate().encryption_key(),
            &members,
            1024,
            payload_bytes,
            &indicatif::ProgressBar::hidden(),
        )?;
        let txs: Vec<Tx> = sealed
            .into_iter()
            .map(|u| Tx::sign(&members[u.member], chain, 600, u.body))
            .collect();
        Ok(limit::measure(&txs))
    })
    .await
    .context("the limit measurement failed")?
}

/// What the bench needs from the devnet's files.
struct Chain {
    genesis: Genesis,
    /// Every member's keys, in the manifest's order.
    members: Vec<OrgKeys>,
}

fn read_chain(network: &Network) -> Result<Chain> {
    let mut genesis = None;
    let mut members = Vec::new();
    for org in network.members() {
        let config = NodeConfig::load(&org.dir.join(CONFIG_FILE))?;
        let text = std::fs::read_to_string(&config.key)
            .with_context(|| format!("cannot read {}", config.key.display()))?;
        members
            .push(OrgKeys::from_toml(&text).map_err(|e| anyhow!("{}: {e}", config.key.display()))?);
        if genesis.is_none() {
            let text = std::fs::read_to_string(&config.genesis)
                .with_context(|| format!("cannot read {}", config.genesis.display()))?;
            genesis = Some(
                Genesis::from_toml(&text)
                    .map_err(|e| anyhow!("{}: {e}", config.genesis.display()))?,
            );
        }
    }
    let genesis = genesis.ok_or_else(|| anyhow!("the devnet has no members"))?;
    Ok(Chain { genesis, members })
}

async fn measure(network: &Network, args: &Args, limit: limit::Limit) -> Result<Report> {
    let chain = read_chain(network)?;
    let supervisor = chain
        .genesis
        .orgs
        .iter()
        .find(|org| org.role == Role::Supervisor)
        .ok_or_else(|| anyhow!("the devnet's genesis names no supervisor"))?
        .encryption_key;
    let secrets: Vec<_> = chain.members.iter().map(|k| k.identity.clone()).collect();
    let digest = chain.genesis.digest();
    let n = args.txs as usize;

    // Seal every record before the clock starts.
    let bar = output::progress_bar(n as u64, "sealing records");
    let started = Instant::now();
    let sealed = {
        let (secrets, bar) = (secrets.clone(), bar.clone());
        let payload = args.payload_bytes as usize;
        tokio::task::spawn_blocking(move || {
            load::seal_all(digest, supervisor, &secrets, n, payload, &bar)
        })
        .await
        .context("sealing failed")??
    };
    bar.finish_and_clear();
    eprintln!(
        "sealed {n} records in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Share requests go from the second member to the first: pick the first member's records.
    let shared: Vec<_> = sealed
        .iter()
        .filter(|u| u.member == 0)
        .filter_map(Unsigned::record_id)
        .take(args.requests as usize)
        .collect();
    if shared.len() < args.requests as usize {
        bail!(
            "--requests {} is more than member-a's {} bench records",
            args.requests,
            shared.len()
        );
    }

    let clients = network.clients()?;
    // The requester's node: it observes the load and the deliveries.
    let requester = network
        .members()
        .nth(1)
        .map(|org| Client::from_org_dir(&org.dir))
        .ok_or_else(|| anyhow!("the devnet has fewer than 2 members"))??;
    let observer = requester.clone();
    let watch = Watch::start(observer.clone(), args.in_flight as usize).await?;
    let signing = Signing {
        chain: digest,
        members: Arc::new(secrets),
        valid_for: chain.genesis.params.max_tx_ttl / 2,
    };

    // The load.
    let bar = output::progress_bar(n as u64, "records applied");
    let load_start = Instant::now();
    let submitted = load::submit_all(
        sealed,
        clients,
        signing,
        watch.clone(),
        indicatif::ProgressBar::hidden(),
    );
    let ticker = {
        let (watch, bar) = (watch.clone(), bar.clone());
        tokio::spawn(async move {
            loop {
                bar.set_position(watch.seen().applied.len() as u64);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let refused = submitted.await?;
    let drain_deadline = Instant::now() + DRAIN_TIMEOUT;
    while watch.outstanding() > 0 {
        if let Some(broken) = watch.seen().broken.clone() {
            bail!("lost the node's event stream: {broken}");
        }
        if Instant::now() > drain_deadline {
            bail!(
                "{} bench txs were not applied {} s after the last was sent: see the nodes' logs",
                watch.outstanding(),
                DRAIN_TIMEOUT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ticker.abort();
    bar.finish_and_clear();
    let load_secs = load_start.elapsed().as_secs_f64();
    eprintln!(
        "applied {} records in {load_secs:.1} s",
        watch.seen().applied.len()
    );

    // The supervisor attests every record, then the share requests.
    let supervisor_client = Client::from_org_dir(&network.org("supervisor")?.dir)?;
    let spinner = output::Spinner::start("waiting for the supervisor's verdicts");
    share::attested(&supervisor_client, &watch, n as u64).await?;
    drop(spinner);
    let attest_secs = load_start.elapsed().as_secs_f64();
    let bar = output::progress_bar(shared.len() as u64, "share requests delivered");
    let verified = share::run(&observer, &shared, &watch, &bar).await?;
    bar.finish_and_clear();

    let rss = network.rss_mib();
    Ok(Report::new(report::Inputs {
        args,
        limit,
        validators: network.manifest.orgs.len(),
        load_start,
        load_secs,
        attest_secs,
        seen: &watch.seen(),
        refused,
        verified,
        rss,
    }))
}
