//! What the chain holds: the node's status, finalized blocks with their receipts, and the
//! receipt of one tx (or that it still waits in the mempool). Hashes are lowercase hex.

use super::{ApiContext, ApiError, read::query};
use axum::{
    Json,
    extract::{Path, State, rejection::PathRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use custodia_protocol::hash::{from_hex, to_hex};
use custodia_state::Receipt;
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// Longest piece of a request echoed back in an error message.
const MAX_ECHO_CHARS: usize = 80;

/// `GET /v1/status`: chain, organisation and its role, head, peers and mempool.
#[utoipa::path(
    get, path = "/v1/status", tag = "chain",
    responses((status = 200, description = "The node's view of its chain", body = super::openapi::StatusAnswer)),
)]
pub(crate) async fn status(State(ctx): State<Arc<ApiContext>>) -> Json<Value> {
    let ledger = &ctx.ledger;
    let head = ledger.head();
    let genesis = ledger.genesis();
    let role = genesis
        .org(&ctx.keys.identity_key())
        .or_else(|| genesis.org_by_name(&ctx.org))
        .map(|org| org.role.as_str());
    let (txs, bytes) = {
        let mempool = ledger.mempool();
        (mempool.len(), mempool.bytes())
    };
    Json(json!({
        "chain_id": ledger.genesis().chain_id,
        "chain": to_hex(&ledger.chain()),
        "org": ctx.org,
        "role": role,
        "height": head.height,
        "state_commitment": to_hex(&head.state_commitment),
        "peers": (ctx.peers)(),
        "mempool": { "txs": txs, "bytes": bytes },
    }))
}

/// `GET /v1/blocks/{height}`: a finalized block's header, the state commitment after it and
/// its txs' receipts in block order.
#[utoipa::path(
    get, path = "/v1/blocks/{height}", tag = "chain",
    params(("height" = u64, Path, description = "Block height, from 1")),
    responses(
        (status = 200, description = "The block's header and receipts", body = super::openapi::BlockAnswer),
        (status = 400, description = "`invalid_height`", body = super::error::ErrorBody),
        (status = 404, description = "`block_not_found`", body = super::error::ErrorBody),
    ),
)]
pub(crate) async fn block(
    State(ctx): State<Arc<ApiContext>>,
    height: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(text) = height?;
    let height: u64 = text.parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_height",
            format!(
                "block height {} is not a number: use a height from 1 to the head's (GET /v1/status)",
                echo(&text)
            ),
        )
    })?;
    let found = query(&ctx.ledger, move |queries| {
        let Some(block) = queries.block(height)? else {
            return Ok(None);
        };
        Ok(Some((block, queries.block_receipts(height)?)))
    })
    .await?;
    let Some((block, receipts)) = found else {
        return Err(ApiError::not_found(
            "block_not_found",
            format!(
                "no finalized block at height {height}: blocks start at height 1 and the head \
                 is at height {}",
                ctx.ledger.head().height
            ),
        ));
    };
    Ok(Json(json!({
        "height": block.height,
        "digest": to_hex(&block.digest),
        "parent": to_hex(&block.parent),
        "timestamp_ms": block.timestamp_ms,
        "state_commitment": to_hex(&block.state_commitment),
        "txs": receipts,
    })))
}

/// A receipt with the tx's status.
#[derive(Serialize)]
struct Applied {
    #[serde(flatten)]
    receipt: Receipt,
    /// Always `applied`: the tx is in a finalized block (its `code` says whether it succeeded).
    status: &'static str,
}

/// `GET /v1/receipts/{tx_id}`: 200 with the receipt once the tx is in a finalized block, 202
/// while it waits in this node's mempool, 404 otherwise.
#[utoipa::path(
    get, path = "/v1/receipts/{tx_id}", tag = "chain",
    params(("tx_id" = String, Path, description = "Transaction id (64 hex)")),
    responses(
        (status = 200, description = "In a finalized block: the receipt, `status` = `applied`", body = super::openapi::AppliedReceipt),
        (status = 202, description = "Waiting in this node's mempool", body = super::openapi::PendingReceipt),
        (status = 400, description = "`invalid_tx_id`", body = super::error::ErrorBody),
        (status = 404, description = "`unknown_tx`", body = super::error::ErrorBody),
    ),
)]
pub(crate) async fn receipt(
    State(ctx): State<Arc<ApiContext>>,
    tx_id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(text) = tx_id?;
    let Some(id) = from_hex(&text) else {
        return Err(ApiError::bad_request(
            "invalid_tx_id",
            format!(
                "transaction id {} is not 64 hex characters: use the tx_id that POST /v1/txs returned",
                echo(&text)
            ),
        ));
    };
    let find = || query(&ctx.ledger, move |queries| Ok(queries.receipt(&id)?));
    let mut found = find().await?;
    if found.is_none() {
        if ctx.ledger.mempool().contains(&id) {
            let pending = json!({ "tx_id": to_hex(&id), "status": "pending" });
            return Ok((StatusCode::ACCEPTED, Json(pending)).into_response());
        }
        // The executor commits a block before it drops the block's txs from the mempool: a tx
        // gone from the mempool since the first look is in the state now.
        found = find().await?;
    }
    match found {
        Some(receipt) => Ok(Json(Applied {
            receipt,
            status: "applied",
        })
        .into_response()),
        None => Err(ApiError::not_found(
            "unknown_tx",
            format!(
                "transaction {} is neither in a finalized block nor in this node's mempool: it \
                 was never admitted, or its valid_until passed before a block took it; submit \
                 it (again) with POST /v1/txs",
                to_hex(&id)
            ),
        )),
    }
}

/// `text` quoted for an error message, cut short if long.
fn echo(text: &str) -> String {
    if text.chars().count() <= MAX_ECHO_CHARS {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(MAX_ECHO_CHARS).collect();
        format!("{head:?}…")
    }
}
