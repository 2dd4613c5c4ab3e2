//! The validator set follows membership (DESIGN §3.2, §4.10) on the state machine, with epochs
//! of 64 blocks: a change enacted at h seats or unseats an organisation from epoch(h) + 2 and
//! its membership changes at the end of last(epoch(h) + 1); an addition that would leave the
//! continuing validators short of a quorum, or the set over `max_validators`, is refused; one
//! change at a time; suspension changes no set; `validators(e)` across several changes.

mod common;

use common::*;
use custodia_protocol::{IdentityKey, OrgId, Params, ProposalId, epochs};
use custodia_state::{EventKind, State};

const L: u64 = 64;

/// Applies empty blocks until the last applied height is `height`.
fn advance_to(c: &mut Consortium, height: u64) {
    assert!(c.state.height() <= height, "already past {height}");
    while c.state.height() < height {
        c.apply(vec![]);
    }
}

/// The validators of `epoch`, by name, in seat order.
fn names(c: &Consortium, epoch: u64) -> Vec<String> {
    let orgs = c.state.queries().orgs().unwrap();
    c.state
        .queries()
        .validators(epoch)
        .unwrap()
        .iter()
        .map(|(id, _)| orgs[id.0 as usize].name.clone())
        .collect()
}

/// `keys` sorted by their bytes: the order of consensus's `Set`.
fn by_bytes(mut keys: Vec<IdentityKey>) -> Vec<IdentityKey> {
    keys.sort_by(|a, b| a.as_ref().cmp(b.as_ref()));
    keys
}

fn genesis_keys(c: &Consortium) -> Vec<IdentityKey> {
    by_bytes(c.keys.iter().map(|k| k.identity_key()).collect())
}

/// Proposes `change` as member-a with the votes of member-b and the supervisor, in one block at
/// the next height: with three members that is enough to enact it. The proposal and the block's
/// events.
fn enact(
    c: &mut Consortium,
    change: custodia_protocol::Change,
) -> (ProposalId, Vec<custodia_state::Event>) {
    let id = ProposalId::random();
    let txs = vec![
        c.sign_as(MEMBER_A, propose(id, change, 1_000)),
        c.sign_as(MEMBER_B, vote(id, true, "")),
        c.sign_as(SUPERVISOR, vote(id, true, "")),
    ];
    let applied = c.apply(txs);
    for receipt in &applied.receipts {
        assert!(receipt.is_ok(), "{receipt:?}");
    }
    assert_eq!(status(c, &id), "enacted");
    (id, applied.events)
}

fn kinds(events: &[custodia_state::Event]) -> Vec<EventKind> {
    events.iter().map(|e| e.kind).collect()
}

#[test]
fn the_genesis_organisations_validate_from_epoch_0_in_key_order() {
    let c = Consortium::new();
    let queries = c.state.queries();
    let validators = queries.validators(0).unwrap();
    let keys: Vec<IdentityKey> = validators.iter().map(|(_, k)| k.clone()).collect();
    assert_eq!(keys, genesis_keys(&c));
    for (org, key) in &validators {
        assert_eq!(*key, c.keys[org.0 as usize].identity_key(), "seat of {org}");
    }
    assert_eq!(queries.validators(u64::MAX).unwrap(), validators);
    assert_eq!(queries.validator_changes().unwrap(), vec![(0, keys)]);
}

#[test]
fn an_addition_in_epoch_1_is_seated_from_epoch_3_and_admitted_at_the_end_of_epoch_2() {
    let mut c = Consortium::new();
    // Enacted in the middle of epoch 1.
    advance_to(&mut c, 99);
    let (keys, change) = newcomer(50, "member-d");
    let (id, events) = enact(&mut c, change);
    let h = c.state.height();
    assert_eq!((h, epochs::epoch_of(h, L)), (100, 1));
    let d = OrgId(4);
    let scheduled = events
        .iter()
        .find(|e| e.kind == EventKind::ValidatorSetScheduled)
        .expect("validator_set_scheduled");
    assert_eq!(scheduled.subject, Some(d));
    assert_eq!(scheduled.proposal_id, Some(id));
    assert_eq!(
        scheduled.detail,
        format!("from epoch 3: {}", names(&c, 3).join(", "))
    );
    assert_eq!(
        kinds(&events)[3..],
        [EventKind::ProposalEnacted, EventKind::ValidatorSetScheduled]
    );

    // The rows: from epoch 3, the four and the newcomer in key order; epochs 1 and 2 unchanged.
    let queries = c.state.queries();
    let mut five = genesis_keys(&c);
    five.push(keys.identity_key());
    let five = by_bytes(five);
    let four = genesis_keys(&c);
    let changes = queries.validator_changes().unwrap();
    assert_eq!(changes, vec![(0, four.clone()), (3, five.clone())]);
    for (epoch, expected) in [(1, &four), (2, &four), (3, &five), (9, &five)] {
        let keys: Vec<_> = queries
            .validators(epoch)
            .unwrap()
            .into_iter()
            .map(|(_, k)| k)
            .collect();
        assert_eq!(&keys, expected, "epoch {epoch}");
    }
    assert!(
        queries
            .validators(3)
            .unwrap()
            .contains(&(d, keys.identity_key())),
        "the newcomer sits under its id"
    );

    // Admitted until the end of last(2) = 191: from 192, the first block of epoch 3, it acts.
    let org = &c.state.queries().orgs().unwrap()[4];
    assert_eq!(
        (org.membership.as_str(), org.membership_height),
        ("admitted", 191)
    );
    let proposal = c.state.queries().proposal(&id).unwrap().expect("proposal");
    assert_eq!(proposal.effective_height, Some(191));
    advance_to(&mut c, 127);
    assert_eq!(
        kinds(&c.apply(vec![]).events),
        [],
        "the end of epoch 1 announces nothing: the set of epoch 2 is the genesis's"
    );
    advance_to(&mut c, 190);
    let effect = c.apply(vec![]);
    assert_eq!(
        kinds(&effect.events),
        [EventKind::MemberAdmitted, EventKind::ValidatorSetChanged]
    );
    assert_eq!(effect.events[1].detail, scheduled.detail);
    assert_eq!(effect.events[1].subject, None);
    assert!(!effect.schedules_validator_set());
    c.ok(c.sign(
        &keys,
        raw_submit(custodia_protocol::RecordId::random(), &["x"], 64),
    ));

    // The same after a restart.
    c.reopen();
    assert_eq!(c.state.queries().validator_changes().unwrap(), changes);
}

#[test]
fn a_removal_in_epoch_0_is_unseated_from_epoch_2_and_removed_at_the_end_of_epoch_1() {
    let mut c = Consortium::new();
    let (_, events) = enact(&mut c, remove(MEMBER_C));
    let h = c.state.height();
    assert_eq!(epochs::epoch_of(h, L), 0);
    let scheduled = events.last().expect("events");
    assert_eq!(scheduled.kind, EventKind::ValidatorSetScheduled);
    assert_eq!(scheduled.subject, Some(OrgId(MEMBER_C as u32)));
    let c_key = c.keys[MEMBER_C].identity_key();
    let without_c: Vec<IdentityKey> = genesis_keys(&c)
        .into_iter()
        .filter(|k| *k != c_key)
        .collect();
    assert_eq!(
        c.state.queries().validator_changes().unwrap(),
        vec![(0, genesis_keys(&c)), (2, without_c)]
    );
    assert_eq!(names(&c, 1).len(), 4);
    assert!(!names(&c, 2).contains(&"member-c".to_string()));
    // Leaving, it still validates epoch 1 and acts until the end of its last block.
    let org = &c.state.queries().orgs().unwrap()[MEMBER_C];
    assert_eq!(
        (org.membership.as_str(), org.membership_height),
        ("leaving", 127)
    );
    advance_to(&mut c, 126);
    c.ok(c.sign_as(
        MEMBER_C,
        raw_submit(custodia_protocol::RecordId::random(), &["x"], 64),
    ));
    assert_eq!(c.state.height(), 127);
    let org = &c.state.queries().orgs().unwrap()[MEMBER_C];
    assert_eq!(org.membership.as_str(), "removed");
}

#[test]
fn a_block_that_enacts_a_membership_change_schedules_a_validator_set() {
    let mut c = Consortium::new();
    let id = ProposalId::random();
    let open = c.apply(vec![
        c.sign_as(MEMBER_A, propose(id, remove(MEMBER_C), 100)),
    ]);
    assert!(!open.schedules_validator_set());
    let enacted = c.apply(vec![
        c.sign_as(MEMBER_B, vote(id, true, "")),
        c.sign_as(SUPERVISOR, vote(id, true, "")),
    ]);
    assert!(enacted.schedules_validator_set());
    // A parameter change schedules none.
    let id = ProposalId::random();
    let params = custodia_protocol::Change::ChangeParams(vec![(
        custodia_protocol::GovernedParam::MaxRequestTtl,
        500,
    )]);
    let applied = c.apply(vec![
        c.sign_as(MEMBER_A, propose(id, params, 100)),
        c.sign_as(MEMBER_B, vote(id, true, "")),
        c.sign_as(SUPERVISOR, vote(id, true, "")),
    ]);
    assert_eq!(status(&c, &id), "enacted");
    assert!(!applied.schedules_validator_set());
}

#[test]
fn an_addition_to_one_or_two_validators_is_refused_no_continuing_quorum() {
    // 2 → 3: the quorum of 3 is 3, and only 2 continue; 1 → 2: the quorum of 2 is 2.
    for orgs in [2, 1] {
        let mut c = Consortium::of(orgs, short_epochs());
        let (_, change) = newcomer(50, "member-d");
        refused(
            &mut c,
            |c| c.sign_as(SUPERVISOR, propose(ProposalId::random(), change, 100)),
            "no_continuing_quorum",
        );
        assert_eq!(c.state.queries().validator_changes().unwrap().len(), 1);
    }
    // 3 → 4: the quorum of 4 is 3, and 3 continue.
    let mut c = Consortium::of(3, short_epochs());
    let (_, change) = newcomer(50, "member-d");
    c.ok(c.sign_as(MEMBER_A, propose(ProposalId::random(), change, 100)));
}

#[test]
fn a_removal_always_leaves_a_continuing_quorum() {
    // 2 → 1: the supervisor proposes; with member-a not counted, its vote alone enacts.
    let mut c = Consortium::of(2, short_epochs());
    let id = ProposalId::random();
    c.ok(c.sign_as(SUPERVISOR, propose(id, remove(MEMBER_A), 100)));
    assert_eq!(status(&c, &id), "enacted");
    assert_eq!(names(&c, 2), ["supervisor"]);
}

#[test]
fn an_addition_over_max_validators_is_refused_too_many_validators() {
    let at_most = |max_validators| Params {
        max_validators,
        ..short_epochs()
    };
    let mut c = Consortium::with_params(at_most(4));
    let (_, change) = newcomer(50, "member-d");
    let add = change.clone();
    refused(
        &mut c,
        |c| c.sign_as(MEMBER_A, propose(ProposalId::random(), add, 100)),
        "too_many_validators",
    );
    // One more seat allowed: the same addition passes.
    let mut c = Consortium::with_params(at_most(5));
    enact(&mut c, change);
    assert_eq!(names(&c, 2).len(), 5);
}

#[test]
fn a_second_membership_change_is_refused_until_the_first_is_in_effect() {
    let mut c = Consortium::new();
    enact(&mut c, newcomer(50, "member-d").1);
    for change in [remove(MEMBER_C), newcomer(51, "member-e").1] {
        refused(
            &mut c,
            |c| c.sign_as(MEMBER_B, propose(ProposalId::random(), change, 100)),
            "membership_change_pending",
        );
    }
    // Still pending in the block that ends it: its txs run before the effect.
    advance_to(&mut c, 126);
    let last = c.apply_one(c.sign_as(
        MEMBER_B,
        propose(ProposalId::random(), remove(MEMBER_C), 100),
    ));
    assert_eq!(
        (last.height, last.code.as_str()),
        (127, "membership_change_pending")
    );
    enact(&mut c, remove(MEMBER_C));
    let from: Vec<u64> = c
        .state
        .queries()
        .validator_changes()
        .unwrap()
        .iter()
        .map(|(from, _)| *from)
        .collect();
    assert_eq!(from, [0, 2, 4]);
}

#[test]
fn a_suspended_member_keeps_its_seat() {
    let mut c = Consortium::new();
    let before = c.state.queries().validator_changes().unwrap();
    let suspension = c.apply(vec![c.set_status(MEMBER_C, false)]);
    assert!(!suspension.schedules_validator_set());
    advance_to(&mut c, 2 * L);
    assert_eq!(c.state.queries().validator_changes().unwrap(), before);
    // A change enacted meanwhile keeps it seated: suspension is not membership.
    enact(&mut c, newcomer(50, "member-d").1);
    let seated = names(&c, 4);
    assert_eq!(seated.len(), 5);
    assert!(seated.contains(&"member-c".to_string()), "{seated:?}");
}

#[test]
fn validators_of_each_epoch_follow_several_changes() {
    let mut c = Consortium::new();
    enact(&mut c, newcomer(50, "member-d").1); // h = 1, epoch 0: from epoch 2
    advance_to(&mut c, 127);
    advance_to(&mut c, 140);
    enact(&mut c, remove(MEMBER_C)); // h = 141, epoch 2: from epoch 4
    advance_to(&mut c, epochs::effect_height(141, L));
    advance_to(&mut c, 5 * L + 10);
    enact(&mut c, newcomer(51, "member-e").1); // epoch 5: from epoch 7
    let genesis = ["supervisor", "member-a", "member-b", "member-c"];
    let sorted = |names: &[&str]| {
        let orgs = c.state.queries().orgs().unwrap();
        let mut seats: Vec<(IdentityKey, String)> = names
            .iter()
            .map(|n| {
                let org = orgs.iter().find(|o| o.name == *n).expect("org");
                (org.identity_key.clone(), org.name.clone())
            })
            .collect();
        seats.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        seats.into_iter().map(|(_, n)| n).collect::<Vec<_>>()
    };
    let with_d = sorted(&["supervisor", "member-a", "member-b", "member-c", "member-d"]);
    let without_c = sorted(&["supervisor", "member-a", "member-b", "member-d"]);
    let with_e = sorted(&["supervisor", "member-a", "member-b", "member-d", "member-e"]);
    let expected = [
        (0, sorted(&genesis)),
        (1, sorted(&genesis)),
        (2, with_d.clone()),
        (3, with_d),
        (4, without_c.clone()),
        (5, without_c.clone()),
        (6, without_c),
        (7, with_e.clone()),
        (100, with_e),
    ];
    for (epoch, seated) in expected {
        assert_eq!(names(&c, epoch), seated, "epoch {epoch}");
    }
    let from: Vec<u64> = c
        .state
        .queries()
        .validator_changes()
        .unwrap()
        .iter()
        .map(|(from, _)| *from)
        .collect();
    assert_eq!(from, [0, 2, 4, 7]);

    // Each organisation's epochs, as `GET /v1/orgs` shows them.
    let epochs = c.state.queries().validator_epochs().unwrap();
    let orgs = c.state.queries().orgs().unwrap();
    let of = |name: &str| {
        let org = orgs.iter().find(|o| o.name == name).expect("org");
        epochs.get(&org.id).map(|e| (e.from, e.until))
    };
    assert_eq!(of("supervisor"), Some((0, None)));
    assert_eq!(of("member-c"), Some((0, Some(3))));
    assert_eq!(of("member-d"), Some((2, None)));
    assert_eq!(of("member-e"), Some((7, None)));
    assert_eq!(epochs.len(), 6);
}

/// The rules are checked again at enactment. With one change at a time the set cannot change
/// under an open proposal, so this state is made by writing the database directly: the set of
/// epoch 1 becomes the supervisor alone after an addition was proposed. The deciding vote
/// applies, and the proposal is rejected with the reason rather than left open.
#[test]
fn an_addition_the_rules_refuse_at_enactment_is_rejected_with_the_reason() {
    let mut c = Consortium::new();
    let id = ProposalId::random();
    c.ok(c.sign_as(MEMBER_A, propose(id, newcomer(50, "member-d").1, 100)));
    let db = rusqlite::Connection::open(c.db_path()).unwrap();
    db.execute(
        "INSERT INTO validator_sets (from_epoch, seat, org, identity_key, height)
         VALUES (1, 0, 0, ?1, 0)",
        [c.keys[SUPERVISOR].identity_key().as_ref()],
    )
    .unwrap();
    drop(db);
    let applied = c.apply(vec![
        c.sign_as(MEMBER_B, vote(id, true, "")),
        c.sign_as(SUPERVISOR, vote(id, true, "")),
    ]);
    assert!(applied.receipts.iter().all(|r| r.is_ok()), "{applied:?}");
    assert_eq!(status(&c, &id), "rejected");
    let rejected = applied.events.last().expect("events");
    assert_eq!(rejected.kind, EventKind::ProposalRejected);
    assert!(
        rejected.detail.contains("no_continuing_quorum"),
        "{rejected:?}"
    );
    assert!(!applied.schedules_validator_set());
    assert_eq!(c.state.queries().orgs().unwrap().len(), 4);
}

/// A change is refused while a set is scheduled from the epoch it would start or later. One
/// change at a time rules that out, so the state is written by hand: a set from epoch 2.
#[test]
fn a_change_is_refused_while_a_set_is_scheduled_from_its_epoch() {
    let mut c = Consortium::new();
    let db = rusqlite::Connection::open(c.db_path()).unwrap();
    db.execute(
        "INSERT INTO validator_sets (from_epoch, seat, org, identity_key, height)
         SELECT 2, seat, org, identity_key, 1 FROM validator_sets WHERE from_epoch = 0",
        [],
    )
    .unwrap();
    drop(db);
    refused(
        &mut c,
        |c| {
            c.sign_as(
                MEMBER_A,
                propose(ProposalId::random(), remove(MEMBER_C), 100),
            )
        },
        "membership_change_pending",
    );
    // In epoch 1 a change would start at epoch 3: allowed.
    advance_to(&mut c, L - 1);
    enact(&mut c, remove(MEMBER_C));
    let from: Vec<u64> = c
        .state
        .queries()
        .validator_changes()
        .unwrap()
        .iter()
        .map(|(from, _)| *from)
        .collect();
    assert_eq!(from, [0, 2, 3]);
}

#[test]
fn a_state_database_of_an_earlier_schema_version_is_refused_naming_the_version() {
    let mut c = Consortium::new();
    c.apply(vec![]);
    let db = rusqlite::Connection::open(c.db_path()).unwrap();
    db.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
        [3i64.to_be_bytes()],
    )
    .unwrap();
    drop(db);
    let Err(error) = State::open(&c.db_path(), &c.genesis) else {
        panic!("a version 3 database opened");
    };
    let message = error.to_string();
    assert!(
        message.contains("schema version 3") && message.contains("version 5"),
        "{message}"
    );
}
