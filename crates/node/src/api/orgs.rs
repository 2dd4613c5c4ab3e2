//! `GET /v1/orgs`: the consortium — every organisation of the genesis with its role, public
//! keys, addresses and whether the supervisor suspended it.

use super::{ApiContext, ApiError, read::query};
use axum::{Json, extract::State};
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

/// One organisation.
#[derive(Serialize, ToSchema)]
pub(crate) struct OrgView {
    /// Its name.
    name: String,
    /// `supervisor` or `member`.
    #[schema(example = "member")]
    role: String,
    /// Ed25519 identity key (hex).
    identity_key: String,
    /// X25519 encryption key (hex).
    encryption_key: String,
    /// p2p address `host:port`.
    p2p: String,
    /// REST API address `host:port`.
    api: String,
    /// False once the supervisor suspended it.
    active: bool,
}

/// The consortium.
#[derive(Serialize, ToSchema)]
pub(crate) struct Orgs {
    /// Every organisation, in genesis order.
    orgs: Vec<OrgView>,
}

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
            .map(|org| OrgView {
                name: org.name,
                role: org.role.as_str().to_string(),
                identity_key: hex::encode(org.identity_key.as_ref()),
                encryption_key: hex::encode(org.encryption_key.0),
                p2p: org.p2p,
                api: org.api,
                active: org.active,
            })
            .collect(),
    }))
}
