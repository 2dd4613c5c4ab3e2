//! Delivery verification accepts exactly the honest deliveries: for random records (JSON
//! strings, numbers, nested objects…) and a random requested subset, the honest bundle verifies
//! and yields exactly the requested fields and values, and any single tampering of the bundle is
//! rejected by `verify_bundle` with the error that names it.

mod common;

use common::Consortium;
use custodia_protocol::{
    OrgKeys, RecordId, RequestId,
    commitment::{FieldValue, OpenedField, canonical_json},
    delivery::{
        DeliveryBundle, DeliveryError, build_bundle, check_deliverable, disclosed_names,
        max_entry_bytes, open_delivery, seal_bundle, verify_bundle,
    },
    hash::to_hex,
    record::{RecordError, RecordHeader, open_record, seal_record},
};
use proptest::{
    collection::{btree_map, vec},
    prelude::*,
    sample::{Index, subsequence},
    test_runner::{Config, TestRunner},
};
use serde_json::json;
use std::{
    collections::{BTreeMap, BTreeSet},
    sync::atomic::{AtomicUsize, Ordering},
};

const CASES: u32 = 256;

// ---- strategies -------------------------------------------------------------------------------

/// Names shared by many records, so requested subsets overlap several of them.
const COMMON_NAMES: &[&str] = &[
    "amount",
    "holder",
    "address",
    "rate",
    "closed",
    "policy.id",
    "zip-code",
    "NOTE_1",
];

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(COMMON_NAMES).prop_map(str::to_string),
        1 => "[A-Za-z0-9_.-]{1,12}",
    ]
}

/// JSON values of every shape, full-precision floats included.
fn field_value() -> impl Strategy<Value = FieldValue> {
    let leaf = prop_oneof![
        Just(FieldValue::Null),
        any::<bool>().prop_map(FieldValue::from),
        any::<i64>().prop_map(FieldValue::from),
        any::<u64>().prop_map(FieldValue::from),
        (-1_000_000_000i64..1_000_000_000, 0i32..6)
            .prop_map(|(m, e)| FieldValue::from(m as f64 / 10f64.powi(e))),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(FieldValue::from),
        "(?s).{0,24}".prop_map(FieldValue::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(FieldValue::Array),
            btree_map("(?s).{0,8}", inner, 0..4)
                .prop_map(|map| FieldValue::Object(map.into_iter().collect())),
        ]
    })
}

fn record_fields() -> impl Strategy<Value = BTreeMap<String, FieldValue>> {
    btree_map(field_name(), field_value(), 1..6)
}

/// Everything one case needs: the records, what is requested, and the randomness the
/// mutations draw from.
#[derive(Debug, Clone)]
struct Case {
    records: Vec<Generated>,
    requested: Vec<String>,
    pick: Index,
    other_pick: Index,
    replacement: FieldValue,
    salt_bit: u8,
}

#[derive(Debug, Clone)]
struct Generated {
    id: RecordId,
    kind: String,
    provider_seed: u64,
    fields: BTreeMap<String, FieldValue>,
}

fn generated(index: usize) -> impl Strategy<Value = Generated> {
    (
        any::<[u8; 15]>(),
        "[A-Za-z0-9_.-]{1,16}",
        prop_oneof![Just(common::PROVIDER_SEED), Just(common::OTHER_SEED)],
        record_fields(),
    )
        .prop_map(move |(tail, kind, provider_seed, fields)| {
            // The first byte makes the ids of one request distinct.
            let mut id = [index as u8; 16];
            id[1..].copy_from_slice(&tail);
            Generated {
                id: RecordId(id),
                kind,
                provider_seed,
                fields,
            }
        })
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..=4)
        .prop_flat_map(|n| (0..n).map(generated).collect::<Vec<_>>())
        .prop_flat_map(|records| {
            let union: Vec<String> = records
                .iter()
                .flat_map(|r| r.fields.keys().cloned())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let len = union.len();
            (
                Just(records),
                subsequence(union, 0..=len),
                // Sometimes a name no record has (the request may name it, nothing is disclosed).
                prop::option::weighted(0.2, Just("not-a-field".to_string())),
                any::<Index>(),
                any::<Index>(),
                field_value(),
                any::<u8>(),
            )
        })
        .prop_map(
            |(records, mut requested, absent, pick, other_pick, replacement, salt_bit)| {
                requested.extend(absent);
                Case {
                    records,
                    requested,
                    pick,
                    other_pick,
                    replacement,
                    salt_bit,
                }
            },
        )
}

// ---- the honest flow --------------------------------------------------------------------------

const REQUEST: RequestId = RequestId([0x77; 16]);

struct Honest {
    headers: Vec<RecordHeader>,
    bundle: DeliveryBundle,
}

/// Seals every record, has the supervisor open and check it, builds the bundle of the request,
/// seals it to the requester and has the requester open and verify it; checks the requester
/// gets exactly the requested fields with the provider's values.
fn honest_flow(case: &Case) -> Result<Honest, TestCaseError> {
    let c = Consortium::new();
    let mut headers = Vec::new();
    let mut opened = Vec::new();
    for record in &case.records {
        let provider = OrgKeys::from_seed(record.provider_seed).identity_key();
        let sealed = seal_record(
            &c.chain,
            &record.id,
            &record.kind,
            &provider,
            &c.supervisor.encryption_key(),
            record.fields.clone(),
        )
        .map_err(|e| TestCaseError::fail(format!("seal_record: {e}")))?;
        let header = RecordHeader {
            record_id: record.id,
            provider,
            kind: record.kind.clone(),
            fields: sealed.fields.clone(),
            commitment: sealed.commitment,
        };
        let fields = open_record(&c.chain, &c.supervisor.encryption, &header, &sealed.sealed)
            .map_err(|e| TestCaseError::fail(format!("the supervisor refuses: {e}")))?;
        prop_assert!(
            check_deliverable(&header, &fields, sealed.sealed.len()).is_ok(),
            "an honest record is deliverable"
        );
        opened.push((header.clone(), fields));
        headers.push(header);
    }
    let bundle = build_bundle(REQUEST, &case.requested, &opened)
        .map_err(|e| TestCaseError::fail(format!("build_bundle: {e}")))?;
    // Whatever is disclosed, no entry is longer than the bound the supervisor checks.
    for (entry, (header, fields)) in bundle.records.iter().zip(&opened) {
        let bytes = serde_json::to_vec(entry).expect("entry").len();
        let bound = max_entry_bytes(header, fields).expect("bound");
        prop_assert!(
            bytes <= bound,
            "entry of {} bytes over its bound {}",
            bytes,
            bound
        );
    }
    let sealed = seal_bundle(
        &c.chain,
        &c.requester.identity_key(),
        &c.requester.encryption_key(),
        &bundle,
    )
    .map_err(|e| TestCaseError::fail(format!("seal_bundle: {e}")))?;
    let verified = open_delivery(
        &c.chain,
        &REQUEST,
        &c.requester.identity_key(),
        &c.requester.encryption,
        &sealed,
        &case.requested,
        &headers,
    )
    .map_err(|e| TestCaseError::fail(format!("the honest delivery is refused: {e}")))?;

    prop_assert_eq!(verified.len(), case.records.len());
    for (got, record) in verified.iter().zip(&case.records) {
        let names: Vec<String> = record.fields.keys().cloned().collect();
        let expected: BTreeMap<String, FieldValue> = disclosed_names(&names, &case.requested)
            .into_iter()
            .map(|name| {
                let value = record.fields[&name].clone();
                (name, value)
            })
            .collect();
        if case.requested.is_empty() {
            prop_assert_eq!(&expected, &record.fields);
        }
        prop_assert_eq!(got.record_id, record.id);
        prop_assert_eq!(&got.kind, &record.kind);
        let provider = OrgKeys::from_seed(record.provider_seed).identity_key();
        prop_assert_eq!(&got.provider, &hex::encode(provider));
        prop_assert_eq!(&got.fields, &expected);
    }
    Ok(Honest { headers, bundle })
}

// ---- mutations --------------------------------------------------------------------------------

/// One way a dishonest supervisor (or anyone who could rewrite the bundle) could tamper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mutation {
    ChangeValue,
    ChangeSalt,
    ReplaceUndisclosedLeaf,
    DropDisclosed,
    DiscloseWithForgedSalt,
    ChangeKind,
    ChangeProvider,
    ChangeRecordId,
    SwapCommitments,
}

const MUTATIONS: [Mutation; 9] = [
    Mutation::ChangeValue,
    Mutation::ChangeSalt,
    Mutation::ReplaceUndisclosedLeaf,
    Mutation::DropDisclosed,
    Mutation::DiscloseWithForgedSalt,
    Mutation::ChangeKind,
    Mutation::ChangeProvider,
    Mutation::ChangeRecordId,
    Mutation::SwapCommitments,
];

/// How often each mutation could be applied over the run (proof the generator reaches them).
static APPLIED: [AtomicUsize; MUTATIONS.len()] = [const { AtomicUsize::new(0) }; MUTATIONS.len()];

const FOREIGN_ID: RecordId = RecordId([0xee; 16]);

/// Picks one of the records for which `applicable` holds.
fn pick_record(
    bundle: &DeliveryBundle,
    pick: &Index,
    applicable: impl Fn(&custodia_protocol::delivery::DeliveredRecord) -> bool,
) -> Option<usize> {
    let candidates: Vec<usize> = (0..bundle.records.len())
        .filter(|&i| applicable(&bundle.records[i]))
        .collect();
    (!candidates.is_empty()).then(|| candidates[pick.index(candidates.len())])
}

/// Applies `mutation` to a copy of the honest bundle; `None` when the case has nothing it
/// applies to (e.g. no undisclosed field).
fn mutate(mutation: Mutation, honest: &Honest, case: &Case) -> Option<(DeliveryBundle, RecordId)> {
    let mut bundle = honest.bundle.clone();
    let pick = &case.pick;
    let record = match mutation {
        Mutation::ChangeValue | Mutation::ChangeSalt | Mutation::DropDisclosed => {
            pick_record(&bundle, pick, |r| !r.disclosed.is_empty())?
        }
        Mutation::ReplaceUndisclosedLeaf | Mutation::DiscloseWithForgedSalt => {
            pick_record(&bundle, pick, |r| !r.undisclosed.is_empty())?
        }
        Mutation::SwapCommitments if bundle.records.len() < 2 => return None,
        _ => pick.index(bundle.records.len()),
    };
    let id = bundle.records[record].record_id;
    let target = &mut bundle.records[record];
    match mutation {
        Mutation::ChangeValue => {
            let field = case.other_pick.index(target.disclosed.len());
            let old = &target.disclosed[field].value;
            let new = if canonical_json(&case.replacement) == canonical_json(old) {
                json!([old])
            } else {
                case.replacement.clone()
            };
            target.disclosed[field].value = new;
        }
        Mutation::ChangeSalt => {
            let field = case.other_pick.index(target.disclosed.len());
            let bit = case.salt_bit as usize;
            target.disclosed[field].salt[bit / 8 % 16] ^= 1 << (bit % 8);
        }
        Mutation::ReplaceUndisclosedLeaf => {
            let leaf = case.other_pick.index(target.undisclosed.len());
            target.undisclosed[leaf] = to_hex(&common::digest([0x5a; 32]));
        }
        Mutation::DropDisclosed => {
            let field = case.other_pick.index(target.disclosed.len());
            target.disclosed.remove(field);
        }
        Mutation::DiscloseWithForgedSalt => {
            // The undisclosed leaves follow the header's field order, skipping disclosed names.
            let header = &honest.headers[record];
            let approved = disclosed_names(&header.fields, &case.requested);
            let hidden: Vec<&String> = header
                .fields
                .iter()
                .filter(|name| !approved.contains(name))
                .collect();
            let at = case.other_pick.index(hidden.len());
            let name = hidden[at].clone();
            let value = case.records[record].fields[&name].clone();
            target.undisclosed.remove(at);
            target.disclosed.push(OpenedField {
                name,
                salt: [0x42; 16],
                value,
            });
        }
        Mutation::ChangeKind => target.kind.push('x'),
        Mutation::ChangeProvider => {
            let seed = match case.records[record].provider_seed {
                common::PROVIDER_SEED => common::OTHER_SEED,
                _ => common::PROVIDER_SEED,
            };
            target.provider = hex::encode(OrgKeys::from_seed(seed).identity_key());
        }
        Mutation::ChangeRecordId => target.record_id = FOREIGN_ID,
        Mutation::SwapCommitments => {
            let other = (record + 1 + case.other_pick.index(bundle.records.len() - 1))
                % bundle.records.len();
            let a = bundle.records[record].commitment.clone();
            let b = std::mem::replace(&mut bundle.records[other].commitment, a);
            bundle.records[record].commitment = b;
        }
    }
    Some((bundle, id))
}

/// Whether `err` is the error that names `mutation` of record `id`.
fn names_the_mutation(mutation: Mutation, id: RecordId, err: &DeliveryError) -> bool {
    use DeliveryError as E;
    match mutation {
        Mutation::ChangeValue | Mutation::ChangeSalt | Mutation::ReplaceUndisclosedLeaf => {
            *err == E::CommitmentMismatch(id)
        }
        Mutation::DropDisclosed | Mutation::DiscloseWithForgedSalt => {
            matches!(err, E::FieldsMismatch { record_id, .. } if *record_id == id)
        }
        Mutation::ChangeKind => {
            *err == E::HeaderMismatch {
                record_id: id,
                what: "kind",
            }
        }
        Mutation::ChangeProvider => {
            *err == E::HeaderMismatch {
                record_id: id,
                what: "provider",
            }
        }
        Mutation::ChangeRecordId => *err == E::UnexpectedRecord(FOREIGN_ID),
        // Whichever of the two swapped records comes first in the bundle is reported.
        Mutation::SwapCommitments => matches!(
            err,
            E::HeaderMismatch {
                what: "commitment",
                ..
            }
        ),
    }
}

fn honest_accepted_and_every_mutation_rejected(case: Case) -> Result<(), TestCaseError> {
    let honest = honest_flow(&case)?;
    prop_assert!(verify_bundle(&REQUEST, &honest.bundle, &case.requested, &honest.headers).is_ok());
    for (i, mutation) in MUTATIONS.into_iter().enumerate() {
        let Some((bundle, id)) = mutate(mutation, &honest, &case) else {
            continue;
        };
        APPLIED[i].fetch_add(1, Ordering::Relaxed);
        match verify_bundle(&REQUEST, &bundle, &case.requested, &honest.headers) {
            Ok(_) => {
                return Err(TestCaseError::fail(format!(
                    "{mutation:?} of record {id} was accepted"
                )));
            }
            Err(err) => prop_assert!(
                names_the_mutation(mutation, id, &err),
                "{:?} of record {} was refused with an unrelated error: {}",
                mutation,
                id,
                err
            ),
        }
    }
    Ok(())
}

#[test]
fn delivery_verification_accepts_exactly_the_honest_deliveries() {
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    if let Err(failure) = runner.run(&case(), honest_accepted_and_every_mutation_rejected) {
        panic!("{failure}");
    }
    for (mutation, applied) in MUTATIONS.iter().zip(&APPLIED) {
        assert!(
            applied.load(Ordering::Relaxed) > 0,
            "{mutation:?} was never applied: the generator does not reach it"
        );
    }
}

// ---- records no delivery could carry ----------------------------------------------------------

// A provider that writes its numbers shorter than serde_json does (`1e15` for
// `1000000000000000.0`) seals fewer bytes than the supervisor's bundle takes: the request's
// size check (sealed bytes) would pass and the delivery exceed `max_deliver_sealed_bytes`. The
// supervisor finds it when it attests the record (DESIGN §6.5).
#[test]
fn a_record_whose_values_grow_when_rewritten_is_undeliverable() {
    use custodia_protocol::{
        record::RecordPayload,
        seal::{RECORD_INFO, record_aad, seal},
    };
    let c = Consortium::new();
    let record_id = RecordId([9; 16]);
    let provider = c.provider.identity_key();
    let sealed_with = |count: usize, short: bool| {
        let value = FieldValue::Array(vec![json!(1e15); count]);
        let fields = vec![OpenedField::new("readings", value)];
        let commitment = custodia_protocol::commitment::record_commitment(
            &record_id,
            "meter",
            &[fields[0].leaf()],
        );
        let mut payload = serde_json::to_string(&RecordPayload { fields }).unwrap();
        if short {
            payload = payload.replace("1000000000000000.0", "1e15");
        }
        let sealed = seal(
            &c.supervisor.encryption_key(),
            RECORD_INFO,
            &record_aad(&c.chain, &record_id, &provider),
            payload.as_bytes(),
        )
        .unwrap();
        let header = RecordHeader {
            record_id,
            provider: provider.clone(),
            kind: "meter".into(),
            fields: vec!["readings".into()],
            commitment,
        };
        let opened = open_record(&c.chain, &c.supervisor.encryption, &header, &sealed)
            .expect("the record opens and matches its commitment");
        check_deliverable(&header, &opened, sealed.len())
    };
    // Written as serde_json writes them: deliverable at any size.
    assert!(sealed_with(20_000, false).is_ok());
    // Written short: fine while the growth fits the record's allowance, refused past it.
    assert!(sealed_with(100, true).is_ok());
    let err = sealed_with(20_000, true).unwrap_err();
    assert!(matches!(err, DeliveryError::Undeliverable { .. }), "{err}");
    assert!(err.to_string().contains("1e15 becomes"), "{err}");
}

// ---- known bug --------------------------------------------------------------------------------

/// Seals a one-field record with `value` and has the supervisor open it.
fn supervisor_check(value: FieldValue) -> Result<Vec<OpenedField>, RecordError> {
    let c = Consortium::new();
    let record_id = RecordId([1; 16]);
    let provider = c.provider.identity_key();
    let sealed = seal_record(
        &c.chain,
        &record_id,
        "reading",
        &provider,
        &c.supervisor.encryption_key(),
        BTreeMap::from([("value".to_string(), value)]),
    )?;
    let header = RecordHeader {
        record_id,
        provider,
        kind: "reading".into(),
        fields: sealed.fields,
        commitment: sealed.commitment,
    };
    open_record(&c.chain, &c.supervisor.encryption, &header, &sealed.sealed)
}

// Regression: serde_json without `float_roundtrip` parsed some floats back to another f64 and
// an honest record was refused with commitment_mismatch.
#[test]
fn an_honest_record_with_a_full_precision_float_is_accepted() {
    // 934972.1304334201 is written by serde_json as "934972.1304334201" and read back as
    // 934972.13043342: the supervisor's canonical JSON differs from the provider's.
    let value = json!(934_972.130_433_420_1_f64);
    let opened = supervisor_check(value.clone()).expect("an honest record is accepted");
    assert_eq!(opened[0].value, value);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_finite_float_survives_the_supervisors_check(x in any::<f64>()) {
        prop_assume!(x.is_finite());
        let value = FieldValue::from(x);
        prop_assert!(supervisor_check(value).is_ok(), "{x:e} is refused");
    }
}
