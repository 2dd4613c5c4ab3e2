//! The evidence of the workflow's delivery (DESIGN §5.7, §5.9): inclusion proofs checked in the
//! CLI, and the certificate of the commitment they are checked against.

use super::workflow::{Devnet, Expect as _};
use std::time::{Duration, Instant};

/// The delivery of `request` and its receipt are proven by `custodia audit proof`, checked in
/// the CLI; two organisations' nodes prove them against the same commitment; a proof of an
/// entry that does not exist is a clear error.
pub fn proofs_verify_and_agree(devnet: &Devnet, request: &str) {
    let trail = devnet
        .cli("member-c", &["audit", "--request", request, "--json"])
        .ok()
        .json();
    let delivered = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["kind"] == "request_delivered")
        .unwrap_or_else(|| panic!("no delivery in {trail}"));
    let seq = delivered["seq"].as_u64().unwrap().to_string();
    let tx = delivered["tx_id"].as_str().unwrap();
    let at = devnet.height("member-c").unwrap().to_string();
    devnet.sync("member-c", &["member-a"]);
    let text = devnet
        .cli("member-c", &["audit", "proof", &seq])
        .ok()
        .stdout;
    assert!(
        text.starts_with(&format!(
            "verified: audit entry {seq} (request_delivered at block"
        )),
        "{text}"
    );
    let commitment = |org: &str, args: &[&str]| {
        let answer = devnet.cli(org, args).ok().json();
        assert_eq!(answer["verified"], true, "{answer}");
        answer["proof"]["proof"]["state_commitment"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let of_event = commitment("member-c", &["audit", "proof", &seq, "--at", &at, "--json"]);
    let of_receipt = commitment(
        "member-a",
        &["audit", "proof", "--tx", tx, "--at", &at, "--json"],
    );
    assert_eq!(of_event, of_receipt, "two nodes' commitments at block {at}");
    certified(devnet, &at, &of_event);
    devnet
        .cli("member-c", &["audit", "proof", "999999999"])
        .fails_with(1)
        .says(&["event_not_found", "999999999"]);
}

/// `custodia audit certificate AT` checks, in the CLI, the validators' signatures over block
/// `at`'s commitment, which is `commitment`; `custodia status` says it is certified.
fn certified(devnet: &Devnet, at: &str, commitment: &str) {
    let height: u64 = at.parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = devnet.cli("member-a", &["status", "--json"]).ok().json();
        if status["certified_height"].as_u64().unwrap_or(0) >= height {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "block {at} is not certified: {status}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let answer = devnet
        .cli("member-a", &["audit", "certificate", at, "--json"])
        .ok()
        .json();
    assert_eq!(answer["verified"], true, "{answer}");
    assert_eq!(
        answer["certificate"]["state_commitment"], commitment,
        "{answer}"
    );
    let signers = answer["certificate"]["signers"].as_array().unwrap().len();
    assert!(signers >= 3, "{answer}");
    let text = devnet
        .cli("member-b", &["audit", "certificate", at])
        .ok()
        .stdout;
    assert!(
        text.starts_with(&format!(
            "verified: the state commitment of block {at} is certified by"
        )),
        "{text}"
    );
    devnet
        .cli("member-b", &["audit", "certificate", "999999999"])
        .fails_with(1)
        .says(&["certificate_not_found", "999999999"]);
}
