//! The authorization matrix of DESIGN §4.5: every body against every wrong signer and every wrong
//! state. Each bad tx must give its exact receipt code, say what went wrong, and leave the world
//! state as if it were absent.

mod common;

use common::*;
use custodia_protocol::{
    Body, OrgId, OrgKeys, Params, RecordId, RequestId, params::MAX_PURPOSE_CHARS,
};
use custodia_state::{EventKind, RequestStatus};
use serde_json::json;

/// One row of the matrix: `signer` sends `body` and must get `code`.
struct Case {
    name: &'static str,
    signer: OrgKeys,
    body: Body,
    code: &'static str,
}

/// A table of cases, one a line: `"name": signer => body, "code";`.
macro_rules! cases {
    ($($name:literal: $signer:expr => $body:expr, $code:literal;)*) => {
        vec![$(Case { name: $name, signer: $signer.clone(), body: $body, code: $code }),*]
    };
}

/// Ttl of the fixture's requests: long enough that none expires while the cases run.
const LONG_TTL: u64 = 10_000;

/// Applies `tx` alone in a block and checks it fails with `code`, says why, emits nothing and
/// leaves the world digest unchanged; the mempool's precheck must agree. Returns the mismatch.
fn rejects(
    c: &mut Consortium,
    name: &str,
    tx: custodia_protocol::Tx,
    code: &str,
) -> Option<String> {
    let before = c.world();
    let body = tx.body.name();
    let precheck = c.state.check(&tx, c.state.height() + 1).expect("check");
    let applied = c.apply(vec![tx.clone()]);
    let receipt = &applied.receipts[0];
    let after = c.world();
    let mut wrong = Vec::new();
    if receipt.code != code {
        wrong.push(format!(
            "code {:?} ({:?}), expected {code:?}",
            receipt.code, receipt.message
        ));
    }
    if receipt.message.trim().is_empty() {
        wrong.push("empty message".to_string());
    }
    if receipt.body != body || receipt.signer != tx.signer || receipt.tx_id != tx.id() {
        wrong.push(format!("receipt does not describe the tx: {receipt:?}"));
    }
    match precheck {
        Err(rejection) if rejection.code.as_str() == code => {}
        other => wrong.push(format!("State::check gave {other:?}")),
    }
    if !applied.events.is_empty() {
        wrong.push(format!("events {:?}", applied.events));
    }
    if before != after {
        wrong.push("the world state changed".to_string());
    }
    (!wrong.is_empty()).then(|| format!("{name}: {}", wrong.join("; ")))
}

/// Runs every case against `c` (failed txs change nothing, so the cases do not disturb each
/// other) and reports every mismatch at once.
fn run(c: &mut Consortium, cases: Vec<Case>) {
    let count = cases.len();
    let mut failures = Vec::new();
    for case in cases {
        let tx = c.sign(&case.signer, case.body);
        failures.extend(rejects(c, case.name, tx, case.code));
    }
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn decide(request_id: RequestId, approve: bool, reason: &str) -> Body {
    Body::Decide {
        request_id,
        approve,
        reason: reason.into(),
    }
}

fn attest(record_id: RecordId, accepted: bool, reason: &str) -> Body {
    Body::AttestRecord {
        record_id,
        accepted,
        reason: reason.into(),
    }
}

/// A `Deliver` sealed to member C (the requester of most requests here; the rules that refuse
/// a delivery come before the check of its recipient's key).
fn deliver(request_id: RequestId) -> Body {
    deliver_to(request_id, MEMBER_C)
}

/// A `Deliver` sealed to the genesis organisation `requester`.
fn deliver_to(request_id: RequestId, requester: usize) -> Body {
    Body::Deliver {
        request_id,
        sealed: sealed_to(requester, 64).into(),
    }
}

fn cancel(request_id: RequestId) -> Body {
    Body::Cancel { request_id }
}

/// The organisation of genesis index `org` (an index past the genesis is an unknown id).
fn set_status(org: usize, active: bool) -> Body {
    set_status_body(org, active)
}

const NO_ORG: usize = 99;

/// A consortium with records and requests in every status, and member C suspended.
struct World {
    c: Consortium,
    /// Accepted records of A (fields x, y), B (x, y) and C (x).
    rec_a: RecordId,
    rec_b: RecordId,
    rec_c: RecordId,
    /// A's record, submitted and not attested.
    submitted: RecordId,
    /// A's record, rejected by the supervisor.
    rejected_record: RecordId,
    /// B asks for `rec_a`; nobody decided.
    pending: RequestId,
    /// C asks for `rec_a`; A approved, the supervisor has not decided.
    half_approved: RequestId,
    /// B asks for `rec_c`: C is an approver.
    to_c: RequestId,
    /// C asks for `rec_b`; approved, not delivered (and C is now suspended).
    approved: RequestId,
    /// A asks for `rec_b`; delivered.
    delivered: RequestId,
    /// B asks for `rec_a`; A rejected it.
    rejected: RequestId,
    /// A asks for `rec_b`; A cancelled it.
    cancelled: RequestId,
    /// A asks for `rec_c` with ttl 1; expired.
    expired: RequestId,
}

fn request(c: &mut Consortium, requester: usize, records: &[RecordId], ttl: u64) -> RequestId {
    let id = RequestId::random();
    c.ok(c.sign_as(
        requester,
        request_share(id, records, &[], "fraud check", ttl),
    ));
    id
}

fn world() -> World {
    let mut c = Consortium::new();
    let rec_a = c.accepted_record(MEMBER_A, &[("x", json!(1)), ("y", json!(2))]);
    let rec_b = c.accepted_record(MEMBER_B, &[("x", json!(3)), ("y", json!(4))]);
    let rec_c = c.accepted_record(MEMBER_C, &[("x", json!(5))]);
    let (submitted, tx) = c.submit_tx(MEMBER_A, "claim", &[("x", json!(6))]);
    c.ok(tx);
    let (rejected_record, tx) = c.submit_tx(MEMBER_A, "claim", &[("x", json!(7))]);
    c.ok(tx);
    c.ok(c.sign_as(
        SUPERVISOR,
        attest(rejected_record, false, "commitment does not match"),
    ));

    let pending = request(&mut c, MEMBER_B, &[rec_a], LONG_TTL);
    let half_approved = request(&mut c, MEMBER_C, &[rec_a], LONG_TTL);
    c.ok(c.decide(MEMBER_A, half_approved, true));
    let to_c = request(&mut c, MEMBER_B, &[rec_c], LONG_TTL);
    let approved = request(&mut c, MEMBER_C, &[rec_b], LONG_TTL);
    c.ok(c.decide(MEMBER_B, approved, true));
    c.ok(c.decide(SUPERVISOR, approved, true));
    let delivered = request(&mut c, MEMBER_A, &[rec_b], LONG_TTL);
    c.apply(vec![
        c.decide(MEMBER_B, delivered, true),
        c.decide(SUPERVISOR, delivered, true),
    ]);
    c.ok(c.sign_as(SUPERVISOR, deliver_to(delivered, MEMBER_A)));
    let rejected = request(&mut c, MEMBER_B, &[rec_a], LONG_TTL);
    c.ok(c.decide(MEMBER_A, rejected, false));
    let cancelled = request(&mut c, MEMBER_A, &[rec_b], LONG_TTL);
    c.ok(c.sign_as(MEMBER_A, cancel(cancelled)));
    let expired = request(&mut c, MEMBER_A, &[rec_c], 1);
    c.apply(vec![]);
    c.ok(c.set_status(MEMBER_C, false));

    let status =
        |c: &Consortium, id: &RequestId| c.state.queries().request(id).unwrap().unwrap().status;
    for (id, want) in [
        (pending, RequestStatus::Pending),
        (half_approved, RequestStatus::Pending),
        (to_c, RequestStatus::Pending),
        (approved, RequestStatus::Approved),
        (delivered, RequestStatus::Delivered),
        (rejected, RequestStatus::Rejected),
        (cancelled, RequestStatus::Cancelled),
        (expired, RequestStatus::Expired),
    ] {
        assert_eq!(status(&c, &id), want, "fixture request {id}");
    }
    World {
        c,
        rec_a,
        rec_b,
        rec_c,
        submitted,
        rejected_record,
        pending,
        half_approved,
        to_c,
        approved,
        delivered,
        rejected,
        cancelled,
        expired,
    }
}

#[test]
fn wrong_signers_are_refused_with_their_code_and_change_nothing() {
    let mut w = world();
    let k = |i: usize| w.c.keys[i].clone();
    let (sup, a, b, c) = (k(SUPERVISOR), k(MEMBER_A), k(MEMBER_B), k(MEMBER_C));
    let out = outsider();
    let fresh_record = || raw_submit(RecordId::random(), &["x"], 32);
    let fresh_request =
        |records: &[RecordId]| request_share(RequestId::random(), records, &[], "fraud check", 10);

    let cases = cases! {
        // Not in genesis: every body.
        "outsider submits": out => fresh_record(), "unknown_signer";
        "outsider attests": out => attest(w.submitted, true, "ok"), "unknown_signer";
        "outsider requests": out => fresh_request(&[w.rec_a]), "unknown_signer";
        "outsider decides": out => decide(w.pending, true, ""), "unknown_signer";
        "outsider delivers": out => deliver(w.approved), "unknown_signer";
        "outsider cancels": out => cancel(w.pending), "unknown_signer";
        "outsider suspends": out => set_status(MEMBER_B, false), "unknown_signer";
        // Wrong role.
        "supervisor submits": sup => fresh_record(), "not_member";
        "supervisor requests": sup => fresh_request(&[w.rec_a]), "not_member";
        "member attests": a => attest(w.submitted, true, "ok"), "not_supervisor";
        "provider attests its own record": a => attest(w.submitted, true, "ok"), "not_supervisor";
        "member rejects a record": b => attest(w.submitted, false, "bad"), "not_supervisor";
        "member delivers": a => deliver(w.approved), "not_supervisor";
        "requester delivers to itself": c => deliver(w.approved), "not_supervisor";
        "member suspends": a => set_status(MEMBER_B, false), "not_supervisor";
        "member reinstates": b => set_status(MEMBER_C, true), "not_supervisor";
        "member suspends the supervisor": a => set_status(SUPERVISOR, false), "not_supervisor";
        // Suspended member.
        "suspended member submits": c => fresh_record(), "signer_suspended";
        "suspended member requests": c => fresh_request(&[w.rec_a]), "signer_suspended";
        "suspended provider approves": c => decide(w.to_c, true, ""), "signer_suspended";
        "suspended provider rejects": c => decide(w.to_c, false, "no"), "signer_suspended";
        // Approvers.
        "provider approves twice": a => decide(w.half_approved, true, ""), "already_decided";
        "provider rejects after approving": a => decide(w.half_approved, false, "no"), "already_decided";
        "requester approves its own request": b => decide(w.pending, true, ""), "not_approver";
        "requester rejects its own request": b => decide(w.pending, false, "no"), "not_approver";
        "member not party decides": b => decide(w.half_approved, true, ""), "not_approver";
        "member not party rejects": b => decide(w.half_approved, false, "no"), "not_approver";
        // Requester.
        "provider cancels another's request": a => cancel(w.pending), "not_requester";
        "supervisor cancels a request": sup => cancel(w.pending), "not_requester";
        "member cancels an approved request": b => cancel(w.approved), "not_requester";
    };
    run(&mut w.c, cases);
}

#[test]
fn wrong_states_are_refused_with_their_code_and_change_nothing() {
    let mut w = world();
    let k = |i: usize| w.c.keys[i].clone();
    let (sup, a, b) = (k(SUPERVISOR), k(MEMBER_A), k(MEMBER_B));
    let max_ttl = w.c.genesis.params.max_request_ttl;
    let ask = |records: &[RecordId], fields: &[&str]| {
        request_share(RequestId::random(), records, fields, "fraud check", 10)
    };
    let ask_with =
        |purpose: &str, ttl: u64| request_share(RequestId::random(), &[w.rec_a], &[], purpose, ttl);
    // Counts and lengths over the codec's limits (too many fields or records, a field name or
    // a purpose too long) never reach the rules: `Body::check_limits` refuses them before a
    // block is voted for (tests/codec_props.rs).
    let mut bad_kind = raw_submit(RecordId::random(), &["x"], 32);
    if let Body::SubmitRecord { kind, .. } = &mut bad_kind {
        *kind = "not a kind".into();
    }
    let mut empty_tag = raw_submit(RecordId::random(), &["x"], 32);
    if let Body::SubmitRecord { tags, .. } = &mut empty_tag {
        *tags = vec![String::new()];
    }
    let unknown_record = RecordId::random();
    let unknown_request = RequestId::random();

    let cases = cases! {
        // Unknown ids.
        "attest an unknown record": sup => attest(unknown_record, true, "ok"), "record_not_found";
        "request an unknown record": b => ask(&[unknown_record], &[]), "record_not_found";
        "request a known and an unknown record": b => ask(&[w.rec_a, unknown_record], &[]), "record_not_found";
        "decide an unknown request": sup => decide(unknown_request, true, ""), "request_not_found";
        "deliver an unknown request": sup => deliver(unknown_request), "request_not_found";
        "cancel an unknown request": b => cancel(unknown_request), "request_not_found";
        "suspend an unknown org": sup => set_status(NO_ORG, false), "org_not_found";
        "suspend the supervisor": sup => set_status(SUPERVISOR, false), "cannot_suspend_supervisor";
        "reinstate the supervisor": sup => set_status(SUPERVISOR, true), "cannot_suspend_supervisor";
        "suspend without a reason": sup => Body::SetOrgStatus { org: custodia_protocol::OrgId(MEMBER_B as u32), active: false, reason: " ".into() }, "reason_required";
        "suspend a suspended member": sup => set_status(MEMBER_C, false), "org_status_unchanged";
        "reinstate an active member": sup => set_status(MEMBER_B, true), "org_status_unchanged";
        // Taken ids.
        "provider reuses its record id": a => raw_submit(w.rec_a, &["x"], 32), "record_exists";
        "member takes another's record id": b => raw_submit(w.rec_a, &["x"], 32), "record_exists";
        "record id of a rejected record": a => raw_submit(w.rejected_record, &["x"], 32), "record_exists";
        "request id in use": b => request_share(w.pending, &[w.rec_a], &[], "fraud check", 10), "request_exists";
        "another member's request id": a => request_share(w.pending, &[w.rec_b], &[], "fraud check", 10), "request_exists";
        // Records.
        "attest an accepted record": sup => attest(w.rec_a, true, "again"), "record_not_submitted";
        "reject an accepted record": sup => attest(w.rec_a, false, "changed my mind"), "record_not_submitted";
        "attest a rejected record": sup => attest(w.rejected_record, true, "ok"), "record_not_submitted";
        "reject a record without reason": sup => attest(w.submitted, false, ""), "reason_required";
        "reject a record with a blank reason": sup => attest(w.submitted, false, "  \n"), "reason_required";
        "no fields": a => raw_submit(RecordId::random(), &[], 32), "invalid_record";
        "empty field name": a => raw_submit(RecordId::random(), &[""], 32), "invalid_record";
        "field name with a space": a => raw_submit(RecordId::random(), &["first name"], 32), "invalid_record";
        "duplicate field names": a => raw_submit(RecordId::random(), &["x", "y", "x"], 32), "invalid_record";
        "invalid kind": a => bad_kind, "invalid_record";
        "empty tag": a => empty_tag, "invalid_record";
        // Requests.
        "request a submitted record": b => ask(&[w.submitted], &[]), "record_not_accepted";
        "request a rejected record": b => ask(&[w.rejected_record], &[]), "record_not_accepted";
        "request an accepted and a submitted record": b => ask(&[w.rec_a, w.submitted], &[]), "record_not_accepted";
        "request its own record": a => ask(&[w.rec_a], &[]), "own_record";
        "request its own among others": a => ask(&[w.rec_b, w.rec_a], &[]), "own_record";
        "unknown field": b => ask(&[w.rec_a], &["zzz"]), "unknown_field";
        "known and unknown field": b => ask(&[w.rec_a, w.rec_c], &["x", "zzz"]), "unknown_field";
        "no records": b => ask(&[], &[]), "invalid_request";
        "duplicate records": b => ask(&[w.rec_a, w.rec_c, w.rec_a], &[]), "invalid_request";
        "empty purpose": b => ask_with("", 10), "invalid_request";
        "blank purpose": b => ask_with(" \t", 10), "invalid_request";
        "ttl 0": b => ask_with("fraud check", 0), "invalid_request";
        "ttl over the maximum": b => ask_with("fraud check", max_ttl + 1), "invalid_request";
        "ttl u64::MAX": b => ask_with("fraud check", u64::MAX), "invalid_request";
        "invalid field name asked": b => ask(&[w.rec_a], &["no such!"]), "invalid_request";
        "field asked twice": b => ask(&[w.rec_a], &["x", "x"]), "invalid_request";
        // Decisions.
        "reject a request without reason": a => decide(w.pending, false, ""), "reason_required";
        "supervisor rejects without reason": sup => decide(w.pending, false, " "), "reason_required";
        "decide an expired request": sup => decide(w.expired, true, ""), "request_not_pending";
        "decide a rejected request": sup => decide(w.rejected, true, ""), "request_not_pending";
        "reject a rejected request": sup => decide(w.rejected, false, "no"), "request_not_pending";
        "decide a cancelled request": b => decide(w.cancelled, true, ""), "request_not_pending";
        "supervisor decides a cancelled request": sup => decide(w.cancelled, false, "no"), "request_not_pending";
        "decide an approved request": a => decide(w.approved, true, ""), "not_approver";
        "supervisor decides an approved request again": sup => decide(w.approved, true, ""), "already_decided";
        // Deliveries.
        "deliver a pending request": sup => deliver(w.pending), "request_not_approved";
        "deliver a half-approved request": sup => deliver(w.half_approved), "request_not_approved";
        "deliver twice": sup => deliver(w.delivered), "request_not_approved";
        "deliver a rejected request": sup => deliver(w.rejected), "request_not_approved";
        "deliver a cancelled request": sup => deliver(w.cancelled), "request_not_approved";
        "deliver an expired request": sup => deliver(w.expired), "request_not_approved";
        "deliver to a suspended requester": sup => deliver(w.approved), "requester_suspended";
        // Cancels.
        "cancel a delivered request": a => cancel(w.delivered), "request_closed";
        "cancel a rejected request": b => cancel(w.rejected), "request_closed";
        "cancel a cancelled request": a => cancel(w.cancelled), "request_closed";
        "cancel an expired request": a => cancel(w.expired), "request_closed";
    };
    run(&mut w.c, cases);
    // The fixture's live requests are where they were.
    let q = w.c.state.queries();
    assert_eq!(
        q.request(&w.pending).unwrap().unwrap().status,
        RequestStatus::Pending
    );
    assert_eq!(
        q.request(&w.approved).unwrap().unwrap().status,
        RequestStatus::Approved
    );
    assert_eq!(
        q.record(&w.submitted).unwrap().unwrap().status,
        custodia_state::RecordStatus::Submitted
    );
}

#[test]
fn requests_over_max_delivery_bytes_are_refused_and_the_limit_itself_is_allowed() {
    let params = Params {
        max_delivery_bytes: 1_000,
        ..Params::default()
    };
    let mut c = Consortium::with_params(params);
    let accepted = |c: &mut Consortium, provider: usize, bytes: usize| {
        let id = RecordId::random();
        c.ok(c.sign_as(provider, raw_submit(id, &["x", "y"], bytes)));
        c.ok(c.sign_as(SUPERVISOR, attest(id, true, "ok")));
        id
    };
    let small_a = accepted(&mut c, MEMBER_A, 600);
    let small_c = accepted(&mut c, MEMBER_C, 400);
    let extra = accepted(&mut c, MEMBER_C, 1);
    let big = accepted(&mut c, MEMBER_A, 1_001);
    let b = c.keys[MEMBER_B].clone();
    let ask = |records: &[RecordId], fields: &[&str]| {
        request_share(RequestId::random(), records, fields, "fraud check", 10)
    };
    let cases = cases! {
        "one record over the limit": b => ask(&[big], &[]), "delivery_too_large";
        "records summing one byte over the limit": b => ask(&[small_a, small_c, extra], &[]), "delivery_too_large";
        // The limit is on the sealed records, whatever the fields asked.
        "one field of records over the limit": b => ask(&[small_a, small_c, extra], &["x"]), "delivery_too_large";
    };
    run(&mut c, cases);
    // Exactly the limit is allowed.
    let (request_id, body) = Consortium::request_body(&[small_a, small_c], &[]);
    c.ok(c.sign_as(MEMBER_B, body));
    assert_eq!(
        c.state
            .queries()
            .request(&request_id)
            .unwrap()
            .unwrap()
            .status,
        RequestStatus::Pending
    );
}

#[test]
fn the_longest_ttl_and_purpose_are_allowed() {
    let mut c = Consortium::new();
    let record = c.accepted_record(MEMBER_A, &[("x", json!(1))]);
    let max_ttl = c.genesis.params.max_request_ttl;
    let id = RequestId::random();
    let purpose = "p".repeat(MAX_PURPOSE_CHARS);
    c.ok(c.sign_as(
        MEMBER_B,
        request_share(id, &[record], &["x"], &purpose, max_ttl),
    ));
    let row = c.state.queries().request(&id).unwrap().unwrap();
    assert_eq!(row.expires_height, row.created_height + max_ttl);
}

#[test]
fn a_suspended_member_is_reinstated_and_acts_again() {
    let mut c = Consortium::new();
    let rec_a = c.accepted_record(MEMBER_A, &[("x", json!(1))]);
    let rec_b = c.accepted_record(MEMBER_B, &[("x", json!(2))]);
    // B asks for A's record (approved, waiting for delivery); C asks for B's (B must decide).
    let (to_b, body) = Consortium::request_body(&[rec_a], &[]);
    c.ok(c.sign_as(MEMBER_B, body));
    c.apply(vec![
        c.decide(MEMBER_A, to_b, true),
        c.decide(SUPERVISOR, to_b, true),
    ]);
    let (for_b, body) = Consortium::request_body(&[rec_b], &[]);
    c.ok(c.sign_as(MEMBER_C, body));

    let applied = c.apply(vec![c.set_status(MEMBER_B, false)]);
    assert!(applied.receipts[0].is_ok(), "{:?}", applied.receipts[0]);
    assert_eq!(applied.events[0].kind, EventKind::OrgSuspended);
    assert_eq!(applied.events[0].subject, Some(OrgId(MEMBER_B as u32)));
    let orgs = c.state.queries().orgs().unwrap();
    assert!(!orgs[MEMBER_B].active && orgs[MEMBER_A].active);

    let b = c.keys[MEMBER_B].clone();
    let sup = c.keys[SUPERVISOR].clone();
    let cases = cases! {
        "suspended member submits": b => raw_submit(RecordId::random(), &["x"], 8), "signer_suspended";
        "suspended member requests": b => request_share(RequestId::random(), &[rec_a], &[], "audit", 10), "signer_suspended";
        "suspended provider decides": b => decide(for_b, true, ""), "signer_suspended";
        "suspended requester receives": sup => deliver(to_b), "requester_suspended";
    };
    run(&mut c, cases);

    let applied = c.apply(vec![c.set_status(MEMBER_B, true)]);
    assert!(applied.receipts[0].is_ok(), "{:?}", applied.receipts[0]);
    assert_eq!(applied.events[0].kind, EventKind::OrgReinstated);
    assert!(c.state.queries().orgs().unwrap()[MEMBER_B].active);

    c.ok(c.sign_as(MEMBER_B, raw_submit(RecordId::random(), &["x"], 8)));
    c.ok(c.sign_as(
        MEMBER_B,
        request_share(RequestId::random(), &[rec_a], &[], "fraud check", 10),
    ));
    c.ok(c.decide(MEMBER_B, for_b, true));
    c.ok(c.sign_as(SUPERVISOR, deliver_to(to_b, MEMBER_B)));
    assert_eq!(
        c.state.queries().request(&to_b).unwrap().unwrap().status,
        RequestStatus::Delivered
    );
}

#[test]
fn a_failed_tx_between_good_ones_leaves_the_world_as_if_absent() {
    // Two consortia on the same genesis: one sees the bad txs, the other does not.
    let mut with_bad = Consortium::new();
    let mut without = Consortium::new();
    let record = RecordId::random();
    let request_id = RequestId::random();
    let good = vec![
        with_bad.sign_as(MEMBER_A, raw_submit(record, &["x", "y"], 16)),
        with_bad.sign_as(SUPERVISOR, attest(record, true, "ok")),
        with_bad.sign_as(
            MEMBER_B,
            request_share(request_id, &[record], &["x"], "audit", 10),
        ),
        with_bad.decide(MEMBER_A, request_id, true),
    ];
    let bad = [
        with_bad.sign_as(MEMBER_B, raw_submit(record, &["x"], 16)),
        with_bad.sign_as(MEMBER_A, attest(record, false, "no")),
        with_bad.sign_as(
            MEMBER_A,
            request_share(request_id, &[record], &[], "audit", 10),
        ),
        with_bad.sign_as(MEMBER_A, cancel(request_id)),
        with_bad.sign_as(SUPERVISOR, deliver_to(request_id, MEMBER_B)),
    ];
    let mut interleaved = Vec::new();
    for (i, tx) in good.iter().enumerate() {
        interleaved.push(tx.clone());
        interleaved.extend(bad.get(i).cloned());
    }
    interleaved.extend(bad[good.len()..].iter().cloned());

    let applied = with_bad.apply(interleaved);
    let oks = applied.receipts.iter().filter(|r| r.is_ok()).count();
    assert_eq!(oks, good.len(), "{:?}", applied.receipts);
    let clean = without.apply(good);
    assert!(
        clean.receipts.iter().all(|r| r.is_ok()),
        "{:?}",
        clean.receipts
    );
    assert_eq!(with_bad.world(), without.world());
    let kinds =
        |events: &[custodia_state::Event]| events.iter().map(|e| e.kind).collect::<Vec<_>>();
    assert_eq!(kinds(&applied.events), kinds(&clean.events));
}
