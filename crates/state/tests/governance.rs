//! Proposals and votes (DESIGN §4.10) on the state machine: a proposal enacted with exactly its
//! quorum, one short that expires and changes nothing, rejections, a member admitted and one
//! removed with what happens to its requests, and the authorization matrix of `Propose` and
//! `Vote`. Consortium: the supervisor and members A, B, C; more than 50% of the members needed.

mod common;

use common::*;
use custodia_protocol::{
    Body, Change, GovernedParam, OrgId, ProposalId, RecordId, RequestId, epochs,
};
use custodia_state::{EventKind, RequestStatus};
use serde_json::json;

fn request_ttl(value: u64) -> Change {
    Change::ChangeParams(vec![(GovernedParam::MaxRequestTtl, value)])
}

/// Applies the txs `txs` makes in one block; each must succeed. The block's event kinds.
fn kinds(
    c: &mut Consortium,
    txs: impl FnOnce(&Consortium) -> Vec<custodia_protocol::Tx>,
) -> Vec<EventKind> {
    let txs = txs(c);
    let applied = c.apply(txs);
    for receipt in &applied.receipts {
        assert!(receipt.is_ok(), "{receipt:?}");
    }
    applied.events.iter().map(|e| e.kind).collect()
}

#[test]
fn a_parameter_change_is_enacted_with_exactly_its_quorum() {
    let mut c = Consortium::new();
    let id = ProposalId::random();
    // A proposes (its vote for), the supervisor votes for: 1 of 3 members is not more than half.
    let events = kinds(&mut c, |c| {
        vec![
            c.sign_as(MEMBER_A, propose(id, request_ttl(500), 100)),
            c.sign_as(SUPERVISOR, vote(id, true, "")),
        ]
    });
    assert_eq!(
        events,
        [EventKind::ProposalCreated, EventKind::ProposalVoted]
    );
    assert_eq!(status(&c, &id), "open");
    assert_eq!(c.state.params().max_request_ttl, 100_000);
    // B makes it 2 of 3: enacted, in effect at once.
    let events = kinds(&mut c, |c| {
        vec![c.sign_as(MEMBER_B, vote(id, true, "fine"))]
    });
    assert_eq!(
        events,
        [EventKind::ProposalVoted, EventKind::ProposalEnacted]
    );
    assert_eq!(status(&c, &id), "enacted");
    assert_eq!(c.state.params().max_request_ttl, 500);
    assert_eq!(c.state.queries().params().unwrap().max_request_ttl, 500);
    // The new bound holds, and survives a restart.
    c.reopen();
    assert_eq!(c.state.params().max_request_ttl, 500);
    let record = c.accepted_record(MEMBER_A, &[("x", json!(1))]);
    refused(
        &mut c,
        |c| {
            c.sign_as(
                MEMBER_B,
                request_share(RequestId::random(), &[record], &[], "audit", 501),
            )
        },
        "invalid_request",
    );
    c.ok(c.sign_as(
        MEMBER_B,
        request_share(RequestId::random(), &[record], &[], "audit", 500),
    ));
    // C's late vote finds it closed.
    refused(
        &mut c,
        |c| c.sign_as(MEMBER_C, vote(id, true, "")),
        "proposal_closed",
    );
}

#[test]
fn a_proposal_one_vote_short_expires_and_changes_nothing() {
    let mut c = Consortium::new();
    let id = ProposalId::random();
    let before = c.state.params().to_owned();
    kinds(&mut c, |c| {
        vec![
            c.sign_as(MEMBER_A, propose(id, request_ttl(7), 3)),
            c.sign_as(SUPERVISOR, vote(id, true, "")),
        ]
    });
    c.apply(vec![]);
    c.apply(vec![]);
    let last = c.apply(vec![]);
    assert_eq!(
        last.events.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [EventKind::ProposalExpired]
    );
    assert_eq!(last.events[0].proposal_id, Some(id));
    assert_eq!(status(&c, &id), "expired");
    assert_eq!(*c.state.params(), before);
    refused(
        &mut c,
        |c| c.sign_as(MEMBER_B, vote(id, true, "")),
        "proposal_closed",
    );
}

#[test]
fn a_proposal_is_rejected_once_its_quorum_is_out_of_reach() {
    let mut c = Consortium::new();
    // Two of three members against: at most one could be for.
    let id = ProposalId::random();
    let events = kinds(&mut c, |c| {
        vec![
            c.sign_as(MEMBER_A, propose(id, request_ttl(9), 100)),
            c.sign_as(MEMBER_B, vote(id, false, "too short")),
        ]
    });
    assert_eq!(events.last(), Some(&EventKind::ProposalVoted));
    let events = kinds(&mut c, |c| vec![c.sign_as(MEMBER_C, vote(id, false, "no"))]);
    assert_eq!(events.last(), Some(&EventKind::ProposalRejected));
    assert_eq!(status(&c, &id), "rejected");
    // The supervisor against: rejected at once.
    let id = ProposalId::random();
    kinds(&mut c, |c| {
        vec![c.sign_as(MEMBER_A, propose(id, request_ttl(9), 100))]
    });
    let events = kinds(&mut c, |c| {
        vec![c.sign_as(SUPERVISOR, vote(id, false, "not now"))]
    });
    assert_eq!(events.last(), Some(&EventKind::ProposalRejected));
    assert_eq!(c.state.params().max_request_ttl, 100_000);
}

#[test]
fn an_added_member_is_admitted_then_acts_once_in_effect() {
    let mut c = Consortium::new();
    let (keys, change) = newcomer(50, "member-d");
    let id = ProposalId::random();
    kinds(&mut c, |c| {
        vec![
            c.sign_as(MEMBER_A, propose(id, change, 100)),
            c.sign_as(MEMBER_B, vote(id, true, "")),
            c.sign_as(SUPERVISOR, vote(id, true, "")),
        ]
    });
    let enacted_at = c.state.height();
    // In effect at the end of the last block of the next epoch: from the epoch its votes count.
    let effective = epochs::effect_height(enacted_at, c.genesis.params.epoch_length);
    assert_eq!(effective, 127);
    let orgs = c.state.queries().orgs().unwrap();
    let d = orgs
        .iter()
        .find(|o| o.name == "member-d")
        .expect("member-d");
    assert_eq!(d.id, OrgId(4));
    assert_eq!(d.membership.as_str(), "admitted");
    assert_eq!(d.membership_height, effective);
    refused(
        &mut c,
        |c| c.sign(&keys, raw_submit(RecordId::random(), &["x"], 64)),
        "signer_not_admitted",
    );
    // A second membership change waits until this one is in effect.
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
    while c.state.height() < effective - 1 {
        c.apply(vec![]);
    }
    let effect = c.apply(vec![]);
    assert_eq!(effect.events[0].kind, EventKind::MemberAdmitted);
    let admitted = c.state.queries().orgs().unwrap();
    let admitted = admitted
        .iter()
        .find(|o| o.identity_key == keys.identity_key())
        .expect("the admitted org");
    assert_eq!(effect.events[0].subject, Some(admitted.id));
    c.ok(c.sign(&keys, raw_submit(RecordId::random(), &["x"], 64)));
    // Now counted: three of four members are needed.
    let id = ProposalId::random();
    kinds(&mut c, |c| {
        vec![
            c.sign(&keys, propose(id, request_ttl(50), 100)),
            c.sign_as(SUPERVISOR, vote(id, true, "")),
            c.sign_as(MEMBER_A, vote(id, true, "")),
        ]
    });
    assert_eq!(status(&c, &id), "open", "2 of 4 is not more than half");
    kinds(&mut c, |c| vec![c.sign_as(MEMBER_B, vote(id, true, ""))]);
    assert_eq!(status(&c, &id), "enacted");
}

#[test]
fn a_removed_member_leaves_its_requests_closed_and_signs_nothing() {
    let mut c = Consortium::new();
    let rec_a = c.accepted_record(MEMBER_A, &[("x", json!(1))]);
    let rec_c = c.accepted_record(MEMBER_C, &[("x", json!(2))]);
    // C asks for A's record; B asks for C's (C must decide). Both outlive the removal's effect.
    let by_c = RequestId::random();
    c.ok(c.sign_as(MEMBER_C, request_share(by_c, &[rec_a], &[], "audit", 500)));
    let to_c = RequestId::random();
    c.ok(c.sign_as(MEMBER_B, request_share(to_c, &[rec_c], &[], "audit", 500)));

    let id = ProposalId::random();
    c.ok(c.sign_as(MEMBER_A, propose(id, remove(MEMBER_C), 100)));
    refused(
        &mut c,
        |c| c.sign_as(MEMBER_C, vote(id, false, "I object")),
        "own_removal",
    );
    // C is not counted: A and B are two of two.
    kinds(&mut c, |c| {
        vec![
            c.sign_as(MEMBER_B, vote(id, true, "")),
            c.sign_as(SUPERVISOR, vote(id, true, "")),
        ]
    });
    assert_eq!(status(&c, &id), "enacted");
    let enacted_at = c.state.height();
    let orgs = c.state.queries().orgs().unwrap();
    assert_eq!(orgs[MEMBER_C].membership.as_str(), "leaving");
    // Leaving, C still acts until the removal is in effect.
    c.ok(c.sign_as(MEMBER_C, raw_submit(RecordId::random(), &["x"], 64)));
    let effective = orgs[MEMBER_C].membership_height;
    assert_eq!(
        effective,
        epochs::effect_height(enacted_at, c.genesis.params.epoch_length)
    );
    while c.state.height() < effective - 1 {
        c.apply(vec![]);
    }
    let effect = c.apply(vec![]);
    let kinds: Vec<_> = effect.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::MemberRemoved,
            EventKind::RequestCancelled,
            EventKind::RequestRejected,
            EventKind::ValidatorSetChanged,
        ]
    );
    let request = |id| c.state.queries().request(&id).unwrap().unwrap();
    assert_eq!(request(by_c).status, RequestStatus::Cancelled);
    let rejected = request(to_c);
    assert_eq!(rejected.status, RequestStatus::Rejected);
    assert!(
        rejected
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("member-c was removed"),
        "{rejected:?}"
    );
    // Removed: every tx refused; its records stay, and can no longer be requested.
    refused(
        &mut c,
        |c| c.sign_as(MEMBER_C, raw_submit(RecordId::random(), &["x"], 64)),
        "signer_removed",
    );
    refused(
        &mut c,
        |c| c.sign_as(MEMBER_C, Body::Cancel { request_id: by_c }),
        "signer_removed",
    );
    assert!(c.state.queries().record(&rec_c).unwrap().is_some());
    refused(
        &mut c,
        |c| {
            c.sign_as(
                MEMBER_B,
                request_share(RequestId::random(), &[rec_c], &[], "audit", 10),
            )
        },
        "provider_removed",
    );
    refused(&mut c, |c| c.set_status(MEMBER_C, false), "org_removed");
}

#[test]
fn proposals_and_votes_that_break_a_rule_are_refused_and_change_nothing() {
    let mut c = Consortium::new();
    let open = ProposalId::random();
    c.ok(c.sign_as(MEMBER_A, propose(open, request_ttl(10), 100)));
    let expired = ProposalId::random();
    c.ok(c.sign_as(MEMBER_A, propose(expired, request_ttl(11), 1)));
    c.ok(c.set_status(MEMBER_C, false));
    let (_, add_a) = newcomer(60, "member-a");
    let (_, add_d) = newcomer(61, "member-d");
    let mut taken_key = newcomer(62, "member-e").1;
    if let Change::AddMember(org) = &mut taken_key {
        org.identity_key = c.keys[MEMBER_B].identity_key();
    }
    let mut taken_encryption = newcomer(63, "member-f").1;
    if let Change::AddMember(org) = &mut taken_encryption {
        org.encryption_key = c.keys[MEMBER_A].encryption_key();
    }
    let cases: Vec<(&str, usize, Body, &str)> = vec![
        (
            "suspended member proposes",
            MEMBER_C,
            propose(ProposalId::random(), request_ttl(5), 10),
            "signer_suspended",
        ),
        (
            "suspended member votes",
            MEMBER_C,
            vote(open, true, ""),
            "signer_suspended",
        ),
        (
            "proposer votes again",
            MEMBER_A,
            vote(open, true, ""),
            "already_voted",
        ),
        (
            "vote on an unknown proposal",
            MEMBER_B,
            vote(ProposalId::random(), true, ""),
            "proposal_not_found",
        ),
        (
            "vote on an expired proposal",
            MEMBER_B,
            vote(expired, true, ""),
            "proposal_closed",
        ),
        (
            "vote against without a reason",
            MEMBER_B,
            vote(open, false, " "),
            "reason_required",
        ),
        (
            "proposal id reused",
            MEMBER_B,
            propose(open, request_ttl(5), 10),
            "proposal_exists",
        ),
        (
            "ttl 0",
            MEMBER_B,
            propose(ProposalId::random(), request_ttl(5), 0),
            "invalid_proposal",
        ),
        (
            "ttl over max_proposal_ttl",
            MEMBER_B,
            propose(ProposalId::random(), request_ttl(5), 100_001),
            "invalid_proposal",
        ),
        (
            "a parameter out of range",
            MEMBER_B,
            propose(
                ProposalId::random(),
                Change::ChangeParams(vec![(GovernedParam::GovernancePercent, 100)]),
                10,
            ),
            "invalid_proposal",
        ),
        (
            "a parameter set twice",
            MEMBER_B,
            propose(
                ProposalId::random(),
                Change::ChangeParams(vec![
                    (GovernedParam::MaxRequestTtl, 5),
                    (GovernedParam::MaxRequestTtl, 6),
                ]),
                10,
            ),
            "invalid_proposal",
        ),
        (
            "no parameter",
            MEMBER_B,
            propose(ProposalId::random(), Change::ChangeParams(vec![]), 10),
            "invalid_proposal",
        ),
        (
            "remove the supervisor",
            MEMBER_B,
            propose(ProposalId::random(), remove(SUPERVISOR), 10),
            "cannot_remove_supervisor",
        ),
        (
            "remove an unknown org",
            MEMBER_B,
            propose(ProposalId::random(), remove(99), 10),
            "org_not_found",
        ),
        (
            "add a taken name",
            MEMBER_B,
            propose(ProposalId::random(), add_a, 10),
            "org_exists",
        ),
        (
            "add a taken identity key",
            MEMBER_B,
            propose(ProposalId::random(), taken_key, 10),
            "org_exists",
        ),
        (
            "add a taken encryption key",
            MEMBER_B,
            propose(ProposalId::random(), taken_encryption, 10),
            "org_exists",
        ),
    ];
    for (name, signer, body, code) in cases {
        eprintln!("case: {name}");
        refused(&mut c, |c| c.sign_as(signer, body), code);
    }
    refused(
        &mut c,
        |c| {
            c.sign(
                &outsider(),
                propose(ProposalId::random(), request_ttl(5), 10),
            )
        },
        "unknown_signer",
    );
    refused(
        &mut c,
        |c| c.sign(&outsider(), vote(open, true, "")),
        "unknown_signer",
    );
    // One membership change at a time: a second, while the first is open.
    c.ok(c.sign_as(MEMBER_B, propose(ProposalId::random(), add_d, 10)));
    refused(
        &mut c,
        |c| {
            c.sign_as(
                MEMBER_A,
                propose(ProposalId::random(), remove(MEMBER_B), 10),
            )
        },
        "membership_change_pending",
    );
}
