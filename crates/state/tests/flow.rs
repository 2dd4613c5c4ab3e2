//! The whole sharing flow of DESIGN §1, through blocks applied by `apply` as the node does it.

mod common;

use common::*;
use custodia_protocol::{
    Body,
    delivery::{build_bundle, open_delivery, seal_bundle},
};
use custodia_state::{AuditFilter, EventKind, RecordStatus, RequestStatus};
use serde_json::json;

#[test]
fn provider_submits_supervisor_attests_requester_asks_both_approve_requester_opens() {
    let mut c = Consortium::new();

    // 1 submit: member A seals a claim of 5 fields to the supervisor.
    let fields = [
        ("claim_no", json!("CL-2026-0042")),
        ("insured", json!("Jane Doe")),
        ("amount_eur", json!(18250.5)),
        (
            "vehicle",
            json!({"plate": "AB-123-CD", "vin": "VF1RFB00X12345678"}),
        ),
        ("diagnosis", json!(["whiplash", "bruising"])),
    ];
    let (record_id, submit) = c.submit_tx(MEMBER_A, "claim", &fields);
    let applied = c.apply(vec![submit]);
    assert!(applied.receipts[0].is_ok(), "{:?}", applied.receipts[0]);
    assert_eq!(applied.events[0].kind, EventKind::RecordSubmitted);
    let row = c.state.queries().record(&record_id).unwrap().unwrap();
    assert_eq!(row.status, RecordStatus::Submitted);
    assert_eq!(row.fields.len(), 5);

    // 2 seal: the supervisor opens it, checks the commitment and accepts it.
    let opened = c
        .supervisor_checks(&record_id)
        .expect("record matches its commitment");
    assert_eq!(opened.len(), 5);
    c.ok(c.sign_as(
        SUPERVISOR,
        Body::AttestRecord {
            record_id,
            accepted: true,
            reason: "commitment verified".into(),
        },
    ));
    assert_eq!(
        c.state
            .queries()
            .record(&record_id)
            .unwrap()
            .unwrap()
            .status,
        RecordStatus::Accepted
    );

    // 3 request: member B asks for 2 of the 5 fields.
    let (request_id, body) = Consortium::request_body(&[record_id], &["amount_eur", "claim_no"]);
    c.ok(c.sign_as(MEMBER_B, body));
    let request = c.state.queries().request(&request_id).unwrap().unwrap();
    assert_eq!(request.status, RequestStatus::Pending);
    assert_eq!(c.state.queries().decisions(&request_id).unwrap().len(), 2);

    // 4 approve: provider and supervisor, in one block.
    let applied = c.apply(vec![
        c.decide(MEMBER_A, request_id, true),
        c.decide(SUPERVISOR, request_id, true),
    ]);
    assert!(
        applied.receipts.iter().all(|r| r.is_ok()),
        "{:?}",
        applied.receipts
    );
    assert!(
        applied
            .events
            .iter()
            .any(|e| e.kind == EventKind::RequestApproved)
    );
    assert_eq!(
        c.state
            .queries()
            .request(&request_id)
            .unwrap()
            .unwrap()
            .status,
        RequestStatus::Approved
    );

    // 5 deliver: the supervisor opens the record, keeps the 2 fields, seals to the requester.
    let header = c.header(&record_id);
    let opened = c.supervisor_checks(&record_id).unwrap();
    let bundle = build_bundle(request_id, &request.fields, &[(header.clone(), opened)]).unwrap();
    let requester = c.keys[MEMBER_B].clone();
    let sealed = seal_bundle(
        &c.chain,
        &requester.identity_key(),
        &requester.encryption_key(),
        &bundle,
    )
    .unwrap();
    c.ok(c.sign_as(
        SUPERVISOR,
        Body::Deliver {
            request_id,
            sealed: sealed.into(),
        },
    ));
    assert_eq!(
        c.state
            .queries()
            .request(&request_id)
            .unwrap()
            .unwrap()
            .status,
        RequestStatus::Delivered
    );

    // 6 open: the requester opens the delivery from the chain and verifies it.
    let delivery = c.state.queries().delivery(&request_id).unwrap().unwrap();
    let verified = open_delivery(
        &c.chain,
        &request_id,
        &requester.identity_key(),
        &requester.encryption,
        &delivery.sealed,
        &request.fields,
        &[header],
    )
    .expect("delivery verifies against the provider's commitment");
    assert_eq!(verified.len(), 1);
    let got = &verified[0].fields;
    assert_eq!(got.len(), 2);
    assert_eq!(got["claim_no"], json!("CL-2026-0042"));
    assert_eq!(got["amount_eur"], json!(18250.5));

    // 7 audit: the trail tells who did what, in order.
    let trail = c
        .state
        .queries()
        .audit(&AuditFilter {
            record: Some(record_id),
            ..Default::default()
        })
        .unwrap();
    let kinds: Vec<&str> = trail.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "record_submitted",
            "record_accepted",
            "request_created",
            "decision_approved",
            "decision_approved",
            "request_approved",
            "request_delivered"
        ]
    );
    assert_eq!(trail[0].actor.as_deref(), Some("member-a"));
    assert_eq!(trail[2].actor.as_deref(), Some("member-b"));
    assert_eq!(trail[6].actor.as_deref(), Some("supervisor"));
    assert_eq!(trail[6].subject.as_deref(), Some("member-b"));

    // Rows name organisations by stable id (DESIGN §5.6), and DESIGN's example query answers.
    let db = rusqlite::Connection::open_with_flags(
        c.db_path(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    for (table, column) in [
        ("records", "provider"),
        ("requests", "requester"),
        ("approvals", "org"),
        ("events", "actor"),
        ("events", "subject"),
    ] {
        let kinds: Vec<String> = db
            .prepare(&format!(
                "SELECT DISTINCT typeof({column}) FROM {table} WHERE {column} IS NOT NULL"
            ))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(kinds, ["integer"], "{table}.{column}");
    }
    let delivered: Vec<(String, String)> = db
        .prepare(
            "SELECT o.name AS requester, hex(e.request_id)
             FROM events e JOIN blocks b USING (height) JOIN orgs o ON o.position = e.subject
             WHERE e.kind = 'request_delivered'",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].0, "member-b");
    drop(db);

    // Nothing in the database holds the plaintext.
    drop(c.state);
    let bytes = std::fs::read(c.dir.path().join("state.sqlite")).unwrap();
    let wal = std::fs::read(c.dir.path().join("state.sqlite-wal")).unwrap_or_default();
    for needle in ["CL-2026-0042", "Jane Doe", "AB-123-CD", "whiplash"] {
        assert!(
            !contains(&bytes, needle.as_bytes()) && !contains(&wal, needle.as_bytes()),
            "{needle} on disk"
        );
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_rejection_ends_the_request_and_pending_requests_expire() {
    let mut c = Consortium::new();
    let record = c.accepted_record(MEMBER_A, &[("x", json!(1)), ("y", json!(2))]);

    let (rejected, body) = Consortium::request_body(&[record], &["x"]);
    c.ok(c.sign_as(MEMBER_B, body));
    let applied = c.apply(vec![c.decide(MEMBER_A, rejected, false)]);
    assert!(applied.receipts[0].is_ok());
    let row = c.state.queries().request(&rejected).unwrap().unwrap();
    assert_eq!(row.status, RequestStatus::Rejected);
    assert_eq!(row.reason.as_deref(), Some("no"));

    let request_id = custodia_protocol::RequestId::random();
    c.ok(c.sign_as(
        MEMBER_C,
        Body::RequestShare {
            request_id,
            record_ids: vec![record],
            fields: vec![],
            purpose: "audit".into(),
            ttl: 2,
        },
    ));
    c.apply(vec![]);
    assert_eq!(
        c.state
            .queries()
            .request(&request_id)
            .unwrap()
            .unwrap()
            .status,
        RequestStatus::Pending
    );
    let applied = c.apply(vec![]);
    assert_eq!(applied.events.len(), 1);
    assert_eq!(applied.events[0].kind, EventKind::RequestExpired);
    assert_eq!(
        c.state
            .queries()
            .request(&request_id)
            .unwrap()
            .unwrap()
            .status,
        RequestStatus::Expired
    );
}

#[test]
fn the_chain_starts_on_the_genesis_block_and_its_redelivery_is_a_no_op() {
    let mut c = Consortium::new();
    let genesis_block = custodia_protocol::Block::genesis(c.chain);
    assert_eq!(c.state.last_block_digest(), genesis_block.digest());
    assert_eq!(c.state.state_commitment(), c.chain);
    // Consensus delivers the height-0 block too: nothing happens.
    assert_eq!(c.state.apply(&genesis_block).unwrap(), None);
    assert_eq!(c.state.height(), 0);
    let applied = c.apply(vec![]);
    assert_eq!(applied.height, 1);
}
