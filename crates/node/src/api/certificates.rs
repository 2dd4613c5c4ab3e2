//! `GET /v1/certificates/{height}` (DESIGN §5.9, §7.9): the certificate of a block's state
//! commitment, with the validator set that signed it.

use super::{ApiContext, ApiError, chain::block_height, read::query, views};
use axum::{
    Json,
    extract::{Path, State, rejection::PathRejection},
};
use custodia_api::{CertificateView, HeightPath};
use custodia_protocol::hash::to_hex;
use std::sync::Arc;

/// `GET /v1/certificates/{height}`.
#[utoipa::path(
    get, path = "/v1/certificates/{height}", tag = "chain",
    params(HeightPath),
    responses(
        (status = 200, description = "The certificate of the block's state commitment", body = CertificateView),
        (status = 400, description = "`invalid_height`", body = custodia_api::ErrorBody),
        (status = 404, description = "`certificate_not_found`", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn certificate(
    State(ctx): State<Arc<ApiContext>>,
    height: Result<Path<String>, PathRejection>,
) -> Result<Json<CertificateView>, ApiError> {
    let Path(text) = height?;
    let height = block_height(&text)?;
    let ledger = ctx.ledger.clone();
    let row = super::read::blocking(move || ledger.certificates().get(height))
        .await?
        .map_err(|err| {
            ApiError::unavailable(format!(
                "the node cannot read its certificates right now ({err}): retry shortly"
            ))
        })?;
    let Some(row) = row else {
        return Err(ApiError::not_found(
            "certificate_not_found",
            format!(
                "this node holds no certificate of block {height}: its latest certified block \
                 is {} (GET /v1/status, certified_height); a height the validators skipped \
                 has none",
                ctx.ledger.certified_height()
            ),
        ));
    };
    let set = ctx.ledger.validator_sets().set(row.epoch).ok_or_else(|| {
        ApiError::internal(format!(
            "the validator set of epoch {} that signed block {height}'s certificate is unknown",
            row.epoch
        ))
    })?;
    let validators: Vec<_> = set.iter().cloned().collect();
    let seats =
        crate::certify::verify_certificate(&set, row.height, &row.commitment, &row.certificate)
            .map_err(|err| {
                ApiError::internal(format!(
                    "the stored certificate of block {height} does not verify: {err}"
                ))
            })?;
    let orgs = query(&ctx.ledger, |queries| Ok(queries.orgs()?)).await?;
    let signers = seats
        .iter()
        .filter_map(|seat| validators.get(*seat as usize))
        .map(|key| views::validator_name(&orgs, key))
        .collect();
    Ok(Json(CertificateView {
        height: row.height,
        epoch: row.epoch,
        state_commitment: to_hex(&row.commitment),
        validators: validators.iter().map(|key| key.to_string()).collect(),
        signers,
        certificate: hex::encode(&row.certificate),
    }))
}
