//! `SubmitRecord` (a member puts a sealed record on the chain) and `AttestRecord` (the
//! supervisor's verdict).

use super::{Ctx, Fail, reject};
use crate::{
    event::EventKind,
    receipt::Code,
    sql::{org_from_sql, org_to_sql},
};
use custodia_protocol::{
    Digest, RecordId,
    record::{check_field_names, check_kind_and_tags},
};
use rusqlite::{OptionalExtension, params};

#[allow(clippy::too_many_arguments)]
pub(super) fn submit(
    ctx: &mut Ctx<'_>,
    record_id: &RecordId,
    kind: &str,
    tags: &[String],
    fields: &[String],
    commitment: &Digest,
    sealed: &[u8],
) -> Result<(), Fail> {
    ctx.require_active_member("submit records")?;
    let provider = ctx.signer_org()?.id;
    if let Err(e) = check_field_names(fields) {
        return reject(Code::InvalidRecord, e.to_string());
    }
    if let Err(e) = check_kind_and_tags(kind, tags) {
        return reject(Code::InvalidRecord, e.to_string());
    }
    if sealed.len() as u64 > ctx.params.max_record_bytes {
        return reject(
            Code::TooLarge,
            format!(
                "sealed record of {} bytes is over the limit of {} bytes",
                sealed.len(),
                ctx.params.max_record_bytes
            ),
        );
    }
    ctx.require_sealed_to(sealed, ctx.supervisor()?, "record")?;
    let tags_json = serde_json::to_string(tags).unwrap_or_default();
    let fields_json = serde_json::to_string(fields).unwrap_or_default();
    let inserted = ctx
        .conn
        .prepare_cached(
            "INSERT OR IGNORE INTO records (record_id, provider, kind, tags, fields, commitment,
                 sealed, sealed_bytes, status, reason, submitted_height, submit_tx, attested_height)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'submitted', NULL, ?9, ?10, NULL)",
        )?
        .execute(params![
            &record_id.0[..],
            org_to_sql(provider),
            kind,
            tags_json,
            fields_json,
            commitment.as_ref(),
            sealed,
            sealed.len() as i64,
            ctx.height as i64,
            ctx.tx_id.as_ref(),
        ])?;
    if inserted == 0 {
        return reject(
            Code::RecordExists,
            format!("record {record_id} already exists"),
        );
    }
    ctx.emit(
        EventKind::RecordSubmitted,
        None,
        Some(*record_id),
        None,
        kind,
    );
    Ok(())
}

pub(super) fn attest(
    ctx: &mut Ctx<'_>,
    record_id: &RecordId,
    accepted: bool,
    reason: &str,
) -> Result<(), Fail> {
    ctx.require_supervisor("attest records")?;
    let row: Option<(i64, String)> = ctx
        .conn
        .prepare_cached("SELECT provider, status FROM records WHERE record_id = ?1")?
        .query_row([&record_id.0[..]], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((provider, status)) = row else {
        return reject(Code::RecordNotFound, format!("no record {record_id}"));
    };
    if status != "submitted" {
        return reject(
            Code::RecordNotSubmitted,
            format!("record {record_id} was already attested ({status})"),
        );
    }
    if !accepted && reason.trim().is_empty() {
        return reject(Code::ReasonRequired, "rejecting a record needs a reason");
    }
    let status = if accepted { "accepted" } else { "rejected" };
    ctx.conn
        .prepare_cached(
            "UPDATE records SET status = ?1, reason = ?2, attested_height = ?3 WHERE record_id = ?4",
        )?
        .execute(params![status, reason, ctx.height as i64, &record_id.0[..]])?;
    let kind = if accepted {
        EventKind::RecordAccepted
    } else {
        EventKind::RecordRejected
    };
    let provider = org_from_sql(provider, "records.provider")?;
    ctx.emit(kind, Some(provider), Some(*record_id), None, reason);
    Ok(())
}
