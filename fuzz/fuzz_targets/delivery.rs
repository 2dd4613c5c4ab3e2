//! A delivery bundle (`Deliver.sealed`), as the requester's node opens and verifies it
//! (`api/fetch.rs` -> `delivery::open_delivery` with the requester's key, the request and the
//! records' on-chain headers: HPKE open, the JSON `DeliveryBundle`, every check of DESIGN §6.5).
//!
//! First byte even: the rest is the sealed bytes. Odd: the rest is the bundle's JSON plaintext,
//! sealed here to the requester first. Bit 1 picks the request's fields: all (bit set) or
//! `amount` alone.
//!
//! Round trips: a bundle that decodes reads back the same from serde_json's own output, leaves
//! included; a bundle that verifies verifies alike once re-encoded, and discloses exactly the
//! values it carries.

#![no_main]

use custodia_fuzz::{Framing, REQUEST_ID, REQUESTER, fixture, framing, json_round_trip};
use custodia_protocol::{
    commitment::OpenedField,
    delivery::{DeliveryBundle, open_delivery, verify_bundle},
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((framing, first, rest)) = framing(data) else {
        return;
    };
    let fx = fixture();
    let requested = custodia_fuzz::requested_fields(first & 2 != 0);
    let requester = &fx.keys[REQUESTER];
    let sealed = match framing {
        Framing::Sealed => rest.to_vec(),
        Framing::Plaintext => {
            check_bundle(rest, &requested);
            fx.seal_delivery(rest)
                .expect("the requester's key is valid")
        }
    };
    let opened = open_delivery(
        &fx.chain,
        &REQUEST_ID,
        &requester.identity_key(),
        &requester.encryption,
        &sealed,
        &requested,
        &fx.records,
    );
    let Ok(verified) = opened else { return };
    assert_eq!(
        verified.len(),
        fx.records.len(),
        "a verified delivery lacks records"
    );
});

/// The JSON of a bundle: what decodes must survive serde_json's round trip unchanged, and
/// verify (or not) alike.
fn check_bundle(plaintext: &[u8], requested: &[String]) {
    let Ok(bundle) = serde_json::from_slice::<DeliveryBundle>(plaintext) else {
        return;
    };
    let back: DeliveryBundle = json_round_trip(&bundle);
    assert_eq!(back, bundle, "a delivery bundle changes through serde_json");
    for (a, b) in back.records.iter().zip(&bundle.records) {
        let leaves =
            |fields: &[OpenedField]| fields.iter().map(OpenedField::leaf).collect::<Vec<_>>();
        assert_eq!(
            leaves(&a.disclosed),
            leaves(&b.disclosed),
            "a leaf changes through serde_json"
        );
    }
    let fx = fixture();
    let verified = verify_bundle(&REQUEST_ID, &bundle, requested, &fx.records);
    let again = verify_bundle(&REQUEST_ID, &back, requested, &fx.records);
    assert_eq!(
        verified, again,
        "a bundle verifies otherwise once re-encoded"
    );
    if let Ok(records) = verified {
        for (record, delivered) in records.iter().zip(&bundle.records) {
            for field in &delivered.disclosed {
                assert_eq!(record.fields.get(&field.name), Some(&field.value));
            }
        }
    }
}
