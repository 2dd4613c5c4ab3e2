//! The consortium (`GET /v1/orgs`: every organisation with its role, status and key history),
//! the supervisor's suspension and reinstatement of a member (`POST /v1/orgs/{name}/suspend`,
//! `/reinstate`), and the rotation of this organisation's encryption key (`POST
//! /v1/keys/rotate`).

use super::{
    ApiContext, ApiError,
    json::{JsonBody, OptionalJsonBody, QueryParams},
    params::Directory,
    read::{blocking, query},
    wait::{self, Written},
};
use axum::{
    Json,
    extract::{Path, State, rejection::PathRejection},
    response::Response,
};
use custodia_api::{
    KeyRotation, Org, OrgKey, OrgPath, Orgs, Reinstatement, Role, Suspension, WaitQuery,
};
use custodia_protocol::{Body, EncryptionKey, OrgId};
use std::sync::Arc;

/// `GET /v1/orgs`.
#[utoipa::path(
    get, path = "/v1/orgs", operation_id = "list_orgs", tag = "orgs",
    responses((status = 200, description = "Every organisation, by id, with its key history", body = Orgs)),
)]
pub(crate) async fn orgs(State(ctx): State<Arc<ApiContext>>) -> Result<Json<Orgs>, ApiError> {
    let (orgs, keys, epochs) = query(&ctx.ledger, |queries| {
        Ok((
            queries.orgs()?,
            queries.org_keys()?,
            queries.validator_epochs()?,
        ))
    })
    .await?;
    Ok(Json(Orgs {
        orgs: orgs
            .into_iter()
            .map(|org| Org {
                id: org.id.0,
                validator_from: epochs.get(&org.id).map(|e| e.from),
                validator_until: epochs.get(&org.id).and_then(|e| e.until),
                keys: keys
                    .iter()
                    .filter(|key| key.org == org.id)
                    .map(|key| OrgKey {
                        kind: key.kind.clone(),
                        key: hex::encode(key.key),
                        from_height: key.from_height,
                    })
                    .collect(),
                name: org.name,
                role: role(org.role),
                identity_key: hex::encode(org.identity_key.as_ref()),
                encryption_key: hex::encode(org.encryption_key.0),
                p2p: org.p2p,
                api: org.api,
                active: org.active,
                membership: membership(org.membership),
                membership_height: org.membership_height,
                status_height: org.status_height,
                status_reason: org.status_reason,
            })
            .collect(),
    }))
}

/// `POST /v1/orgs/{name}/suspend`: the supervisor suspends a member, with a reason.
#[utoipa::path(
    post, path = "/v1/orgs/{name}/suspend", operation_id = "suspend_org", tag = "orgs",
    params(OrgPath, WaitQuery),
    request_body = Suspension,
    responses(
        (status = 202, description = "Admitted to the mempool; with `wait=true`, admitted but not finalized within the timeout", body = custodia_api::OrgTx),
        (status = 200, description = "With `wait=true`: finalized and applied; carries the receipt; a tx that failed in its block answers with its receipt's code, at that code's status below", body = custodia_api::OrgTx),
        (status = 400, description = "`reason_required`, `invalid_json`, `invalid_query`, `invalid_org`, `too_large`", body = custodia_api::ErrorBody),
        (status = 403, description = "`not_supervisor`: only the supervisor's node suspends; `cannot_suspend_supervisor`", body = custodia_api::ErrorBody),
        (status = 404, description = "`unknown_org`: no organisation has that name", body = custodia_api::ErrorBody),
        (status = 409, description = "`org_status_unchanged`: already suspended; `tx_expired` with `wait=true`", body = custodia_api::ErrorBody),
        (status = 503, description = "`mempool_full` or `unavailable` (see `Retry-After`)", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn suspend(
    State(ctx): State<Arc<ApiContext>>,
    path: Result<Path<OrgPath>, PathRejection>,
    QueryParams(wait): QueryParams<WaitQuery>,
    JsonBody(Suspension { reason }): JsonBody<Suspension>,
) -> Result<Response, ApiError> {
    let wait = wait::wait_of(&wait)?;
    if custodia_api::limits::is_blank(&reason) {
        return Err(ApiError::bad_request(
            "reason_required",
            "a suspension needs a reason: send {\"reason\": \"why\"}",
        ));
    }
    set_status(&ctx, path, false, reason, wait).await
}

/// `POST /v1/orgs/{name}/reinstate`: the supervisor reinstates a suspended member.
#[utoipa::path(
    post, path = "/v1/orgs/{name}/reinstate", operation_id = "reinstate_org", tag = "orgs",
    params(OrgPath, WaitQuery),
    request_body(content = Reinstatement, description = "Optional: `{\"reason\"}`, `{}` or no body"),
    responses(
        (status = 202, description = "Admitted to the mempool; with `wait=true`, admitted but not finalized within the timeout", body = custodia_api::OrgTx),
        (status = 200, description = "With `wait=true`: finalized and applied; carries the receipt; a tx that failed in its block answers with its receipt's code, at that code's status below", body = custodia_api::OrgTx),
        (status = 400, description = "`invalid_json`, `invalid_query`, `invalid_org`, `too_large`", body = custodia_api::ErrorBody),
        (status = 403, description = "`not_supervisor`; `cannot_suspend_supervisor`", body = custodia_api::ErrorBody),
        (status = 404, description = "`unknown_org`: no organisation has that name", body = custodia_api::ErrorBody),
        (status = 409, description = "`org_status_unchanged`: not suspended; `tx_expired` with `wait=true`", body = custodia_api::ErrorBody),
        (status = 503, description = "`mempool_full` or `unavailable` (see `Retry-After`)", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn reinstate(
    State(ctx): State<Arc<ApiContext>>,
    path: Result<Path<OrgPath>, PathRejection>,
    QueryParams(wait): QueryParams<WaitQuery>,
    OptionalJsonBody(Reinstatement { reason }): OptionalJsonBody<Reinstatement>,
) -> Result<Response, ApiError> {
    let wait = wait::wait_of(&wait)?;
    set_status(&ctx, path, true, reason.unwrap_or_default(), wait).await
}

async fn set_status(
    ctx: &ApiContext,
    path: Result<Path<OrgPath>, PathRejection>,
    active: bool,
    reason: String,
    wait: wait::Wait,
) -> Result<Response, ApiError> {
    let Path(OrgPath { name }) = path?;
    let org = org_id(ctx, &name).await?;
    let body = Body::SetOrgStatus {
        org,
        active,
        reason,
    };
    let submitted = wait::submit(ctx, body, wait).await?;
    Ok(wait::answer(Written::Org(name), submitted))
}

/// The stable id of the organisation named `name` (400 `invalid_query` for a text that cannot
/// be a name, 404 `unknown_org`).
async fn org_id(ctx: &ApiContext, name: &str) -> Result<OrgId, ApiError> {
    Directory::read(&ctx.ledger).await?.id(name)
}

/// `POST /v1/keys/rotate`: this organisation replaces its encryption key.
#[utoipa::path(
    post, path = "/v1/keys/rotate", operation_id = "rotate_keys", tag = "orgs",
    params(WaitQuery),
    request_body = KeyRotation,
    responses(
        (status = 202, description = "The new key is in the keyring and its `RotateKeys` admitted; with `wait=true`, not finalized within the timeout", body = custodia_api::KeyRotationTx),
        (status = 200, description = "With `wait=true`: the chain has the new key; carries the receipt; a tx that failed in its block answers with its receipt's code, at that code's status below", body = custodia_api::KeyRotationTx),
        (status = 400, description = "`invalid_json`, `invalid_query`; `unsupported_rotation` unless `encryption` is true", body = custodia_api::ErrorBody),
        (status = 409, description = "`signer_suspended`; `tx_expired` with `wait=true`", body = custodia_api::ErrorBody),
        (status = 500, description = "`keyring_write_failed`: the new keyring could not be written (nothing was submitted)", body = custodia_api::ErrorBody),
        (status = 503, description = "`mempool_full` or `unavailable` (see `Retry-After`)", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn rotate(
    State(ctx): State<Arc<ApiContext>>,
    QueryParams(wait): QueryParams<WaitQuery>,
    JsonBody(KeyRotation { encryption }): JsonBody<KeyRotation>,
) -> Result<Response, ApiError> {
    let wait = wait::wait_of(&wait)?;
    if !encryption {
        return Err(ApiError::bad_request(
            "unsupported_rotation",
            "only the encryption key rotates here: send {\"encryption\": true} (the identity key \
             rotates with POST /v1/keys/identity)",
        ));
    }
    let me = ctx.keys.current().identity_key();
    let orgs = query(&ctx.ledger, |queries| Ok(queries.orgs()?)).await?;
    let Some(on_chain) = orgs
        .iter()
        .find(|org| org.identity_key == me)
        .map(|org| org.encryption_key)
    else {
        return Err(ApiError::internal(
            "this node's organisation is not in the state",
        ));
    };
    // A key made by an earlier rotation that never applied (a crash before its RotateKeys) is
    // announced again rather than making yet another; one whose RotateKeys waits in the
    // mempool is a rotation under way, and this call makes the next.
    let turn = ctx.keys.announcing().await;
    let pending = |key: EncryptionKey| {
        ctx.ledger.mempool().holds_any(|tx| {
            tx.signer == me
                && matches!(tx.body, Body::RotateKeys { encryption_key } if encryption_key == key)
        })
    };
    let key = match ctx.keys.unannounced(&on_chain) {
        Some(key) if !pending(key) => key,
        _ => {
            let keys = ctx.keys.clone();
            blocking(move || keys.rotate_encryption())
                .await?
                .map_err(keyring_write_failed)?
        }
    };
    tracing::info!(encryption_key = %hex::encode(key.0), "encryption key rotated in the keyring");
    let body = Body::RotateKeys {
        encryption_key: key,
    };
    let submitted = wait::submit_holding(&ctx, body, wait, turn).await?;
    Ok(wait::answer(Written::Key(hex::encode(key.0)), submitted))
}

/// The 500 of a key rotation whose new keyring could not be written (nothing was submitted).
pub(crate) fn keyring_write_failed(err: std::io::Error) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "keyring_write_failed",
        format!(
            "cannot write the new keyring ({err}); nothing was submitted: check the key file's \
             directory and try again"
        ),
    )
}

/// The API's spelling of a membership.
pub(crate) fn membership(membership: custodia_state::Membership) -> custodia_api::Membership {
    use custodia_api::Membership as Api;
    use custodia_state::Membership as State;
    match membership {
        State::Member => Api::Member,
        State::Admitted => Api::Admitted,
        State::Leaving => Api::Leaving,
        State::Removed => Api::Removed,
    }
}

/// The API's spelling of a role.
pub(crate) fn role(role: custodia_protocol::Role) -> Role {
    match role {
        custodia_protocol::Role::Supervisor => Role::Supervisor,
        custodia_protocol::Role::Member => Role::Member,
    }
}
