//! Faults are loud (DESIGN §7.5), on real node processes: a node whose state database does not
//! match its chain (here: restored from another run of the same organisation) halts its
//! executor on the first block it cannot apply, and `custodia node` exits 1 with an `error:`
//! line naming the block and the way out, instead of retrying forever with exit status 0. And
//! a node stopped on purpose (SIGTERM) exits 0 without an `ERROR` line: an alert on the log's
//! errors must mean a fault.

mod common;

use common::{custodia, free_port};
use serde_json::Value;
use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

fn start_node(dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_custodia"))
        .arg("node")
        .arg("--config")
        .arg(dir.join("config.toml"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("custodia node starts")
}

/// Waits (at most 60 s) until the node of `dir` applied a block above `height`.
fn wait_past(cwd: &Path, dir: &Path, height: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let run = custodia(
            cwd,
            &["--org-dir", dir.to_str().unwrap(), "status", "--json"],
        );
        if run.code == Some(0) {
            let status: Value = serde_json::from_str(&run.stdout).unwrap();
            if status["height"].as_u64().unwrap_or(0) > height {
                return;
            }
        }
        assert!(Instant::now() < deadline, "no block above {height} in 60 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// SIGTERM, then waits for the exit; returns its status and stderr.
fn stop(node: Child) -> (Option<i32>, String) {
    let pid = node.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let output = node.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `custodia init` of a supervisor in `cwd/a` and a genesis of it alone.
fn lone_supervisor(cwd: &Path) -> std::path::PathBuf {
    let p2p = format!("127.0.0.1:{}", free_port());
    let api = format!("127.0.0.1:{}", free_port());
    custodia(
        cwd,
        &[
            "init",
            "--name",
            "supervisor",
            "--role",
            "supervisor",
            "--p2p",
            &p2p,
            "--api",
            &api,
            "--dir",
            "a",
        ],
    )
    .ok();
    custodia(
        cwd,
        &[
            "genesis",
            "--chain-id",
            "custodia-faults",
            "--org",
            "a/org.pub.toml",
            "--out",
            "a/genesis.toml",
        ],
    )
    .ok();
    cwd.join("a")
}

// Failed before: every part of the engine ending on the stop was logged as `ERROR a node
// component stopped; shutting the engine down reason=gossip stopped`.
#[test]
fn a_node_stopped_by_sigterm_exits_0_and_logs_no_error() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let dir = lone_supervisor(cwd);
    let node = start_node(&dir);
    wait_past(cwd, &dir, 2);
    let (code, stderr) = stop(node);
    assert_eq!(code, Some(0), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(
        errors.is_empty(),
        "error lines on a clean stop: {errors:#?}"
    );
    assert!(stderr.contains("stopping on signal"), "{stderr}");
}

fn copy_dir(from: &Path, to: &Path) {
    let copied = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(copied.success());
}

#[test]
fn a_state_that_does_not_match_the_chain_halts_the_node_with_exit_1_and_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    lone_supervisor(cwd);
    // The same organisation and chain, run twice: two histories of one genesis.
    let (a, b) = (cwd.join("a"), cwd.join("b"));
    copy_dir(&a, &b);
    for dir in [&a, &b] {
        let node = start_node(dir);
        wait_past(cwd, dir, 2);
        let _ = stop(node);
    }
    // b's state replaced by a's, as a restore from the wrong backup would.
    for suffix in ["", "-wal", "-shm"] {
        let name = format!("state.sqlite{suffix}");
        let (from, to) = (a.join("data").join(&name), b.join("data").join(&name));
        let _ = std::fs::remove_file(&to);
        if from.exists() {
            std::fs::copy(&from, &to).unwrap();
        }
    }

    let node = start_node(&b);
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut node = Some(node);
    let output = loop {
        let child = node.as_mut().unwrap();
        if child.try_wait().unwrap().is_some() {
            break node.take().unwrap().wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = node.as_mut().unwrap().kill();
            panic!("the node with a mismatched state still runs after 90 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    // Whichever sees it first: the executor, at the first block that does not follow, or the
    // certification, at start, against b's certificates (DESIGN §5.9).
    assert!(
        last.starts_with(
            "error: the node stopped: the executor halted: cannot apply finalized block"
        ) || (last.starts_with("error: the node stopped: certification stopped:")
            && last.contains("its state is not the chain's")),
        "{stderr}"
    );
    assert!(last.contains("--reindex"), "{last}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // The way out the message names works: the state is rebuilt from b's own archive.
    let node = Command::new(env!("CARGO_BIN_EXE_custodia"))
        .arg("node")
        .arg("--config")
        .arg(b.join("config.toml"))
        .arg("--reindex")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_past(cwd, &b, 3);
    stop(node);
}

// Failed before: the p2p network binds its address itself and panicked ("failed to bind
// listener", exit 101, a backtrace) when another program held it.
#[test]
fn a_node_whose_p2p_address_is_taken_exits_1_saying_which_address_and_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let dir = lone_supervisor(cwd);
    let config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    let p2p = config
        .lines()
        .find_map(|l| l.strip_prefix("p2p_listen = "))
        .expect("config.toml names p2p_listen")
        .trim_matches('"')
        .to_string();
    let _taken = std::net::TcpListener::bind(&p2p).expect("hold the node's p2p address");

    let output = start_node(&dir).wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("error: cannot listen on the p2p address {p2p}")),
        "{stderr}"
    );
    assert!(last.contains("set another address"), "{last}");
}
