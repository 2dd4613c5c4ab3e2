//! The whole flow of DESIGN §1 through the `custodia` command line exactly as DESIGN §8.5 writes
//! it, on one `custodia devnet` of real node processes: a provider submits, a requester asks,
//! provider and supervisor approve, the requester fetches opened and verified fields; only the
//! requester may fetch, only parties may decide, rejected and pending requests deliver nothing,
//! nobody requests its own record; the supervisor killed with SIGKILL between the last approval
//! and the delivery delivers once after a restart; and no plaintext value reaches any node's
//! disk.
//!
//! The steps, by concept: the happy path here; `workflow/refusals.rs` (who may not fetch, a
//! rejected request, one's own record), `workflow/crash.rs` (the killed supervisor),
//! `workflow/evidence.rs` (proofs and the certificate), `workflow/leaks.rs` (the disks).

mod common;
#[path = "workflow/crash.rs"]
mod crash;
#[path = "workflow/evidence.rs"]
mod evidence;
#[path = "workflow/leaks.rs"]
mod leaks;
#[path = "workflow/refusals.rs"]
mod refusals;
#[path = "common/workflow.rs"]
mod workflow;

use serde_json::Value;
use std::{
    collections::BTreeSet,
    hash::{BuildHasher as _, Hasher as _},
    path::Path,
    time::{Duration, Instant},
};
use workflow::{Devnet, Expect as _};

/// A random token for this run: every canary value carries it, nothing else does.
fn run_token() -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}

/// Canary values, unique per run, for the fields of the records.
struct Canaries {
    token: String,
}

impl Canaries {
    fn value(&self, label: &str) -> String {
        format!("canary-{}-{label}", self.token)
    }
}

fn step(name: &str) {
    eprintln!("\n=== {name}");
}

/// The JSON `request fetch --out` wrote.
fn read_fetched(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("fetch --out did not write {}: {err}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("{} is not JSON ({err}): {text}", path.display()))
}

/// Checks the shape of DESIGN §8.5: `{"request_id", "records": [{"record_id", "provider", "kind",
/// "fields": {NAME: VALUE}, "verified": true}]}` with exactly `fields`.
fn assert_fetched(
    fetched: &Value,
    request: &str,
    record: &str,
    provider: &str,
    fields: &[(&str, &str)],
) {
    assert_eq!(fetched["request_id"], request, "fetched: {fetched}");
    let records = fetched["records"]
        .as_array()
        .unwrap_or_else(|| panic!("fetched has no records array: {fetched}"));
    assert_eq!(records.len(), 1, "fetched: {fetched}");
    let opened = &records[0];
    assert_eq!(opened["record_id"], record, "fetched: {fetched}");
    assert_eq!(opened["provider"], provider, "fetched: {fetched}");
    assert_eq!(opened["kind"], "claim", "fetched: {fetched}");
    assert_eq!(opened["verified"], Value::Bool(true), "fetched: {fetched}");
    let expected: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(name, value)| (name.to_string(), Value::String(value.to_string())))
        .collect();
    assert_eq!(
        opened["fields"],
        Value::Object(expected),
        "the delivery must hold exactly the requested fields"
    );
}

/// The kinds of `custodia audit --request ID --json` as `org` reads them.
fn audit_kinds(devnet: &Devnet, org: &str, request: &str) -> Vec<String> {
    let trail = devnet
        .cli(org, &["audit", "--request", request, "--json"])
        .ok()
        .json();
    trail["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("audit --json has no entries: {trail}"))
        .iter()
        .map(|entry| entry["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// `request show ID --json` as `org` reads it.
fn show_request(devnet: &Devnet, org: &str, request: &str) -> Value {
    devnet
        .cli(org, &["request", "show", request, "--json"])
        .ok()
        .json()
}

#[test]
fn provider_submits_requester_asks_both_approve_requester_opens_and_nothing_leaks() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path().join("work");
    let fetched_dir = tmp.path().join("fetched");
    std::fs::create_dir_all(&cwd).unwrap();
    std::fs::create_dir_all(&fetched_dir).unwrap();
    let mut devnet = Devnet::start(&tmp.path().join("devnet"), &cwd);
    let canary = Canaries { token: run_token() };
    let (vin, amount) = (canary.value("vin"), canary.value("amount"));
    let (insured, diagnosis) = (canary.value("insured"), canary.value("diagnosis"));
    let (policy, secret) = (canary.value("policy"), canary.value("secret"));
    // Written in clear on the chain (a purpose is public): proves the disk search below finds
    // what the nodes store.
    let control = format!("fraud check {}", run_token());

    step("1. member-a submits a claim: stdout is only its id, exit 0 once accepted");
    let submit = devnet
        .cli(
            "member-a",
            &[
                "record",
                "submit",
                "--kind",
                "claim",
                "--tag",
                "motor",
                "--field",
                &format!("vin={vin}"),
                "--field",
                &format!("amount={amount}"),
                "--field",
                &format!("insured_name={insured}"),
                "--field",
                &format!("diagnosis={diagnosis}"),
            ],
        )
        .ok();
    let rec = submit.only_id("rec_");
    let shown = devnet
        .cli("member-a", &["record", "show", &rec, "--json"])
        .ok()
        .json();
    assert_eq!(
        shown["status"], "accepted",
        "record submit exited 0 before the supervisor accepted the record: {shown}"
    );
    let rec2 = devnet
        .cli(
            "member-a",
            &[
                "record",
                "submit",
                "--kind",
                "claim",
                "--field",
                &format!("policy_no={policy}"),
                "--field",
                &format!("secret={secret}"),
            ],
        )
        .ok()
        .only_id("rec_");
    devnet.sync("member-a", &["supervisor", "member-b", "member-c"]);

    step("1. record list prints a table; --json parses");
    let table = devnet.cli("member-b", &["record", "list"]).ok().stdout;
    let mut lines = table.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["RECORD", "PROVIDER", "KIND", "STATUS", "BLOCK", "FIELDS"],
        "record list: {table}"
    );
    for id in [&rec, &rec2] {
        let row: Vec<&str> = table
            .lines()
            .find(|line| line.starts_with(id.as_str()))
            .unwrap_or_else(|| panic!("record list lacks {id}: {table}"))
            .split_whitespace()
            .collect();
        assert_eq!(row[1..4], ["member-a", "claim", "accepted"], "{table}");
    }
    assert!(
        !table.contains(&canary.token),
        "record list shows a value: {table}"
    );
    let listed = devnet
        .cli("member-b", &["record", "list", "--json"])
        .ok()
        .json();
    let listed_rec = listed["records"]
        .as_array()
        .unwrap_or_else(|| panic!("record list --json has no records: {listed}"))
        .iter()
        .find(|r| r["record_id"] == rec.as_str())
        .unwrap_or_else(|| panic!("record list --json lacks {rec}: {listed}"));
    let names: BTreeSet<&str> = listed_rec["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("no field names: {listed_rec}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["amount", "diagnosis", "insured_name", "vin"]),
        "record list --json: {listed_rec}"
    );

    step("1. member-b requests 2 of its fields: stdout is only the request id");
    let req = devnet
        .cli(
            "member-b",
            &[
                "request",
                "create",
                "--record",
                &rec,
                "--field",
                "vin",
                "--field",
                "amount",
                "--purpose",
                "fraud check: the same vehicle appears in a claim of ours",
            ],
        )
        .ok()
        .only_id("req_");
    devnet.sync("member-b", &["supervisor", "member-a", "member-c"]);

    step("3. member-c, not a party, cannot approve");
    devnet
        .cli("member-c", &["request", "approve", &req])
        .fails("member-c approving member-b's request")
        .says(&["not_approver"]);

    step("5. fetching a pending request says pending, at once");
    let pending_out = fetched_dir.join("pending.json");
    let asked = Instant::now();
    devnet
        .cli(
            "member-b",
            &[
                "request",
                "fetch",
                &req,
                "--out",
                pending_out.to_str().unwrap(),
            ],
        )
        .fails("fetching a pending request")
        .says(&["pending"]);
    assert!(
        asked.elapsed() < Duration::from_secs(20),
        "fetch of a pending request waited {:?} instead of failing with its status",
        asked.elapsed()
    );
    assert!(!pending_out.exists(), "a failed fetch wrote its --out file");

    step("1. the provider and the supervisor approve");
    devnet.cli("member-a", &["request", "approve", &req]).ok();
    devnet.sync("member-a", &["supervisor"]);
    devnet
        .cli(
            "supervisor",
            &[
                "request",
                "approve",
                &req,
                "--reason",
                "proportionate to the purpose",
            ],
        )
        .ok();
    devnet.sync("supervisor", &["member-a", "member-b", "member-c"]);

    step("1. member-b fetches --out FILE: exactly the requested fields, verified");
    let out = fetched_dir.join("fraud-check.json");
    devnet
        .cli(
            "member-b",
            &[
                "request",
                "fetch",
                &req,
                "--out",
                out.to_str().unwrap(),
                "--timeout",
                "60",
            ],
        )
        .ok();
    assert_fetched(
        &read_fetched(&out),
        &req,
        &rec,
        "member-a",
        &[("vin", &vin), ("amount", &amount)],
    );

    let again = devnet
        .cli("member-b", &["request", "fetch", &req])
        .ok()
        .json();
    assert_eq!(
        again,
        read_fetched(&out),
        "fetch without --out prints the same JSON on stdout"
    );
    devnet
        .cli(
            "member-b",
            &["request", "fetch", &req, "--out", out.to_str().unwrap()],
        )
        .fails("fetch --out over an existing file")
        .says(&["exists"]);
    let listed = devnet
        .cli("member-b", &["request", "list", "--json"])
        .ok()
        .json();
    let listed_req = listed["requests"]
        .as_array()
        .unwrap_or_else(|| panic!("request list --json has no requests: {listed}"))
        .iter()
        .find(|r| r["request_id"] == req.as_str())
        .unwrap_or_else(|| panic!("request list --json lacks {req}: {listed}"));
    assert_eq!(listed_req["status"], "delivered", "{listed_req}");

    let refused = refusals::refused_as_designed(&devnet, &fetched_dir, &rec, &req);

    let (late, late_out) = crash::supervisor_killed_before_delivery(
        &mut devnet,
        &fetched_dir,
        &rec2,
        &control,
        &policy,
    );
    let trail = devnet
        .cli("member-b", &["audit", "--request", &late])
        .ok()
        .stdout;
    assert!(
        trail.starts_with("SEQ") && trail.contains("request_delivered"),
        "audit prints a table: {trail}"
    );
    evidence::proofs_verify_and_agree(&devnet, &req);
    for (request, delivered) in [(&req, 1), (&refused, 0)] {
        let kinds = audit_kinds(&devnet, "member-c", request);
        assert_eq!(
            kinds.iter().filter(|k| *k == "request_delivered").count(),
            delivered,
            "audit --request {request}: {kinds:?}"
        );
    }

    leaks::no_plaintext_on_disk(
        &mut devnet,
        &canary.token,
        &control,
        &[&vin, &amount, &insured, &diagnosis, &policy, &secret],
        &[
            (
                &out,
                vec![&vin, &amount],
                vec![&insured, &diagnosis, &policy, &secret],
            ),
            (
                &late_out,
                vec![&policy],
                vec![&vin, &amount, &insured, &diagnosis, &secret],
            ),
        ],
        &fetched_dir,
        vec![late_out.clone(), out.clone()],
    );
    eprintln!("workflow done in {:?}", started.elapsed());
}
