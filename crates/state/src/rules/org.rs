//! The organisations' own bodies: `SetOrgStatus` (the supervisor suspends or reinstates an
//! organisation) and `RotateKeys` (an organisation replaces its encryption key).

use super::{Ctx, Fail, reject};
use crate::{
    event::EventKind,
    receipt::Code,
    sql::{org_from_sql, org_to_sql},
};
use custodia_protocol::{EncryptionKey, OrgId, Role};
use rusqlite::{OptionalExtension, params};

pub(super) fn set_status(
    ctx: &mut Ctx<'_>,
    org: OrgId,
    active: bool,
    reason: &str,
) -> Result<(), Fail> {
    ctx.require_supervisor("suspend or reinstate organisations")?;
    let Some(target) = ctx.orgs.by_id(org) else {
        return reject(Code::OrgNotFound, format!("no organisation with id {org}"));
    };
    if target.role == Role::Supervisor {
        return reject(
            Code::CannotSuspendSupervisor,
            "the supervisor cannot be suspended",
        );
    }
    if target.membership == crate::orgs::Membership::Removed {
        return reject(
            Code::OrgRemoved,
            format!(
                "organisation {} was removed from the consortium",
                target.name
            ),
        );
    }
    if !active && reason.trim().is_empty() {
        return reject(
            Code::ReasonRequired,
            format!("suspending {} needs a reason", target.name),
        );
    }
    if target.active == active {
        let state = if active { "active" } else { "suspended" };
        return reject(
            Code::OrgStatusUnchanged,
            format!("organisation {} is already {state}", target.name),
        );
    }
    let reason = (!reason.trim().is_empty()).then(|| reason.to_string());
    ctx.conn
        .prepare_cached(
            "UPDATE orgs SET active = ?1, status_height = ?2, status_reason = ?3
             WHERE position = ?4",
        )?
        .execute(params![active, ctx.height as i64, reason, org_to_sql(org)])?;
    if let Some(target) = ctx.orgs.by_id_mut(org) {
        target.active = active;
        target.status_height = ctx.height;
        target.status_reason = reason.clone();
    }
    let kind = if active {
        EventKind::OrgReinstated
    } else {
        EventKind::OrgSuspended
    };
    ctx.emit(kind, Some(org), None, None, reason.unwrap_or_default());
    Ok(())
}

/// The organisation that has or had `key` as its encryption key, and from which height: no two
/// organisations ever share one, as no two share one in the genesis.
pub(super) fn encryption_key_owner(
    ctx: &Ctx<'_>,
    key: &EncryptionKey,
) -> rusqlite::Result<Option<(OrgId, i64)>> {
    ctx.conn
        .prepare_cached(
            "SELECT org, from_height FROM org_keys WHERE kind = 'encryption' AND key = ?1 LIMIT 1",
        )?
        .query_row([&key.0[..]], |r| {
            Ok((org_from_sql(r.get(0)?, "org_keys.org")?, r.get(1)?))
        })
        .optional()
}

/// `this organisation's` when `owner` is `org`, else `<owner's name>'s`: whose a reused key is.
pub(super) fn whose(ctx: &Ctx<'_>, owner: OrgId, org: OrgId) -> String {
    if owner == org {
        return "this organisation's".to_string();
    }
    let name = ctx
        .orgs
        .by_id(owner)
        .map_or("another organisation", |o| &o.name);
    format!("{name}'s")
}

pub(super) fn rotate_keys(ctx: &mut Ctx<'_>, encryption_key: &EncryptionKey) -> Result<(), Fail> {
    ctx.require_active("rotate its keys")?;
    let org = ctx.signer_org()?.id;
    if let Some((owner, height)) = encryption_key_owner(ctx, encryption_key)? {
        let whose = whose(ctx, owner, org);
        return reject(
            Code::KeyReused,
            format!(
                "encryption key {} was already {whose} key (from height {height}): make a new one",
                hex::encode(encryption_key.0)
            ),
        );
    }
    ctx.conn
        .prepare_cached(
            "INSERT INTO org_keys (org, kind, seq, key, from_height, tx_id)
             VALUES (?1, 'encryption',
                     (SELECT COUNT(*) FROM org_keys WHERE org = ?1 AND kind = 'encryption'),
                     ?2, ?3, ?4)",
        )?
        .execute(params![
            org_to_sql(org),
            &encryption_key.0[..],
            ctx.height as i64,
            ctx.tx_id.as_ref()
        ])?;
    ctx.conn
        .prepare_cached("UPDATE orgs SET encryption_key = ?1 WHERE position = ?2")?
        .execute(params![&encryption_key.0[..], org_to_sql(org)])?;
    if let Some(target) = ctx.orgs.by_id_mut(org) {
        target.encryption_key = *encryption_key;
    }
    ctx.emit(
        EventKind::OrgKeysRotated,
        Some(org),
        None,
        None,
        format!("encryption key {}", hex::encode(encryption_key.0)),
    );
    Ok(())
}
