//! `Propose` and `Vote` (DESIGN §4.10): who may propose and vote, the tally at each vote against
//! the members who act at that height, enactment, and the end-of-block expiry of proposals.

use super::{
    Ctx, Fail,
    membership::{admit, set_membership},
    reject, validators,
};
use crate::{
    event::{Event, EventKind},
    orgs::Membership,
    receipt::Code,
};
use commonware_codec::Encode as _;
use custodia_protocol::{
    Change, GenesisOrg, OrgId, ProposalId, Role, epochs, governance::describe, params::MAX_ORGS,
};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn propose(
    ctx: &mut Ctx<'_>,
    proposal_id: &ProposalId,
    change: &Change,
    ttl: u64,
) -> Result<(), Fail> {
    ctx.require_active("propose changes")?;
    let proposer = ctx.signer_org()?.id;
    let exists: Option<i64> = ctx
        .conn
        .prepare_cached("SELECT 1 FROM proposals WHERE proposal_id = ?1")?
        .query_row([&proposal_id.0[..]], |r| r.get(0))
        .optional()?;
    if exists.is_some() {
        return reject(
            Code::ProposalExists,
            format!("proposal {proposal_id} already exists"),
        );
    }
    if ttl == 0 || ttl > ctx.params.max_proposal_ttl {
        return reject(
            Code::InvalidProposal,
            format!(
                "ttl must be 1 to {} blocks (max_proposal_ttl), found {ttl}",
                ctx.params.max_proposal_ttl
            ),
        );
    }
    let target = check_change(ctx, change)?;
    if change.is_membership() {
        membership_change_pending(ctx)?;
        validators::next_set(ctx, change)?;
    }
    let description = describe(change, |id| name_of(ctx, id));
    ctx.conn
        .prepare_cached(
            "INSERT INTO proposals (proposal_id, proposer, kind, change, description, target, ttl,
                 created_height, expires_height, status, status_height, effective_height, create_tx)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'open', ?8, NULL, ?10)",
        )?
        .execute(params![
            &proposal_id.0[..],
            proposer.0 as i64,
            change.name(),
            change.encode().to_vec(),
            description,
            target.map(|t| t.0 as i64),
            ttl as i64,
            ctx.height as i64,
            ctx.height.saturating_add(ttl) as i64,
            ctx.tx_id.as_ref(),
        ])?;
    ctx.emit_proposal(
        EventKind::ProposalCreated,
        target,
        *proposal_id,
        description,
    );
    record_vote(ctx, proposal_id, proposer, true, "proposed")?;
    tally(ctx, proposal_id, change, target)
}

pub(super) fn vote(
    ctx: &mut Ctx<'_>,
    proposal_id: &ProposalId,
    approve: bool,
    reason: &str,
) -> Result<(), Fail> {
    ctx.require_active("vote on proposals")?;
    let voter = ctx.signer_org()?.id;
    let row: Option<(Vec<u8>, Option<i64>, String)> = ctx
        .conn
        .prepare_cached("SELECT change, target, status FROM proposals WHERE proposal_id = ?1")?
        .query_row([&proposal_id.0[..]], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let Some((change, target, status)) = row else {
        return reject(Code::ProposalNotFound, format!("no proposal {proposal_id}"));
    };
    if status != "open" {
        return reject(
            Code::ProposalClosed,
            format!("proposal {proposal_id} is {status}, no longer open for votes"),
        );
    }
    let change = decode_change(&change)?;
    let target = target.map(|t| OrgId(t as u32));
    if matches!(change, Change::RemoveMember { org } if org == voter) {
        return reject(
            Code::OwnRemoval,
            format!("proposal {proposal_id} removes you: the member it names does not vote on it"),
        );
    }
    let voted: Option<i64> = ctx
        .conn
        .prepare_cached("SELECT approve FROM proposal_votes WHERE proposal_id = ?1 AND org = ?2")?
        .query_row(params![&proposal_id.0[..], voter.0 as i64], |r| r.get(0))
        .optional()?;
    if let Some(previous) = voted {
        let previous = if previous != 0 { "for" } else { "against" };
        return reject(
            Code::AlreadyVoted,
            format!("you already voted on {proposal_id} ({previous})"),
        );
    }
    if !approve && reason.trim().is_empty() {
        return reject(Code::ReasonRequired, "a vote against needs a reason");
    }
    record_vote(ctx, proposal_id, voter, approve, reason)?;
    let verdict = if approve { "for" } else { "against" };
    let detail = if reason.trim().is_empty() {
        verdict.to_string()
    } else {
        format!("{verdict}: {reason}")
    };
    ctx.emit_proposal(EventKind::ProposalVoted, target, *proposal_id, detail);
    tally(ctx, proposal_id, &change, target)
}

/// Checks `change` against the state; the organisation it concerns, if it exists already.
fn check_change(ctx: &Ctx<'_>, change: &Change) -> Result<Option<OrgId>, Fail> {
    match change {
        Change::AddMember(org) => {
            check_new_member(ctx, org)?;
            Ok(None)
        }
        Change::RemoveMember { org } => {
            let Some(target) = ctx.orgs.by_id(*org) else {
                return reject(Code::OrgNotFound, format!("no organisation with id {org}"));
            };
            if target.role == Role::Supervisor {
                return reject(
                    Code::CannotRemoveSupervisor,
                    "the supervisor cannot be removed",
                );
            }
            if target.membership != Membership::Member {
                return reject(
                    Code::InvalidProposal,
                    format!(
                        "{} is {}, not a member that can be removed",
                        target.name,
                        target.membership.as_str()
                    ),
                );
            }
            Ok(Some(*org))
        }
        Change::ChangeParams(changes) => {
            if changes.is_empty() {
                return reject(
                    Code::InvalidProposal,
                    "a parameter change sets at least one",
                );
            }
            let mut seen = BTreeSet::new();
            for (param, value) in changes {
                if !seen.insert(*param) {
                    return reject(
                        Code::InvalidProposal,
                        format!("{param} is set more than once"),
                    );
                }
                let range = param.range();
                if !range.contains(value) {
                    return reject(
                        Code::InvalidProposal,
                        format!(
                            "{param} must be {} to {} {}, found {value}",
                            range.start(),
                            range.end(),
                            param.unit()
                        ),
                    );
                }
            }
            Ok(None)
        }
    }
}

fn check_new_member(ctx: &Ctx<'_>, org: &GenesisOrg) -> Result<(), Fail> {
    if org.role != Role::Member {
        return reject(
            Code::InvalidProposal,
            "an added organisation is a member: the consortium has one supervisor",
        );
    }
    if let Err(err) = org.validate("") {
        return reject(Code::InvalidProposal, err.to_string());
    }
    if let Some(taken) = ctx
        .orgs
        .iter()
        .find(|o| o.name == org.name || o.identity_key == org.identity_key)
    {
        let what = if taken.name == org.name {
            "name"
        } else {
            "identity key"
        };
        return reject(
            Code::OrgExists,
            format!(
                "organisation {} ({}) already has this {what}",
                taken.name,
                taken.membership.as_str()
            ),
        );
    }
    if let Some((owner, _)) = super::org::encryption_key_owner(ctx, &org.encryption_key)? {
        return reject(
            Code::OrgExists,
            format!(
                "organisation {} has or had this encryption key: the new member needs its own",
                name_of(ctx, owner)
            ),
        );
    }
    if let Some((owner, _)) = super::identity::key_owner(ctx, &org.identity_key)? {
        return reject(
            Code::OrgExists,
            format!(
                "organisation {} has or had this identity key: the new member needs its own",
                name_of(ctx, owner)
            ),
        );
    }
    if ctx.orgs.iter().count() >= MAX_ORGS {
        return reject(
            Code::InvalidProposal,
            format!("the chain has the most organisations it may ({MAX_ORGS})"),
        );
    }
    Ok(())
}

/// At most one change of the validators is pending at a time: a membership change open, or
/// enacted and not yet in effect, or an identity rotation not yet in effect.
pub(super) fn membership_change_pending(ctx: &Ctx<'_>) -> Result<(), Fail> {
    let open: Option<Vec<u8>> = ctx
        .conn
        .prepare_cached(
            "SELECT proposal_id FROM proposals
             WHERE status = 'open' AND kind IN ('add_member', 'remove_member') LIMIT 1",
        )?
        .query_row([], |r| r.get(0))
        .optional()?;
    if let Some(id) = open {
        let id = ProposalId::from_slice(&id).map_or_else(|| hex::encode(&id), |id| id.to_string());
        return reject(
            Code::MembershipChangePending,
            format!("membership change {id} is still open: one membership change at a time"),
        );
    }
    if let Some(org) = ctx
        .orgs
        .iter()
        .find(|o| matches!(o.membership, Membership::Admitted | Membership::Leaving))
    {
        return reject(
            Code::MembershipChangePending,
            format!(
                "{} is {} until height {}: one membership change at a time",
                org.name,
                org.membership.as_str(),
                org.membership_height
            ),
        );
    }
    if let Some((name, from_height)) = super::identity::pending(ctx)? {
        return reject(
            Code::MembershipChangePending,
            format!(
                "{name}'s new identity key takes effect at height {from_height}: one change of \
                 the validators at a time"
            ),
        );
    }
    Ok(())
}

fn record_vote(
    ctx: &Ctx<'_>,
    proposal_id: &ProposalId,
    org: OrgId,
    approve: bool,
    reason: &str,
) -> rusqlite::Result<()> {
    ctx.conn
        .prepare_cached(
            "INSERT INTO proposal_votes (proposal_id, org, approve, reason, height, tx_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            &proposal_id.0[..],
            org.0 as i64,
            approve,
            reason,
            ctx.height as i64,
            ctx.tx_id.as_ref()
        ])?;
    Ok(())
}

/// Counts the votes against the members who act now (active, not suspended, the member a
/// removal names excluded): enacts the proposal once the supervisor and more than
/// `governance_percent` of them approve, rejects it once that can no longer happen.
fn tally(
    ctx: &mut Ctx<'_>,
    proposal_id: &ProposalId,
    change: &Change,
    target: Option<OrgId>,
) -> Result<(), Fail> {
    let votes: BTreeMap<u32, bool> = ctx
        .conn
        .prepare_cached("SELECT org, approve FROM proposal_votes WHERE proposal_id = ?1")?
        .query_map([&proposal_id.0[..]], |r| {
            Ok((r.get::<_, i64>(0)? as u32, r.get::<_, bool>(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let supervisor = ctx.supervisor()?.id;
    let counted: Vec<OrgId> = ctx
        .orgs
        .iter()
        .filter(|o| o.role == Role::Member && o.acts() && Some(o.id) != target)
        .map(|o| o.id)
        .collect();
    let count = |approve: bool| {
        counted
            .iter()
            .filter(|id| votes.get(&id.0) == Some(&approve))
            .count() as u64
    };
    let (approvals, rejections) = (count(true), count(false));
    let members = counted.len() as u64;
    let percent = ctx.params.governance_percent;
    let enough = |n: u64| members == 0 || n * 100 > percent * members;
    let supervisor_vote = votes.get(&supervisor.0).copied();
    let tally = format!(
        "{approvals} of {members} members for, {rejections} against (more than {percent}% needed); \
         the supervisor {}",
        match supervisor_vote {
            Some(true) => "for",
            Some(false) => "against",
            None => "has not voted",
        }
    );
    if supervisor_vote == Some(true) && enough(approvals) {
        return enact(ctx, proposal_id, change, target, tally);
    }
    if supervisor_vote == Some(false) || !enough(members - rejections) {
        close(ctx, proposal_id, "rejected", None, target)?;
        ctx.emit_proposal(EventKind::ProposalRejected, target, *proposal_id, tally);
    }
    Ok(())
}

fn close(
    ctx: &Ctx<'_>,
    proposal_id: &ProposalId,
    status: &str,
    effective: Option<u64>,
    target: Option<OrgId>,
) -> rusqlite::Result<()> {
    ctx.conn
        .prepare_cached(
            "UPDATE proposals SET status = ?1, status_height = ?2, effective_height = ?3,
                 target = ?4
             WHERE proposal_id = ?5",
        )?
        .execute(params![
            status,
            ctx.height as i64,
            effective.map(|h| h as i64),
            target.map(|t| t.0 as i64),
            &proposal_id.0[..]
        ])?;
    Ok(())
}

/// Makes the change: a parameter change at once; a membership change at the end of the last
/// block before the epoch its validator set starts (the organisation `admitted` or `leaving`
/// until then), with that set scheduled. The validator-set rules are checked again: a change
/// they now refuse is rejected, with the reason, rather than left open.
fn enact(
    ctx: &mut Ctx<'_>,
    proposal_id: &ProposalId,
    change: &Change,
    target: Option<OrgId>,
    tally: String,
) -> Result<(), Fail> {
    let next = match validators::next_set(ctx, change) {
        Ok(next) => next,
        Err(Fail::Rule(refusal)) => {
            close(ctx, proposal_id, "rejected", None, target)?;
            ctx.emit_proposal(
                EventKind::ProposalRejected,
                target,
                *proposal_id,
                format!("{tally}; it cannot be enacted: {refusal}"),
            );
            return Ok(());
        }
        Err(db) => return Err(db),
    };
    let effective = epochs::effect_height(ctx.height, ctx.params.epoch_length);
    let (target, effective) = match change {
        Change::AddMember(org) => (Some(admit(ctx, org, effective)?), effective),
        Change::RemoveMember { org } => {
            set_membership(ctx, *org, Membership::Leaving, effective)?;
            (Some(*org), effective)
        }
        Change::ChangeParams(changes) => {
            for (param, value) in changes {
                param.set(ctx.params, *value);
            }
            (None, ctx.height)
        }
    };
    close(ctx, proposal_id, "enacted", Some(effective), target)?;
    ctx.emit_proposal(
        EventKind::ProposalEnacted,
        target,
        *proposal_id,
        format!("{tally}; in effect from height {effective}"),
    );
    if let Some(next) = next {
        validators::schedule(ctx, &next, Some(proposal_id), target)?;
    }
    Ok(())
}

fn decode_change(bytes: &[u8]) -> Result<Change, Fail> {
    Change::from_bytes(bytes).map_err(|_| Fail::Db(crate::orgs::corrupt("proposals.change")))
}

fn name_of(ctx: &Ctx<'_>, id: OrgId) -> String {
    ctx.orgs
        .by_id(id)
        .map_or_else(|| format!("#{id}"), |o| o.name.clone())
}

/// Expires the open proposals whose ttl ran out at the end of block `height`.
pub(super) fn expire(
    conn: &Connection,
    height: u64,
    events: &mut Vec<Event>,
) -> rusqlite::Result<()> {
    let due: Vec<Vec<u8>> = conn
        .prepare_cached(
            "SELECT proposal_id FROM proposals
             WHERE status = 'open' AND expires_height <= ?1 ORDER BY proposal_id",
        )?
        .query_map([height as i64], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut update = conn.prepare_cached(
        "UPDATE proposals SET status = 'expired', status_height = ?1 WHERE proposal_id = ?2",
    )?;
    for id in due {
        update.execute(params![height as i64, &id[..]])?;
        events.push(Event {
            height,
            tx_index: None,
            tx_id: None,
            kind: EventKind::ProposalExpired,
            actor: None,
            subject: None,
            record_id: None,
            request_id: None,
            detail: "its ttl ran out before it reached its quorum".into(),
            proposal_id: ProposalId::from_slice(&id),
        });
    }
    Ok(())
}
