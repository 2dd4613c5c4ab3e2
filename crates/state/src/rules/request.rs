//! `RequestShare`, `Decide`, `Deliver`, `Cancel` and the end-of-block expiry of requests.

use super::{Ctx, Fail, reject};
use crate::{
    event::{Event, EventKind},
    receipt::Code,
    sql::{org_from_sql, org_to_sql, request_id_from_blob, strings_from_json},
};
use custodia_protocol::{
    OrgId, RecordId, RequestId,
    params::{MAX_PURPOSE_CHARS, MAX_REQUEST_RECORDS},
    record::valid_field_name,
};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeSet;

pub(super) fn create(
    ctx: &mut Ctx<'_>,
    request_id: &RequestId,
    record_ids: &[RecordId],
    fields: &[String],
    purpose: &str,
    ttl: u64,
) -> Result<(), Fail> {
    ctx.require_active_member("request records")?;
    let requester = ctx.signer_org()?.id;
    let exists: Option<i64> = ctx
        .conn
        .prepare_cached("SELECT 1 FROM requests WHERE request_id = ?1")?
        .query_row([&request_id.0[..]], |r| r.get(0))
        .optional()?;
    if exists.is_some() {
        return reject(
            Code::RequestExists,
            format!("request {request_id} already exists"),
        );
    }
    if record_ids.is_empty() || record_ids.len() > MAX_REQUEST_RECORDS {
        return reject(
            Code::InvalidRequest,
            format!(
                "a request names 1 to {MAX_REQUEST_RECORDS} records, found {}",
                record_ids.len()
            ),
        );
    }
    if record_ids.iter().collect::<BTreeSet<_>>().len() != record_ids.len() {
        return reject(Code::InvalidRequest, "a record is named more than once");
    }
    if purpose.trim().is_empty() || purpose.chars().count() > MAX_PURPOSE_CHARS {
        return reject(
            Code::InvalidRequest,
            format!("the purpose must be 1 to {MAX_PURPOSE_CHARS} characters, not all blank"),
        );
    }
    if ttl == 0 || ttl > ctx.params.max_request_ttl {
        return reject(
            Code::InvalidRequest,
            format!(
                "ttl must be 1 to {} blocks, found {ttl}",
                ctx.params.max_request_ttl
            ),
        );
    }
    let mut requested = BTreeSet::new();
    for field in fields {
        if !valid_field_name(field) {
            return reject(
                Code::InvalidRequest,
                format!("invalid field name {field:?}"),
            );
        }
        if !requested.insert(field.as_str()) {
            return reject(
                Code::InvalidRequest,
                format!("field {field:?} is named more than once"),
            );
        }
    }

    let mut approvers: BTreeSet<OrgId> = BTreeSet::new();
    approvers.insert(ctx.supervisor()?.id);
    let mut available: BTreeSet<String> = BTreeSet::new();
    let mut total_bytes: u64 = 0;
    for record_id in record_ids {
        let row: Option<(i64, String, String, i64)> = ctx
            .conn
            .prepare_cached(
                "SELECT provider, status, fields, sealed_bytes FROM records WHERE record_id = ?1",
            )?
            .query_row([&record_id.0[..]], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        let Some((provider, status, record_fields, sealed_bytes)) = row else {
            return reject(Code::RecordNotFound, format!("no record {record_id}"));
        };
        if status != "accepted" {
            return reject(
                Code::RecordNotAccepted,
                format!("record {record_id} is {status}, only accepted records can be requested"),
            );
        }
        let provider = org_from_sql(provider, "records.provider")?;
        if provider == requester {
            return reject(
                Code::OwnRecord,
                format!("record {record_id} is your own: a member cannot request its own records"),
            );
        }
        if let Some(gone) = ctx
            .orgs
            .by_id(provider)
            .filter(|o| o.membership == crate::orgs::Membership::Removed)
        {
            return reject(
                Code::ProviderRemoved,
                format!(
                    "record {record_id}'s provider {} was removed from the consortium: its \
                     records stay as history and can no longer be shared",
                    gone.name
                ),
            );
        }
        approvers.insert(provider);
        available.extend(strings_from_json(&record_fields, "records.fields")?);
        total_bytes = total_bytes.saturating_add(sealed_bytes.max(0) as u64);
    }
    if let Some(unknown) = requested.iter().find(|f| !available.contains(**f)) {
        return reject(
            Code::UnknownField,
            format!("field {unknown:?} is in none of the requested records"),
        );
    }
    if total_bytes > ctx.params.max_delivery_bytes {
        return reject(
            Code::DeliveryTooLarge,
            format!(
                "the requested records hold {total_bytes} sealed bytes, over the delivery limit of {}",
                ctx.params.max_delivery_bytes
            ),
        );
    }

    let expires = ctx.height.saturating_add(ttl);
    ctx.conn
        .prepare_cached(
            "INSERT INTO requests (request_id, requester, fields, purpose, ttl, created_height,
                 expires_height, status, status_height, reason, create_tx)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?6, NULL, ?8)",
        )?
        .execute(params![
            &request_id.0[..],
            org_to_sql(requester),
            serde_json::to_string(fields).unwrap_or_default(),
            purpose,
            ttl as i64,
            ctx.height as i64,
            expires as i64,
            ctx.tx_id.as_ref(),
        ])?;
    let mut link = ctx.conn.prepare_cached(
        "INSERT INTO request_records (request_id, position, record_id) VALUES (?1, ?2, ?3)",
    )?;
    for (position, record_id) in record_ids.iter().enumerate() {
        link.execute(params![
            &request_id.0[..],
            position as i64,
            &record_id.0[..]
        ])?;
    }
    let mut approver = ctx.conn.prepare_cached(
        "INSERT INTO approvals (request_id, org, decision, reason, height, tx_id)
         VALUES (?1, ?2, NULL, NULL, NULL, NULL)",
    )?;
    for org in &approvers {
        approver.execute(params![&request_id.0[..], org_to_sql(*org)])?;
    }
    ctx.emit(
        EventKind::RequestCreated,
        None,
        None,
        Some(*request_id),
        purpose,
    );
    Ok(())
}

/// Loads a request's requester and status, or `RequestNotFound`.
fn load(ctx: &Ctx<'_>, request_id: &RequestId) -> Result<(OrgId, String), Fail> {
    let row: Option<(i64, String)> = ctx
        .conn
        .prepare_cached("SELECT requester, status FROM requests WHERE request_id = ?1")?
        .query_row([&request_id.0[..]], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match row {
        Some((requester, status)) => Ok((org_from_sql(requester, "requests.requester")?, status)),
        None => reject(Code::RequestNotFound, format!("no request {request_id}")),
    }
}

fn set_status(
    ctx: &Ctx<'_>,
    request_id: &RequestId,
    status: &str,
    reason: Option<&str>,
) -> rusqlite::Result<()> {
    ctx.conn
        .prepare_cached(
            "UPDATE requests SET status = ?1, status_height = ?2, reason = ?3 WHERE request_id = ?4",
        )?
        .execute(params![status, ctx.height as i64, reason, &request_id.0[..]])?;
    Ok(())
}

pub(super) fn decide(
    ctx: &mut Ctx<'_>,
    request_id: &RequestId,
    approve: bool,
    reason: &str,
) -> Result<(), Fail> {
    ctx.require_active("decide on requests")?;
    let approver = ctx.signer_org()?.id;
    let (requester, status) = load(ctx, request_id)?;
    let decision: Option<Option<String>> = ctx
        .conn
        .prepare_cached("SELECT decision FROM approvals WHERE request_id = ?1 AND org = ?2")?
        .query_row(params![&request_id.0[..], org_to_sql(approver)], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(decision) = decision else {
        let why = if requester == approver {
            "the requester cannot approve its own request"
        } else {
            "only the supervisor and the providers of the requested records decide"
        };
        return reject(
            Code::NotApprover,
            format!("not an approver of {request_id}: {why}"),
        );
    };
    if let Some(previous) = decision {
        return reject(
            Code::AlreadyDecided,
            format!("you already decided on {request_id} ({previous})"),
        );
    }
    if status != "pending" {
        return reject(
            Code::RequestNotPending,
            format!("request {request_id} is {status}, not pending"),
        );
    }
    if !approve && reason.trim().is_empty() {
        return reject(Code::ReasonRequired, "rejecting a request needs a reason");
    }
    let verdict = if approve { "approve" } else { "reject" };
    ctx.conn
        .prepare_cached(
            "UPDATE approvals SET decision = ?1, reason = ?2, height = ?3, tx_id = ?4
             WHERE request_id = ?5 AND org = ?6",
        )?
        .execute(params![
            verdict,
            reason,
            ctx.height as i64,
            ctx.tx_id.as_ref(),
            &request_id.0[..],
            org_to_sql(approver)
        ])?;
    if approve {
        ctx.emit(
            EventKind::DecisionApproved,
            Some(requester),
            None,
            Some(*request_id),
            reason,
        );
        let undecided: i64 = ctx
            .conn
            .prepare_cached(
                "SELECT COUNT(*) FROM approvals WHERE request_id = ?1 AND decision IS NULL",
            )?
            .query_row([&request_id.0[..]], |r| r.get(0))?;
        if undecided == 0 {
            set_status(ctx, request_id, "approved", None)?;
            ctx.emit(
                EventKind::RequestApproved,
                Some(requester),
                None,
                Some(*request_id),
                "",
            );
        }
    } else {
        set_status(ctx, request_id, "rejected", Some(reason))?;
        ctx.emit(
            EventKind::DecisionRejected,
            Some(requester),
            None,
            Some(*request_id),
            reason,
        );
        ctx.emit(
            EventKind::RequestRejected,
            Some(requester),
            None,
            Some(*request_id),
            reason,
        );
    }
    Ok(())
}

pub(super) fn deliver(
    ctx: &mut Ctx<'_>,
    request_id: &RequestId,
    sealed: &[u8],
) -> Result<(), Fail> {
    ctx.require_supervisor("deliver requests")?;
    let (requester, status) = load(ctx, request_id)?;
    if status != "approved" {
        return reject(
            Code::RequestNotApproved,
            format!("request {request_id} is {status}, only approved requests are delivered"),
        );
    }
    let Some(recipient) = ctx.orgs.by_id(requester).filter(|o| o.active) else {
        return reject(
            Code::RequesterSuspended,
            format!("the requester of {request_id} is suspended and cannot receive data"),
        );
    };
    ctx.require_sealed_to(sealed, recipient, "delivery")?;
    ctx.conn
        .prepare_cached(
            "INSERT INTO deliveries (request_id, sealed, height, tx_id) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            &request_id.0[..],
            sealed,
            ctx.height as i64,
            ctx.tx_id.as_ref()
        ])?;
    set_status(ctx, request_id, "delivered", None)?;
    ctx.emit(
        EventKind::RequestDelivered,
        Some(requester),
        None,
        Some(*request_id),
        "",
    );
    Ok(())
}

pub(super) fn cancel(ctx: &mut Ctx<'_>, request_id: &RequestId) -> Result<(), Fail> {
    let signer = ctx.signer_org()?.id;
    let (requester, status) = load(ctx, request_id)?;
    if requester != signer {
        return reject(
            Code::NotRequester,
            format!("only the requester may cancel {request_id}"),
        );
    }
    if status != "pending" && status != "approved" {
        return reject(
            Code::RequestClosed,
            format!("request {request_id} is {status} and can no longer be cancelled"),
        );
    }
    set_status(ctx, request_id, "cancelled", None)?;
    ctx.emit(
        EventKind::RequestCancelled,
        None,
        None,
        Some(*request_id),
        "",
    );
    Ok(())
}

pub(super) fn expire(
    conn: &Connection,
    height: u64,
    events: &mut Vec<Event>,
) -> rusqlite::Result<()> {
    let due: Vec<(RequestId, OrgId)> = conn
        .prepare_cached(
            "SELECT request_id, requester FROM requests
             WHERE status = 'pending' AND expires_height <= ?1 ORDER BY request_id",
        )?
        .query_map([height as i64], |r| {
            let id: Vec<u8> = r.get(0)?;
            Ok((
                request_id_from_blob(&id, "requests.request_id")?,
                org_from_sql(r.get(1)?, "requests.requester")?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut update = conn.prepare_cached(
        "UPDATE requests SET status = 'expired', status_height = ?1 WHERE request_id = ?2",
    )?;
    for (request_id, requester) in due {
        update.execute(params![height as i64, &request_id.0[..]])?;
        events.push(Event {
            height,
            tx_index: None,
            tx_id: None,
            kind: EventKind::RequestExpired,
            actor: None,
            subject: Some(requester),
            record_id: None,
            request_id: Some(request_id),
            detail: String::new(),
            proposal_id: None,
        });
    }
    Ok(())
}
