//! `SetOrgStatus`: the supervisor suspends or reinstates an organisation.

use super::{Ctx, Fail, reject};
use crate::{event::EventKind, receipt::Code};
use custodia_protocol::{IdentityKey, Role};
use rusqlite::params;

pub(super) fn set_status(ctx: &mut Ctx<'_>, org: &IdentityKey, active: bool) -> Result<(), Fail> {
    ctx.require_supervisor("suspend or reinstate organisations")?;
    let Some(target) = ctx.orgs.get(org) else {
        return reject(
            Code::OrgNotFound,
            format!("no organisation with key {}", hex::encode(org.as_ref())),
        );
    };
    if target.role == Role::Supervisor {
        return reject(
            Code::CannotSuspendSupervisor,
            "the supervisor cannot be suspended",
        );
    }
    let name = target.name.clone();
    ctx.conn
        .prepare_cached("UPDATE orgs SET active = ?1 WHERE identity_key = ?2")?
        .execute(params![active, org.as_ref()])?;
    ctx.orgs.set_active(org, active);
    let kind = if active {
        EventKind::OrgReinstated
    } else {
        EventKind::OrgSuspended
    };
    ctx.emit(kind, Some(org.clone()), None, None, name);
    Ok(())
}
