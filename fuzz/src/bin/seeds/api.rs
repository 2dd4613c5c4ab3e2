//! The seeds of the REST API's bodies and query strings, as custodia-client writes them
//! (`serde_json` and `serde_urlencoded` of the `custodia-api` types), in the framing of the
//! api_json_body and api_query targets (a first byte picks the type).

use custodia_api::{
    Approval, AuditFilter, Fields, NewRecord, NewRequest, RecordFilter, RecordStatus, Refusal,
    RequestFilter, RequestStatus, WaitQuery, Withdrawal,
};
use custodia_fuzz::{Fixture, REQUEST_ID};
use serde_json::json;

pub(crate) fn bodies(fx: &Fixture) -> Vec<(String, Vec<u8>)> {
    let framed = |first: u8, bytes: Vec<u8>| [vec![first], bytes].concat();
    let record = NewRecord {
        kind: "claim".into(),
        tags: vec!["motor".into()],
        fields: Fields(vec![
            ("amount".into(), json!(18250.5)),
            ("claim_no".into(), json!("CLM-1")),
            (
                "insured".into(),
                json!({"name": "Jane Roe", "born": [1980, 2, 29], "vip": false}),
            ),
        ]),
    };
    let request = NewRequest {
        record_ids: fx.records.iter().map(|r| r.record_id).collect(),
        fields: vec!["amount".into()],
        purpose: "fraud check".into(),
        ttl: Some(100),
    };
    vec![
        ("new-record".into(), framed(0, json(&record))),
        (
            "new-record-no-tags".into(),
            framed(0, br#"{"kind":"x","fields":{"a":null}}"#.to_vec()),
        ),
        ("new-request".into(), framed(1, json(&request))),
        (
            "new-request-all".into(),
            framed(
                1,
                json(&NewRequest {
                    fields: vec![],
                    ttl: None,
                    ..request
                }),
            ),
        ),
        (
            "approval".into(),
            framed(
                2,
                json(&Approval {
                    reason: Some("proportionate".into()),
                }),
            ),
        ),
        ("approval-empty".into(), framed(2, Vec::new())),
        (
            "refusal".into(),
            framed(
                3,
                json(&Refusal {
                    reason: "not agreed".into(),
                }),
            ),
        ),
        ("withdrawal".into(), framed(4, json(&Withdrawal {}))),
        ("withdrawal-blank".into(), framed(4, b" \n".to_vec())),
    ]
}

pub(crate) fn queries(fx: &Fixture) -> Vec<(String, Vec<u8>)> {
    let framed = |first: u8, text: String| [vec![first], text.into_bytes()].concat();
    let records = RecordFilter {
        provider: Some("member-a".into()),
        kind: Some("claim".into()),
        status: Some(RecordStatus::Accepted),
        offset: Some(100),
        limit: Some(50),
    };
    let requests = RequestFilter {
        status: Some(RequestStatus::Pending),
        party: Some("member-b".into()),
        offset: None,
        limit: Some(1000),
    };
    let audit = AuditFilter {
        record: Some(fx.records[0].record_id),
        request: Some(REQUEST_ID),
        org: Some("supervisor".into()),
        from_height: Some(1),
        to_height: Some(9_223_372_036_854_775_807),
        after: Some(42),
        limit: Some(1),
    };
    vec![
        ("records".into(), framed(0, query(&records))),
        ("records-none".into(), framed(0, String::new())),
        ("requests".into(), framed(1, query(&requests))),
        ("audit".into(), framed(2, query(&audit))),
        (
            "wait".into(),
            framed(
                3,
                query(&WaitQuery {
                    wait: Some(true),
                    timeout: Some(30),
                }),
            ),
        ),
        (
            "wait-encoded".into(),
            framed(3, "wait=%74rue&timeout=+5".into()),
        ),
        (
            "record-id".into(),
            framed(4, fx.records[0].record_id.to_string()),
        ),
        (
            "request-id".into(),
            framed(
                5,
                REQUEST_ID
                    .to_string()
                    .to_uppercase()
                    .replacen("REQ", "req", 1),
            ),
        ),
    ]
}

fn json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("a request body serializes")
}

fn query<T: serde::Serialize>(value: &T) -> String {
    serde_urlencoded::to_string(value).expect("a query serializes")
}
