//! Governance through the `custodia` command line on one `custodia devnet` of real node
//! processes (DESIGN §4.5, §6.6, §8.5): `org list` shows every organisation with its status and
//! keys; the supervisor rotates its encryption key between two records and a requester between
//! two deliveries, and nothing is lost; the supervisor suspends a member with a reason, the
//! member can neither submit, request, decide nor receive, and once reinstated gets its waiting
//! delivery; every step is in the audit trail.

mod common;
#[allow(dead_code)] // this binary uses the devnet and its client commands only
#[path = "common/workflow.rs"]
mod workflow;

use serde_json::Value;
use std::path::Path;
use workflow::{Devnet, Expect as _};

fn step(name: &str) {
    eprintln!("\n=== {name}");
}

/// `org`'s entry of `org list --json`, as `viewer` sees it.
fn org_entry(devnet: &Devnet, viewer: &str, org: &str) -> Value {
    let listed = devnet.cli(viewer, &["org", "list", "--json"]).ok().json();
    listed["orgs"]
        .as_array()
        .unwrap_or_else(|| panic!("org list --json has no orgs: {listed}"))
        .iter()
        .find(|o| o["name"] == org)
        .unwrap_or_else(|| panic!("org list lacks {org}: {listed}"))
        .clone()
}

fn encryption_keys(entry: &Value) -> Vec<(String, u64)> {
    entry["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("no keys: {entry}"))
        .iter()
        .filter(|k| k["kind"] == "encryption")
        .map(|k| {
            (
                k["key"].as_str().unwrap().to_string(),
                k["from_height"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// A claim by `provider` with `amount`; its id once accepted.
fn submit(devnet: &Devnet, provider: &str, amount: &str) -> String {
    devnet
        .cli(
            provider,
            &[
                "record",
                "submit",
                "--kind",
                "claim",
                "--field",
                &format!("amount={amount}"),
            ],
        )
        .ok()
        .only_id("rec_")
}

/// `requester` asks for the amount of `record`; the request's id.
fn ask(devnet: &Devnet, requester: &str, record: &str) -> String {
    devnet
        .cli(
            requester,
            &[
                "request",
                "create",
                "--record",
                record,
                "--field",
                "amount",
                "--purpose",
                "fraud check",
            ],
        )
        .ok()
        .only_id("req_")
}

fn approve(devnet: &Devnet, approver: &str, request: &str) {
    let others: Vec<&str> = ["supervisor", "member-a", "member-b", "member-c"]
        .into_iter()
        .filter(|o| *o != approver)
        .collect();
    devnet.sync(others[0], &[approver]);
    devnet.cli(approver, &["request", "approve", request]).ok();
    devnet.sync(approver, &others);
}

/// The amount `requester` fetches for `request`, opened and verified by its node.
fn fetched_amount(devnet: &Devnet, requester: &str, request: &str) -> String {
    let fetched = devnet
        .cli(requester, &["request", "fetch", request, "--timeout", "60"])
        .ok()
        .json();
    assert_eq!(fetched["records"][0]["verified"], true, "{fetched}");
    fetched["records"][0]["fields"]["amount"]
        .as_str()
        .unwrap_or_else(|| panic!("no amount: {fetched}"))
        .to_string()
}

fn key_file_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn keys_rotate_and_a_suspended_member_waits_for_its_delivery_on_real_processes() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path().join("work");
    std::fs::create_dir_all(&cwd).unwrap();
    let devnet = Devnet::start(&tmp.path().join("devnet"), &cwd);

    step("org list: four organisations, active, each key from height 0");
    let table = devnet.cli("member-a", &["org", "list"]).ok().stdout;
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header[..4], ["ID", "NAME", "ROLE", "STATUS"], "{table}");
    for org in ["supervisor", "member-a", "member-b", "member-c"] {
        let entry = org_entry(&devnet, "member-a", org);
        assert_eq!(entry["active"], true, "{entry}");
        assert_eq!(encryption_keys(&entry).len(), 1, "{entry}");
        assert_eq!(encryption_keys(&entry)[0].1, 0, "{entry}");
    }

    step("the supervisor rotates its encryption key between two records");
    let first = submit(&devnet, "member-a", "eur-1111");
    let rotated = devnet
        .cli("supervisor", &["keys", "rotate", "--encryption"])
        .ok();
    let new_key = rotated.stdout.trim().to_string();
    assert!(
        new_key.len() == 64 && new_key.bytes().all(|b| b.is_ascii_hexdigit()),
        "keys rotate prints the new key alone: {:?}",
        rotated.stdout
    );
    let key_file = devnet.org_dir("supervisor").join("org.key");
    let keyring = std::fs::read_to_string(&key_file).unwrap();
    assert!(
        keyring.contains("retired_encryption_secrets"),
        "the old secret is kept in the keyring"
    );
    assert_eq!(key_file_mode(&key_file), 0o600, "the keyring stays private");
    devnet.sync("supervisor", &["member-a", "member-b", "member-c"]);
    let entry = org_entry(&devnet, "member-a", "supervisor");
    assert_eq!(entry["encryption_key"], new_key.as_str(), "{entry}");
    let history = encryption_keys(&entry);
    assert_eq!(history.len(), 2, "{entry}");
    assert_eq!(history[1].0, new_key);
    assert!(history[1].1 > 0);
    let second = submit(&devnet, "member-a", "eur-2222");

    step("both records are delivered: the first opened with the supervisor's retired secret");
    let before = ask(&devnet, "member-b", &first);
    approve(&devnet, "member-a", &before);
    approve(&devnet, "supervisor", &before);
    assert_eq!(fetched_amount(&devnet, "member-b", &before), "eur-1111");

    step("member-b rotates its key between two deliveries: both open");
    let requester_key = devnet
        .cli("member-b", &["keys", "rotate", "--encryption", "--json"])
        .ok()
        .json();
    assert!(
        requester_key["receipt"]["code"] == "ok",
        "keys rotate --json waits for the receipt: {requester_key}"
    );
    devnet.sync("member-b", &["supervisor", "member-a", "member-c"]);
    let after = ask(&devnet, "member-b", &second);
    approve(&devnet, "member-a", &after);
    approve(&devnet, "supervisor", &after);
    assert_eq!(fetched_amount(&devnet, "member-b", &after), "eur-2222");
    assert_eq!(fetched_amount(&devnet, "member-b", &before), "eur-1111");

    step("member-c asks; it provides a record member-b asks for");
    let waiting = ask(&devnet, "member-c", &first);
    approve(&devnet, "member-a", &waiting);
    let own = submit(&devnet, "member-c", "eur-3333");
    let to_c = ask(&devnet, "member-b", &own);
    devnet.sync("member-b", &["member-c"]);

    step("only the supervisor suspends, never itself, and always with a reason");
    devnet
        .cli(
            "member-a",
            &["org", "suspend", "member-c", "--reason", "rivalry"],
        )
        .fails("a member suspending another")
        .says(&["not_supervisor"]);
    devnet
        .cli(
            "supervisor",
            &["org", "suspend", "supervisor", "--reason", "x"],
        )
        .fails("the supervisor suspending itself")
        .says(&["cannot_suspend_supervisor"]);
    devnet
        .cli(
            "supervisor",
            &["org", "suspend", "member-c", "--reason", " "],
        )
        .fails("a suspension without a reason")
        .says(&["reason_required"]);
    devnet
        .cli("supervisor", &["org", "suspend", "nobody", "--reason", "x"])
        .fails("suspending an unknown organisation")
        .says(&["unknown_org"]);

    step("the supervisor suspends member-c with a reason");
    let reason = "quarterly report overdue";
    let suspended = devnet
        .cli(
            "supervisor",
            &["org", "suspend", "member-c", "--reason", reason],
        )
        .ok();
    let tx = suspended.stdout.trim();
    assert!(
        tx.len() == 64,
        "org suspend prints the tx id: {:?}",
        suspended.stdout
    );
    devnet.sync("supervisor", &["member-a", "member-b", "member-c"]);
    let entry = org_entry(&devnet, "member-c", "member-c");
    assert_eq!(entry["active"], false, "{entry}");
    assert_eq!(entry["status_reason"], reason, "{entry}");
    devnet
        .cli(
            "supervisor",
            &["org", "suspend", "member-c", "--reason", reason],
        )
        .fails("suspending a suspended member")
        .says(&["org_status_unchanged"]);

    step("suspended, member-c can neither submit, request, decide nor receive");
    devnet
        .cli(
            "member-c",
            &["record", "submit", "--kind", "claim", "--field", "amount=1"],
        )
        .fails("a suspended member submitting")
        .says(&["signer_suspended"]);
    devnet
        .cli(
            "member-c",
            &[
                "request",
                "create",
                "--record",
                &second,
                "--purpose",
                "audit",
            ],
        )
        .fails("a suspended member requesting")
        .says(&["signer_suspended"]);
    devnet
        .cli("member-c", &["request", "approve", &to_c])
        .fails("a suspended provider deciding")
        .says(&["signer_suspended"]);
    approve(&devnet, "supervisor", &waiting);
    devnet
        .cli(
            "member-c",
            &["request", "fetch", &waiting, "--timeout", "5"],
        )
        .fails("fetching while suspended")
        .says(&["approved"]);

    step("reinstated, member-c gets its waiting delivery");
    devnet
        .cli(
            "supervisor",
            &["org", "reinstate", "member-c", "--reason", "report filed"],
        )
        .ok();
    assert_eq!(fetched_amount(&devnet, "member-c", &waiting), "eur-1111");
    assert_eq!(org_entry(&devnet, "member-a", "member-c")["active"], true);

    step("the audit trail says who suspended whom, why, and who rotated");
    let audit = devnet.cli("member-a", &["audit", "--json"]).ok().json();
    let entries = audit["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("audit --json has no entries: {audit}"));
    let suspension = entries
        .iter()
        .find(|e| e["kind"] == "org_suspended")
        .unwrap_or_else(|| panic!("no org_suspended in the audit trail: {audit}"));
    assert_eq!(suspension["actor"], "supervisor", "{suspension}");
    assert_eq!(suspension["subject"], "member-c", "{suspension}");
    assert_eq!(suspension["detail"], reason, "{suspension}");
    assert!(entries.iter().any(|e| e["kind"] == "org_reinstated"));
    let rotations: Vec<&Value> = entries
        .iter()
        .filter(|e| e["kind"] == "org_keys_rotated")
        .collect();
    assert_eq!(rotations.len(), 2, "{audit}");
    assert_eq!(rotations[0]["actor"], "supervisor");
    assert_eq!(rotations[1]["actor"], "member-b");
}

/// How long a membership change may take to come into effect: at the end of the epoch after
/// the one that enacted it, 64 to 127 blocks of the devnet's epochs of 64 later (DESIGN §4.10),
/// under a minute at 2–4 blocks/s; five minutes leave room for a slow machine.
const MEMBERSHIP_EFFECT: std::time::Duration = std::time::Duration::from_secs(300);

/// Polls `org`'s `org list --json` entry for `name` until `done` holds (at most
/// [`MEMBERSHIP_EFFECT`]).
fn wait_org(devnet: &Devnet, viewer: &str, name: &str, what: &str, done: impl Fn(&Value) -> bool) {
    let deadline = std::time::Instant::now() + MEMBERSHIP_EFFECT;
    loop {
        let entry = org_entry(devnet, viewer, name);
        if done(&entry) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} is not {what} after {MEMBERSHIP_EFFECT:?}: {entry}"
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

fn proposal(devnet: &Devnet, viewer: &str, id: &str) -> Value {
    let listed = devnet
        .cli(viewer, &["org", "proposals", "--json"])
        .ok()
        .json();
    listed["proposals"]
        .as_array()
        .unwrap_or_else(|| panic!("org proposals --json has no proposals: {listed}"))
        .iter()
        .find(|p| p["proposal_id"] == id)
        .unwrap_or_else(|| panic!("org proposals lacks {id}: {listed}"))
        .clone()
}

fn propose(devnet: &Devnet, org: &str, args: &[&str]) -> String {
    let mut all = vec!["org", "propose"];
    all.extend_from_slice(args);
    devnet.cli(org, &all).ok().only_id("prop_")
}

fn everyone(devnet: &Devnet, from: &str) {
    devnet.sync(from, &["supervisor", "member-a", "member-b", "member-c"]);
}

#[test]
fn proposals_change_parameters_and_members_on_real_processes() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path().join("work");
    std::fs::create_dir_all(&cwd).unwrap();
    let devnet = Devnet::start(&tmp.path().join("devnet"), &cwd);

    step("a parameter change: the proposer and the supervisor are one member short");
    let id = propose(
        &devnet,
        "member-a",
        &["params", "max_request_ttl=500", "--ttl", "1000"],
    );
    everyone(&devnet, "member-a");
    devnet
        .cli("supervisor", &["org", "vote", &id, "approve"])
        .ok();
    everyone(&devnet, "supervisor");
    let open = proposal(&devnet, "member-b", &id);
    assert_eq!(open["status"], "open", "{open}");
    assert_eq!(open["votes"].as_array().unwrap().len(), 2, "{open}");
    let table = devnet
        .cli("member-b", &["org", "proposals", "--status", "open"])
        .ok()
        .stdout;
    assert!(table.contains(&id), "org proposals --status open: {table}");

    step("member-b's vote makes more than half: enacted, and the new bound holds");
    devnet
        .cli(
            "member-b",
            &[
                "org",
                "vote",
                &id,
                "approve",
                "--reason",
                "shorter is safer",
            ],
        )
        .ok();
    everyone(&devnet, "member-b");
    assert_eq!(proposal(&devnet, "member-a", &id)["status"], "enacted");
    let record = submit(&devnet, "member-a", "eur-5");
    devnet
        .cli(
            "member-b",
            &[
                "request",
                "create",
                "--record",
                &record,
                "--purpose",
                "audit",
                "--ttl",
                "501",
            ],
        )
        .fails("a request over the new max_request_ttl")
        .says(&["invalid_request"]);
    devnet
        .cli("member-c", &["org", "vote", &id, "approve"])
        .fails("a vote on an enacted proposal")
        .says(&["proposal_closed"]);
    devnet
        .cli("member-c", &["org", "vote", &id, "reject"])
        .fails("a vote against without a reason")
        .says(&["reason"]);

    step("one vote short: the proposal expires and changes nothing");
    let short = propose(
        &devnet,
        "member-a",
        &["params", "max_request_ttl=42", "--ttl", "8"],
    );
    everyone(&devnet, "member-a");
    devnet
        .cli("supervisor", &["org", "vote", &short, "approve"])
        .ok();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while proposal(&devnet, "member-a", &short)["status"] != "expired" {
        assert!(
            std::time::Instant::now() < deadline,
            "{short} never expired"
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    devnet
        .cli(
            "member-b",
            &[
                "request",
                "create",
                "--record",
                &record,
                "--purpose",
                "audit",
                "--ttl",
                "500",
            ],
        )
        .ok();

    step("member-c is removed: it cannot vote on it, and once in effect signs nothing");
    let removal = propose(&devnet, "member-a", &["remove", "member-c"]);
    everyone(&devnet, "member-a");
    devnet
        .cli(
            "member-c",
            &["org", "vote", &removal, "reject", "--reason", "no"],
        )
        .fails("the member a removal names voting")
        .says(&["own_removal"]);
    devnet
        .cli("member-a", &["org", "propose", "remove", "member-b"])
        .fails("a second membership change")
        .says(&["membership_change_pending"]);
    devnet
        .cli("member-b", &["org", "vote", &removal, "approve"])
        .ok();
    devnet
        .cli("supervisor", &["org", "vote", &removal, "approve"])
        .ok();
    everyone(&devnet, "supervisor");
    let leaving = org_entry(&devnet, "member-a", "member-c");
    assert_eq!(leaving["membership"], "leaving", "{leaving}");
    wait_org(&devnet, "member-a", "member-c", "removed", |e| {
        e["membership"] == "removed"
    });
    devnet.sync("member-a", &["member-c"]);
    devnet
        .cli(
            "member-c",
            &["record", "submit", "--kind", "claim", "--field", "amount=1"],
        )
        .fails("a removed member submitting")
        .says(&["signer_removed"]);

    step("a new member is proposed from its org.pub.toml and admitted");
    common::init_org(&cwd, "member-d", "member", 90);
    let added = propose(
        &devnet,
        "member-b",
        &[
            "add",
            "--pub",
            cwd.join("member-d/org.pub.toml").to_str().unwrap(),
        ],
    );
    devnet.sync("member-b", &["supervisor", "member-a"]);
    devnet
        .cli("member-a", &["org", "vote", &added, "approve"])
        .ok();
    devnet
        .cli("supervisor", &["org", "vote", &added, "approve"])
        .ok();
    devnet.sync("supervisor", &["member-a"]);
    let admitted = org_entry(&devnet, "member-a", "member-d");
    assert_eq!(admitted["membership"], "admitted", "{admitted}");
    assert_eq!(admitted["id"], 4, "{admitted}");
    wait_org(&devnet, "member-a", "member-d", "a member", |e| {
        e["membership"] == "member"
    });

    step("the audit trail has every step, with the proposal's id");
    let audit = devnet.cli("member-a", &["audit", "--json"]).ok().json();
    let entries = audit["entries"].as_array().unwrap();
    for kind in [
        "proposal_created",
        "proposal_voted",
        "proposal_enacted",
        "proposal_expired",
        "member_removed",
        "member_admitted",
    ] {
        assert!(
            entries.iter().any(|e| e["kind"] == kind),
            "no {kind} in the audit trail: {audit}"
        );
    }
    assert!(
        entries
            .iter()
            .any(|e| e["kind"] == "proposal_enacted" && e["proposal_id"] == id.as_str())
    );
}
