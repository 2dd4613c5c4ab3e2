//! Membership changes (DESIGN §4.10): an enacted addition writes the organisation `admitted`, an
//! enacted removal makes it `leaving`. At the end of their effective height they take effect: an
//! admitted organisation becomes a member; a leaving one is removed, its own open requests are
//! cancelled and the pending requests awaiting its decision as a provider are rejected.

use super::Ctx;
use crate::{
    event::{Event, EventKind},
    orgs::{Membership, Org, Orgs},
    sql::{org_from_sql, org_to_sql, request_id_from_blob},
};
use custodia_protocol::{GenesisOrg, OrgId, RequestId, Role};
use rusqlite::{Connection, params};

/// Writes an added organisation, `admitted` until `effective`, with its keys from then.
pub(super) fn admit(
    ctx: &mut Ctx<'_>,
    org: &GenesisOrg,
    effective: u64,
) -> rusqlite::Result<OrgId> {
    let id = ctx.orgs.next_id();
    ctx.conn
        .prepare_cached(
            "INSERT INTO orgs (identity_key, position, name, role, encryption_key, p2p, api, active,
                 status_height, status_reason, membership, membership_height)
             VALUES (?1, ?2, ?3, 'member', ?4, ?5, ?6, 1, 0, NULL, 'admitted', ?7)",
        )?
        .execute(params![
            org.identity_key.as_ref(),
            id.0 as i64,
            org.name,
            &org.encryption_key.0[..],
            org.p2p,
            org.api,
            effective as i64,
        ])?;
    let mut key = ctx.conn.prepare_cached(
        "INSERT INTO org_keys (org, kind, seq, key, from_height, tx_id)
         VALUES (?1, ?2, 0, ?3, ?4, ?5)",
    )?;
    key.execute(params![
        id.0 as i64,
        "identity",
        org.identity_key.as_ref(),
        effective as i64,
        ctx.tx_id.as_ref()
    ])?;
    key.execute(params![
        id.0 as i64,
        "encryption",
        &org.encryption_key.0[..],
        effective as i64,
        ctx.tx_id.as_ref()
    ])?;
    ctx.orgs.insert(Org {
        id,
        identity_key: org.identity_key.clone(),
        name: org.name.clone(),
        role: Role::Member,
        encryption_key: org.encryption_key,
        p2p: org.p2p.clone(),
        api: org.api.clone(),
        active: true,
        status_height: 0,
        status_reason: None,
        membership: Membership::Admitted,
        membership_height: effective,
    });
    Ok(id)
}

/// Sets organisation `id`'s membership, in the database and in memory.
pub(super) fn set_membership(
    ctx: &mut Ctx<'_>,
    id: OrgId,
    membership: Membership,
    height: u64,
) -> rusqlite::Result<()> {
    ctx.conn
        .prepare_cached(
            "UPDATE orgs SET membership = ?1, membership_height = ?2 WHERE position = ?3",
        )?
        .execute(params![membership.as_str(), height as i64, id.0 as i64])?;
    if let Some(org) = ctx.orgs.by_id_mut(id) {
        org.membership = membership;
        org.membership_height = height;
    }
    Ok(())
}

pub(super) fn take_effect(
    conn: &Connection,
    height: u64,
    orgs: &mut Orgs,
    events: &mut Vec<Event>,
) -> rusqlite::Result<()> {
    let mut due: Vec<_> = orgs
        .iter()
        .filter(|o| {
            matches!(o.membership, Membership::Admitted | Membership::Leaving)
                && o.membership_height <= height
        })
        .map(|o| (o.id, o.name.clone(), o.membership))
        .collect();
    due.sort_by_key(|(id, ..)| *id);
    for (id, name, membership) in due {
        let (now, kind) = match membership {
            Membership::Admitted => (Membership::Member, EventKind::MemberAdmitted),
            _ => (Membership::Removed, EventKind::MemberRemoved),
        };
        conn.prepare_cached("UPDATE orgs SET membership = ?1 WHERE position = ?2")?
            .execute(params![now.as_str(), id.0 as i64])?;
        if let Some(org) = orgs.by_id_mut(id) {
            org.membership = now;
        }
        events.push(event(height, kind, Some(id), None, name.clone()));
        if now == Membership::Removed {
            close_requests(conn, height, id, &name, events)?;
        }
    }
    Ok(())
}

/// The removed organisation's pending and approved requests are cancelled; pending requests
/// that await its decision are rejected with a reason naming the removal.
fn close_requests(
    conn: &Connection,
    height: u64,
    removed: OrgId,
    name: &str,
    events: &mut Vec<Event>,
) -> rusqlite::Result<()> {
    let own = requests(
        conn,
        "SELECT request_id, requester FROM requests
         WHERE requester = ?1 AND status IN ('pending', 'approved') ORDER BY request_id",
        removed,
    )?;
    let reason = format!("the requester {name} was removed from the consortium");
    for (request_id, requester) in own {
        set_status(conn, height, &request_id, "cancelled", &reason)?;
        events.push(event(
            height,
            EventKind::RequestCancelled,
            Some(requester),
            Some(request_id),
            reason.clone(),
        ));
    }
    let awaiting = requests(
        conn,
        "SELECT r.request_id, r.requester FROM requests r
         JOIN approvals a ON a.request_id = r.request_id
         WHERE a.org = ?1 AND a.decision IS NULL AND r.status = 'pending' ORDER BY r.request_id",
        removed,
    )?;
    let reason = format!("the provider {name} was removed from the consortium");
    for (request_id, requester) in awaiting {
        set_status(conn, height, &request_id, "rejected", &reason)?;
        events.push(event(
            height,
            EventKind::RequestRejected,
            Some(requester),
            Some(request_id),
            reason.clone(),
        ));
    }
    Ok(())
}

fn requests(conn: &Connection, sql: &str, org: OrgId) -> rusqlite::Result<Vec<(RequestId, OrgId)>> {
    conn.prepare_cached(sql)?
        .query_map([org_to_sql(org)], |r| {
            let id: Vec<u8> = r.get(0)?;
            Ok((
                request_id_from_blob(&id, "requests.request_id")?,
                org_from_sql(r.get(1)?, "requests.requester")?,
            ))
        })?
        .collect()
}

fn set_status(
    conn: &Connection,
    height: u64,
    request_id: &RequestId,
    status: &str,
    reason: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE requests SET status = ?1, status_height = ?2, reason = ?3 WHERE request_id = ?4",
    )?
    .execute(params![status, height as i64, reason, &request_id.0[..]])?;
    Ok(())
}

/// An end-of-block event (no tx, no actor).
pub(super) fn event(
    height: u64,
    kind: EventKind,
    subject: Option<OrgId>,
    request_id: Option<RequestId>,
    detail: String,
) -> Event {
    Event {
        height,
        tx_index: None,
        tx_id: None,
        kind,
        actor: None,
        subject,
        record_id: None,
        request_id,
        detail,
        proposal_id: None,
    }
}
