//! Key and file hygiene through the real binary (DESIGN §6.6, §7.12, §8.1): `custodia node`
//! refuses secrets other users can read, and a genesis whose parameters are out of bounds;
//! `--token` on the command line is warned about.

mod common;

use common::{custodia, init_org};
use std::{os::unix::fs::PermissionsExt as _, path::Path};

/// A one-organisation chain in `cwd/supervisor`, ready for `custodia node`.
fn supervisor(cwd: &Path) {
    init_org(cwd, "supervisor", "supervisor", 0);
    custodia(
        cwd,
        &[
            "genesis",
            "--chain-id",
            "custodia-test",
            "--org",
            "supervisor/org.pub.toml",
            "--out",
            "supervisor/genesis.toml",
        ],
    )
    .ok();
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs `custodia node` on the supervisor's config, expecting it to refuse to start: a node that
/// starts is killed after 30 s and the test fails (rather than hangs).
fn node(cwd: &Path) -> common::Run {
    use std::{
        io::Read as _,
        process::{Command, Stdio},
        time::{Duration, Instant},
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_custodia"))
        .current_dir(cwd)
        .args(["node", "--config", "supervisor/config.toml"])
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the custodia binary runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("custodia node started instead of refusing to");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    common::Run {
        code: status.code(),
        stdout,
        stderr,
    }
}

#[test]
fn the_node_refuses_a_key_file_other_users_can_read() {
    let tmp = tempfile::tempdir().unwrap();
    supervisor(tmp.path());
    let key = tmp.path().join("supervisor/org.key");
    chmod(&key, 0o644);
    // The config names the key relative to its directory: the message names it so too.
    let path = "supervisor/org.key";
    let run = node(tmp.path()).fails_with(1);
    assert_eq!(
        run.stderr.trim_end(),
        format!("error: {path} is readable by other users (mode 0644): run chmod 600 {path}"),
    );
    chmod(&key, 0o660);
    node(tmp.path()).fails_with(1).says(&[
        "readable and writable by other users (mode 0660)",
        "chmod 600",
    ]);
}

#[test]
fn the_node_refuses_a_token_file_other_users_can_read() {
    let tmp = tempfile::tempdir().unwrap();
    supervisor(tmp.path());
    let token = tmp.path().join("supervisor/api.token");
    chmod(&token, 0o604);
    let path = "supervisor/api.token";
    let run = node(tmp.path()).fails_with(1);
    assert_eq!(
        run.stderr.trim_end(),
        format!("error: {path} is readable by other users (mode 0604): run chmod 600 {path}"),
    );
}

#[test]
fn the_node_refuses_a_genesis_whose_ttl_could_overflow_heights() {
    let tmp = tempfile::tempdir().unwrap();
    supervisor(tmp.path());
    let path = tmp.path().join("supervisor/genesis.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("max_tx_ttl = 600"), "{text}");
    std::fs::write(
        &path,
        text.replace("max_tx_ttl = 600", "max_tx_ttl = 2000000"),
    )
    .unwrap();
    node(tmp.path()).fails_with(1).says(&[
        "genesis.toml",
        "params.max_tx_ttl: must be 1 to 1000000 blocks, found 2000000",
    ]);
}

#[test]
fn a_token_on_the_command_line_is_warned_about() {
    let tmp = tempfile::tempdir().unwrap();
    // Nothing listens on port 1: the command fails, after the warning.
    let run = custodia(
        tmp.path(),
        &[
            "status",
            "--node",
            "http://127.0.0.1:1",
            "--token",
            "0123456789abcdef",
        ],
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("warning: --token"), "{}", run.stderr);
    for part in ["other users", "CUSTODIA_TOKEN", "--org-dir"] {
        assert!(first.contains(part), "{first}");
    }
    assert!(!run.stderr.contains("0123456789abcdef"), "{}", run.stderr);
    // From the environment: no warning.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_custodia"))
        .current_dir(tmp.path())
        .args(["status", "--node", "http://127.0.0.1:1"])
        .env("CUSTODIA_TOKEN", "0123456789abcdef")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}
