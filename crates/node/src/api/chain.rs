//! What the chain holds: the node's status, finalized blocks with their receipts, and the
//! receipt of one tx (or that it still waits in the mempool). Hashes are lowercase hex.

use super::{ApiContext, ApiError, orgs::role, read::query, views};
use axum::{
    Json,
    extract::{Path, State, rejection::PathRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use custodia_api::{BlockView, HeightPath, MempoolStatus, Status, TxPath, TxStatus};
use custodia_protocol::hash::{from_hex, to_hex};
use std::sync::Arc;

/// Longest piece of a request echoed back in an error message.
const MAX_ECHO_CHARS: usize = 80;

/// `GET /v1/status`: chain, organisation and its role, head, peers and mempool.
#[utoipa::path(
    get, path = "/v1/status", tag = "chain",
    responses((status = 200, description = "The node's view of its chain", body = Status)),
)]
pub(crate) async fn status(State(ctx): State<Arc<ApiContext>>) -> Result<Json<Status>, ApiError> {
    let ledger = &ctx.ledger;
    let head = ledger.head();
    let genesis = ledger.genesis();
    let orgs = query(ledger, |queries| Ok(queries.orgs()?)).await?;
    // By name: the key file may be a rotation ahead of a state still catching up (§3.3).
    let Some(org) = orgs.iter().find(|org| org.name == ctx.org) else {
        return Err(ApiError::internal(format!(
            "this node's organisation {} is not an organisation of the chain {} (yet, as far as \
             this node has applied it)",
            ctx.org, genesis.chain_id
        )));
    };
    let me = org.identity_key.clone();
    let epoch = ledger.epochs().of(head.height.saturating_add(1));
    let seats = ledger
        .validator_sets()
        .set(epoch)
        .map(|set| set.iter().cloned().collect::<Vec<_>>())
        .unwrap_or_default();
    let validator = seats.contains(&me);
    let validators = seats
        .iter()
        .map(|key| views::validator_name(&orgs, key))
        .collect();
    let (txs, bytes) = {
        let mempool = ledger.mempool();
        (mempool.len() as u64, mempool.bytes() as u64)
    };
    Ok(Json(Status {
        chain: to_hex(&ledger.chain()),
        chain_id: genesis.chain_id.clone(),
        org: ctx.org.clone(),
        role: role(org.role),
        height: head.height,
        state_commitment: to_hex(&head.state_commitment),
        certified_height: ledger.certified_height(),
        peers: (ctx.peers)() as u64,
        mempool: MempoolStatus { txs, bytes },
        epoch,
        validators,
        validator,
    }))
}

/// `GET /v1/blocks/{height}`: a finalized block's header, the state commitment after it and
/// its txs' receipts in block order.
#[utoipa::path(
    get, path = "/v1/blocks/{height}", tag = "chain",
    params(HeightPath),
    responses(
        (status = 200, description = "The block's header and receipts", body = BlockView),
        (status = 400, description = "`invalid_height`", body = custodia_api::ErrorBody),
        (status = 404, description = "`block_not_found`", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn block(
    State(ctx): State<Arc<ApiContext>>,
    height: Result<Path<String>, PathRejection>,
) -> Result<Json<BlockView>, ApiError> {
    let Path(text) = height?;
    let height = block_height(&text)?;
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
    Ok(Json(BlockView {
        height: block.height,
        digest: to_hex(&block.digest),
        parent: to_hex(&block.parent),
        timestamp_ms: block.timestamp_ms,
        state_commitment: to_hex(&block.state_commitment),
        certified_height: ctx.ledger.certified_height(),
        txs: receipts.into_iter().map(views::receipt).collect(),
    }))
}

/// A block height of a path, or a 400 `invalid_height`.
pub(crate) fn block_height(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_height",
            format!(
                "block height {} is not a number: use a height from 1 to the head's (GET /v1/status)",
                echo(text)
            ),
        )
    })
}

/// `GET /v1/receipts/{tx_id}`: 200 with the receipt once the tx is in a finalized block, 202
/// while it waits in this node's mempool, 404 otherwise.
#[utoipa::path(
    get, path = "/v1/receipts/{tx_id}", tag = "chain",
    params(TxPath),
    responses(
        (status = 200, description = "In a finalized block: the receipt, `status` = `applied`", body = TxStatus),
        (status = 202, description = "Waiting in this node's mempool: `status` = `pending`", body = TxStatus),
        (status = 400, description = "`invalid_tx_id`", body = custodia_api::ErrorBody),
        (status = 404, description = "`unknown_tx`", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn receipt(
    State(ctx): State<Arc<ApiContext>>,
    path: Result<Path<TxPath>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(TxPath { tx_id: text }) = path?;
    let id = tx_id(&text)?;
    let find = || query(&ctx.ledger, move |queries| Ok(queries.receipt(&id)?));
    let mut found = find().await?;
    if found.is_none() {
        if ctx.ledger.mempool().contains(&id) {
            let pending = TxStatus::Pending { tx_id: to_hex(&id) };
            return Ok((StatusCode::ACCEPTED, Json(pending)).into_response());
        }
        // The executor commits a block before it drops the block's txs from the mempool: a tx
        // gone from the mempool since the first look is in the state now.
        found = find().await?;
    }
    match found {
        Some(receipt) => Ok(Json(TxStatus::Applied(views::receipt(receipt))).into_response()),
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

/// The tx id of a `{tx_id}` path, or the 400 `invalid_tx_id`.
pub(crate) fn tx_id(text: &str) -> Result<custodia_protocol::Digest, ApiError> {
    from_hex(text).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_tx_id",
            format!(
                "transaction id {} is not 64 hex characters: use the tx_id that POST /v1/txs returned",
                echo(text)
            ),
        )
    })
}

/// `text` quoted for an error message, cut short if long.
pub(crate) fn echo(text: &str) -> String {
    if text.chars().count() <= MAX_ECHO_CHARS {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(MAX_ECHO_CHARS).collect();
        format!("{head:?}…")
    }
}
