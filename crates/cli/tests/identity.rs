//! Identity-key rotation through the `custodia` command line on a `custodia devnet` of real node
//! processes (DESIGN §3.3, §4.10, §6.6): member-a's `keys rotate --identity` prints the new key,
//! which `org list` shows from the first height of the epoch after next; a second rotation while
//! it is pending is refused; at that boundary member-a's node restarts its p2p network and
//! consensus under the new key, by itself; its key file then holds the new secret and keeps the
//! old one; it signs records with the new key; and with member-b's node stopped, the chain
//! finalizes only with member-a's votes, so its new key votes. Meanwhile four writers keep
//! submitting records through member-a's API with `wait=true` across the boundary: every one
//! applies, signed by the old key before it and by the new key from it.

mod common;
#[allow(dead_code)] // this binary uses the devnet and its client commands only
#[path = "common/workflow.rs"]
mod workflow;

use custodia_client::{Client, Fields, NewRecord, Receipt, Wait};
use custodia_protocol::OrgKeys;
use serde_json::Value;
use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};
use workflow::{Devnet, Expect as _};

/// Longest the rotation may take to reach its epoch: two devnet epochs of 64 blocks, about a
/// minute at 2–4 blocks/s; five minutes leave room for a slow machine.
const EFFECT: Duration = Duration::from_secs(300);

fn step(name: &str) {
    eprintln!("\n=== {name}");
}

/// member-a's identity keys in `org list --json`: (key, from_height), oldest first.
fn identity_keys(devnet: &Devnet) -> Vec<(String, u64)> {
    let listed = devnet
        .cli("member-b", &["org", "list", "--json"])
        .ok()
        .json();
    let entry = listed["orgs"]
        .as_array()
        .unwrap_or_else(|| panic!("org list --json has no orgs: {listed}"))
        .iter()
        .find(|o| o["name"] == "member-a")
        .unwrap_or_else(|| panic!("org list lacks member-a: {listed}"))
        .clone();
    entry["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("no keys: {entry}"))
        .iter()
        .filter(|k| k["kind"] == "identity")
        .map(|k| {
            (
                k["key"].as_str().unwrap().to_string(),
                k["from_height"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn status(devnet: &Devnet, org: &str) -> Value {
    devnet.cli(org, &["status", "--json"]).ok().json()
}

/// A writer of records through `dir`'s node with `wait=true` until `stop`: the receipts of
/// its writes, or the first error.
fn writer(
    dir: PathBuf,
    n: usize,
    stop: Arc<AtomicBool>,
) -> JoinHandle<Result<Vec<Receipt>, String>> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let client = Client::from_org_dir(&dir).map_err(|err| format!("a client: {err}"))?;
        let mut receipts = Vec::new();
        let mut i = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let record = NewRecord {
                kind: "claim".into(),
                tags: vec![format!("writer-{n}")],
                fields: Fields(vec![("amount".into(), i.into())]),
            };
            let written = rt
                .block_on(client.submit_record(&record, Wait::Finalized(Duration::from_secs(60))))
                .map_err(|err| format!("writer {n}, record {i}: {err}"))?;
            receipts.push(
                written
                    .receipt
                    .ok_or_else(|| format!("writer {n}, record {i}: no receipt"))?,
            );
            i += 1;
        }
        Ok(receipts)
    })
}

fn read_keys(devnet: &Devnet, org: &str) -> OrgKeys {
    let path = devnet.org_dir(org).join("org.key");
    OrgKeys::from_toml(&std::fs::read_to_string(&path).expect("org.key")).expect("org.key parses")
}

#[test]
fn a_member_rotates_its_identity_key_and_its_node_votes_under_the_new_one_on_real_processes() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path().join("work");
    std::fs::create_dir_all(&cwd).unwrap();
    let mut devnet = Devnet::start(&tmp.path().join("devnet"), &cwd);
    let old_key = hex::encode(read_keys(&devnet, "member-a").identity_key().as_ref());

    step("member-a rotates its identity key: the new key alone on stdout");
    let rotated = devnet
        .cli("member-a", &["keys", "rotate", "--identity"])
        .ok()
        .says(&["epoch after next"]);
    let new_key = rotated.stdout.trim().to_string();
    assert!(
        new_key.len() == 64 && new_key.bytes().all(|b| b.is_ascii_hexdigit()),
        "keys rotate --identity prints the new key alone: {:?}",
        rotated.stdout
    );
    assert_ne!(new_key, old_key);
    devnet.sync("member-a", &["member-b"]);
    let keys = identity_keys(&devnet);
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(keys[0], (old_key.clone(), 0));
    assert_eq!(keys[1].0, new_key);
    let from = keys[1].1;
    assert!(from > status(&devnet, "member-a")["height"].as_u64().unwrap());
    let on_disk = read_keys(&devnet, "member-a");
    assert_eq!(
        on_disk
            .next_identity
            .as_ref()
            .map(|s| hex::encode(commonware_cryptography::Signer::public_key(s).as_ref())),
        Some(new_key.clone()),
        "the next secret is in the key file before the chain names it"
    );

    step("a second rotation while the first is pending is refused");
    devnet
        .cli("member-a", &["keys", "rotate", "--identity"])
        .fails("a second rotation")
        .says(&["membership_change_pending"]);

    step("at the boundary, member-a's node restarts under its new key by itself");
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|n| writer(devnet.org_dir("member-a"), n, stop.clone()))
        .collect();
    let deadline = Instant::now() + EFFECT;
    while status(&devnet, "member-a")["height"].as_u64().unwrap() < from + 5 {
        assert!(Instant::now() < deadline, "the chain did not reach {from}");
        std::thread::sleep(Duration::from_millis(500));
    }
    stop.store(true, Ordering::Relaxed);

    step("every record written across the boundary applied, under the key of its height");
    let mut receipts = Vec::new();
    for writer in writers {
        receipts.extend(writer.join().expect("a writer thread").unwrap_or_else(|err| {
            panic!("a waited write across the identity-key switch at height {from} failed: {err}")
        }));
    }
    for receipt in &receipts {
        assert_eq!(receipt.code, "ok", "{receipt:?}");
        let signer = if receipt.height < from {
            &old_key
        } else {
            &new_key
        };
        assert_eq!(
            &receipt.signer, signer,
            "the key of height {}: {receipt:?}",
            receipt.height
        );
    }
    assert!(
        receipts.iter().any(|r| r.height < from) && receipts.iter().any(|r| r.height >= from),
        "the writes straddle height {from}: {:?}",
        receipts.iter().map(|r| r.height).collect::<Vec<_>>()
    );
    eprintln!(
        "{} records written across the switch at height {from}, the nearest at heights {:?}",
        receipts.len(),
        receipts
            .iter()
            .map(|r| r.height)
            .filter(|h| h.abs_diff(from) <= 2)
            .collect::<Vec<_>>()
    );
    let log = std::fs::read_to_string(devnet.org_dir("member-a").join("node.log")).unwrap();
    assert!(
        log.contains("the chain rotated this organisation's identity key"),
        "member-a's node.log does not say it rekeyed"
    );
    let on_disk = read_keys(&devnet, "member-a");
    assert_eq!(hex::encode(on_disk.identity_key().as_ref()), new_key);
    assert!(on_disk.next_identity.is_none());
    assert_eq!(
        on_disk.retired_identities.len(),
        1,
        "the old secret is kept"
    );
    let now = status(&devnet, "member-a");
    assert_eq!(now["validator"], true, "{now}");

    step("member-a's records are signed by the new key");
    let record = devnet
        .cli(
            "member-a",
            &["record", "submit", "--kind", "claim", "--field", "amount=7"],
        )
        .ok()
        .only_id("rec_");
    let audit = devnet
        .cli("member-a", &["audit", "--record", &record, "--json"])
        .ok()
        .json();
    assert!(
        audit["entries"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["kind"] == "record_submitted")),
        "{audit}"
    );

    step("member-b's node stops: the three left finalize only with member-a's new key");
    devnet.kill_node("member-b");
    let height = status(&devnet, "supervisor")["height"].as_u64().unwrap();
    for org in ["supervisor", "member-a", "member-c"] {
        devnet.wait_height(org, height + 20);
    }
    devnet.restart_node("member-b");
    devnet.wait_height("member-b", height + 20);
}
