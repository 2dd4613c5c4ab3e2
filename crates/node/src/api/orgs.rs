//! `GET /v1/orgs`: the consortium — every organisation of the genesis with its role, public
//! keys, addresses and whether the supervisor suspended it.

use super::{ApiContext, ApiError, read::query};
use axum::{Json, extract::State};
use custodia_api::{Org, Orgs, Role};
use std::sync::Arc;

/// `GET /v1/orgs`.
#[utoipa::path(
    get, path = "/v1/orgs", tag = "chain",
    responses((status = 200, description = "Every organisation, in genesis order", body = Orgs)),
)]
pub(crate) async fn orgs(State(ctx): State<Arc<ApiContext>>) -> Result<Json<Orgs>, ApiError> {
    let orgs = query(&ctx.ledger, |queries| Ok(queries.orgs()?)).await?;
    Ok(Json(Orgs {
        orgs: orgs
            .into_iter()
            .map(|org| Org {
                name: org.name,
                role: role(org.role),
                identity_key: hex::encode(org.identity_key.as_ref()),
                encryption_key: hex::encode(org.encryption_key.0),
                p2p: org.p2p,
                api: org.api,
                active: org.active,
            })
            .collect(),
    }))
}

/// The API's spelling of a role.
pub(crate) fn role(role: custodia_protocol::Role) -> Role {
    match role {
        custodia_protocol::Role::Supervisor => Role::Supervisor,
        custodia_protocol::Role::Member => Role::Member,
    }
}
