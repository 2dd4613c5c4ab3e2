//! The README's "Adding an organisation", line by line, on a `custodia devnet` of real node
//! processes (DESIGN §3.3, §4.10): a new organisation initialised in its own directory, proposed
//! by member-a, approved by the supervisor and member-b, its node started by hand with the
//! original genesis.toml beside its config. Its node syncs from genesis and validates from its
//! first epoch; it provides a record that member-a requests and fetches, verified. Then member-c
//! is removed, its node says it follows, is stopped, and the other four keep finalizing.

mod common;
#[allow(dead_code)] // this binary uses the devnet and its client commands only
#[path = "common/workflow.rs"]
mod workflow;

use serde_json::Value;
use std::{
    collections::HashMap,
    path::Path,
    time::{Duration, Instant},
};
use workflow::{Devnet, Expect as _};

/// Longest a membership change may take to reach its epoch: enacted in epoch E, in effect from
/// E + 2, so at most two devnet epochs of 64 blocks (about a minute at 2–4 blocks/s), plus the
/// time a new node takes to sync; five minutes leave room for a slow machine.
const MEMBERSHIP_EFFECT: Duration = Duration::from_secs(300);

const ORGS: [&str; 4] = ["supervisor", "member-a", "member-b", "member-c"];

fn step(name: &str) {
    eprintln!("\n=== {name}");
}

/// The shell lines of the README's "Adding an organisation" (its first `sh` block), without
/// comments and blank lines.
fn readme_lines() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let section = readme
        .split("\n## Adding an organisation\n")
        .nth(1)
        .expect("README has a section `## Adding an organisation`");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the section has a ```sh block");
    block
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// The words of one README line: split on blanks, `"$VAR"` and `$VAR` expanded from `vars`.
/// The block uses no other shell syntax; anything else fails the test, so the README stays
/// within what this test can follow.
fn words(line: &str, vars: &HashMap<String, String>) -> Vec<String> {
    line.split_whitespace()
        .map(|word| {
            let unquoted = word.trim_matches('"');
            match unquoted.strip_prefix('$') {
                Some(name) => vars
                    .get(name)
                    .unwrap_or_else(|| panic!("README line {line:?} uses ${name} before it is set"))
                    .clone(),
                None => {
                    assert!(
                        !unquoted.contains(['$', '\'', '`', '|', '>', '<', ';', '&']),
                        "README line {line:?}: shell syntax this test does not follow"
                    );
                    unquoted.to_string()
                }
            }
        })
        .collect()
}

/// Runs the README's lines in `cwd`, where the devnet's directory is `devnet`: `custodia …`
/// through the binary, `VAR=$(custodia …)` capturing its output, `cp`, and `custodia node
/// --config DIR/config.toml` started by hand. The addresses the README gives the new
/// organisation (`127.0.0.1:7104`, `:8104`) become free ports. Between lines the test waits until
/// every devnet node applied what the last one did, as an operator reading each command's answer
/// before typing the next would.
fn follow_readme(devnet: &mut Devnet, cwd: &Path, new_org: &str) {
    let (p2p, api) = (common::free_port(), common::free_port());
    let mut vars = HashMap::new();
    for line in readme_lines() {
        eprintln!("$ {line}");
        let line = line
            .replace("127.0.0.1:7104", &format!("127.0.0.1:{p2p}"))
            .replace("127.0.0.1:8104", &format!("127.0.0.1:{api}"));
        let (capture, command) = match line.split_once("=$(") {
            Some((var, rest)) => (
                Some(var.to_string()),
                rest.strip_suffix(')')
                    .unwrap_or_else(|| panic!("README line {line:?}: no closing `)`"))
                    .to_string(),
            ),
            None => (None, line.clone()),
        };
        let words = words(&command, &vars);
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        match args.as_slice() {
            ["cp", from, to] => {
                std::fs::copy(cwd.join(from), cwd.join(to))
                    .unwrap_or_else(|err| panic!("{line}: {err}"));
            }
            ["custodia", "node", "--config", config] => {
                let dir = cwd.join(config);
                let dir = dir.parent().expect("the config's directory");
                devnet.start_node_in(new_org, dir);
            }
            ["custodia", rest @ ..] => {
                let run = workflow::run(cwd, rest).ok();
                if let Some(var) = &capture {
                    vars.insert(var.clone(), run.stdout.trim().to_string());
                }
                devnet.sync("member-a", &ORGS);
            }
            _ => panic!("README line {line:?}: a command this test does not follow"),
        }
    }
}

/// `custodia --org-dir DIR status --json`.
fn status(cwd: &Path, dir: &str) -> Value {
    workflow::run(cwd, &["--org-dir", dir, "status", "--json"])
        .ok()
        .json()
}

/// Polls `custodia --org-dir DIR status --json` until `done` holds.
fn wait_status(cwd: &Path, dir: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + MEMBERSHIP_EFFECT;
    loop {
        let now = status(cwd, dir);
        if done(&now) {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "{dir}: not {what} after {MEMBERSHIP_EFFECT:?}: {now}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `org`'s line of member-a's `custodia org list`.
fn org_row(devnet: &Devnet, org: &str) -> String {
    let table = devnet.cli("member-a", &["org", "list"]).ok().stdout;
    table
        .lines()
        .find(|line| line.split_whitespace().nth(1) == Some(org))
        .unwrap_or_else(|| panic!("org list has no {org}: {table}"))
        .to_string()
}

/// The validators of `status`, by name, sorted (status lists them in seat order, by key).
fn validators(status: &Value) -> Vec<String> {
    let mut names: Vec<String> = status["validators"]
        .as_array()
        .unwrap_or_else(|| panic!("status has no validators: {status}"))
        .iter()
        .map(|v| v.as_str().expect("a validator's name").to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn an_organisation_added_by_the_readme_validates_provides_and_a_removed_one_stops() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path().join("work");
    std::fs::create_dir_all(&cwd).unwrap();
    let mut devnet = Devnet::start(&cwd.join("devnet"), &cwd);
    let before = status(&cwd, "devnet/member-a");
    assert_eq!(
        validators(&before),
        ["member-a", "member-b", "member-c", "supervisor"],
        "{before}"
    );

    step("the README's lines: init member-d, propose, two votes, its node started by hand");
    follow_readme(&mut devnet, &cwd, "member-d");

    step("member-d's node syncs from genesis and validates from its first epoch");
    let joined = wait_status(&cwd, "member-d", "a validator", |s| {
        s["validator"] == true && validators(s).iter().any(|v| v == "member-d")
    });
    assert!(joined["epoch"].as_u64().unwrap() >= 2, "{joined}");
    let row = org_row(&devnet, "member-d");
    assert!(row.contains(" from epoch "), "org list: {row}");
    let seen_by_a = status(&cwd, "devnet/member-a");
    assert!(validators(&seen_by_a).contains(&"member-d".to_string()));

    step("member-d provides a record; member-a requests one field and fetches it, verified");
    let record = workflow::run(
        &cwd,
        &[
            "--org-dir",
            "member-d",
            "record",
            "submit",
            "--kind",
            "claim",
            "--field",
            "amount=eur-4321",
            "--field",
            "insured=R. Roe",
        ],
    )
    .ok()
    .only_id("rec_");
    devnet.sync("member-a", &ORGS);
    devnet.wait_height(
        "member-a",
        status(&cwd, "member-d")["height"].as_u64().unwrap(),
    );
    let request = devnet
        .cli(
            "member-a",
            &[
                "request",
                "create",
                "--record",
                &record,
                "--field",
                "amount",
                "--purpose",
                "fraud check",
            ],
        )
        .ok()
        .only_id("req_");
    let height = devnet.height("member-a").unwrap();
    wait_status(&cwd, "member-d", "past the request", |s| {
        s["height"].as_u64().unwrap() >= height
    });
    workflow::run(
        &cwd,
        &["--org-dir", "member-d", "request", "approve", &request],
    )
    .ok();
    devnet.sync("member-a", &["supervisor"]);
    devnet
        .cli("supervisor", &["request", "approve", &request])
        .ok();
    let fetched = devnet
        .cli(
            "member-a",
            &["request", "fetch", &request, "--timeout", "60"],
        )
        .ok()
        .json();
    assert_eq!(fetched["records"][0]["verified"], true, "{fetched}");
    assert_eq!(
        fetched["records"][0]["fields"]["amount"], "eur-4321",
        "{fetched}"
    );
    assert!(
        fetched["records"][0]["fields"].get("insured").is_none(),
        "only the requested field: {fetched}"
    );

    step("member-c is removed: supervisor and member-b approve; it then follows");
    let removal = devnet
        .cli("member-a", &["org", "propose", "remove", "member-c"])
        .ok()
        .only_id("prop_");
    devnet.sync("member-a", &ORGS);
    for voter in ["supervisor", "member-b"] {
        devnet
            .cli(voter, &["org", "vote", &removal, "approve"])
            .ok();
        devnet.sync(voter, &ORGS);
    }
    wait_status(&cwd, "devnet/member-a", "without member-c", |s| {
        !validators(s).iter().any(|v| v == "member-c")
    });
    let removed = wait_status(&cwd, "devnet/member-c", "following", |s| {
        s["validator"] == false
    });
    assert_eq!(
        validators(&removed),
        ["member-a", "member-b", "member-d", "supervisor"],
        "{removed}"
    );

    let row = org_row(&devnet, "member-c");
    assert!(row.contains(" epochs 0–"), "org list: {row}");

    step("member-c's node stopped: the other four keep finalizing");
    devnet.kill_node("member-c");
    let height = devnet.height("member-a").unwrap();
    for org in ["supervisor", "member-a", "member-b"] {
        devnet.wait_height(org, height + 20);
    }
    wait_status(&cwd, "member-d", "past the others", |s| {
        s["height"].as_u64().unwrap() >= height + 20
    });
}
