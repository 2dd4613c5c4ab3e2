//! The supervisor killed with SIGKILL between its approval and the last one: the request waits
//! approved and undelivered, and the supervisor restarted by hand delivers it once.

use super::{
    assert_fetched, audit_kinds, read_fetched, show_request, step,
    workflow::{Devnet, Expect as _},
};
use std::path::{Path, PathBuf};

/// Step 7 over `rec2` (its `policy_no` is `policy`), asked for `purpose`; returns the request
/// and the file its fetch wrote.
pub fn supervisor_killed_before_delivery(
    devnet: &mut Devnet,
    fetched_dir: &Path,
    rec2: &str,
    control: &str,
    policy: &str,
) -> (String, PathBuf) {
    step("7. the supervisor approves, is killed, the provider approves last");
    let late = devnet
        .cli(
            "member-b",
            &[
                "request",
                "create",
                "--record",
                rec2,
                "--field",
                "policy_no",
                "--purpose",
                control,
            ],
        )
        .ok()
        .only_id("req_");
    devnet.sync("member-b", &["supervisor", "member-a"]);
    devnet
        .cli("supervisor", &["request", "approve", &late])
        .ok();
    devnet.sync("supervisor", &["member-a", "member-b"]);
    devnet.kill_node("supervisor");
    devnet
        .cli("supervisor", &["status"])
        .fails("status of the killed supervisor");
    devnet.cli("member-a", &["request", "approve", &late]).ok();
    devnet.sync("member-a", &["member-b"]);
    let detail = show_request(devnet, "member-b", &late);
    assert_eq!(
        detail["status"], "approved",
        "with the supervisor down the request should be approved, undelivered: {detail}"
    );
    assert!(detail["delivery"].is_null(), "{detail}");

    step("7. the supervisor restarted by hand delivers, once");
    devnet.restart_node("supervisor");
    let late_out = fetched_dir.join("after-restart.json");
    devnet
        .cli(
            "member-b",
            &[
                "request",
                "fetch",
                &late,
                "--out",
                late_out.to_str().unwrap(),
                "--timeout",
                "120",
            ],
        )
        .ok();
    assert_fetched(
        &read_fetched(&late_out),
        &late,
        rec2,
        "member-a",
        &[("policy_no", policy)],
    );
    devnet.sync("member-b", &["supervisor"]);
    for org in ["member-b", "supervisor"] {
        let kinds = audit_kinds(devnet, org, &late);
        let delivered = kinds.iter().filter(|k| *k == "request_delivered").count();
        assert_eq!(
            delivered, 1,
            "audit --request {late} on {org}: expected exactly one request_delivered: {kinds:?}"
        );
    }
    (late, late_out)
}
