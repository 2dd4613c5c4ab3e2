//! The devnet a bench runs against: the one running in `--dir`, or one it starts there (or in
//! a temporary directory), with every node's approval policy switched to `auto` so share
//! requests are decided without people (DESIGN §8.6).

use crate::cmd::devnet::{self, Manifest, ManifestOrg, Nodes};
use anyhow::{Context as _, Result, bail};
use custodia_client::Client;
use custodia_node::config::{ApprovalPolicy, CONFIG_FILE, NodeConfig};
use std::{
    path::{Path, PathBuf},
    time::Duration,
};

/// Members a bench needs: records come from every member, and share requests go from the
/// second member to the first.
const MIN_MEMBERS: usize = 2;

/// A devnet under bench.
pub struct Network {
    /// Its manifest.
    pub manifest: Manifest,
    /// The node processes, when the bench started them (stopped by [`Network::stop`]).
    nodes: Option<Nodes>,
    /// The temporary directory of a devnet without `--dir` (removed on drop).
    temp: Option<tempfile::TempDir>,
}

/// Refuses, before anything else runs, a `--dir` that holds something other than a devnet.
pub fn check_dir(dir: Option<&Path>) -> Result<()> {
    let Some(dir) = dir else {
        return Ok(());
    };
    let has_entries = std::fs::read_dir(dir)
        .map(|mut entries| entries.next().is_some())
        .unwrap_or(false);
    if has_entries && !dir.join(devnet::MANIFEST_FILE).exists() {
        bail!(
            "{} exists and is not a devnet: choose another --dir or empty it",
            dir.display()
        );
    }
    Ok(())
}

impl Network {
    /// The devnet in `dir` (running, or started now), or a new one in a temporary directory.
    pub async fn acquire(dir: Option<&Path>) -> Result<Self> {
        let (manifest, temp) = match dir {
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("custodia-bench-")
                    .tempdir()
                    .context("cannot create a temporary directory for the bench network")?;
                (devnet::create(temp.path(), 3)?, Some(temp))
            }
            // Resumes the devnet there, or creates one in a missing or empty directory, or
            // refuses a directory that holds something else.
            Some(dir) => (
                devnet::prepare(&devnet::Args {
                    dir: dir.to_path_buf(),
                    members: None,
                    reset: false,
                })?,
                None,
            ),
        };
        let members = manifest.orgs.iter().filter(|o| o.role == "member").count();
        if members < MIN_MEMBERS {
            bail!(
                "the devnet has {members} member(s); a bench needs at least {MIN_MEMBERS} (one \
                 provides, one requests): create one with `custodia devnet --reset --members 3`"
            );
        }
        let up = answering(&manifest).await;
        let nodes = if up.iter().all(|&up| up) {
            let manual: Vec<&str> = manifest
                .orgs
                .iter()
                .filter(|org| approval(org).ok() != Some(ApprovalPolicy::Auto))
                .map(|org| org.name.as_str())
                .collect();
            if !manual.is_empty() {
                bail!(
                    "the devnet in {} runs with the manual approval policy on {}, so share \
                     requests would wait for people: stop it (Ctrl-C where `custodia devnet` \
                     runs) and run the bench again; it switches the nodes to approval = \"auto\" \
                     and starts them",
                    dir.map(Path::display)
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                    manual.join(", ")
                );
            }
            eprintln!(
                "benchmarking the devnet running in {}",
                manifest_dir(&manifest).display()
            );
            None
        } else if up.iter().any(|&up| up) {
            let running: Vec<&str> = manifest
                .orgs
                .iter()
                .zip(&up)
                .filter(|(_, up)| **up)
                .map(|(org, _)| org.name.as_str())
                .collect();
            bail!(
                "only some nodes of the devnet answer ({}): stop them, or start the others with \
                 `custodia node --config <dir>/<org>/config.toml`, and run the bench again",
                running.join(", ")
            );
        } else {
            for org in &manifest.orgs {
                set_auto_approval(org)?;
            }
            let nodes = Nodes::start(&manifest)?;
            Some(nodes)
        };
        devnet::wait_ready(&manifest).await?;
        Ok(Self {
            manifest,
            nodes,
            temp,
        })
    }

    /// The organisation named `name`.
    pub fn org(&self, name: &str) -> Result<&ManifestOrg> {
        self.manifest
            .orgs
            .iter()
            .find(|org| org.name == name)
            .with_context(|| format!("the devnet has no organisation {name}"))
    }

    /// The members, in the manifest's order.
    pub fn members(&self) -> impl Iterator<Item = &ManifestOrg> {
        self.manifest.orgs.iter().filter(|org| org.role == "member")
    }

    /// A client of every organisation's node, in the manifest's order.
    pub fn clients(&self) -> Result<Vec<Client>> {
        self.manifest
            .orgs
            .iter()
            .map(|org| Ok(Client::from_org_dir(&org.dir)?))
            .collect()
    }

    /// The resident memory of each node process, in MiB (`None` where it cannot be read).
    pub fn rss_mib(&self) -> Vec<(String, Option<f64>)> {
        self.manifest
            .orgs
            .iter()
            .map(|org| {
                (
                    org.name.clone(),
                    node_pid(&org.dir.join(CONFIG_FILE)).and_then(rss_of),
                )
            })
            .collect()
    }

    /// Stops the nodes the bench started (a devnet that was running keeps running). On
    /// failure, the logs of a temporary devnet are kept and their directory returned.
    pub async fn stop(mut self, failed: bool) -> Option<PathBuf> {
        if let Some(nodes) = self.nodes.as_mut() {
            nodes.stop().await;
        }
        match self.temp.take() {
            Some(temp) if failed => Some(temp.keep()),
            _ => None,
        }
    }
}

fn manifest_dir(manifest: &Manifest) -> PathBuf {
    manifest
        .orgs
        .first()
        .and_then(|org| org.dir.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Whether each organisation's node answers `/healthz`.
async fn answering(manifest: &Manifest) -> Vec<bool> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build();
    let Ok(http) = http else {
        return vec![false; manifest.orgs.len()];
    };
    let mut up = Vec::new();
    for org in &manifest.orgs {
        let answer = http.get(format!("{}/healthz", org.api_url)).send().await;
        up.push(answer.is_ok_and(|r| r.status().is_success()));
    }
    up
}

fn approval(org: &ManifestOrg) -> Result<ApprovalPolicy> {
    Ok(NodeConfig::load(&org.dir.join(CONFIG_FILE))?.approval)
}

/// Sets `approval = "auto"` in an organisation's config.toml (keeping everything else).
fn set_auto_approval(org: &ManifestOrg) -> Result<()> {
    let path = org.dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut config: toml::Table = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    if config.get("approval").and_then(|v| v.as_str()) == Some("auto") {
        return Ok(());
    }
    config.insert("approval".into(), toml::Value::String("auto".into()));
    std::fs::write(&path, toml::to_string(&config)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("{}: approval = \"auto\" (bench)", path.display());
    Ok(())
}

/// The pid of the `custodia node --config <config>` process, found in `/proc`.
fn node_pid(config: &Path) -> Option<u32> {
    let wanted = config.canonicalize().ok()?;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
        let is_node = args.iter().any(|a| *a == b"node");
        let names_config = args.windows(2).any(|pair| {
            pair[0] == b"--config"
                && std::str::from_utf8(pair[1])
                    .ok()
                    .and_then(|p| Path::new(p).canonicalize().ok())
                    .is_some_and(|p| p == wanted)
        });
        if is_node && names_config {
            return Some(pid);
        }
    }
    None
}

/// `VmRSS` of a process, in MiB.
fn rss_of(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_resident_size() {
        let rss = rss_of(std::process::id()).unwrap();
        assert!(rss > 0.5 && rss < 16_384.0, "rss {rss}");
    }
}
