//! Identity-key rotation on the state machine (DESIGN §4.10), with epochs of 64 blocks: a
//! `RotateIdentity` applied at h seats the new key from epoch(h) + 2, the organisation's key
//! changes at the end of last(epoch(h) + 1), the old key then signs nothing (`signer_rotated`)
//! and the new one signs; a bad proof of possession, a reused key, a second change while one is
//! pending, a suspended signer and a set too small for a quorum of continuing validators are
//! refused and change nothing.

mod common;

use common::*;
use custodia_protocol::{Body, Digest, OrgKeys, ProposalId, epochs, rotation};
use custodia_state::EventKind;

const L: u64 = 64;

/// The `RotateIdentity` of the organisation whose current keys are `current` to `new`'s key,
/// proved by `prover` (`new` itself for a valid proof) on `chain`.
fn rotate_body(chain: &Digest, current: &OrgKeys, new: &OrgKeys, prover: &OrgKeys) -> Body {
    Body::RotateIdentity {
        identity_key: new.identity_key(),
        proof: rotation::prove_possession(&prover.identity, chain, &current.identity_key()),
    }
}

fn rotate(c: &Consortium, org: usize, new: &OrgKeys) -> custodia_protocol::Tx {
    c.sign_as(org, rotate_body(&c.chain, &c.keys[org], new, new))
}

fn advance_to(c: &mut Consortium, height: u64) {
    while c.state.height() < height {
        c.apply(vec![]);
    }
}

/// A record by the holder of `keys` (member-a's current or former key).
fn record_by(c: &Consortium, keys: &OrgKeys) -> custodia_protocol::Tx {
    c.sign(
        keys,
        raw_submit(custodia_protocol::RecordId::random(), &["amount"], 64),
    )
}

#[test]
fn a_rotated_key_is_seated_two_epochs_on_and_signs_from_then_while_the_old_one_stops() {
    let mut c = Consortium::new();
    let new = OrgKeys::from_seed(50);
    advance_to(&mut c, 9);
    let applied = c.apply(vec![rotate(&c, MEMBER_A, &new)]);
    assert!(applied.receipts[0].is_ok(), "{:?}", applied.receipts[0]);
    let kinds: Vec<EventKind> = applied.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::IdentityKeyScheduled,
            EventKind::ValidatorSetScheduled
        ]
    );
    let first = epochs::first(2, L);
    assert!(
        applied.events[0]
            .detail
            .contains(&format!("from height {first} (epoch 2)")),
        "{:?}",
        applied.events[0]
    );
    // The sets: epoch 1 under the old key, epoch 2 on under the new one, at member-a's seat.
    let seat_of_a = |epoch| {
        c.state
            .queries()
            .validators(epoch)
            .unwrap()
            .into_iter()
            .find(|(id, _)| id.0 == MEMBER_A as u32)
            .map(|(_, key)| key)
    };
    assert_eq!(seat_of_a(1), Some(c.keys[MEMBER_A].identity_key()));
    assert_eq!(seat_of_a(2), Some(new.identity_key()));

    // In last(1), the old key signs and the new one does not yet; the end of that block makes
    // the new key the organisation's.
    advance_to(&mut c, first - 2);
    let applied = c.apply(vec![
        record_by(&c, &new),
        record_by(&c, &c.keys[MEMBER_A].clone()),
    ]);
    assert_eq!(applied.height, first - 1);
    let receipts = &applied.receipts;
    assert_eq!(receipts[0].code, "signer_rotated", "{:?}", receipts[0]);
    assert!(
        receipts[0].message.contains("next identity key"),
        "{:?}",
        receipts[0]
    );
    assert!(receipts[1].is_ok(), "{:?}", receipts[1]);
    assert!(
        applied
            .events
            .iter()
            .any(|e| e.kind == EventKind::OrgKeysRotated && e.detail.contains("identity key")),
        "{:?}",
        applied.events
    );
    let orgs = c.state.queries().orgs().unwrap();
    assert_eq!(orgs[MEMBER_A].identity_key, new.identity_key());
    // From first(2): the new key signs, the old one is refused and told which key to use.
    let old = c.keys[MEMBER_A].clone();
    let receipts = c
        .apply(vec![record_by(&c, &new), record_by(&c, &old)])
        .receipts;
    assert!(receipts[0].is_ok(), "{:?}", receipts[0]);
    assert_eq!(receipts[1].code, "signer_rotated", "{:?}", receipts[1]);
    assert!(
        receipts[1]
            .message
            .contains(&format!("until height {first}")),
        "{:?}",
        receipts[1]
    );
    // The key history keeps both, each from its height.
    let history: Vec<([u8; 32], u64)> = c
        .state
        .queries()
        .org_keys()
        .unwrap()
        .into_iter()
        .filter(|k| k.org.0 == MEMBER_A as u32 && k.kind == "identity")
        .map(|k| (k.key, k.from_height))
        .collect();
    let bytes = |keys: &OrgKeys| <[u8; 32]>::try_from(keys.identity_key().as_ref()).unwrap();
    assert_eq!(history, [(bytes(&old), 0), (bytes(&new), first)]);
}

#[test]
fn a_bad_proof_a_reused_key_and_a_suspended_signer_are_refused() {
    let mut c = Consortium::new();
    let new = OrgKeys::from_seed(60);
    // Proved by another secret, by the current key, or for another chain.
    let other = OrgKeys::from_seed(61);
    refused(
        &mut c,
        |c| {
            c.sign_as(
                MEMBER_A,
                rotate_body(&c.chain, &c.keys[MEMBER_A], &new, &other),
            )
        },
        "invalid_proof",
    );
    refused(
        &mut c,
        |c| {
            let current = c.keys[MEMBER_A].clone();
            c.sign_as(MEMBER_A, rotate_body(&c.chain, &current, &new, &current))
        },
        "invalid_proof",
    );
    let elsewhere = custodia_protocol::hash::sha256(&[b"another chain"]);
    refused(
        &mut c,
        |c| {
            c.sign_as(
                MEMBER_A,
                rotate_body(&elsewhere, &c.keys[MEMBER_A], &new, &new),
            )
        },
        "invalid_proof",
    );
    // Another organisation's key, even with its secret's proof; its own key.
    refused(
        &mut c,
        |c| {
            let b = c.keys[MEMBER_B].clone();
            c.sign_as(MEMBER_A, rotate_body(&c.chain, &c.keys[MEMBER_A], &b, &b))
        },
        "key_reused",
    );
    refused(
        &mut c,
        |c| {
            let a = c.keys[MEMBER_A].clone();
            c.sign_as(MEMBER_A, rotate_body(&c.chain, &a, &a, &a))
        },
        "key_reused",
    );
    // A suspended member rotates nothing.
    c.ok(c.sign_as(
        SUPERVISOR,
        Body::SetOrgStatus {
            org: custodia_protocol::OrgId(MEMBER_C as u32),
            active: false,
            reason: "audit".into(),
        },
    ));
    refused(&mut c, |c| rotate(c, MEMBER_C, &new), "signer_suspended");
}

#[test]
fn one_change_of_the_validators_at_a_time_and_a_key_is_never_reused() {
    let mut c = Consortium::new();
    let new = OrgKeys::from_seed(70);
    c.ok(rotate(&c, MEMBER_A, &new));
    // While it is pending: no second rotation, no membership change.
    refused(
        &mut c,
        |c| rotate(c, MEMBER_B, &OrgKeys::from_seed(71)),
        "membership_change_pending",
    );
    refused(
        &mut c,
        |c| {
            c.sign_as(
                MEMBER_B,
                propose(ProposalId::random(), remove(MEMBER_C), 100),
            )
        },
        "membership_change_pending",
    );
    // Once in effect: member-b may rotate, member-a may not go back to its old key, and no
    // newcomer may bring member-a's old key.
    advance_to(&mut c, epochs::last(1, L));
    let old = c.keys[MEMBER_A].clone();
    refused(
        &mut c,
        |c| c.sign(&new, rotate_body(&c.chain, &new, &old, &old)),
        "key_reused",
    );
    let (_, mut change) = newcomer(80, "member-d");
    if let custodia_protocol::Change::AddMember(org) = &mut change {
        org.identity_key = old.identity_key();
    }
    refused(
        &mut c,
        |c| c.sign_as(MEMBER_B, propose(ProposalId::random(), change, 100)),
        "org_exists",
    );
    c.ok(rotate(&c, MEMBER_B, &OrgKeys::from_seed(72)));
}

#[test]
fn a_rotation_among_three_validators_is_refused_no_continuing_quorum() {
    // 3 validators: the quorum of the new set is 3, and only 2 keys continue.
    let mut c = Consortium::of(3, short_epochs());
    refused(
        &mut c,
        |c| rotate(c, MEMBER_A, &OrgKeys::from_seed(90)),
        "no_continuing_quorum",
    );
    assert_eq!(c.state.queries().validator_changes().unwrap().len(), 1);
}
