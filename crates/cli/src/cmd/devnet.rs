//! `custodia devnet`: a local consortium (1 supervisor + N members on 127.0.0.1), one
//! `custodia node` process per organisation (DESIGN §8.3).
//!
//! The first run creates keys, genesis and configs in `--dir`; later runs resume the same chain
//! (`--reset` starts over). Each node logs to `DIR/<org>/node.log`. If a node dies the others
//! keep running (faults are there to be studied); Ctrl-C stops them all.

use crate::{
    cmd::init::{GENESIS_FILE, create_org},
    files,
};
use anyhow::{Context, Result, anyhow, bail};
use custodia_node::{
    config::{CONFIG_FILE, TOKEN_FILE},
    ports::unused_port,
};
use custodia_protocol::{Genesis, OrgPublic, Params, Role};
use serde::{Deserialize, Serialize};
use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};
use tokio::process::{Child, Command};

/// The manifest `devnet` writes for scripts and the client commands.
pub const MANIFEST_FILE: &str = "devnet.json";
/// The chain id of a devnet.
const CHAIN_ID: &str = "custodia-devnet";
/// Most members a devnet can have (org names member-a … member-z).
const MAX_MEMBERS: usize = 26;
/// The devnet's epochs are the shortest allowed, so that a membership change takes effect
/// within two epochs, about a minute.
pub const DEVNET_EPOCH_LENGTH: u64 = 64;
/// Room in the devnet's validator sets for this many organisations admitted later.
const DEVNET_SPARE_VALIDATORS: u64 = 4;
/// How long `devnet` waits for the network to be ready before saying so.
const READY_TIMEOUT: Duration = Duration::from_secs(90);
/// How long nodes get to stop on Ctrl-C before they are killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Arguments of `custodia devnet`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory of the devnet (created if missing; resumed if it holds one).
    #[arg(long, default_value = "./devnet")]
    pub dir: PathBuf,
    /// Number of member organisations besides the supervisor (default 3).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_MEMBERS as u64))]
    pub members: Option<u64>,
    /// Delete the devnet in --dir and start a new chain.
    #[arg(long)]
    pub reset: bool,
}

/// `devnet.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// The chain id.
    pub chain_id: String,
    /// One entry per organisation, supervisor first.
    pub orgs: Vec<ManifestOrg>,
}

/// One organisation of `devnet.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestOrg {
    /// Its name.
    pub name: String,
    /// `supervisor` or `member`.
    pub role: String,
    /// Its REST API.
    pub api_url: String,
    /// Its directory (config.toml, api.token, node.log, data/).
    pub dir: PathBuf,
}

/// Runs `custodia devnet` until Ctrl-C.
pub fn run(args: Args) -> Result<()> {
    let manifest = prepare(&args)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(supervise(manifest))
}

/// Creates, resets or resumes the devnet in `args.dir`; returns its manifest.
pub fn prepare(args: &Args) -> Result<Manifest> {
    let dir = &args.dir;
    let manifest_path = dir.join(MANIFEST_FILE);
    if args.reset && dir.exists() {
        let empty = std::fs::read_dir(dir)
            .map(|mut entries| entries.next().is_none())
            .unwrap_or(false);
        if !manifest_path.exists() && !empty {
            bail!(
                "--reset: {} is not a devnet directory (no {MANIFEST_FILE}); refusing to delete it",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot delete {}", dir.display()))?;
        eprintln!("reset: deleted {}", dir.display());
    }
    if manifest_path.exists() {
        let manifest: Manifest = serde_json::from_str(&files::read_text(
            &manifest_path,
            1 << 20,
            "devnet manifest",
        )?)
        .with_context(|| format!("{} is not a devnet manifest", manifest_path.display()))?;
        let members = manifest.orgs.len().saturating_sub(1) as u64;
        if let Some(wanted) = args.members
            && wanted != members
        {
            bail!(
                "the devnet in {} has {members} members, not {wanted}: run with --reset to start \
                 a new chain with {wanted}",
                dir.display()
            );
        }
        eprintln!("resuming the devnet in {}", dir.display());
        return Ok(manifest);
    }
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut e| e.next().is_some())
            .unwrap_or(false)
    {
        bail!(
            "{} exists and is not a devnet: choose another --dir or empty it",
            dir.display()
        );
    }
    create(dir, args.members.unwrap_or(3) as usize)
}

/// Creates the keys, genesis and configs of a new devnet.
pub(crate) fn create(dir: &Path, members: usize) -> Result<Manifest> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", dir.display()))?;
    let mut names = vec![("supervisor".to_string(), Role::Supervisor)];
    for i in 0..members {
        names.push((format!("member-{}", (b'a' + i as u8) as char), Role::Member));
    }
    let mut orgs: Vec<OrgPublic> = Vec::new();
    let mut manifest_orgs = Vec::new();
    for (name, role) in names {
        let (p2p, api) = (unused_port()?, unused_port()?);
        let org_dir = dir.join(&name);
        let public = create_org(
            &name,
            role,
            &format!("127.0.0.1:{p2p}"),
            &format!("127.0.0.1:{api}"),
            &org_dir,
            // One genesis for all: every config reads the devnet's genesis.toml.
            &Path::new("..").join(GENESIS_FILE),
            // Loopback only: plain HTTP.
            &Default::default(),
        )?;
        manifest_orgs.push(ManifestOrg {
            name: name.clone(),
            role: role.as_str().to_string(),
            api_url: format!("http://127.0.0.1:{api}"),
            dir: org_dir,
        });
        orgs.push(public);
    }
    let genesis = Genesis {
        chain_id: CHAIN_ID.into(),
        params: Params {
            epoch_length: DEVNET_EPOCH_LENGTH,
            max_validators: (orgs.len() as u64 + DEVNET_SPARE_VALIDATORS)
                .max(Params::default().max_validators),
            ..Params::default()
        },
        orgs,
    };
    genesis
        .validate()
        .map_err(|err| anyhow!("devnet genesis is invalid: {err}"))?;
    let genesis_path = dir.join(GENESIS_FILE);
    files::replace_public(&genesis_path, &genesis.to_toml())
        .with_context(|| format!("cannot write {}", genesis_path.display()))?;
    let manifest = Manifest {
        chain_id: CHAIN_ID.into(),
        orgs: manifest_orgs,
    };
    let manifest_path = dir.join(MANIFEST_FILE);
    files::replace_public(
        &manifest_path,
        &(serde_json::to_string_pretty(&manifest)? + "\n"),
    )
    .with_context(|| format!("cannot write {}", manifest_path.display()))?;
    eprintln!(
        "created a devnet of {} organisations in {}",
        manifest.orgs.len(),
        dir.display()
    );
    Ok(manifest)
}

struct Running {
    org: ManifestOrg,
    child: Option<Child>,
}

/// The node processes of a devnet, one per organisation.
pub(crate) struct Nodes {
    running: Vec<Running>,
}

impl Nodes {
    /// Starts one `custodia node` process per organisation of `manifest`, each writing its
    /// output to `<org>/node.log`. Processes still running when `Nodes` is dropped are killed.
    pub(crate) fn start(manifest: &Manifest) -> Result<Self> {
        let exe = std::env::current_exe().context("cannot find the custodia executable")?;
        let mut running = Vec::new();
        for org in &manifest.orgs {
            running.push(Running {
                org: org.clone(),
                child: Some(spawn_node(&exe, org)?),
            });
        }
        Ok(Self { running })
    }

    /// Reports every node that exited since the last call (and forgets it).
    fn report_exited(&mut self) {
        for node in self.running.iter_mut() {
            let Some(child) = node.child.as_mut() else {
                continue;
            };
            if let Ok(Some(status)) = child.try_wait() {
                let log = node.org.dir.join("node.log");
                let why = last_error(&log)
                    .map(|line| format!(": {line}"))
                    .unwrap_or_default();
                eprintln!(
                    "error: node {} exited ({status}){why}; the others keep running. \
                     See {}; restart it with `custodia node --config {}`",
                    node.org.name,
                    log.display(),
                    node.org.dir.join(CONFIG_FILE).display()
                );
                node.child = None;
            }
        }
    }

    /// Asks every node to stop (SIGTERM), then kills those still running after a grace
    /// period.
    pub(crate) async fn stop(&mut self) {
        let nodes = &mut self.running;
        eprintln!(
            "stopping {} nodes",
            nodes.iter().filter(|n| n.child.is_some()).count()
        );
        for node in nodes.iter() {
            if let Some(pid) = node.child.as_ref().and_then(Child::id) {
                // SAFETY: `kill` with a pid of our own child and a valid signal number.
                unsafe {
                    libc::kill(pid as libc::pid_t, libc::SIGTERM);
                }
            }
        }
        let deadline = tokio::time::Instant::now() + STOP_TIMEOUT;
        for node in nodes.iter_mut() {
            let Some(child) = node.child.as_mut() else {
                continue;
            };
            if tokio::time::timeout_at(deadline, child.wait())
                .await
                .is_err()
            {
                eprintln!("node {} did not stop in time: killing it", node.org.name);
                let _ = child.kill().await;
            }
            node.child = None;
        }
    }
}

/// Starts one node per organisation, says when the network is ready, reports nodes that die
/// and stops them all on Ctrl-C or SIGTERM.
async fn supervise(manifest: Manifest) -> Result<()> {
    let mut nodes = Nodes::start(&manifest)?;
    let mut stop = Box::pin(shutdown_signal());
    tokio::select! {
        ready = wait_ready(&manifest) => match ready {
            Ok(height) => print_ready(&manifest, height),
            Err(err) => eprintln!("warning: {err:#}; the nodes keep running (see their node.log)"),
        },
        _ = &mut stop => {
            nodes.stop().await;
            return Ok(());
        }
    }
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(Duration::from_millis(500)) => nodes.report_exited(),
        }
    }
    nodes.stop().await;
    Ok(())
}

/// The last `error: ...` line a node wrote before it exited (its reason), from the end of
/// its log.
fn last_error(log: &Path) -> Option<String> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    const TAIL: u64 = 64 * 1024;
    let mut file = std::fs::File::open(log).ok()?;
    let length = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(length.saturating_sub(TAIL)))
        .ok()?;
    let mut tail = Vec::new();
    file.take(TAIL).read_to_end(&mut tail).ok()?;
    String::from_utf8_lossy(&tail)
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("error: "))
        .map(str::to_string)
}

fn spawn_node(exe: &Path, org: &ManifestOrg) -> Result<Child> {
    let log_path = org.dir.join("node.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let log_err = log.try_clone()?;
    Command::new(exe)
        .arg("node")
        .arg("--config")
        .arg(org.dir.join(CONFIG_FILE))
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err))
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start the node of {}", org.name))
}

/// Waits until every node's API answers and a block is finalized; returns the height.
pub(crate) async fn wait_ready(manifest: &Manifest) -> Result<u64> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let mut heights = Vec::new();
        for org in &manifest.orgs {
            let token = std::fs::read_to_string(org.dir.join(TOKEN_FILE)).unwrap_or_default();
            let status = client
                .get(format!("{}/v1/status", org.api_url))
                .bearer_auth(token.trim())
                .send()
                .await;
            let height = match status {
                Ok(response) if response.status().is_success() => response
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|v| v["height"].as_u64()),
                _ => None,
            };
            heights.push(height);
        }
        if heights.iter().all(Option::is_some) {
            let best = heights.iter().flatten().max().copied().unwrap_or(0);
            if best >= 1 {
                return Ok(best);
            }
        }
        if Instant::now() > deadline {
            bail!(
                "the network is not ready after {}s",
                READY_TIMEOUT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn print_ready(manifest: &Manifest, height: u64) {
    let width = manifest
        .orgs
        .iter()
        .map(|o| o.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "devnet ready: chain {} at height {height}, {} nodes",
        manifest.chain_id,
        manifest.orgs.len()
    );
    println!("  {:<width$}  {:<10}  {:<22}  dir", "org", "role", "api");
    for org in &manifest.orgs {
        println!(
            "  {:<width$}  {:<10}  {:<22}  {}",
            org.name,
            org.role,
            org.api_url,
            org.dir.display()
        );
    }
    println!(
        "each dir holds api.token (bearer token), config.toml and node.log; Ctrl-C stops every node"
    );
    println!(
        "each node serves a web console at API/console: custodia console --dir DIR prints them"
    );
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub(crate) async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = interrupt.recv() => {},
        _ = terminate.recv() => {},
    }
}
