//! Real processes on 127.0.0.1: `custodia devnet` starts four `custodia node` processes; signed
//! txs submitted to one node are applied on all four; a member killed with SIGKILL under load
//! and restarted by hand reaches the same state commitment; a p2p handshake from a key outside
//! the genesis is refused; `custodia console` prints where each node's web console is, and a
//! node serves it.

use commonware_codec::Encode as _;
use custodia_protocol::{Digest, Genesis, OrgKeys, Tx, hash::to_hex, testing::submit_record};
use serde_json::Value;
use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_custodia");

struct Org {
    name: String,
    api: String,
    dir: PathBuf,
    token: String,
}

/// The devnet process; stopped (SIGTERM, then SIGKILL) when dropped.
struct Devnet {
    child: Child,
    stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    orgs: Vec<Org>,
    genesis: Genesis,
    dir: PathBuf,
    extra: Vec<Child>,
}

impl Drop for Devnet {
    fn drop(&mut self) {
        for child in self.extra.iter_mut() {
            signal(child.id(), libc::SIGTERM);
        }
        signal(self.child.id(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        for child in self.extra.iter_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.child.wait();
    }
}

fn signal(pid: u32, signal: i32) {
    // SAFETY: sending a signal to a child process we started.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

fn start_devnet(dir: &Path, extra_args: &[&str]) -> Devnet {
    let mut child = Command::new(BIN)
        .args(["devnet", "--dir"])
        .arg(dir)
        .args(extra_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start custodia devnet");
    let stderr_lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let stderr = child.stderr.take().expect("stderr");
    let collected = stderr_lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("devnet: {line}");
            collected.lock().unwrap().push(line);
        }
    });
    let stdout = child.stdout.take().expect("stdout");
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.starts_with("devnet ready") => break,
            Ok(_) => continue,
            Err(_) => {
                let _ = child.kill();
                panic!("devnet did not become ready within 120 s");
            }
        }
    }
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("devnet.json")).unwrap()).unwrap();
    let orgs = manifest["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let dir = PathBuf::from(o["dir"].as_str().unwrap());
            Org {
                name: o["name"].as_str().unwrap().to_string(),
                api: o["api_url"].as_str().unwrap().to_string(),
                token: std::fs::read_to_string(dir.join("api.token"))
                    .unwrap()
                    .trim()
                    .to_string(),
                dir,
            }
        })
        .collect();
    let genesis =
        Genesis::from_toml(&std::fs::read_to_string(dir.join("genesis.toml")).unwrap()).unwrap();
    Devnet {
        child,
        stderr: stderr_lines,
        orgs,
        genesis,
        dir: dir.to_path_buf(),
        extra: Vec::new(),
    }
}

fn http() -> reqwest::blocking::Client {
    custodia_client::install_tls_provider();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

impl Devnet {
    fn keys(&self, org: &str) -> OrgKeys {
        let org = self.orgs.iter().find(|o| o.name == org).unwrap();
        OrgKeys::from_toml(&std::fs::read_to_string(org.dir.join("org.key")).unwrap()).unwrap()
    }

    fn org(&self, name: &str) -> &Org {
        self.orgs.iter().find(|o| o.name == name).unwrap()
    }

    fn status(&self, org: &Org) -> Option<Value> {
        http()
            .get(format!("{}/v1/status", org.api))
            .bearer_auth(&org.token)
            .send()
            .ok()
            .filter(|r| r.status().is_success())
            .and_then(|r| r.json().ok())
    }

    fn height(&self, org: &Org) -> u64 {
        self.status(org)
            .and_then(|s| s["height"].as_u64())
            .unwrap_or(0)
    }

    /// Signed records by `provider`, valid for 500 blocks from the current height.
    fn records(&self, provider: &str, n: usize) -> Vec<Tx> {
        let chain = self.genesis.digest();
        let keys = self.keys(provider);
        let supervisor = self.keys("supervisor");
        let height = self.height(self.org("supervisor"));
        (0..n)
            .map(|i| {
                let fields = [
                    ("claim_no", serde_json::json!(format!("E2E-{provider}-{i}"))),
                    ("amount", serde_json::json!(i)),
                ];
                submit_record(&chain, &keys, &supervisor, &fields, height + 500).1
            })
            .collect()
    }

    fn submit_batch(&self, org: &Org, txs: &[Tx]) -> Vec<Digest> {
        let response = http()
            .post(format!("{}/v1/txs", org.api))
            .bearer_auth(&org.token)
            .header("content-type", "application/vnd.custodia.tx-batch")
            .body(txs.to_vec().encode().to_vec())
            .send()
            .expect("submit batch");
        assert_eq!(response.status().as_u16(), 202, "{:?}", response.text());
        let body: Value = response.json().unwrap();
        assert_eq!(body["rejected"].as_array().map(Vec::len), Some(0), "{body}");
        txs.iter().map(Tx::id).collect()
    }

    fn applied(&self, org: &Org, id: &Digest) -> bool {
        http()
            .get(format!("{}/v1/receipts/{}", org.api, to_hex(id)))
            .bearer_auth(&org.token)
            .send()
            .map(|r| r.status().as_u16() == 200)
            .unwrap_or(false)
    }

    fn wait_applied_everywhere(&self, ids: &[Digest], limit: Duration) {
        let deadline = Instant::now() + limit;
        for org in &self.orgs {
            for id in ids {
                while !self.applied(org, id) {
                    assert!(
                        Instant::now() < deadline,
                        "tx {} not applied on {} within {limit:?}",
                        to_hex(id),
                        org.name
                    );
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    }

    /// The state commitment of every node after block `height`.
    fn commitments_at(&self, height: u64) -> Vec<String> {
        self.orgs
            .iter()
            .map(|org| {
                let block: Value = http()
                    .get(format!("{}/v1/blocks/{height}", org.api))
                    .bearer_auth(&org.token)
                    .send()
                    .unwrap()
                    .json()
                    .unwrap();
                block["state_commitment"].as_str().unwrap_or("").to_string()
            })
            .collect()
    }
}

/// The pid of the `custodia node` process running `config`.
/// What `custodia console --dir DIR --org ORG` prints (it must succeed).
fn console_of(dir: &Path, org: &str) -> String {
    let output = Command::new(BIN)
        .args(["console", "--dir"])
        .arg(dir)
        .args(["--org", org])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "custodia console failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn node_pid(config: &Path) -> Option<u32> {
    let wanted = config.to_string_lossy().to_string();
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let args: Vec<String> = cmdline
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).to_string())
                .collect();
            (args.iter().any(|a| a == "node") && args.iter().any(|a| a == &wanted)).then_some(pid)
        })
}

#[test]
fn a_devnet_applies_txs_everywhere_and_a_killed_member_recovers_the_same_commitment() {
    let tmp = tempfile::tempdir().unwrap();
    let mut devnet = start_devnet(&tmp.path().join("devnet"), &[]);

    // `custodia console` says where member-a's console is and which file holds its token; the
    // node serves it (DESIGN §7.13).
    let member_a = devnet.org("member-a");
    let said = console_of(&devnet.dir, "member-a");
    assert!(
        said.contains(&format!("open {}/console", member_a.api)),
        "{said}"
    );
    let token_file = member_a.dir.join("api.token");
    assert!(said.contains(&token_file.display().to_string()), "{said}");
    assert!(!said.contains("does not answer"), "{said}");
    assert!(
        !said.contains(&member_a.token),
        "the token itself is never printed"
    );
    let page = http()
        .get(format!("{}/console/sign-in", member_a.api))
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(
        page.text()
            .unwrap()
            .contains("Sign in to member-a's console")
    );

    // Txs submitted to one node are applied on all four.
    let txs = devnet.records("member-a", 100);
    let ids = devnet.submit_batch(devnet.org("supervisor"), &txs);
    devnet.wait_applied_everywhere(&ids, Duration::from_secs(60));

    // kill -9 of a member under load, then a restart by hand.
    let victim = devnet.org("member-c").dir.join("config.toml");
    let pid = node_pid(&victim).expect("member-c's node is running");
    let load = devnet.records("member-b", 300);
    let mut load_ids = devnet.submit_batch(devnet.org("member-b"), &load[..150]);
    signal(pid, libc::SIGKILL);
    load_ids.extend(devnet.submit_batch(devnet.org("member-b"), &load[150..]));
    // devnet says the node died and keeps the others running.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !devnet
        .stderr
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("node member-c exited"))
    {
        assert!(
            Instant::now() < deadline,
            "devnet did not report the dead node"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let said = console_of(&devnet.dir, "member-c");
    assert!(said.contains("its node does not answer yet"), "{said}");
    let log = std::fs::OpenOptions::new()
        .append(true)
        .open(devnet.org("member-c").dir.join("node.log"))
        .unwrap();
    let restarted = Command::new(BIN)
        .args(["node", "--config"])
        .arg(&victim)
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("restart member-c");
    devnet.extra.push(restarted);
    devnet.wait_applied_everywhere(&load_ids, Duration::from_secs(90));

    // Every node agrees on the commitment at a height all of them applied.
    let common = devnet.orgs.iter().map(|o| devnet.height(o)).min().unwrap();
    let commitments = devnet.commitments_at(common);
    assert!(
        commitments
            .iter()
            .all(|c| c == &commitments[0] && !c.is_empty()),
        "commitments differ at height {common}: {commitments:?}"
    );
    let _ = &devnet.dir;
}

impl Devnet {
    /// The digest of block 1 on the supervisor's node: it names the chain. ("Ready" means one
    /// node finalized a block, so the supervisor may still be applying it.)
    fn first_block(&self) -> String {
        let org = self.org("supervisor");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let block: Option<Value> = http()
                .get(format!("{}/v1/blocks/1", org.api))
                .bearer_auth(&org.token)
                .send()
                .ok()
                .filter(|r| r.status().is_success())
                .and_then(|r| r.json().ok());
            if let Some(digest) = block.as_ref().and_then(|b| b["digest"].as_str()) {
                return digest.to_string();
            }
            assert!(Instant::now() < deadline, "the supervisor has no block 1");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[test]
fn a_devnet_run_again_resumes_its_chain_and_reset_starts_a_new_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("devnet");
    let devnet = start_devnet(&dir, &[]);
    // Every node is connected to its three peers.
    let deadline = Instant::now() + Duration::from_secs(30);
    for org in &devnet.orgs {
        while devnet.status(org).and_then(|s| s["peers"].as_u64()) != Some(3) {
            assert!(
                Instant::now() < deadline,
                "{} is not connected to 3 peers",
                org.name
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let txs = devnet.records("member-a", 5);
    let ids = devnet.submit_batch(devnet.org("member-a"), &txs);
    devnet.wait_applied_everywhere(&ids, Duration::from_secs(60));
    let first = devnet.first_block();
    let height = devnet.height(devnet.org("supervisor"));
    drop(devnet);

    let resumed = start_devnet(&dir, &[]);
    assert_eq!(resumed.first_block(), first, "the same chain resumes");
    assert!(resumed.height(resumed.org("supervisor")) >= height);
    resumed.wait_applied_everywhere(&ids, Duration::from_secs(30));
    drop(resumed);

    let reset = start_devnet(&dir, &["--reset"]);
    assert_ne!(reset.first_block(), first, "--reset starts a new chain");
}
