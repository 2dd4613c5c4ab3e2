//! `custodia bench` end to end on a small load: a devnet of 4 real node processes started in
//! `--dir`, records sealed and submitted, share requests delivered and verified, and DESIGN
//! §8.6's JSON. No timing is asserted: only that every part ran and reported.

mod common;

use common::custodia;
use serde_json::Value;

#[test]
fn bench_runs_the_load_and_the_share_requests_and_reports_the_json_of_the_design() {
    let dir = tempfile::tempdir().unwrap();
    let run = custodia(
        dir.path(),
        &[
            "bench",
            "--dir",
            "devnet",
            "--txs",
            "300",
            "--payload-bytes",
            "512",
            "--requests",
            "3",
            "--in-flight",
            "600",
            "--json",
        ],
    )
    .ok();
    let report: Value = serde_json::from_str(&run.stdout).expect("--json prints JSON");
    for key in ["tx_per_s", "limit_tx_per_s", "rss_mib"] {
        assert!(report[key].as_f64().unwrap() > 0.0, "{key}: {report}");
    }
    for key in ["latency_ms", "share_latency_ms"] {
        let p = &report[key];
        let (p50, p95, p99) = (p["p50"].as_f64(), p["p95"].as_f64(), p["p99"].as_f64());
        assert!(
            p50 <= p95 && p95 <= p99 && p50.unwrap() > 0.0,
            "{key}: {report}"
        );
    }
    assert_eq!(report["validators"], 4);
    let details = &report["details"];
    assert_eq!(details["txs"], 300);
    assert_eq!(details["in_flight"], 600);
    assert_eq!(details["verified_deliveries"], 3, "{report}");
    assert_eq!(details["failed"], serde_json::json!({}), "{report}");
    assert_eq!(details["refused"], serde_json::json!({}), "{report}");
    assert_eq!(details["rss_mib_by_node"].as_object().unwrap().len(), 4);
    // The devnet it made stays, switched to automatic approvals, and its nodes are stopped.
    for org in ["supervisor", "member-a", "member-b", "member-c"] {
        let config =
            std::fs::read_to_string(dir.path().join("devnet").join(org).join("config.toml"))
                .unwrap();
        assert!(config.contains("approval = \"auto\""), "{org}: {config}");
    }
    assert!(run.stderr.contains("stopping 4 nodes"), "{}", run.stderr);
}

#[test]
fn bench_refuses_a_payload_smaller_than_a_record_and_a_directory_that_is_not_a_devnet() {
    let dir = tempfile::tempdir().unwrap();
    custodia(dir.path(), &["bench", "--payload-bytes", "10"])
        .fails_with(1)
        .says(&["--payload-bytes must be at least"]);
    custodia(dir.path(), &["bench", "--in-flight", "100"])
        .fails_with(2)
        .says(&["--in-flight"]);
    std::fs::create_dir(dir.path().join("other")).unwrap();
    std::fs::write(dir.path().join("other/notes.txt"), "keep me").unwrap();
    custodia(dir.path(), &["bench", "--dir", "other", "--txs", "100"])
        .fails_with(1)
        .says(&["is not a devnet"]);
    assert!(dir.path().join("other/notes.txt").exists());
}
