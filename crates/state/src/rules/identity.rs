//! Identity-key rotation (DESIGN §4.10): `RotateIdentity`, signed by an organisation's current
//! identity key, schedules its new key with a proof of possession. A rotation applied in epoch E
//! seats the new key in the validator set of E + 2 (the continuing-quorum rule holds it to 4
//! validators or more) and takes effect at the end of the last block of E + 1: from the first
//! block of E + 2 the new key signs the organisation's txs and votes, and the old one signs
//! nothing (`signer_rotated`). Every key an organisation ever had stays in `org_keys`, so each
//! historic signature names who made it.

use super::{Ctx, Fail, reject, validators};
use crate::{
    event::{Event, EventKind},
    orgs::Orgs,
    receipt::Code,
    sql::{key_from_blob, org_from_sql, org_to_sql},
};
use custodia_protocol::{Digest, IdentityKey, OrgId, Signature, epochs, rotation};
use rusqlite::{Connection, OptionalExtension, params};

pub(super) fn rotate(
    ctx: &mut Ctx<'_>,
    chain: &Digest,
    key: &IdentityKey,
    proof: &Signature,
) -> Result<(), Fail> {
    ctx.require_active("rotate its identity key")?;
    let org = ctx.signer_org()?.id;
    if !rotation::verify_possession(chain, ctx.signer, key, proof) {
        return reject(
            Code::InvalidProof,
            format!(
                "the proof of possession does not verify for identity key {}: the new key must \
                 sign the possession message of this chain and the current key (DESIGN §3.8)",
                hex::encode(key.as_ref())
            ),
        );
    }
    super::proposal::membership_change_pending(ctx)?;
    if let Some((owner, height)) = key_owner(ctx, key)? {
        let whose = super::org::whose(ctx, owner, org);
        return reject(
            Code::KeyReused,
            format!(
                "identity key {} is or was {whose} key (from height {height}): make a new one",
                hex::encode(key.as_ref())
            ),
        );
    }
    let next = validators::rotated_set(ctx, org, key)?;
    let from_height = epochs::first(next.from_epoch, ctx.params.epoch_length);
    ctx.conn
        .prepare_cached(
            "INSERT INTO org_keys (org, kind, seq, key, from_height, tx_id)
             VALUES (?1, 'identity',
                     (SELECT COUNT(*) FROM org_keys WHERE org = ?1 AND kind = 'identity'),
                     ?2, ?3, ?4)",
        )?
        .execute(params![
            org_to_sql(org),
            key.as_ref(),
            from_height as i64,
            ctx.tx_id.as_ref()
        ])?;
    ctx.emit(
        EventKind::IdentityKeyScheduled,
        Some(org),
        None,
        None,
        format!(
            "identity key {} from height {from_height} (epoch {})",
            hex::encode(key.as_ref()),
            next.from_epoch
        ),
    );
    validators::schedule(ctx, &next, None, Some(org))
}

/// The organisation that has, had or is to have `key` as its identity key, and from which
/// height: no two organisations ever share one.
pub(super) fn key_owner(
    ctx: &Ctx<'_>,
    key: &IdentityKey,
) -> rusqlite::Result<Option<(OrgId, i64)>> {
    ctx.conn
        .prepare_cached(
            "SELECT org, from_height FROM org_keys WHERE kind = 'identity' AND key = ?1 LIMIT 1",
        )?
        .query_row([key.as_ref()], |r| {
            Ok((org_from_sql(r.get(0)?, "org_keys.org")?, r.get(1)?))
        })
        .optional()
}

/// A rotation not yet in effect at this height: the organisation's name and the height its
/// new key signs from.
pub(super) fn pending(ctx: &Ctx<'_>) -> rusqlite::Result<Option<(String, u64)>> {
    let row: Option<(i64, i64)> = ctx
        .conn
        .prepare_cached(
            "SELECT org, from_height FROM org_keys
             WHERE kind = 'identity' AND seq > 0 AND from_height > ?1 LIMIT 1",
        )?
        .query_row([ctx.height as i64], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(row.map(|(org, from_height)| {
        let name = u32::try_from(org)
            .ok()
            .and_then(|id| ctx.orgs.by_id(OrgId(id)))
            .map_or_else(|| format!("#{org}"), |o| o.name.clone());
        (name, from_height as u64)
    }))
}

/// Why `signer`, which names no organisation now, was refused, if it is a key an organisation
/// rotated away from, or one it rotates to that does not sign yet (`signer_rotated`).
pub(super) fn rotated_away(
    conn: &Connection,
    orgs: &Orgs,
    height: u64,
    signer: &IdentityKey,
) -> rusqlite::Result<Option<String>> {
    let row: Option<(i64, i64, i64)> = conn
        .prepare_cached(
            "SELECT org, seq, from_height FROM org_keys
             WHERE kind = 'identity' AND key = ?1 LIMIT 1",
        )?
        .query_row([signer.as_ref()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((org, seq, from_height)) = row else {
        return Ok(None);
    };
    let Some(org) = u32::try_from(org).ok().and_then(|id| orgs.by_id(OrgId(id))) else {
        return Ok(None);
    };
    let signer = hex::encode(signer.as_ref());
    if from_height as u64 > height {
        return Ok(Some(format!(
            "signer {signer} is {}'s next identity key, which signs from height {from_height}: \
             sign with its current key until then",
            org.name
        )));
    }
    let until: Option<i64> = conn
        .prepare_cached(
            "SELECT from_height FROM org_keys WHERE org = ?1 AND kind = 'identity' AND seq = ?2",
        )?
        .query_row(params![org_to_sql(org.id), seq + 1], |r| r.get(0))
        .optional()?;
    Ok(Some(format!(
        "signer {signer} was {}'s identity key until height {}; its key is now {}: sign with it",
        org.name,
        until.unwrap_or(from_height),
        hex::encode(org.identity_key.as_ref())
    )))
}

/// At the end of block `height`: the identity keys that sign from the next block replace their
/// organisations' keys (`org_keys_rotated`, no tx, detail `identity key <hex>`).
pub(super) fn take_effect(
    conn: &Connection,
    height: u64,
    orgs: &mut Orgs,
    events: &mut Vec<Event>,
) -> rusqlite::Result<()> {
    let due: Vec<(OrgId, IdentityKey)> = conn
        .prepare_cached(
            "SELECT org, key FROM org_keys
             WHERE kind = 'identity' AND seq > 0 AND from_height = ?1 ORDER BY org",
        )?
        .query_map([height.saturating_add(1) as i64], |r| {
            let key: Vec<u8> = r.get(1)?;
            Ok((
                org_from_sql(r.get(0)?, "org_keys.org")?,
                key_from_blob(&key, "org_keys.key")?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    for (org, key) in due {
        conn.prepare_cached("UPDATE orgs SET identity_key = ?1 WHERE position = ?2")?
            .execute(params![key.as_ref(), org_to_sql(org)])?;
        orgs.rekey(org, key.clone());
        events.push(super::membership::event(
            height,
            EventKind::OrgKeysRotated,
            Some(org),
            None,
            format!("identity key {}", hex::encode(key.as_ref())),
        ));
    }
    Ok(())
}
