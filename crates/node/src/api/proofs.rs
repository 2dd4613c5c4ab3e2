//! Inclusion proofs (DESIGN §5.7, §7.9): `GET /v1/audit/{seq}/proof` and
//! `GET /v1/receipts/{tx_id}/proof`, each a leaf of the history with its proof against the
//! state commitment of a block at or after the leaf's (the head's by default).

use super::{
    ApiContext, ApiError,
    chain::{self, echo},
    json::QueryParams,
    params,
    read::query,
    views,
};
use axum::{
    Json,
    extract::{Path, State, rejection::PathRejection},
};
use custodia_api::{EventProof, HistoryProof, ProofQuery, ReceiptProof, SeqPath, TxPath};
use custodia_protocol::{hash::to_hex, history};
use std::sync::Arc;

/// `GET /v1/audit/{seq}/proof`.
#[utoipa::path(
    get, path = "/v1/audit/{seq}/proof", tag = "audit",
    params(SeqPath, ProofQuery),
    responses(
        (status = 200, description = "The event as its history leaf holds it (organisations by id) and its proof", body = EventProof),
        (status = 400, description = "`invalid_seq`, `invalid_height` or `invalid_query`", body = custodia_api::ErrorBody),
        (status = 404, description = "`event_not_found`, or `block_not_found` for an `at` above the head", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn event_proof(
    State(ctx): State<Arc<ApiContext>>,
    path: Result<Path<String>, PathRejection>,
    QueryParams(q): QueryParams<ProofQuery>,
) -> Result<Json<EventProof>, ApiError> {
    let Path(text) = path?;
    let seq = text
        .parse::<u64>()
        .ok()
        .filter(|seq| i64::try_from(*seq).is_ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_seq",
                format!(
                    "{} is not an audit entry's seq: use the seq of an entry of GET /v1/audit",
                    echo(&text)
                ),
            )
        })?;
    let at = params::integer("at", q.at)?;
    let found = query(&ctx.ledger, move |queries| queries.event_leaf(seq)).await?;
    let Some((event, location)) = found else {
        return Err(ApiError::not_found(
            "event_not_found",
            format!("the audit trail has no entry {seq}: use a seq of GET /v1/audit"),
        ));
    };
    let what = format!("audit entry {seq}");
    let proof = prove(&ctx, location, event.height, at, &what).await?;
    Ok(Json(EventProof {
        event: views::proven_event(seq, event),
        proof,
    }))
}

/// `GET /v1/receipts/{tx_id}/proof`.
#[utoipa::path(
    get, path = "/v1/receipts/{tx_id}/proof", tag = "chain",
    params(TxPath, ProofQuery),
    responses(
        (status = 200, description = "The tx's receipt and its proof", body = ReceiptProof),
        (status = 400, description = "`invalid_tx_id`, `invalid_height` or `invalid_query`", body = custodia_api::ErrorBody),
        (status = 404, description = "`unknown_tx` (not in a finalized block), or `block_not_found` for an `at` above the head", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn receipt_proof(
    State(ctx): State<Arc<ApiContext>>,
    path: Result<Path<TxPath>, PathRejection>,
    QueryParams(q): QueryParams<ProofQuery>,
) -> Result<Json<ReceiptProof>, ApiError> {
    let Path(TxPath { tx_id: text }) = path?;
    let id = chain::tx_id(&text)?;
    let at = params::integer("at", q.at)?;
    let found = query(&ctx.ledger, move |queries| queries.receipt_leaf(&id)).await?;
    let Some((receipt, location)) = found else {
        return Err(ApiError::not_found(
            "unknown_tx",
            format!(
                "transaction {} is not in a finalized block (GET /v1/receipts/{{tx_id}} says \
                 whether it is pending)",
                to_hex(&id)
            ),
        ));
    };
    let what = format!("the receipt of tx {}", to_hex(&id));
    let proof = prove(&ctx, location, receipt.height, at, &what).await?;
    Ok(Json(ReceiptProof {
        receipt: views::receipt(receipt),
        proof,
    }))
}

/// The proof of leaf `location`, written by block `height`, against block `at` (the last block
/// the state applied when `None`: the ledger's head may lag the state it reads).
async fn prove(
    ctx: &ApiContext,
    location: u64,
    height: u64,
    at: Option<u64>,
    what: &str,
) -> Result<HistoryProof, ApiError> {
    let head = ctx.ledger.head().height;
    if let Some(at) = at.filter(|at| *at < height) {
        return Err(ApiError::bad_request(
            "invalid_height",
            format!(
                "{what} is in block {height}, after block {at}: prove it against a block from \
                 {height} to the head ({head}), or leave `at` out for the head"
            ),
        ));
    }
    let found = query(&ctx.ledger, move |queries| {
        queries.history_proof(location, at)
    })
    .await?;
    let Some(proof) = found else {
        return Err(ApiError::not_found(
            "block_not_found",
            format!(
                "no finalized block at height {}: the head is at height {head}; leave `at` out \
                 to prove against the head",
                at.unwrap_or(head)
            ),
        ));
    };
    Ok(HistoryProof {
        location: proof.location,
        proof: hex::encode(history::proof_to_bytes(&proof.proof)),
        height: proof.at.height,
        block: to_hex(&proof.at.digest),
        history_root: to_hex(&proof.at.history_root),
        state_commitment: to_hex(&proof.at.state_commitment),
    })
}
