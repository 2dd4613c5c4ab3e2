//! A `custodia devnet` of real node processes for the workflow tests, driven only through the
//! `custodia` command line with `--org-dir DIR/<org>` (DESIGN §8.5): start it, run client
//! commands with a time limit, wait until a node applied a height, kill -9 and restart one
//! node by hand, stop everything (SIGTERM, then SIGKILL) and look for bytes on disk.

use super::common::Run;
use serde_json::Value;
use std::{
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_custodia");
/// Longest any one client command may run before the test calls it hung.
const COMMAND_LIMIT: Duration = Duration::from_secs(150);
/// Longest a node may take to apply a height another node applied.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(60);
/// Longest the devnet and the nodes may take to stop on SIGTERM.
const STOP_LIMIT: Duration = Duration::from_secs(30);

/// A running `custodia devnet --dir DIR`, plus the nodes restarted by hand; stopped when
/// dropped.
pub struct Devnet {
    devnet: Option<Child>,
    /// Nodes started by the test with `custodia node --config`, by org name.
    restarted: Vec<(String, Child)>,
    /// The devnet's stderr lines so far.
    stderr: Arc<Mutex<Vec<String>>>,
    /// The devnet directory.
    pub dir: PathBuf,
    /// Where the client commands run (outside the devnet directory).
    cwd: PathBuf,
    /// Each org's name and directory, from DIR/devnet.json.
    orgs: Vec<(String, PathBuf)>,
}

impl Devnet {
    /// Starts `custodia devnet --dir dir` and waits until it says it is ready.
    pub fn start(dir: &Path, cwd: &Path) -> Self {
        let mut child = Command::new(BIN)
            .args(["devnet", "--dir"])
            .arg(dir)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start custodia devnet");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let collected = stderr.clone();
        let pipe = child.stderr.take().expect("devnet stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                eprintln!("devnet: {line}");
                collected.lock().unwrap().push(line);
            }
        });
        let pipe = child.stdout.take().expect("devnet stdout");
        let (lines_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
        let mut devnet = Self {
            devnet: Some(child),
            restarted: Vec::new(),
            stderr,
            dir: dir.to_path_buf(),
            cwd: cwd.to_path_buf(),
            orgs: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) if line.starts_with("devnet ready") => break,
                Ok(_) => continue,
                Err(_) => panic!("custodia devnet did not say `devnet ready` within 120 s"),
            }
        }
        let manifest: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("devnet.json")).expect("DIR/devnet.json"),
        )
        .expect("devnet.json is JSON");
        devnet.orgs = manifest["orgs"]
            .as_array()
            .expect("devnet.json has orgs")
            .iter()
            .map(|org| {
                (
                    org["name"].as_str().expect("org name").to_string(),
                    PathBuf::from(org["dir"].as_str().expect("org dir")),
                )
            })
            .collect();
        devnet
    }

    /// The directory of organisation `org` (from devnet.json).
    pub fn org_dir(&self, org: &str) -> PathBuf {
        self.orgs
            .iter()
            .find(|(name, _)| name == org)
            .unwrap_or_else(|| panic!("devnet.json names no org {org}"))
            .1
            .clone()
    }

    /// `custodia --org-dir DIR/<org> ARGS`, in the test's working directory.
    pub fn cli(&self, org: &str, args: &[&str]) -> Run {
        let dir = self.org_dir(org);
        let mut all = vec!["--org-dir", dir.to_str().expect("utf-8 path")];
        all.extend_from_slice(args);
        run(&self.cwd, &all)
    }

    /// `org`'s applied height from `custodia status --json`, or None if its node does not answer.
    pub fn height(&self, org: &str) -> Option<u64> {
        let status = self.cli(org, &["status", "--json"]);
        if status.code != Some(0) {
            return None;
        }
        let status: Value = serde_json::from_str(&status.stdout).unwrap_or_else(|err| {
            panic!(
                "`status --json` of {org} is not JSON ({err}): {}",
                status.stdout
            )
        });
        Some(
            status["height"]
                .as_u64()
                .unwrap_or_else(|| panic!("`status --json` of {org} has no height: {status}")),
        )
    }

    /// Waits until `org`'s node applied block `height`.
    pub fn wait_height(&self, org: &str, height: u64) {
        let deadline = Instant::now() + CATCH_UP_LIMIT;
        loop {
            if self.height(org).is_some_and(|h| h >= height) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{org}'s node did not apply block {height} within {CATCH_UP_LIMIT:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until every org in `orgs` applied what `from` applied so far (after a write on
    /// `from`, its block).
    pub fn sync(&self, from: &str, orgs: &[&str]) {
        let height = self
            .height(from)
            .unwrap_or_else(|| panic!("{from}'s node does not answer `status`"));
        for org in orgs {
            self.wait_height(org, height);
        }
    }

    /// The pid of the running `custodia node --config DIR/<org>/config.toml` process.
    pub fn node_pid(&self, org: &str) -> Option<u32> {
        node_pid(&self.org_dir(org).join("config.toml"))
    }

    /// SIGKILLs `org`'s node and waits until the devnet reports it dead.
    pub fn kill_node(&self, org: &str) {
        let pid = self
            .node_pid(org)
            .unwrap_or_else(|| panic!("{org}'s node process is not running"));
        signal(pid, libc::SIGKILL);
        let wanted = format!("node {org} exited");
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.said(&wanted) {
            assert!(
                Instant::now() < deadline,
                "the devnet did not report that {org}'s node died"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts `custodia node --config DIR/<org>/config.toml` by hand, logging to its node.log,
    /// and waits until its API answers.
    pub fn restart_node(&mut self, org: &str) {
        let dir = self.org_dir(org);
        self.start_node_in(org, &dir);
    }

    /// Starts `custodia node --config DIR/config.toml` by hand for organisation `org` (one the
    /// devnet may not know), logging to DIR/node.log, and waits until its API answers.
    pub fn start_node_in(&mut self, org: &str, dir: &Path) {
        let log = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(dir.join("node.log"))
            .expect("open node.log");
        let child = Command::new(BIN)
            .args(["node", "--config"])
            .arg(dir.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("clone node.log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("restart the node");
        self.restarted.push((org.to_string(), child));
        let deadline = Instant::now() + CATCH_UP_LIMIT;
        let answers = || {
            run(
                &self.cwd,
                &["--org-dir", dir.to_str().expect("utf-8 path"), "status"],
            )
            .code
                == Some(0)
        };
        while !answers() {
            assert!(
                Instant::now() < deadline,
                "{org}'s restarted node does not answer `status` within {CATCH_UP_LIMIT:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops every node (SIGTERM to the devnet and to the nodes restarted by hand, SIGKILL
    /// after a grace period) and waits for them; returns the processes that had to be killed.
    pub fn stop(&mut self) -> Vec<String> {
        let mut killed = Vec::new();
        for (_, child) in &self.restarted {
            signal(child.id(), libc::SIGTERM);
        }
        if let Some(child) = &self.devnet {
            signal(child.id(), libc::SIGTERM);
        }
        let deadline = Instant::now() + STOP_LIMIT;
        let mut children: Vec<(String, Child)> = self.restarted.drain(..).collect();
        if let Some(child) = self.devnet.take() {
            children.push(("devnet".to_string(), child));
        }
        for (name, mut child) in children {
            while !matches!(child.try_wait(), Ok(Some(_))) {
                if Instant::now() >= deadline {
                    killed.push(name.clone());
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        killed
    }

    /// Whether the devnet said `text` on stderr so far.
    pub fn said(&self, text: &str) -> bool {
        self.stderr
            .lock()
            .unwrap()
            .iter()
            .any(|line| line.contains(text))
    }

    /// Orgs whose node process still runs.
    pub fn running_nodes(&self) -> Vec<String> {
        self.orgs
            .iter()
            .filter(|(name, _)| self.node_pid(name).is_some())
            .map(|(name, _)| name.clone())
            .collect()
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs `custodia ARGS` in `cwd`; panics if it runs longer than [`COMMAND_LIMIT`].
pub fn run(cwd: &Path, args: &[&str]) -> Run {
    let mut child = Command::new(BIN)
        .current_dir(cwd)
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .env_remove("CUSTODIA_NODE")
        .env_remove("CUSTODIA_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the custodia binary runs");
    let pid = child.id();
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stdout.read_to_end(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text);
        text
    });
    let deadline = Instant::now() + COMMAND_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for custodia") {
            break status;
        }
        if Instant::now() >= deadline {
            signal(pid, libc::SIGKILL);
            let _ = child.wait();
            panic!("`custodia {}` hung for {COMMAND_LIMIT:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    Run {
        code: status.code(),
        stdout: text(out.join().expect("stdout reader")),
        stderr: text(err.join().expect("stderr reader")),
    }
}

/// Checks of a run beyond [`Run::ok`] and [`Run::says`].
pub trait Expect: Sized {
    /// Panics unless the run exited non-zero with an `error: ` line and no panic; `why` names
    /// the step.
    fn fails(self, why: &str) -> Self;
    /// Panics unless stdout is exactly one id starting with `prefix` (`rec_`, `req_`) and a
    /// newline; the id.
    fn only_id(&self, prefix: &str) -> String;
    /// Stdout as JSON.
    fn json(&self) -> Value;
}

impl Expect for Run {
    fn fails(self, why: &str) -> Self {
        eprintln!(
            "{why}: exit {:?}, stderr: {}",
            self.code,
            self.stderr.trim_end()
        );
        assert!(
            matches!(self.code, Some(code) if code != 0),
            "{why}: expected a non-zero exit, got {:?}; stdout: {}; stderr: {}",
            self.code,
            self.stdout,
            self.stderr
        );
        assert!(
            self.stderr.contains("error: "),
            "{why}: no `error: ` on stderr: {}",
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("backtrace"),
            "{why}: the binary panicked: {}",
            self.stderr
        );
        self
    }

    fn only_id(&self, prefix: &str) -> String {
        let id = self.stdout.strip_suffix('\n').unwrap_or_else(|| {
            panic!(
                "stdout is not one line ending in a newline: {:?}",
                self.stdout
            )
        });
        let hex = id
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("stdout is not only a {prefix} id: {:?}", self.stdout));
        assert!(
            hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
            "stdout is not only a {prefix}<32 hex> id: {:?}",
            self.stdout
        );
        id.to_string()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|err| {
            panic!(
                "stdout is not JSON ({err}): {}; stderr: {}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Sends `signal` to `pid`.
pub fn signal(pid: u32, signal: i32) {
    // SAFETY: a signal to a process this test started (or one of the devnet's nodes).
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

/// The pid of a live `custodia node` process running `config` (zombies do not count).
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

/// Every regular file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).expect("read a devnet directory") {
            let entry = entry.expect("a directory entry");
            let kind = entry.file_type().expect("a file type");
            if kind.is_dir() {
                todo.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack.len() >= needle.len()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}
