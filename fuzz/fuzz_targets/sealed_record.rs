//! A record's sealed payload (`SubmitRecord.sealed`), as the supervisor's node opens it
//! (`workers/supervisor.rs` -> `record::open_record` with the supervisor's key and the record's
//! on-chain header: HPKE open, then the JSON `RecordPayload`, names and commitment checks).
//!
//! First byte even: the rest is the sealed bytes. Odd: the rest is a plaintext, sealed here to
//! the supervisor first, so the fuzzer gets past the HPKE tag to the JSON and the checks.
//! Bit 1 picks the record (member-a's claim or member-c's nested values).
//!
//! Round trips: a payload that decodes reads back the same from serde_json's own output, with
//! the same leaf digests (the provider commits to a value before sealing it; the supervisor
//! recomputes the leaves from what it read, so any drift rejects an honest record); a record
//! that opens re-opens from its own re-sealed payload.

#![no_main]

use custodia_fuzz::{Framing, SUPERVISOR, fixture, framing, json_round_trip};
use custodia_protocol::{
    commitment::OpenedField,
    record::{RecordPayload, open_record},
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((framing, first, rest)) = framing(data) else {
        return;
    };
    let fx = fixture();
    let n = usize::from(first >> 1 & 1);
    let header = &fx.records[n];
    let secret = &fx.keys[SUPERVISOR].encryption;
    let sealed = match framing {
        Framing::Sealed => rest.to_vec(),
        Framing::Plaintext => {
            check_payload(rest);
            fx.seal_record(n, rest)
                .expect("the supervisor's key is valid")
        }
    };
    let Ok(fields) = open_record(&fx.chain, secret, header, &sealed) else {
        return;
    };
    // It opened: the same fields, written again as a provider writes them, open alike.
    let again = serde_json::to_vec(&RecordPayload {
        fields: fields.clone(),
    })
    .unwrap();
    let resealed = fx.seal_record(n, &again).unwrap();
    let reopened = open_record(&fx.chain, secret, header, &resealed);
    assert_eq!(
        reopened.as_ref(),
        Ok(&fields),
        "a record's own re-encoding does not open alike"
    );
});

/// The JSON of a record payload: what decodes must survive serde_json's round trip unchanged,
/// leaves included.
fn check_payload(plaintext: &[u8]) {
    let Ok(payload) = serde_json::from_slice::<RecordPayload>(plaintext) else {
        return;
    };
    let back: RecordPayload = json_round_trip(&payload);
    assert_eq!(back, payload, "a record payload changes through serde_json");
    let leaves = |p: &RecordPayload| p.fields.iter().map(OpenedField::leaf).collect::<Vec<_>>();
    assert_eq!(
        leaves(&back),
        leaves(&payload),
        "a field's leaf changes through serde_json"
    );
}
