//! The write path of the node's own organisation: sign a body with the org key, admit it to
//! the mempool, and — with `?wait=true` — wait until a finalized block holds it.
//!
//! Without `wait` the answer is 202 `{<ids>, "tx_id"}`. With it: 200 `{<ids>, "tx_id",
//! "receipt"}` when the tx applied, the receipt's code with its [`rule_status`] when it failed,
//! the same 202
//! when no block took it within the timeout (it may still be), and 409 `tx_expired` when its
//! `valid_until` passed without a block taking it. Waiting holds no lock: it listens to the executed-block feed
//! and, should that be quiet or lag, looks the receipt up every [`POLL_INTERVAL`].

use super::{
    ApiContext, ApiError,
    read::{blocking, query},
    txs::admit_error,
    views,
};
use crate::{AdmitError, Executed, Keyring, Ledger, identity};
use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use commonware_cryptography::Signer as _;
use custodia_api::{
    KeyRotationTx, OrgTx, ProposalTx, RecordTx, RequestTx, WaitQuery,
    limits::{DEFAULT_TIMEOUT_SECS, MAX_TIMEOUT_SECS},
};
use custodia_protocol::{Body, Digest, ProposalId, RecordId, RequestId, Tx, hash::to_hex};
use custodia_state::{Code, Receipt};
use std::{sync::Arc, time::Duration};
use tokio::{
    sync::broadcast::{self, error::RecvError},
    time::Instant,
};

/// How often a waiting request looks at the state when no executed block arrived.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Blocks a node-signed tx stays valid after the next height (capped by `max_tx_ttl`).
pub(crate) const TX_WINDOW_BLOCKS: u64 = 120;

/// The HTTP status of a node-signed write that a state rule refused at admission (DESIGN
/// §7.8): 403 for the wrong party, 404 when what it names does not exist, 409 when the state
/// conflicts with it, 422 when the chain's records make it impossible, else 400.
pub(crate) fn rule_status(code: Code) -> StatusCode {
    match code {
        Code::NotMember
        | Code::NotSupervisor
        | Code::NotApprover
        | Code::NotRequester
        | Code::OwnRecord
        | Code::CannotSuspendSupervisor
        | Code::CannotRemoveSupervisor
        | Code::OwnRemoval
        | Code::SignerRemoved
        | Code::SignerNotAdmitted
        | Code::SignerRotated => StatusCode::FORBIDDEN,
        Code::RecordNotFound
        | Code::RequestNotFound
        | Code::OrgNotFound
        | Code::ProposalNotFound => StatusCode::NOT_FOUND,
        Code::RecordExists
        | Code::RequestExists
        | Code::RecordNotSubmitted
        | Code::RecordNotAccepted
        | Code::RequestNotPending
        | Code::AlreadyDecided
        | Code::RequestNotApproved
        | Code::RequestClosed
        | Code::RequesterSuspended
        | Code::SignerSuspended
        | Code::OrgStatusUnchanged
        | Code::KeyReused
        | Code::WrongEncryptionKey
        | Code::ProposalExists
        | Code::ProposalClosed
        | Code::MembershipChangePending
        | Code::NoContinuingQuorum
        | Code::TooManyValidators
        | Code::AlreadyVoted
        | Code::OrgExists
        | Code::OrgRemoved
        | Code::ProviderRemoved
        | Code::DuplicateTx => StatusCode::CONFLICT,
        Code::UnknownField | Code::DeliveryTooLarge => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// What a client asked to wait for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wait {
    /// Whether to wait at all.
    pub enabled: bool,
    /// How long, at most.
    pub timeout: Duration,
}

/// The wait `query` asks for, or a 400 `invalid_query`.
pub(crate) fn wait_of(query: &WaitQuery) -> Result<Wait, ApiError> {
    let seconds = query.timeout.unwrap_or(DEFAULT_TIMEOUT_SECS);
    if seconds > MAX_TIMEOUT_SECS {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!(
                "timeout={seconds} is too long: wait at most {MAX_TIMEOUT_SECS} seconds, then \
                 follow the transaction with GET /v1/receipts/{{tx_id}}"
            ),
        ));
    }
    Ok(Wait {
        enabled: query.wait.unwrap_or(false),
        timeout: Duration::from_secs(seconds),
    })
}

/// A tx this node signed and the mempool took.
pub(crate) enum Submitted {
    /// Admitted; not waited for.
    Pending(Digest),
    /// Finalized and applied, successfully or not.
    Applied(Box<Receipt>),
}

/// A tx this node signed, and whether its `valid_until` ends where the organisation's identity
/// key switches (then a waited write that expires signs again, with the new key).
pub(crate) struct Signed {
    tx: Tx,
    ends_at_switch: bool,
}

/// Signs `body` with the organisation's identity key that signs at the next height
/// ([`identity::tx_signer`]), valid from then for [`TX_WINDOW_BLOCKS`] blocks (at most
/// `max_tx_ttl`) or until that key stops signing. Reads the state while a rotation is under way.
pub(crate) fn sign(ledger: &Ledger, keys: &Keyring, body: Body) -> Signed {
    let keys = keys.current();
    let first = ledger.head().height.saturating_add(1);
    let window = TX_WINDOW_BLOCKS.min(ledger.params().max_tx_ttl);
    let next_from = keys
        .next_identity
        .as_ref()
        .and_then(|next| identity::scheduled_from(ledger, &next.public_key()));
    let signer = identity::tx_signer(&keys, next_from, first);
    let mut valid_until = first.saturating_add(window);
    let mut ends_at_switch = false;
    if let Some(until) = signer.until.filter(|until| *until < valid_until) {
        valid_until = until;
        ends_at_switch = true;
    }
    Signed {
        tx: Tx::sign(&signer.secret, ledger.chain(), valid_until, body),
        ends_at_switch,
    }
}

/// Signs `body`, admits it and, if asked, waits for its receipt.
pub(crate) async fn submit(
    ctx: &ApiContext,
    body: Body,
    wait: Wait,
) -> Result<Submitted, ApiError> {
    submit_holding(ctx, body, wait, ()).await
}

/// [`submit`], holding `guard` until the mempool took (or refused) the tx, not while waiting.
/// A waited tx whose validity ended at the organisation's identity-key switch without a block
/// taking it is signed again with the new key and submitted once more, within the timeout.
pub(crate) async fn submit_holding<G: Send>(
    ctx: &ApiContext,
    body: Body,
    wait: Wait,
    guard: G,
) -> Result<Submitted, ApiError> {
    let deadline = Instant::now() + wait.timeout;
    let mut guard = Some(guard);
    loop {
        let (ledger, keys, unsigned) = (ctx.ledger.clone(), ctx.keys.clone(), body.clone());
        let Signed { tx, ends_at_switch } =
            blocking(move || sign(&ledger, &keys, unsigned)).await?;
        let valid_until = tx.valid_until;
        // Listen before admitting, so the block that takes the tx cannot slip by unseen.
        let blocks = ctx.ledger.subscribe();
        let ledger = ctx.ledger.clone();
        let id = blocking(move || ledger.submit(tx))
            .await?
            .map_err(refused)?;
        drop(guard.take());
        if !wait.enabled {
            return Ok(Submitted::Pending(id));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match receipt_within(&ctx.ledger, blocks, id, valid_until, left).await? {
            Some(receipt) => return Ok(Submitted::Applied(Box::new(receipt))),
            None if ctx.ledger.head().height > valid_until && ends_at_switch => {
                tracing::info!(tx_id = %to_hex(&id), "the tx expired at this organisation's identity-key switch: signing it again with the new key");
            }
            None if ctx.ledger.head().height > valid_until => {
                return Err(ApiError::conflict(
                    "tx_expired",
                    format!(
                        "transaction {} was admitted but no block took it before its \
                         valid_until {valid_until} passed: it will never apply; submit the \
                         request again",
                        to_hex(&id)
                    ),
                ));
            }
            // Admitted and still waiting for a block: the same 202 as without a wait.
            None => return Ok(Submitted::Pending(id)),
        }
    }
}

/// What a write was about.
pub(crate) enum Written {
    /// A record (`POST /v1/records`).
    Record(RecordId),
    /// A request (create, approve, reject, cancel).
    Request(RequestId),
    /// An organisation's status (suspend, reinstate), by name.
    Org(String),
    /// A new encryption key of this organisation (hex).
    Key(String),
    /// A new identity key of this organisation (hex).
    IdentityKey(String),
    /// A proposal (propose, vote).
    Proposal(ProposalId),
}

impl Written {
    fn answer(self, tx_id: String, receipt: Option<custodia_api::Receipt>) -> Response {
        match self {
            Written::Record(record_id) => Json(RecordTx {
                record_id,
                tx_id,
                receipt,
            })
            .into_response(),
            Written::Request(request_id) => Json(RequestTx {
                request_id,
                tx_id,
                receipt,
            })
            .into_response(),
            Written::Org(org) => Json(OrgTx {
                org,
                tx_id,
                receipt,
            })
            .into_response(),
            Written::Key(encryption_key) => Json(KeyRotationTx {
                encryption_key,
                tx_id,
                receipt,
            })
            .into_response(),
            Written::IdentityKey(identity_key) => Json(custodia_api::IdentityRotationTx {
                identity_key,
                tx_id,
                receipt,
            })
            .into_response(),
            Written::Proposal(proposal_id) => Json(ProposalTx {
                proposal_id,
                tx_id,
                receipt,
            })
            .into_response(),
        }
    }
}

/// The answer of a write: 202 with its id and the tx id, 200 with the receipt too, or the
/// receipt's failure with the status its code has at admission ([`rule_status`]): a rule gives
/// one answer whether it refused the tx before or in its block.
pub(crate) fn answer(written: Written, submitted: Submitted) -> Response {
    match submitted {
        Submitted::Pending(id) => {
            let mut response = written.answer(to_hex(&id), None);
            *response.status_mut() = StatusCode::ACCEPTED;
            response
        }
        Submitted::Applied(receipt) if receipt.is_ok() => {
            let tx_id = to_hex(&receipt.tx_id);
            written.answer(tx_id, Some(views::receipt(*receipt)))
        }
        Submitted::Applied(receipt) => ApiError::new(
            Code::parse(&receipt.code).map_or(StatusCode::BAD_REQUEST, rule_status),
            receipt.code.clone(),
            format!(
                "{} failed in block {}: {}",
                to_hex(&receipt.tx_id),
                receipt.height,
                receipt.message
            ),
        )
        .into_response(),
    }
}

/// The receipt of `id` once a finalized block holds it, or `None` when `timeout` passed (or
/// the head passed `valid_until` without it).
async fn receipt_within(
    ledger: &Arc<Ledger>,
    mut blocks: broadcast::Receiver<Arc<Executed>>,
    id: Digest,
    valid_until: u64,
    timeout: Duration,
) -> Result<Option<Receipt>, ApiError> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(receipt) = query(ledger, move |queries| Ok(queries.receipt(&id)?)).await? {
            return Ok(Some(receipt));
        }
        if ledger.head().height > valid_until {
            return Ok(None);
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Ok(None);
        }
        let next = tokio::time::timeout(remaining, next_block(&mut blocks)).await;
        match next {
            Err(_elapsed) => return Ok(None),
            Ok(Some(executed)) => {
                if let Some(receipt) = executed.receipts.iter().find(|r| r.tx_id == id) {
                    return Ok(Some(receipt.clone()));
                }
            }
            Ok(None) => {}
        }
    }
}

/// The next executed block, or `None` after [`POLL_INTERVAL`] (or when the feed lagged or
/// closed): the caller then looks at the state itself.
pub(crate) async fn next_block(
    blocks: &mut broadcast::Receiver<Arc<Executed>>,
) -> Option<Arc<Executed>> {
    tokio::select! {
        received = blocks.recv() => match received {
            Ok(executed) => Some(executed),
            Err(RecvError::Lagged(_)) => None,
            Err(RecvError::Closed) => {
                tokio::time::sleep(POLL_INTERVAL).await;
                None
            }
        },
        () = tokio::time::sleep(POLL_INTERVAL) => None,
    }
}

/// The API error of a tx this node signed that the mempool refused.
fn refused(err: AdmitError) -> ApiError {
    match &err {
        AdmitError::Rejected(rejection) if rejection.code != Code::DuplicateTx => ApiError::new(
            rule_status(rejection.code),
            rejection.code.as_str(),
            format!("{}: nothing was submitted", rejection.message),
        ),
        _ => admit_error(err),
    }
}
