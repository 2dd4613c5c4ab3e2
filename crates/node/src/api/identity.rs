//! `POST /v1/keys/identity`: this organisation rotates its identity key (DESIGN §4.10, §6.6).
//! The node makes the next identity secret, writes it into its key file, and submits
//! `RotateIdentity`, signed by the current key, with the new key's proof of possession. The new
//! key signs from the first block of the epoch after next; the node then rebuilds its p2p network
//! and consensus under it (crate::identity).

use super::{
    ApiContext, ApiError,
    json::{OptionalJsonBody, QueryParams},
    read::blocking,
    wait::{self, Written},
};
use axum::{extract::State, response::Response};
use custodia_api::{IdentityRotation, WaitQuery};
use custodia_protocol::{Body, rotation};
use std::sync::Arc;

/// `POST /v1/keys/identity`.
#[utoipa::path(
    post, path = "/v1/keys/identity", operation_id = "rotate_identity", tag = "orgs",
    params(WaitQuery),
    request_body = IdentityRotation,
    responses(
        (status = 202, description = "The new key is in the keyring and its `RotateIdentity` admitted; with `wait=true`, not finalized within the timeout", body = custodia_api::IdentityRotationTx),
        (status = 200, description = "With `wait=true`: the chain scheduled the new key; carries the receipt; a tx that failed in its block answers with its receipt's code, at that code's status below", body = custodia_api::IdentityRotationTx),
        (status = 400, description = "`invalid_json`, `invalid_query`", body = custodia_api::ErrorBody),
        (status = 409, description = "`signer_suspended`, `membership_change_pending`, `key_reused`, `no_continuing_quorum`; `tx_expired` with `wait=true`", body = custodia_api::ErrorBody),
        (status = 500, description = "`keyring_write_failed`: the new keyring could not be written (nothing was submitted)", body = custodia_api::ErrorBody),
        (status = 503, description = "`mempool_full` or `unavailable` (see `Retry-After`)", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn rotate(
    State(ctx): State<Arc<ApiContext>>,
    QueryParams(wait): QueryParams<WaitQuery>,
    OptionalJsonBody(IdentityRotation {}): OptionalJsonBody<IdentityRotation>,
) -> Result<Response, ApiError> {
    let wait = wait::wait_of(&wait)?;
    let turn = ctx.keys.announcing().await;
    // The next key an earlier call made (and perhaps announced) is announced again rather than
    // making yet another: the chain refuses a second rotation while one is pending anyway.
    let keys = ctx.keys.clone();
    let next = blocking(move || keys.next_identity())
        .await?
        .map_err(super::orgs::keyring_write_failed)?;
    let current = ctx.keys.current();
    let Some(secret) = current.identity_secret_for(&next) else {
        return Err(ApiError::internal("the keyring lost its next identity key"));
    };
    let proof = rotation::prove_possession(secret, &ctx.ledger.chain(), &current.identity_key());
    tracing::info!(identity_key = %next, "next identity key in the keyring");
    let body = Body::RotateIdentity {
        identity_key: next.clone(),
        proof,
    };
    let submitted = wait::submit_holding(&ctx, body, wait, turn).await?;
    Ok(wait::answer(
        Written::IdentityKey(hex::encode(next.as_ref())),
        submitted,
    ))
}
