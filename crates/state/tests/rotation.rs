//! `RotateKeys` (DESIGN §4.5, §6.6): an organisation replaces its encryption key, the state keeps
//! every key it had with the height it took effect, and from then on a seal must name the new
//! key. Every refusal has its code and changes nothing.

mod common;

use common::*;
use custodia_protocol::{Body, EncryptionKey, EncryptionSecret, OrgId, RecordId};
use custodia_state::EventKind;
use serde_json::json;

fn rotate(key: EncryptionKey) -> Body {
    Body::RotateKeys {
        encryption_key: key,
    }
}

/// Filler bytes whose seal header names `key`.
fn sealed_to_key(key: &EncryptionKey, bytes: usize) -> Vec<u8> {
    let mut sealed = vec![0x5A; bytes.max(32)];
    sealed[..32].copy_from_slice(&key.0);
    sealed
}

fn encryption_history(c: &Consortium, org: usize) -> Vec<([u8; 32], u64)> {
    c.state
        .queries()
        .org_keys()
        .unwrap()
        .into_iter()
        .filter(|k| k.org.0 as usize == org && k.kind == "encryption")
        .map(|k| (k.key, k.from_height))
        .collect()
}

#[test]
fn an_encryption_key_rotates_and_every_key_is_kept_with_its_height() {
    let mut c = Consortium::new();
    let first = c.keys[MEMBER_A].encryption_key();
    let second = EncryptionSecret::generate().public();
    let applied = c.apply(vec![c.sign_as(MEMBER_A, rotate(second))]);
    assert!(applied.receipts[0].is_ok(), "{:?}", applied.receipts[0]);
    let height = applied.height;
    let event = &applied.events[0];
    assert_eq!(event.kind, EventKind::OrgKeysRotated);
    assert_eq!(event.actor, Some(OrgId(MEMBER_A as u32)));
    assert!(event.detail.contains(&hex::encode(second.0)), "{event:?}");
    let orgs = c.state.queries().orgs().unwrap();
    assert_eq!(orgs[MEMBER_A].encryption_key, second);
    assert_eq!(
        orgs[MEMBER_B].encryption_key,
        c.keys[MEMBER_B].encryption_key()
    );
    assert_eq!(
        encryption_history(&c, MEMBER_A),
        vec![(first.0, 0), (second.0, height)]
    );
    // The history survives a restart (the in-memory organisations are read again).
    c.reopen();
    assert_eq!(
        c.state.queries().orgs().unwrap()[MEMBER_A].encryption_key,
        second
    );
}

#[test]
fn rotations_that_break_a_rule_are_refused_and_change_nothing() {
    let mut c = Consortium::new();
    let current = c.keys[MEMBER_A].encryption_key();
    let fresh = || EncryptionSecret::generate().public();
    // The current key, and a key the organisation had before.
    refused(
        &mut c,
        |c| c.sign_as(MEMBER_A, rotate(current)),
        "key_reused",
    );
    let next = fresh();
    let rotation = c.sign_as(MEMBER_A, rotate(next));
    c.ok(rotation.clone());
    refused(
        &mut c,
        |c| c.sign_as(MEMBER_A, rotate(current)),
        "key_reused",
    );
    // The same rotation again: the tx is a replay.
    refused(&mut c, |_| rotation, "duplicate_tx");
    // Nor may another organisation take a key that is or was A's: no two organisations share
    // an encryption key, as in the genesis.
    refused(
        &mut c,
        |c| c.sign_as(MEMBER_B, rotate(current)),
        "key_reused",
    );
    refused(&mut c, |c| c.sign_as(MEMBER_B, rotate(next)), "key_reused");
    // An outsider, and a suspended member.
    refused(
        &mut c,
        |c| c.sign(&outsider(), rotate(fresh())),
        "unknown_signer",
    );
    c.ok(c.set_status(MEMBER_C, false));
    refused(
        &mut c,
        |c| c.sign_as(MEMBER_C, rotate(fresh())),
        "signer_suspended",
    );
}

#[test]
fn after_a_rotation_a_seal_must_name_the_new_key() {
    let mut c = Consortium::new();
    // The requester rotates after its request was approved: the delivery must be sealed to
    // its new key.
    let accepted = c.accepted_record(MEMBER_B, &[("x", json!(1))]);
    let (request_id, body) = Consortium::request_body(&[accepted], &[]);
    c.ok(c.sign_as(MEMBER_C, body));
    c.apply(vec![
        c.decide(MEMBER_B, request_id, true),
        c.decide(SUPERVISOR, request_id, true),
    ]);
    let requester_old = c.keys[MEMBER_C].encryption_key();
    let requester_new = EncryptionSecret::generate().public();
    c.ok(c.sign_as(MEMBER_C, rotate(requester_new)));
    let deliver = |key: &EncryptionKey| Body::Deliver {
        request_id,
        sealed: sealed_to_key(key, 96).into(),
    };
    refused(
        &mut c,
        |c| c.sign_as(SUPERVISOR, deliver(&requester_old)),
        "wrong_encryption_key",
    );
    c.ok(c.sign_as(SUPERVISOR, deliver(&requester_new)));

    // The supervisor rotates: a record sealed to its old key is refused, to its new key taken.
    let old = c.keys[SUPERVISOR].encryption_key();
    let new = EncryptionSecret::generate().public();
    c.ok(c.sign_as(SUPERVISOR, rotate(new)));
    let submit = |record_id, key: &EncryptionKey| Body::SubmitRecord {
        record_id,
        kind: "claim".into(),
        tags: vec![],
        fields: vec!["x".into()],
        commitment: custodia_protocol::hash::sha256(&[b"x"]),
        sealed: sealed_to_key(key, 64).into(),
    };
    let record = RecordId::random();
    refused(
        &mut c,
        |c| c.sign_as(MEMBER_A, submit(record, &old)),
        "wrong_encryption_key",
    );
    c.ok(c.sign_as(MEMBER_A, submit(record, &new)));
}

// Two rotations by one organisation in one block: before, the second broke the key history's
// primary key (organisation, kind, height), the database refused the block and no node could
// apply it. Now both apply and the later one is the key.
#[test]
fn two_rotations_in_one_block_both_apply_and_the_later_one_is_the_key() {
    let mut c = Consortium::new();
    let (first, second) = (
        EncryptionSecret::generate().public(),
        EncryptionSecret::generate().public(),
    );
    let applied = c.apply(vec![
        c.sign_as(MEMBER_A, rotate(first)),
        c.sign_as(MEMBER_A, rotate(second)),
    ]);
    assert!(
        applied.receipts.iter().all(|r| r.is_ok()),
        "{:?}",
        applied.receipts
    );
    assert_eq!(
        c.state.queries().orgs().unwrap()[MEMBER_A].encryption_key,
        second
    );
    let history = encryption_history(&c, MEMBER_A);
    assert_eq!(history.len(), 3);
    assert_eq!(history[2].0, second.0);
    assert_eq!(history[1].1, history[2].1, "both from the block's height");
}
