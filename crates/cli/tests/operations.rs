//! The procedures of docs/OPERATIONS.md, performed word for word on a devnet of real node
//! processes: restoring a node whose state and block archive were lost (it catches up from its
//! peers to the same state commitment), and a node whose whole data directory was lost (it
//! follows the chain with its vote gate closed, then votes again).

mod common;
#[path = "common/workflow.rs"]
#[allow(dead_code)] // the workflow tests use the rest
mod workflow;

use serde_json::Value;
use std::{
    path::Path,
    time::{Duration, Instant},
};
use workflow::{Devnet, Expect};

/// The organisation whose disk the procedures restore.
const ORG: &str = "member-c";

/// OPERATIONS.md, "Restore a node whose state or block archive is lost": the files it deletes,
/// under the node's data directory. The consensus journals (`consensus/custodia-simplex-{epoch}`)
/// stay.
const STATE_AND_ARCHIVE: [&str; 3] = ["state.sqlite", "state.sqlite-wal", "state.sqlite-shm"];
const ARCHIVE_PREFIXES: [&str; 3] = [
    "custodia-blocks-",
    "custodia-finalizations-",
    "custodia-marshal-",
];

fn delete_state_and_archive(data: &Path) {
    for file in STATE_AND_ARCHIVE {
        match std::fs::remove_file(data.join(file)) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => panic!("cannot remove {file}: {err}"),
        }
    }
    let consensus = data.join("consensus");
    for entry in std::fs::read_dir(&consensus).expect("the consensus directory") {
        let entry = entry.expect("an entry");
        let name = entry.file_name().to_string_lossy().to_string();
        if ARCHIVE_PREFIXES.iter().any(|p| name.starts_with(p)) {
            std::fs::remove_dir_all(entry.path()).expect("remove an archive partition");
        }
    }
    let journals = std::fs::read_dir(&consensus)
        .expect("the consensus directory")
        .filter(|entry| {
            entry.as_ref().is_ok_and(|entry| {
                entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with("custodia-simplex-")
            })
        })
        .count();
    assert!(journals > 0, "the procedure keeps the consensus journals");
}

/// A plain HTTP client (the devnet's APIs are on loopback).
fn http() -> reqwest::blocking::Client {
    custodia_client::install_tls_provider();
    reqwest::blocking::Client::new()
}

/// `org`'s `status --json`.
fn status(devnet: &Devnet, org: &str) -> Value {
    devnet.cli(org, &["status", "--json"]).ok().json()
}

/// The state commitment `org`'s node reports for block `height` (its `/v1/blocks/{height}`).
fn commitment_at(devnet: &Devnet, org: &str, height: u64) -> String {
    let dir = devnet.org_dir(org);
    let config = std::fs::read_to_string(dir.join("config.toml")).expect("config.toml");
    let api = config
        .lines()
        .find_map(|l| l.strip_prefix("api_listen = "))
        .expect("api_listen")
        .trim_matches('"')
        .to_string();
    let token = std::fs::read_to_string(dir.join("api.token")).expect("api.token");
    let block: Value = http()
        .get(format!("http://{api}/v1/blocks/{height}"))
        .bearer_auth(token.trim())
        .send()
        .expect("the node answers")
        .json()
        .expect("a block");
    block["state_commitment"]
        .as_str()
        .unwrap_or_else(|| panic!("{org} has no block {height}: {block}"))
        .to_string()
}

/// Submits a record through `org`'s node and waits for the supervisor's verdict.
fn submit(devnet: &Devnet, org: &str, n: u32) -> String {
    devnet
        .cli(
            org,
            &[
                "record",
                "submit",
                "--kind",
                "claim",
                "--field",
                &format!("claim_no=OPS-{n}"),
                "--field",
                "amount=100",
            ],
        )
        .ok()
        .only_id("rec_")
}

/// Asserts that `org` and the supervisor agree on the state commitment at the height `org`
/// applied, once it caught up with what the supervisor applied.
fn assert_caught_up(devnet: &Devnet, org: &str) {
    devnet.sync("supervisor", &[org]);
    let height = status(devnet, org)["height"].as_u64().expect("a height");
    assert_eq!(
        commitment_at(devnet, org, height),
        commitment_at(devnet, "supervisor", height),
        "{org} reached another state commitment than the supervisor at height {height}"
    );
}

fn stop_node(devnet: &Devnet, org: &str) {
    let pid = devnet.node_pid(org).expect("the node runs");
    workflow::signal(pid, libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(30);
    while devnet.node_pid(org).is_some() {
        assert!(Instant::now() < deadline, "{org} did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn log_of(devnet: &Devnet, org: &str) -> String {
    std::fs::read_to_string(devnet.org_dir(org).join("node.log")).unwrap_or_default()
}

/// `node_engine_custodia_vote_gate_closed` on `org`'s `/metrics`.
fn vote_gate_closed(devnet: &Devnet, org: &str) -> Option<u64> {
    let dir = devnet.org_dir(org);
    let config = std::fs::read_to_string(dir.join("config.toml")).ok()?;
    let api = config
        .lines()
        .find_map(|l| l.strip_prefix("api_listen = "))?
        .trim_matches('"')
        .to_string();
    let token = std::fs::read_to_string(dir.join("api.token")).ok()?;
    let text = http()
        .get(format!("http://{api}/metrics"))
        .bearer_auth(token.trim())
        .send()
        .ok()?
        .text()
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("node_engine_custodia_vote_gate_closed "))
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn a_node_restored_without_its_state_and_archive_catches_up_to_the_same_commitment() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut devnet = Devnet::start(&tmp.path().join("devnet"), tmp.path());
    submit(&devnet, "member-a", 1);
    submit(&devnet, ORG, 2);
    devnet.sync("supervisor", &[ORG]);

    stop_node(&devnet, ORG);
    delete_state_and_archive(&devnet.org_dir(ORG).join("data"));
    // The chain moves on meanwhile.
    submit(&devnet, "member-b", 3);
    devnet.restart_node(ORG);

    assert_caught_up(&devnet, ORG);
    // It kept its journal, so it votes at once, and its records are there again.
    assert_eq!(vote_gate_closed(&devnet, ORG), Some(0));
    let records = devnet.cli(ORG, &["record", "list", "--json"]).ok().json();
    assert!(
        records["records"].as_array().is_some_and(|r| r.len() == 3),
        "the restored node lists the 3 records: {records}"
    );
    assert!(!log_of(&devnet, ORG).contains("consensus journal is missing"));
    submit(&devnet, ORG, 4);
    assert_caught_up(&devnet, ORG);
}

#[test]
fn a_node_that_lost_its_whole_data_directory_follows_then_votes_again() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut devnet = Devnet::start(&tmp.path().join("devnet"), tmp.path());
    let dir = devnet.org_dir(ORG);
    // `devnet ready` means some node applied a block, not this one: wait for it to apply one,
    // then for the mark to go (the node removes it on its next head change, asynchronously).
    // Failed before, now and then: the mark was still there right after `devnet ready`.
    devnet.wait_height(ORG, 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    while dir.join("data/new-validator").exists() {
        assert!(
            Instant::now() < deadline,
            "the new-validator mark is gone once the node applied a block"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    submit(&devnet, "member-a", 1);
    devnet.sync("supervisor", &[ORG]);

    // The disk is gone: kill -9, then an empty data directory beside the backed-up files.
    devnet.kill_node(ORG);
    std::fs::remove_dir_all(dir.join("data")).expect("wipe the data directory");
    devnet.restart_node(ORG);

    // It says why it does not vote, follows the chain, and votes again once a block
    // finalized after its start shows the chain is past every view it may have voted in.
    let deadline = Instant::now() + Duration::from_secs(90);
    while !log_of(&devnet, ORG).contains("voting again") {
        assert!(
            Instant::now() < deadline,
            "the gate did not open: {}",
            log_of(&devnet, ORG)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(log_of(&devnet, ORG).contains("consensus journal is missing"));
    assert_eq!(vote_gate_closed(&devnet, ORG), Some(0));
    submit(&devnet, ORG, 2);
    assert_caught_up(&devnet, ORG);

    // Its votes count: with another member stopped, the chain needs them.
    stop_node(&devnet, "member-b");
    submit(&devnet, "member-a", 3);
    assert_caught_up(&devnet, ORG);
}
