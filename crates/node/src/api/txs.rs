//! `POST /v1/txs`: raw signed transactions, one (`application/octet-stream`: the codec bytes of
//! a `Tx`) or a batch ([`BATCH_CONTENT_TYPE`]: the codec bytes of a `Vec<Tx>` of at most
//! `max_block_txs`), admitted to the mempool through [`crate::Ledger::submit`].
//!
//! One tx: 202 `{"tx_id"}`; 400 when it is malformed or fails a stateless check or the state
//! precheck; 409 `duplicate_tx` when it is pending or applied already; 503 `mempool_full` or
//! `unavailable` when the node cannot take it now. A batch: 400 when it cannot be decoded,
//! else 202 `{"accepted": [tx_id], "rejected": [{"index", "code", "message"}]}`, or 503 when
//! the mempool was full for every one of its txs.

use super::{ApiContext, ApiError, read::blocking};
use crate::AdmitError;
use axum::{
    Json,
    body::Bytes,
    extract::{State, rejection::BytesRejection},
    http::{HeaderMap, StatusCode, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
};
use commonware_codec::{Decode as _, RangeCfg};
use custodia_api::{BatchAccepted, BatchRejection, TxAccepted, TxsAccepted};
use custodia_protocol::{Params, Tx, TxCfg, hash::to_hex, tx::TxError};
use custodia_state::Code;
use std::sync::Arc;

/// Content type of a batch of txs.
pub const BATCH_CONTENT_TYPE: &str = "application/vnd.custodia.tx-batch";
/// Content type of one tx.
const TX_CONTENT_TYPE: &str = "application/octet-stream";
/// Allowance over `max_block_bytes` for a request body (a batch's framing).
const BODY_SLACK_BYTES: usize = 64 << 10;

/// Largest request body: a block's worth of txs and some slack.
pub(crate) fn body_limit(params: &Params) -> usize {
    usize::try_from(params.max_block_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(BODY_SLACK_BYTES)
}

enum Payload {
    One,
    Batch,
}

/// `POST /v1/txs`.
#[utoipa::path(
    post, path = "/v1/txs", operation_id = "submit_txs", tag = "chain",
    request_body(
        description = "One signed tx's codec bytes (`application/octet-stream`, the default), or a batch's (`application/vnd.custodia.tx-batch`)",
        content(
            (super::openapi::SignedTx = "application/octet-stream"),
            (super::openapi::SignedTx = "application/vnd.custodia.tx-batch"),
        ),
    ),
    responses(
        (status = 202, description = "One tx: `{\"tx_id\"}`. A batch: `{\"accepted\": [tx_id], \"rejected\": [{\"index\", \"code\", \"message\"}]}`", body = TxsAccepted),
        (status = 400, description = "`malformed_tx`, `malformed_batch`, `wrong_chain`, `bad_signature`, `outside_window`, `too_large`, or a state rule's code", body = custodia_api::ErrorBody),
        (status = 409, description = "`duplicate_tx`", body = custodia_api::ErrorBody),
        (status = 413, description = "`payload_too_large`", body = custodia_api::ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = custodia_api::ErrorBody),
        (status = 503, description = "`mempool_full` or `unavailable` (see `Retry-After`)", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn submit(
    State(ctx): State<Arc<ApiContext>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let payload = payload(&headers)?;
    let body = body.map_err(|rejection| body_error(rejection, ctx.ledger.params()))?;
    match payload {
        Payload::One => submit_one(ctx, body).await,
        Payload::Batch => submit_batch(ctx, body).await,
    }
}

/// What the body holds, by its content type (none: one tx).
fn payload(headers: &HeaderMap) -> Result<Payload, ApiError> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Ok(Payload::One);
    };
    let media = value
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    if media.eq_ignore_ascii_case(TX_CONTENT_TYPE) {
        Ok(Payload::One)
    } else if media.eq_ignore_ascii_case(BATCH_CONTENT_TYPE) {
        Ok(Payload::Batch)
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "Content-Type {value:?} is not accepted here: send one signed transaction's bytes \
                 as {TX_CONTENT_TYPE}, or a batch as {BATCH_CONTENT_TYPE}"
            ),
        ))
    }
}

fn body_error(rejection: BytesRejection, params: &Params) -> ApiError {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            "payload_too_large",
            format!(
                "the request body is over this chain's limit of {} bytes (max_block_bytes + 64 \
                 KiB): split the batch into smaller ones",
                body_limit(params)
            ),
        )
    } else {
        ApiError::new(
            status,
            "bad_request",
            format!(
                "the request body could not be read: {}",
                rejection.body_text()
            ),
        )
    }
}

async fn submit_one(ctx: Arc<ApiContext>, body: Bytes) -> Result<Response, ApiError> {
    let tx = Tx::decode_bytes(body, &TxCfg::from(ctx.ledger.params()))
        .map_err(|err| admit_error(AdmitError::Invalid(err)))?;
    let ledger = ctx.ledger.clone();
    let id = blocking(move || ledger.submit(tx))
        .await?
        .map_err(admit_error)?;
    let accepted = TxsAccepted::One(TxAccepted { tx_id: to_hex(&id) });
    Ok((StatusCode::ACCEPTED, Json(accepted)).into_response())
}

async fn submit_batch(ctx: Arc<ApiContext>, body: Bytes) -> Result<Response, ApiError> {
    let params = ctx.ledger.params();
    let max_txs = usize::try_from(params.max_block_txs).unwrap_or(usize::MAX);
    let cfg = (RangeCfg::from(0..=max_txs), TxCfg::from(params));
    let txs = Vec::<Tx>::decode_cfg(body, &cfg).map_err(|err| {
        ApiError::bad_request(
            "malformed_batch",
            format!(
                "malformed batch: {err}: the body must be the binary encoding of a list of at \
                 most {max_txs} signed transactions"
            ),
        )
    })?;
    let ledger = ctx.ledger.clone();
    let outcomes = blocking(move || ledger.submit_batch(txs)).await?;
    let all_full = !outcomes.is_empty()
        && outcomes.iter().all(|outcome| {
            matches!(
                outcome,
                Err(AdmitError::Full { .. } | AdmitError::ShareFull { .. })
            )
        });
    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    for (index, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            Ok(id) => accepted.push(to_hex(&id)),
            Err(err) => {
                let err = admit_error(err);
                if all_full {
                    return Err(err);
                }
                rejected.push(BatchRejection {
                    index: index as u64,
                    code: err.code.into_owned(),
                    message: err.message,
                });
            }
        }
    }
    let answer = TxsAccepted::Batch(BatchAccepted { accepted, rejected });
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}

/// The API error of a tx the mempool refused: what is wrong and what to do.
pub(crate) fn admit_error(err: AdmitError) -> ApiError {
    let code = err.code();
    match &err {
        AdmitError::Invalid(invalid) => {
            let hint = match invalid {
                TxError::Malformed(_) => {
                    "the body must be one signed transaction in custodia's binary encoding"
                }
                TxError::WrongChain { .. } => {
                    "sign the transaction for this chain (GET /v1/status)"
                }
                TxError::BadSignature { .. } => {
                    "sign the transaction again with the signer's identity key"
                }
                TxError::TooLarge { .. } | TxError::OverLimit { .. } => {
                    "make it smaller: no node can decode it as it is"
                }
                // Its message says what to do already.
                TxError::OutsideWindow { .. } => {
                    return ApiError::bad_request(code, err.to_string());
                }
            };
            ApiError::bad_request(code, format!("{err}: {hint}"))
        }
        AdmitError::Rejected(rejection) if rejection.code == Code::DuplicateTx => ApiError::new(
            StatusCode::CONFLICT,
            code,
            format!(
                "{}: see its receipt with GET /v1/receipts/{{tx_id}}",
                rejection.message
            ),
        ),
        AdmitError::Rejected(_) => ApiError::bad_request(
            code,
            format!("{err}; it was not admitted: fix it and sign a new transaction"),
        ),
        AdmitError::Duplicate(id) => ApiError::new(
            StatusCode::CONFLICT,
            code,
            format!("{err}: it needs no resubmission; follow it with GET /v1/receipts/{id}"),
        ),
        AdmitError::Full { .. } | AdmitError::ShareFull { .. } => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, err.to_string()).retry_after(1)
        }
        AdmitError::Unavailable(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            code,
            format!("{err}; retry shortly"),
        )
        .retry_after(1),
    }
}
