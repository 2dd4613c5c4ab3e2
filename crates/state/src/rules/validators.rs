//! The validator set follows membership (DESIGN §3.2, §4.10). A membership change or an
//! identity rotation enacted at height h in epoch E schedules the set of epoch E+2: the set of
//! E+1 with one seat added, removed or rekeyed. It is allowed only if the set stays within
//! `max_validators` and the validators that continue from E+1 are a quorum of the new set,
//! checked at `Propose` and again at enactment (a rotation: when applied). At the end of an
//! epoch's last block, a set that starts with the next epoch is announced.

use super::{Ctx, Fail, reject};
use crate::{
    event::{Event, EventKind},
    orgs::Orgs,
    receipt::Code,
    validators::{self, Seat},
};
use custodia_protocol::{Change, IdentityKey, OrgId, Params, ProposalId, epochs};
use rusqlite::Connection;

/// The validator set a membership change or an identity rotation makes, and the epoch it
/// starts.
pub(super) struct NextSet {
    pub from_epoch: u64,
    seats: Vec<Seat>,
}

/// The set `change` makes if it is enacted at this height (`None` for a change of parameters):
/// the set of the next epoch with the added organisation's key seated, or the removed one's
/// seat gone, from the epoch after. Refused if it would be over `max_validators`
/// (`too_many_validators`) or if the validators that continue would not be a quorum of it
/// (`no_continuing_quorum`).
pub(super) fn next_set(ctx: &Ctx<'_>, change: &Change) -> Result<Option<NextSet>, Fail> {
    if !change.is_membership() {
        return Ok(None);
    }
    let (next_epoch, current) = following(ctx)?;
    let mut seats = current.clone();
    match change {
        // The id `admit` gives it: no other organisation is admitted in between.
        Change::AddMember(org) => seats.push((ctx.orgs.next_id(), org.identity_key.clone())),
        Change::RemoveMember { org } => seats.retain(|(id, _)| id != org),
        Change::ChangeParams(_) => return Ok(None),
    }
    checked(
        ctx,
        next_epoch,
        &current,
        seats,
        "an organisation can be added to 3 validators or more",
    )
    .map(Some)
}

/// The set an identity rotation by `org` to `key` at this height makes: the set of the next
/// epoch with `org`'s seat under `key`, from the epoch after; refused as [`next_set`] refuses.
/// With one seat changed, the continuing validators are a quorum only from 4 validators on.
pub(super) fn rotated_set(ctx: &Ctx<'_>, org: OrgId, key: &IdentityKey) -> Result<NextSet, Fail> {
    let (next_epoch, current) = following(ctx)?;
    let seats = current
        .iter()
        .map(|(id, seated)| {
            let key = if *id == org { key } else { seated };
            (*id, key.clone())
        })
        .collect();
    checked(
        ctx,
        next_epoch,
        &current,
        seats,
        "an identity key can be rotated with 4 validators or more",
    )
}

/// The epoch after this height's, and its set; refused (`membership_change_pending`) if a set
/// is already scheduled from the epoch after that or later.
fn following(ctx: &Ctx<'_>) -> Result<(u64, Vec<Seat>), Fail> {
    let length = ctx.params.epoch_length;
    let next_epoch = epochs::epoch_of(ctx.height, length).saturating_add(1);
    let from_epoch = epochs::effect_epoch(ctx.height, length);
    // One change at a time already rules this out; checked so that the set of `next_epoch` is
    // the one the change follows and its rows cannot collide with another's.
    if let Some(latest) = validators::latest_start(ctx.conn)?
        && latest >= from_epoch
    {
        return reject(
            Code::MembershipChangePending,
            format!(
                "a validator set is already scheduled from epoch {latest}: one change at a time"
            ),
        );
    }
    Ok((next_epoch, validators::set_of(ctx.conn, next_epoch)?))
}

/// `seats` as the set from the epoch after `next_epoch`, if it stays within `max_validators`
/// and the validators of `current` that continue are a quorum of it (`hint` says when a change
/// of this kind can pass).
fn checked(
    ctx: &Ctx<'_>,
    next_epoch: u64,
    current: &[Seat],
    seats: Vec<Seat>,
    hint: &str,
) -> Result<NextSet, Fail> {
    let from_epoch = next_epoch.saturating_add(1);
    let seats = validators::seated(seats);
    let size = seats.len();
    let max = ctx.params.max_validators;
    if size as u64 > max {
        return reject(
            Code::TooManyValidators,
            format!(
                "from epoch {from_epoch} the chain would have {size} validators, over its \
                 max_validators of {max} (fixed by the genesis): remove a member first"
            ),
        );
    }
    let continuing = seats
        .iter()
        .filter(|(_, key)| current.iter().any(|(_, k)| k == key))
        .count();
    let quorum = validators::quorum(size);
    if continuing < quorum {
        return reject(
            Code::NoContinuingQuorum,
            format!(
                "from epoch {from_epoch} the chain would have {size} validators, of which only \
                 {continuing} validate epoch {next_epoch}: fewer than the {quorum} that finalize a \
                 block, so the chain could halt at the boundary until the new key runs \
                 (DESIGN §4.10); {hint}"
            ),
        );
    }
    Ok(NextSet { from_epoch, seats })
}

/// Writes the set the current tx enacted (`validator_set_scheduled`: subject the organisation
/// the change names, detail `from epoch E: <names in seat order>`).
pub(super) fn schedule(
    ctx: &mut Ctx<'_>,
    next: &NextSet,
    proposal_id: Option<&ProposalId>,
    subject: Option<OrgId>,
) -> Result<(), Fail> {
    validators::write(ctx.conn, next.from_epoch, ctx.height, &next.seats)?;
    let detail = describe(next.from_epoch, &next.seats, ctx.orgs);
    match proposal_id {
        Some(id) => ctx.emit_proposal(EventKind::ValidatorSetScheduled, subject, *id, detail),
        None => ctx.emit(
            EventKind::ValidatorSetScheduled,
            subject,
            None,
            None,
            detail,
        ),
    }
    Ok(())
}

/// At the end of block `height`, if it is the last of its epoch and a new set starts with the
/// next epoch: `validator_set_changed` (no tx; detail as `validator_set_scheduled`'s).
pub(super) fn announce(
    conn: &Connection,
    height: u64,
    params: &Params,
    orgs: &Orgs,
    events: &mut Vec<Event>,
) -> rusqlite::Result<()> {
    let length = params.epoch_length;
    let epoch = epochs::epoch_of(height, length);
    if height != epochs::last(epoch, length) {
        return Ok(());
    }
    let next = epoch.saturating_add(1);
    let seats = validators::starting_at(conn, next)?;
    if seats.is_empty() {
        return Ok(());
    }
    events.push(Event {
        height,
        tx_index: None,
        tx_id: None,
        kind: EventKind::ValidatorSetChanged,
        actor: None,
        subject: None,
        record_id: None,
        request_id: None,
        detail: describe(next, &seats, orgs),
        proposal_id: None,
    });
    Ok(())
}

/// `from epoch E: a, b, c`: the organisations' names in seat order.
fn describe(from_epoch: u64, seats: &[Seat], orgs: &Orgs) -> String {
    let names: Vec<String> = seats
        .iter()
        .map(|(id, _)| {
            orgs.by_id(*id)
                .map_or_else(|| format!("#{id}"), |o| o.name.clone())
        })
        .collect();
    format!("from epoch {from_epoch}: {}", names.join(", "))
}
