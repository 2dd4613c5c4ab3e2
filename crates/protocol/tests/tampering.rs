//! The provider → supervisor → requester crypto path without state, and every way a record or a
//! delivery can be tampered with, each caught with its own error. Tampered txs and blocks are in
//! `stateless_checks.rs`.

mod common;

use common::Consortium;
use custodia_protocol::{
    Digest, RecordId, RequestId,
    commitment::{FieldValue, OpenedField, record_commitment},
    delivery::{
        DeliveryBundle, DeliveryError, VerifiedRecord, build_bundle, open_delivery, seal_bundle,
    },
    record::{RecordError, RecordHeader, RecordPayload, SealedRecord, open_record, seal_record},
    seal::{RECORD_INFO, SealError, record_aad, seal},
};
use serde_json::json;
use std::collections::BTreeMap;

const KIND: &str = "claim";

fn claim_fields() -> BTreeMap<String, FieldValue> {
    BTreeMap::from([
        ("holder".to_string(), json!("Alice Martin")),
        ("amount".to_string(), json!(1200)),
        ("rate".to_string(), json!(0.25)),
        (
            "address".to_string(),
            json!({"city": "Lyon", "zip": "69001", "lines": ["1 rue de la Paix", null]}),
        ),
        ("closed".to_string(), json!(false)),
    ])
}

/// A record the provider sealed on `c.chain`, with its on-chain header.
fn provider_submits(c: &Consortium, record_id: RecordId) -> (RecordHeader, SealedRecord) {
    let sealed = seal_record(
        &c.chain,
        &record_id,
        KIND,
        &c.provider.identity_key(),
        &c.supervisor.encryption_key(),
        claim_fields(),
    )
    .expect("an honest record seals");
    let header = RecordHeader {
        record_id,
        provider: c.provider.identity_key(),
        kind: KIND.to_string(),
        fields: sealed.fields.clone(),
        commitment: sealed.commitment,
    };
    (header, sealed)
}

/// The supervisor's opened copy of `records`.
fn supervisor_opens(
    c: &Consortium,
    records: &[(RecordHeader, SealedRecord)],
) -> Vec<(RecordHeader, Vec<OpenedField>)> {
    records
        .iter()
        .map(|(header, sealed)| {
            let opened = open_record(&c.chain, &c.supervisor.encryption, header, &sealed.sealed)
                .expect("the supervisor opens an honest record");
            (header.clone(), opened)
        })
        .collect()
}

fn requester_opens(
    c: &Consortium,
    request_id: &RequestId,
    sealed: &[u8],
    requested: &[String],
    headers: &[RecordHeader],
) -> Result<Vec<VerifiedRecord>, DeliveryError> {
    open_delivery(
        &c.chain,
        request_id,
        &c.requester.identity_key(),
        &c.requester.encryption,
        sealed,
        requested,
        headers,
    )
}

/// Seals `bundle` to the requester on `c.chain`, as the supervisor does.
fn supervisor_delivers(c: &Consortium, bundle: &DeliveryBundle) -> Vec<u8> {
    seal_bundle(
        &c.chain,
        &c.requester.identity_key(),
        &c.requester.encryption_key(),
        bundle,
    )
    .expect("a bundle seals")
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|n| n.to_string()).collect()
}

/// One record submitted, a request for two of its fields, and the honest bundle.
struct Shared {
    c: Consortium,
    request_id: RequestId,
    requested: Vec<String>,
    headers: Vec<RecordHeader>,
    bundle: DeliveryBundle,
}

fn shared_record() -> Shared {
    let c = Consortium::new();
    let (header, sealed) = provider_submits(&c, RecordId([1; 16]));
    let opened = supervisor_opens(&c, &[(header.clone(), sealed)]);
    let request_id = RequestId([9; 16]);
    let requested = names(&["amount", "address"]);
    let bundle = build_bundle(request_id, &requested, &opened).expect("bundle builds");
    Shared {
        c,
        request_id,
        requested,
        headers: vec![header],
        bundle,
    }
}

impl Shared {
    /// Seals `bundle` honestly and lets the requester open and verify it.
    fn deliver(&self, bundle: &DeliveryBundle) -> Result<Vec<VerifiedRecord>, DeliveryError> {
        let sealed = supervisor_delivers(&self.c, bundle);
        requester_opens(
            &self.c,
            &self.request_id,
            &sealed,
            &self.requested,
            &self.headers,
        )
    }
}

// ---- the honest path --------------------------------------------------------------------------

#[test]
fn provider_submits_supervisor_opens_requester_receives_exactly_the_approved_fields() {
    let s = shared_record();
    let verified = s.deliver(&s.bundle).expect("the honest delivery verifies");
    assert_eq!(verified.len(), 1);
    let record = &verified[0];
    assert_eq!(record.record_id, RecordId([1; 16]));
    assert_eq!(record.kind, KIND);
    assert_eq!(record.provider, hex::encode(s.c.provider.identity_key()));
    let all = claim_fields();
    let expected: BTreeMap<String, FieldValue> = ["address", "amount"]
        .iter()
        .map(|n| (n.to_string(), all[*n].clone()))
        .collect();
    assert_eq!(record.fields, expected);
    // The undisclosed fields travel as leaf digests only.
    assert_eq!(s.bundle.records[0].undisclosed.len(), all.len() - 2);
}

#[test]
fn the_supervisor_reads_back_every_field_the_provider_sealed() {
    let c = Consortium::new();
    let (header, sealed) = provider_submits(&c, RecordId([1; 16]));
    let opened =
        open_record(&c.chain, &c.supervisor.encryption, &header, &sealed.sealed).expect("opens");
    let values: BTreeMap<String, FieldValue> =
        opened.into_iter().map(|f| (f.name, f.value)).collect();
    assert_eq!(values, claim_fields());
}

// ---- tampered deliveries ----------------------------------------------------------------------

#[test]
fn a_delivery_with_a_changed_value_is_a_commitment_mismatch() {
    let s = shared_record();
    let mut bundle = s.bundle.clone();
    bundle.records[0].disclosed[0].value = json!("forged");
    assert_eq!(
        s.deliver(&bundle),
        Err(DeliveryError::CommitmentMismatch(RecordId([1; 16])))
    );
}

#[test]
fn a_delivery_with_a_changed_salt_is_a_commitment_mismatch() {
    let s = shared_record();
    let mut bundle = s.bundle.clone();
    bundle.records[0].disclosed[1].salt[0] ^= 1;
    assert_eq!(
        s.deliver(&bundle),
        Err(DeliveryError::CommitmentMismatch(RecordId([1; 16])))
    );
}

#[test]
fn a_delivery_with_a_changed_record_id_is_an_unexpected_record() {
    let s = shared_record();
    let mut bundle = s.bundle.clone();
    bundle.records[0].record_id = RecordId([2; 16]);
    assert_eq!(
        s.deliver(&bundle),
        Err(DeliveryError::UnexpectedRecord(RecordId([2; 16])))
    );
}

#[test]
fn a_delivery_sealed_for_another_requester_cannot_be_opened() {
    let s = shared_record();
    let to_other = seal_bundle(
        &s.c.chain,
        &s.c.other.identity_key(),
        &s.c.other.encryption_key(),
        &s.bundle,
    )
    .unwrap();
    assert_eq!(
        requester_opens(&s.c, &s.request_id, &to_other, &s.requested, &s.headers),
        Err(DeliveryError::Seal(SealError::OtherKey(hex::encode(
            s.c.other.encryption_key().0
        ))))
    );
    // Sealed to the requester's encryption key but bound to another identity: still refused.
    let bound_to_other = seal_bundle(
        &s.c.chain,
        &s.c.other.identity_key(),
        &s.c.requester.encryption_key(),
        &s.bundle,
    )
    .unwrap();
    assert_eq!(
        requester_opens(
            &s.c,
            &s.request_id,
            &bound_to_other,
            &s.requested,
            &s.headers
        ),
        Err(DeliveryError::Seal(SealError::Open))
    );
}

#[test]
fn a_delivery_sealed_for_another_chain_cannot_be_opened() {
    let s = shared_record();
    let other_chain = Consortium::for_chain("custodia-other").chain;
    assert_ne!(other_chain, s.c.chain);
    let sealed = seal_bundle(
        &other_chain,
        &s.c.requester.identity_key(),
        &s.c.requester.encryption_key(),
        &s.bundle,
    )
    .unwrap();
    assert_eq!(
        requester_opens(&s.c, &s.request_id, &sealed, &s.requested, &s.headers),
        Err(DeliveryError::Seal(SealError::Open))
    );
}

#[test]
fn a_delivery_opened_under_another_request_id_cannot_be_opened() {
    let s = shared_record();
    let sealed = supervisor_delivers(&s.c, &s.bundle);
    assert_eq!(
        requester_opens(
            &s.c,
            &RequestId([10; 16]),
            &sealed,
            &s.requested,
            &s.headers
        ),
        Err(DeliveryError::Seal(SealError::Open))
    );
}

#[test]
fn a_bundle_disclosing_more_than_the_approved_fields_is_refused() {
    let s = shared_record();
    let opened = {
        let (header, sealed) = provider_submits(&s.c, RecordId([1; 16]));
        supervisor_opens(&s.c, &[(header, sealed)])
    };
    // Everything disclosed, although only `amount` and `address` were approved. The record is a
    // fresh seal of the same fields, so its commitment differs: verify against its own header.
    let everything = build_bundle(s.request_id, &[], &opened).unwrap();
    let sealed = supervisor_delivers(&s.c, &everything);
    let headers = vec![opened[0].0.clone()];
    let err = requester_opens(&s.c, &s.request_id, &sealed, &s.requested, &headers).unwrap_err();
    assert!(
        matches!(&err, DeliveryError::FieldsMismatch { record_id, disclosed, approved }
            if *record_id == RecordId([1; 16])
                && disclosed.len() == claim_fields().len()
                && approved == &names(&["address", "amount"])),
        "{err:?}"
    );
}

#[test]
fn a_bundle_missing_a_requested_record_is_refused() {
    let c = Consortium::new();
    let first = provider_submits(&c, RecordId([1; 16]));
    let second = provider_submits(&c, RecordId([2; 16]));
    let headers = vec![first.0.clone(), second.0.clone()];
    let opened = supervisor_opens(&c, &[first, second]);
    let request_id = RequestId([9; 16]);
    let requested = names(&["holder"]);

    let complete = build_bundle(request_id, &requested, &opened).unwrap();
    let sealed = supervisor_delivers(&c, &complete);
    let verified = requester_opens(&c, &request_id, &sealed, &requested, &headers).unwrap();
    assert_eq!(verified.len(), 2);

    let partial = build_bundle(request_id, &requested, &opened[..1]).unwrap();
    let sealed = supervisor_delivers(&c, &partial);
    assert_eq!(
        requester_opens(&c, &request_id, &sealed, &requested, &headers),
        Err(DeliveryError::MissingRecord(RecordId([2; 16])))
    );
}

// ---- tampered records -------------------------------------------------------------------------

/// Seals `fields` as a record payload exactly as `seal_record` would, for `chain`.
fn seal_payload(c: &Consortium, header: &RecordHeader, fields: Vec<OpenedField>) -> Vec<u8> {
    let payload = serde_json::to_vec(&RecordPayload { fields }).unwrap();
    seal(
        &c.supervisor.encryption_key(),
        RECORD_INFO,
        &record_aad(&c.chain, &header.record_id, &header.provider),
        &payload,
    )
    .unwrap()
}

#[test]
fn a_record_whose_sealed_values_differ_from_its_commitment_is_refused() {
    let c = Consortium::new();
    let record_id = RecordId([1; 16]);
    let committed: Vec<OpenedField> = claim_fields()
        .into_iter()
        .map(|(name, value)| OpenedField::new(name, value))
        .collect();
    let leaves: Vec<Digest> = committed.iter().map(OpenedField::leaf).collect();
    let header = RecordHeader {
        record_id,
        provider: c.provider.identity_key(),
        kind: KIND.to_string(),
        fields: committed.iter().map(|f| f.name.clone()).collect(),
        commitment: record_commitment(&record_id, KIND, &leaves),
    };
    // The untouched payload is accepted, so the refusal below is about the value alone.
    let honest = seal_payload(&c, &header, committed.clone());
    assert!(open_record(&c.chain, &c.supervisor.encryption, &header, &honest).is_ok());

    let mut altered = committed;
    let amount = altered.iter_mut().find(|f| f.name == "amount").unwrap();
    amount.value = json!(120_000);
    let sealed = seal_payload(&c, &header, altered);
    assert_eq!(
        open_record(&c.chain, &c.supervisor.encryption, &header, &sealed),
        Err(RecordError::CommitmentMismatch)
    );
}

#[test]
fn a_record_whose_sealed_names_differ_from_the_chain_is_refused() {
    let c = Consortium::new();
    let (header, sealed) = provider_submits(&c, RecordId([1; 16]));

    let mut more = header.clone();
    more.fields.push("diagnosis".into());
    let err = open_record(&c.chain, &c.supervisor.encryption, &more, &sealed.sealed).unwrap_err();
    assert!(
        matches!(&err, RecordError::FieldNamesMismatch { on_chain, sealed }
            if on_chain.contains(&"diagnosis".to_string())
                && !sealed.contains(&"diagnosis".to_string())),
        "{err:?}"
    );

    let mut fewer = header.clone();
    fewer.fields.retain(|f| f != "holder");
    assert!(matches!(
        open_record(&c.chain, &c.supervisor.encryption, &fewer, &sealed.sealed),
        Err(RecordError::FieldNamesMismatch { .. })
    ));

    let mut renamed = header;
    renamed.fields[0] = "renamed".into();
    assert!(matches!(
        open_record(&c.chain, &c.supervisor.encryption, &renamed, &sealed.sealed),
        Err(RecordError::FieldNamesMismatch { .. })
    ));
}

#[test]
fn a_record_with_a_sealed_field_twice_is_refused() {
    let c = Consortium::new();
    let (header, sealed) = provider_submits(&c, RecordId([1; 16]));
    let opened = supervisor_opens(&c, &[(header.clone(), sealed)]);
    let mut twice = opened[0].1.clone();
    twice.push(twice[0].clone());
    let sealed = seal_payload(&c, &header, twice);
    assert!(matches!(
        open_record(&c.chain, &c.supervisor.encryption, &header, &sealed),
        Err(RecordError::FieldNamesMismatch { .. })
    ));
}

#[test]
fn a_record_sealed_for_another_chain_cannot_be_opened() {
    let c = Consortium::new();
    let other = Consortium::for_chain("custodia-other");
    let (header, sealed) = provider_submits(&other, RecordId([1; 16]));
    assert_eq!(
        open_record(&c.chain, &c.supervisor.encryption, &header, &sealed.sealed),
        Err(RecordError::Seal(SealError::Open))
    );
}

#[test]
fn a_record_moved_to_another_id_or_provider_cannot_be_opened() {
    let c = Consortium::new();
    let (header, sealed) = provider_submits(&c, RecordId([1; 16]));
    let mut moved = header.clone();
    moved.record_id = RecordId([2; 16]);
    assert_eq!(
        open_record(&c.chain, &c.supervisor.encryption, &moved, &sealed.sealed),
        Err(RecordError::Seal(SealError::Open))
    );
    let mut claimed = header;
    claimed.provider = c.other.identity_key();
    assert_eq!(
        open_record(&c.chain, &c.supervisor.encryption, &claimed, &sealed.sealed),
        Err(RecordError::Seal(SealError::Open))
    );
    // Only the supervisor can open a record at all.
    let (header, sealed) = provider_submits(&c, RecordId([3; 16]));
    assert_eq!(
        open_record(&c.chain, &c.requester.encryption, &header, &sealed.sealed),
        Err(RecordError::Seal(SealError::OtherKey(hex::encode(
            c.supervisor.encryption_key().0
        ))))
    );
}

#[test]
fn sealing_to_a_degenerate_key_fails_cleanly() {
    // The all-zero X25519 point has low order: HPKE must refuse rather than produce a
    // ciphertext anyone could open.
    let zero = custodia_protocol::EncryptionKey([0; 32]);
    assert!(seal(&zero, RECORD_INFO, b"aad", b"secret").is_err());
}
