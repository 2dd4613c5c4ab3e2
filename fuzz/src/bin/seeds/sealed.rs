//! The seeds of the two sealed targets: the fixture's records and the request's delivery,
//! sealed and as plaintext (a first byte of the target's framing, then the bytes).

use custodia_fuzz::{Fixture, REQUEST_ID, requested_fields};
use custodia_protocol::delivery::build_bundle;

/// The sealed_record target's framing: first byte even = sealed bytes, odd = plaintext; bit 1
/// picks the record.
pub(crate) fn sealed_records(fx: &Fixture) -> Vec<(String, Vec<u8>)> {
    let framed = |first: u8, bytes: &[u8]| [&[first][..], bytes].concat();
    let mut seeds = Vec::new();
    for n in 0..2 {
        let plain = fx.record_plaintext(n);
        let sealed = fx.seal_record(n, &plain).unwrap();
        let bit = (n as u8) << 1;
        seeds.push((format!("sealed-{n}"), framed(bit, &sealed)));
        seeds.push((format!("plaintext-{n}"), framed(bit | 1, &plain)));
        let payload: serde_json::Value = serde_json::from_slice(&plain).unwrap();
        let pretty = serde_json::to_vec_pretty(&payload).unwrap();
        seeds.push((format!("plaintext-{n}-pretty"), framed(bit | 1, &pretty)));
    }
    // Record 1's bytes opened as record 0 (another aad), and a truncated payload.
    let other = fx.seal_record(1, &fx.record_plaintext(1)).unwrap();
    seeds.push(("sealed-other-record".into(), framed(0, &other)));
    seeds.push(("sealed-truncated".into(), framed(0, &other[..47])));
    // Plaintexts the checks refuse: a field missing, a value altered, the fields reversed.
    let mut payload: serde_json::Value = serde_json::from_slice(&fx.record_plaintext(0)).unwrap();
    let fields = payload["fields"].as_array_mut().unwrap();
    fields.reverse();
    seeds.push((
        "plaintext-reversed".into(),
        framed(1, &serde_json::to_vec(&payload).unwrap()),
    ));
    payload["fields"][0]["value"] = serde_json::json!({"b": [1, 2.5, "é\u{1}"], "a": true});
    seeds.push((
        "plaintext-altered".into(),
        framed(1, &serde_json::to_vec(&payload).unwrap()),
    ));
    payload["fields"].as_array_mut().unwrap().pop();
    seeds.push((
        "plaintext-missing".into(),
        framed(1, &serde_json::to_vec(&payload).unwrap()),
    ));
    seeds
}

/// The request's bundle, as the supervisor's node writes it.
pub(crate) fn bundle_json(fx: &Fixture, all: bool) -> Vec<u8> {
    let records: Vec<_> = fx
        .records
        .iter()
        .cloned()
        .zip(fx.opened.iter().cloned())
        .collect();
    let bundle = build_bundle(REQUEST_ID, &requested_fields(all), &records).unwrap();
    serde_json::to_vec(&bundle).unwrap()
}

/// The delivery target's framing: first byte even = sealed, odd = plaintext; bit 1 set = the
/// request asks for all fields.
pub(crate) fn deliveries(fx: &Fixture) -> Vec<(String, Vec<u8>)> {
    let framed = |first: u8, bytes: &[u8]| [&[first][..], bytes].concat();
    let mut seeds = Vec::new();
    for (all, bit, name) in [(false, 0u8, "amount"), (true, 2, "all")] {
        let plain = bundle_json(fx, all);
        seeds.push((
            format!("sealed-{name}"),
            framed(bit, &fx.seal_delivery(&plain).unwrap()),
        ));
        seeds.push((format!("plaintext-{name}"), framed(bit | 1, &plain)));
    }
    let mut bundle: serde_json::Value = serde_json::from_slice(&bundle_json(fx, false)).unwrap();
    let pretty = serde_json::to_vec_pretty(&bundle).unwrap();
    seeds.push(("plaintext-pretty".into(), framed(1, &pretty)));
    bundle["records"].as_array_mut().unwrap().reverse();
    seeds.push((
        "plaintext-reordered".into(),
        framed(1, &serde_json::to_vec(&bundle).unwrap()),
    ));
    bundle["records"][0]["disclosed"][0]["value"] = serde_json::json!(-0.0);
    seeds.push((
        "plaintext-altered".into(),
        framed(1, &serde_json::to_vec(&bundle).unwrap()),
    ));
    bundle["records"].as_array_mut().unwrap().pop();
    seeds.push((
        "plaintext-missing".into(),
        framed(1, &serde_json::to_vec(&bundle).unwrap()),
    ));
    let wrong = fx
        .seal_delivery(b"{\"request_id\": \"req_00\", \"records\": []}")
        .unwrap();
    seeds.push(("sealed-malformed".into(), framed(0, &wrong)));
    seeds
}
