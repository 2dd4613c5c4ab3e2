//! The workflow's refusals: a delivery only its requester fetches, a rejected request that
//! delivers nothing, and no request of one's own record.

use super::{
    show_request, step,
    workflow::{Devnet, Expect as _},
};
use std::path::Path;

/// Steps 2, 4 and 6 around member-b's delivered request `req` of `rec`; returns the id of the
/// request the provider rejected.
pub fn refused_as_designed(devnet: &Devnet, fetched_dir: &Path, rec: &str, req: &str) -> String {
    step("2. neither a third member nor the provider can fetch member-b's delivery");
    for who in ["member-c", "member-a"] {
        let stolen = fetched_dir.join(format!("stolen-by-{who}.json"));
        devnet
            .cli(
                who,
                &["request", "fetch", req, "--out", stolen.to_str().unwrap()],
            )
            .fails(&format!("{who} fetching member-b's delivery"))
            .says(&["member-b", "requester"]);
        assert!(!stolen.exists(), "{who}'s refused fetch wrote a file");
    }

    step("4. a request the provider rejects delivers nothing; fetch says rejected");
    let refused = devnet
        .cli(
            "member-c",
            &[
                "request",
                "create",
                "--record",
                rec,
                "--field",
                "insured_name",
                "--purpose",
                "marketing study",
            ],
        )
        .ok()
        .only_id("req_");
    devnet.sync("member-c", &["member-a"]);
    devnet
        .cli(
            "member-a",
            &[
                "request",
                "reject",
                &refused,
                "--reason",
                "not a purpose our policyholders agreed to",
            ],
        )
        .ok();
    devnet.sync("member-a", &["member-c", "supervisor"]);
    let refused_out = fetched_dir.join("refused.json");
    devnet
        .cli(
            "member-c",
            &[
                "request",
                "fetch",
                &refused,
                "--out",
                refused_out.to_str().unwrap(),
            ],
        )
        .fails("fetching a rejected request")
        .says(&["rejected"]);
    assert!(
        !refused_out.exists(),
        "a rejected fetch wrote its --out file"
    );
    let detail = show_request(devnet, "member-c", &refused);
    assert_eq!(detail["status"], "rejected", "{detail}");
    assert!(
        detail["delivery"].is_null(),
        "a rejected request was delivered: {detail}"
    );

    step("6. a member cannot request its own record");
    devnet
        .cli(
            "member-a",
            &[
                "request",
                "create",
                "--record",
                rec,
                "--purpose",
                "curiosity",
            ],
        )
        .fails("member-a requesting its own record")
        .says(&["own_record"]);
    refused
}
