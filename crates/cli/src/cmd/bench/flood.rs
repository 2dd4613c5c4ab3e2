//! `custodia bench flood`: the honest finalization rate of a devnet before and during a gossip
//! flood from one of its validators (DESIGN §7.3, docs/BENCHMARKS.md).
//!
//! The flooder joins the devnet's `lookup` p2p network with the identity key of an organisation
//! whose node is stopped, as its node would ([`custodia_node::p2p`]), and sends gossip batches
//! on the mempool channel to every peer at the channel's quota. A steady honest load goes
//! through member-a's API, timed by its event stream: a baseline window, then one of flood.

use super::{
    load::{self, Signing, Unsigned},
    stats::Percentiles,
    watch::Watch,
};
use crate::cmd::{
    client_args::GlobalArgs,
    devnet::{MANIFEST_FILE, Manifest, ManifestOrg},
    output,
};
use anyhow::{Context as _, Result, anyhow, bail};
use commonware_codec::{Encode as _, EncodeSize as _};
use commonware_cryptography::{Signer as _, sha256};
use commonware_p2p::{
    AddressableManager as _, Receiver as _, Recipients, Sender as _, authenticated::lookup,
};
use commonware_runtime::{
    Clock as _, IoBuf, Runner as _, Spawner as _, Supervisor as _, tokio as runtime,
};
use custodia_client::Client;
use custodia_node::{
    Ledger,
    config::{CONFIG_FILE, NodeConfig},
    engine::channel,
    epoch::peers,
    gossip::{BATCH_BYTES, MAX_BATCH_TXS},
    p2p,
};
use custodia_protocol::{Body, Digest, Genesis, IdentitySecret, OrgKeys, RequestId, Role, Tx};
use serde::Serialize;
use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

/// Sealed bytes of each honest record; honest batches per second.
const PAYLOAD_BYTES: usize = 1024;
const TICKS_PER_SECOND: u64 = 10;
/// Left out of the baseline (the load ramping up); longest the flood window's honest txs may
/// take to finalize after it; how often the flood's txs are signed again (to stay valid).
const WARMUP: Duration = Duration::from_secs(3);
const DRAIN: Duration = Duration::from_secs(60);
const REFRESH: Duration = Duration::from_secs(10);
/// The member whose API takes the honest load and whose event stream times it.
const HONEST: &str = "member-a";
/// Txs in each bad-signature or wrong-chain batch.
const FLOOD_TXS: usize = 1_000;

/// What the flooder sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Batches of txs whose signatures fail.
    BadSignature,
    /// Bytes that decode to no batch.
    Undecodable,
    /// Batches of txs signed for another chain.
    WrongChain,
    /// Maximal batches of txs that pass every stateless check and fail their rules.
    FailingRules,
}

/// Arguments of `custodia bench flood`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Devnet directory (from `custodia devnet`): its nodes run, except the flooder's.
    #[arg(long, default_value = "./devnet")]
    pub dir: PathBuf,
    /// The organisation the flooder impersonates (its p2p identity and address); stop its
    /// node first. The honest load goes through member-a.
    #[arg(long, default_value = "member-c")]
    pub org: String,
    /// What the flooder sends.
    #[arg(long, value_enum, default_value_t = Kind::BadSignature)]
    pub kind: Kind,
    /// Seconds of the flood, and of the baseline before it.
    #[arg(long, default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(10..=3_600))]
    pub duration: u64,
    /// Honest txs per second.
    #[arg(long, default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(10..=10_000))]
    pub rate: u64,
}

/// Runs the measurement and prints its report (a table, or JSON with `--json`).
pub fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let plan = plan(&args)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(async {
        tokio::select! {
            report = measure(&args, plan) => report,
            _ = crate::cmd::devnet::shutdown_signal() => Err(anyhow!("interrupted")),
        }
    })?;
    if global.json {
        output::print_json(&report)
    } else {
        output::print_stdout(&report.table())
    }
}

/// An organisation of the devnet, from its files.
struct Org {
    name: String,
    dir: PathBuf,
    config: NodeConfig,
    keys: OrgKeys,
    genesis: Genesis,
}

fn read_org(org: &ManifestOrg) -> Result<Org> {
    let config = NodeConfig::load(&org.dir.join(CONFIG_FILE))?;
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let keys = OrgKeys::from_toml(&read(&config.key)?)
        .map_err(|e| anyhow!("{}: {e}", config.key.display()))?;
    let genesis = Genesis::from_toml(&read(&config.genesis)?)
        .map_err(|e| anyhow!("{}: {e}", config.genesis.display()))?;
    let (name, dir) = (org.name.clone(), org.dir.clone());
    Ok(Org {
        name,
        dir,
        config,
        keys,
        genesis,
    })
}

/// Reads the devnet and checks the arguments: the flooder's organisation and the honest one.
fn plan(args: &Args) -> Result<(Org, Org)> {
    let (dir, path) = (args.dir.display(), args.dir.join(MANIFEST_FILE));
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!("{dir} is not a devnet (no {MANIFEST_FILE}): make one with `custodia devnet`")
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a devnet manifest", path.display()))?;
    let names: Vec<&str> = manifest.orgs.iter().map(|o| o.name.as_str()).collect();
    let find = |name: &str, what: &str| {
        let known = names.join(", ");
        let org = manifest.orgs.iter().find(|o| o.name == name);
        org.ok_or_else(|| anyhow!("{what} {name} is not an organisation of the devnet ({known})"))
    };
    let (flooder, honest) = (find(&args.org, "--org")?, find(HONEST, "honest")?);
    if flooder.name == HONEST {
        bail!("--org {HONEST}: {HONEST} carries the honest load; flood as another organisation");
    }
    let flooder = read_org(flooder)?;
    let (name, listen) = (&flooder.name, flooder.config.p2p_listen);
    if let Err(err) = std::net::TcpListener::bind(listen) {
        let config = flooder.dir.join(CONFIG_FILE);
        bail!(
            "{name}'s p2p address {listen} is taken ({err}): stop {name}'s node first (the \
             `custodia node --config {}` process); the flooder takes its place",
            config.display()
        );
    }
    Ok((flooder, read_org(honest)?))
}

/// What the flooder did: messages sent (to every peer), their txs, and those p2p took per peer.
#[derive(Debug, Default, Serialize)]
struct FloodStats {
    messages: u64,
    txs_per_message: usize,
    taken: BTreeMap<String, u64>,
}

/// Cancels of unknown requests signed by `secret` for `chain`, `count` of them.
fn cancels(secret: &IdentitySecret, chain: Digest, count: usize, valid_until: u64) -> Vec<Tx> {
    let body = || Body::Cancel {
        request_id: RequestId::random(),
    };
    (0..count)
        .map(|_| Tx::sign(secret, chain, valid_until, body()))
        .collect()
}

/// The message of `kind` the flooder sends over and over, and how many txs it holds.
fn message(kind: Kind, secret: &IdentitySecret, chain: Digest, until: u64) -> (Vec<u8>, usize) {
    let txs = match kind {
        Kind::Undecodable => return (vec![0xff; 4096], 0),
        Kind::BadSignature => {
            let mut txs = cancels(secret, chain, FLOOD_TXS, until);
            txs.iter_mut().for_each(|tx| tx.nonce ^= 1 << 40);
            txs
        }
        Kind::WrongChain => cancels(secret, sha256::Digest([7; 32]), FLOOD_TXS, until),
        Kind::FailingRules => {
            let fit = BATCH_BYTES / cancels(secret, chain, 1, until)[0].encode_size();
            cancels(secret, chain, fit.min(MAX_BATCH_TXS), until)
        }
    };
    (txs.encode().to_vec(), txs.len())
}

/// Joins the network as `flooder` and floods for `duration` (txs valid beyond `watch`'s height).
fn blast(flooder: Org, kind: Kind, duration: Duration, watch: Watch) -> Result<FloodStats> {
    let storage = tempfile::tempdir().context("cannot create the flooder's runtime directory")?;
    let config = runtime::Config::new().with_worker_threads(1);
    let runner = runtime::Runner::new(config.with_storage_directory(storage.path()));
    runner.start(|context| async move {
        let genesis = flooder.genesis;
        let names: BTreeMap<_, _> = (genesis.orgs.iter())
            .map(|org| (org.identity_key.clone(), org.name.clone()))
            .collect();
        let (chain, ttl) = (genesis.digest(), genesis.params.max_tx_ttl);
        let (config, secret) = (&flooder.config, flooder.keys.identity);
        let listen = config.p2p_listen;
        let ledger = Ledger::open(genesis, None, config.mempool_limits())
            .map_err(|e| anyhow!("cannot open an in-memory ledger for the flooder: {e}"))?;
        let config = p2p::config(secret.clone(), listen, &ledger, config.allow_private_ips, 0);
        let (mut network, mut oracle) = lookup::Network::new(context.child("p2p"), config);
        // The genesis organisations (the validators of epoch 0), as a node at genesis tracks them.
        let peers = peers::peer_set(&ledger, 0, &secret.public_key(), &[])
            .context("the genesis has no validators")?;
        oracle.track(0, peers);
        // Every channel of a node: the peers send consensus traffic to this identity (on a
        // channel not registered, they would lose the connection); it is read and ignored.
        let mut senders: Vec<_> = channel::ALL
            .into_iter()
            .map(|id| {
                let (sender, mut receiver) = network.register(id, p2p::quota(id));
                let drain = async move { while receiver.recv().await.is_ok() {} };
                context.child("drain").spawn(move |_| drain);
                sender
            })
            .collect();
        let mempool = channel::ALL
            .iter()
            .position(|id| *id == channel::MEMPOOL)
            .context("no mempool channel")?;
        let mut sender = senders.swap_remove(mempool);
        let _network = network.start();
        eprintln!("flood: {} joined the p2p network on {listen}", flooder.name);
        let per_message = p2p::QUOTA_MEMPOOL.replenish_interval();
        let (start, mut stats) = (context.current(), FloodStats::default());
        let (mut bytes, mut refreshed) = (IoBuf::from(Vec::new()), None::<Duration>);
        let mut next = start;
        loop {
            let elapsed = context.current().duration_since(start).unwrap_or_default();
            if elapsed >= duration {
                break;
            }
            if refreshed.is_none_or(|at| elapsed >= at + REFRESH) {
                let valid_until = watch.seen().height + ttl / 2;
                let (encoded, txs) = message(kind, &secret, chain, valid_until);
                (bytes, stats.txs_per_message) = (IoBuf::from(encoded), txs);
                refreshed = Some(elapsed);
            }
            stats.messages += 1;
            for peer in sender.send(Recipients::All, bytes.clone(), false) {
                let name = names
                    .get(&peer)
                    .cloned()
                    .unwrap_or_else(|| peer.to_string());
                *stats.taken.entry(name).or_default() += 1;
            }
            next += per_message;
            context.sleep_until(next).await;
        }
        Ok(stats)
    })
}

/// The honest load over a window: txs finalized (applied) and blocks per second, and submit →
/// applied of the txs submitted in it.
#[derive(Debug, Serialize)]
struct Window {
    secs: f64,
    finalized_tx_per_s: f64,
    blocks_per_s: f64,
    latency_ms: Option<Percentiles>,
}

impl Window {
    fn of(watch: &Watch, from: Instant, to: Instant) -> Self {
        let inside = |at: Instant| at >= from && at < to;
        let (seen, secs) = (watch.seen(), to.duration_since(from).as_secs_f64());
        let latencies: Vec<Duration> = (seen.applied.iter())
            .filter(|(at, latency)| inside(*at - *latency))
            .map(|(_, latency)| *latency)
            .collect();
        let applied = seen.applied.iter().filter(|(at, _)| inside(*at)).count();
        let blocks = seen.blocks.iter().filter(|(at, _)| inside(*at)).count();
        Self {
            secs,
            finalized_tx_per_s: applied as f64 / secs,
            blocks_per_s: blocks as f64 / secs,
            latency_ms: Percentiles::of(&latencies),
        }
    }

    fn row(&self, name: &str) -> String {
        let p = (self.latency_ms).map_or("-".into(), |p| format!("{} / {}", p.p50, p.p99));
        let (secs, rate, blocks) = (self.secs, self.finalized_tx_per_s, self.blocks_per_s);
        format!("{name:<9} {secs:>5.1} {rate:>14.1} {blocks:>8.2} {p:>19}\n")
    }
}

/// The report of `custodia bench flood`.
#[derive(Debug, Serialize)]
struct Report {
    flooder: String,
    kind: Kind,
    rate: u64,
    baseline: Window,
    flood: Window,
    /// Honest txs not finalized by the end of the run, and those refused by reason.
    unfinalized: usize,
    flood_stats: FloodStats,
    submit_errors: BTreeMap<String, u64>,
}

impl Report {
    fn table(&self) -> String {
        let (flooder, kind, f) = (&self.flooder, self.kind, &self.flood_stats);
        let (baseline, flood) = (self.baseline.row("baseline"), self.flood.row("flood"));
        let (rate, unfinalized, refused) = (self.rate, self.unfinalized, &self.submit_errors);
        format!(
            "{flooder} flooded {kind:?}: {} messages of {} txs, taken per peer {:?}; \
             {rate} honest tx/s via {HONEST}\n\
             window     secs finalized tx/s blocks/s  p50 / p99 ms (sub.)\n{baseline}{flood}\
             honest txs not finalized at the end: {unfinalized}; refused: {refused:?}\n",
            f.messages, f.txs_per_message, f.taken
        )
    }
}

/// Sends `rate` honest txs a second through `client` until `until`, each batch in a task of its
/// own, so a slow node does not slow the offered load; returns the errors by reason.
async fn honest_load(
    client: Client,
    signing: Signing,
    mut sealed: Vec<Unsigned>,
    rate: u64,
    until: Instant,
    watch: Watch,
) -> BTreeMap<String, u64> {
    let (errors, chain) = (Arc::new(Mutex::new(BTreeMap::new())), signing.chain);
    let per_tick = (rate / TICKS_PER_SECOND).max(1) as usize;
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / TICKS_PER_SECOND as u32);
    let mut tasks = tokio::task::JoinSet::new();
    while Instant::now() < until && !sealed.is_empty() {
        ticker.tick().await;
        let batch = sealed.drain(..per_tick.min(sealed.len()));
        let valid_until = watch.seen().height + signing.valid_for;
        let (ids, txs): (Vec<[u8; 32]>, Vec<Tx>) = batch
            .map(|u| Tx::sign(&signing.members[u.member], chain, valid_until, u.body))
            .map(|tx| (tx.id().0, tx))
            .unzip();
        let (client, watch, errors) = (client.clone(), watch.clone(), errors.clone());
        tasks.spawn(async move {
            watch.sent(&ids);
            let answer = client.submit_txs(txs.encode().to_vec()).await;
            let mut errors = errors.lock().unwrap_or_else(PoisonError::into_inner);
            let lost: Vec<_> = match answer {
                Ok(answer) => (answer.rejected.into_iter())
                    .filter_map(|rejected| {
                        *errors.entry(rejected.code).or_default() += 1;
                        ids.get(rejected.index as usize).copied()
                    })
                    .collect(),
                Err(err) => {
                    *errors.entry(err.to_string()).or_default() += 1;
                    ids
                }
            };
            drop(errors);
            watch.refused(&lost);
        });
    }
    tasks.join_all().await;
    std::mem::take(&mut *errors.lock().unwrap_or_else(PoisonError::into_inner))
}

async fn measure(args: &Args, (flooder, honest): (Org, Org)) -> Result<Report> {
    let genesis = &honest.genesis;
    let client = Client::from_org_dir(&honest.dir)?;
    let answers = client.status().await;
    answers.with_context(|| format!("{HONEST}'s node does not answer: start the devnet first"))?;
    let chain = genesis.digest();
    let supervisor = (genesis.orgs.iter())
        .find(|org| org.role == Role::Supervisor)
        .ok_or_else(|| anyhow!("the devnet's genesis names no supervisor"))?
        .encryption_key;
    let window = Duration::from_secs(args.duration);
    let n = (args.rate * (2 * args.duration + 1)) as usize;
    let secrets = vec![honest.keys.identity.clone()];
    let members = Arc::new(secrets.clone());
    let sealed = tokio::task::spawn_blocking(move || {
        let bar = indicatif::ProgressBar::hidden();
        load::seal_all(chain, supervisor, &secrets, n, PAYLOAD_BYTES, &bar)
    })
    .await
    .context("sealing failed")??;
    let watch = Watch::start(client.clone(), 1 << 30).await?;
    let start = Instant::now();
    let (valid_for, rate) = (genesis.params.max_tx_ttl / 2, args.rate);
    eprintln!("baseline: {rate} honest tx/s for {window:?}");
    let until = start + 2 * window;
    let signing = Signing {
        chain,
        members,
        valid_for,
    };
    let load = tokio::spawn(honest_load(
        client,
        signing,
        sealed,
        rate,
        until,
        watch.clone(),
    ));
    tokio::time::sleep(window).await;
    let flood_start = Instant::now();
    let (name, kind, watching) = (flooder.name.clone(), args.kind, watch.clone());
    let blaster = move || blast(flooder, kind, window, watching);
    let flood_stats =
        (tokio::task::spawn_blocking(blaster).await).context("the flooder failed")??;
    let flood_end = Instant::now();
    let submit_errors = load.await.context("the honest load failed")?;
    eprintln!("flood over; waiting up to {DRAIN:?} for the honest txs to finalize");
    let deadline = Instant::now() + DRAIN;
    while watch.outstanding() > 0 && Instant::now() < deadline {
        if let Some(broken) = watch.seen().broken.clone() {
            bail!("lost {HONEST}'s event stream: {broken}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(Report {
        flooder: name,
        kind,
        rate,
        baseline: Window::of(&watch, start + WARMUP, flood_start),
        flood: Window::of(&watch, flood_start, flood_end),
        unfinalized: watch.outstanding(),
        flood_stats,
        submit_errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(extra: &[&str]) -> Result<Args, clap::Error> {
        Cli::try_parse_from(["flood"].iter().chain(extra)).map(|cli| cli.args)
    }

    fn refused(args: &Args, what: &str) {
        let err = format!("{:#}", plan(args).err().expect("the plan is refused"));
        assert!(err.contains(what), "{err}");
    }

    #[test]
    fn bad_arguments_are_refused_with_what_to_do() {
        for bad in [["--kind", "nonsense"], ["--duration", "0"], ["--rate", "1"]] {
            assert!(parse(&bad).is_err(), "{bad:?}");
        }
        let empty = tempfile::tempdir().unwrap();
        let mut args = parse(&["--dir", empty.path().to_str().unwrap()]).unwrap();
        refused(&args, "is not a devnet");
        let dir = tempfile::tempdir().unwrap();
        crate::cmd::devnet::create(dir.path(), 3).unwrap();
        args.dir = dir.path().to_path_buf();
        assert!(plan(&args).is_ok());
        args.org = "member-z".into();
        refused(&args, "--org member-z is not an organisation of the devnet");
        args.org = "member-a".into();
        refused(&args, "member-a carries the honest load");
        args.org = "member-c".into();
        let config = NodeConfig::load(&dir.path().join("member-c").join(CONFIG_FILE)).unwrap();
        let _taken = std::net::TcpListener::bind(config.p2p_listen).unwrap();
        refused(&args, "stop member-c's node first");
    }
}
