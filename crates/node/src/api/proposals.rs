//! Governance (DESIGN §4.10): `POST /v1/proposals` signs a `Propose` with the org key, `POST
//! /v1/proposals/{id}/approve` and `/reject` a `Vote`; `GET /v1/proposals` and `/{id}` show them
//! with their votes.

use super::{
    ApiContext, ApiError,
    json::{JsonBody, OptionalJsonBody, QueryParams},
    params::Directory,
    read::query,
    wait::{self, Written},
};
use axum::{
    Json,
    extract::{Path, State, rejection::PathRejection},
    response::Response,
};
use custodia_api::{
    Approval, NewMember, NewProposal, ProposalFilter, ProposalPage, ProposalPath, ProposalStatus,
    ProposalView, ProposalVote, ProposedChange, Refusal, WaitQuery,
};
use custodia_protocol::{
    Body, Change, EncryptionKey, GenesisOrg, GovernedParam, OrgId, ProposalId, Role,
    keys::identity_key_from_hex,
};
use custodia_state::{Org, ProposalRow, VoteRow};
use std::sync::Arc;

/// `POST /v1/proposals`: this organisation proposes a change; its proposal is its vote for.
#[utoipa::path(
    post, path = "/v1/proposals", operation_id = "propose", tag = "governance",
    params(WaitQuery),
    request_body = NewProposal,
    responses(
        (status = 202, description = "Admitted to the mempool; with `wait=true`, admitted but not finalized within the timeout", body = custodia_api::ProposalTx),
        (status = 200, description = "With `wait=true`: finalized and applied; carries the receipt; a tx that failed in its block answers with its receipt's code, at that code's status below", body = custodia_api::ProposalTx),
        (status = 400, description = "`invalid_json`, `invalid_query`, `invalid_key`, `invalid_proposal`, `too_large`", body = custodia_api::ErrorBody),
        (status = 403, description = "`cannot_remove_supervisor`, `signer_removed`", body = custodia_api::ErrorBody),
        (status = 404, description = "`unknown_org`: a removal names no organisation", body = custodia_api::ErrorBody),
        (status = 409, description = "`membership_change_pending`, `no_continuing_quorum`, `too_many_validators`, `org_exists`, `signer_suspended`; `tx_expired` with `wait=true`", body = custodia_api::ErrorBody),
        (status = 503, description = "`mempool_full` or `unavailable` (see `Retry-After`)", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn propose(
    State(ctx): State<Arc<ApiContext>>,
    QueryParams(wait): QueryParams<WaitQuery>,
    JsonBody(proposal): JsonBody<NewProposal>,
) -> Result<Response, ApiError> {
    let wait = wait::wait_of(&wait)?;
    let (orgs, params) = query(&ctx.ledger, |queries| {
        Ok((queries.orgs()?, queries.params()?))
    })
    .await?;
    let change = change_of(proposal.change, &orgs)?;
    let proposal_id = ProposalId::random();
    let body = Body::Propose {
        proposal_id,
        change,
        ttl: proposal.ttl.unwrap_or(params.max_proposal_ttl),
    };
    let submitted = wait::submit(&ctx, body, wait).await?;
    Ok(wait::answer(Written::Proposal(proposal_id), submitted))
}

/// `POST /v1/proposals/{proposal_id}/approve`: this organisation votes for.
#[utoipa::path(
    post, path = "/v1/proposals/{proposal_id}/approve", operation_id = "approve_proposal", tag = "governance",
    params(ProposalPath, WaitQuery),
    request_body(content = Approval, description = "Optional: `{\"reason\"}`, `{}` or no body"),
    responses(
        (status = 202, description = "Admitted to the mempool; with `wait=true`, admitted but not finalized within the timeout", body = custodia_api::ProposalTx),
        (status = 200, description = "With `wait=true`: finalized and applied; carries the receipt; a tx that failed in its block answers with its receipt's code, at that code's status below", body = custodia_api::ProposalTx),
        (status = 400, description = "`invalid_json`, `invalid_query`, `invalid_proposal_id`, `too_large`", body = custodia_api::ErrorBody),
        (status = 403, description = "`own_removal`: the member a removal names does not vote on it; `signer_removed`", body = custodia_api::ErrorBody),
        (status = 404, description = "`proposal_not_found`", body = custodia_api::ErrorBody),
        (status = 409, description = "`proposal_closed`, `already_voted`, `signer_suspended`; `tx_expired` with `wait=true`", body = custodia_api::ErrorBody),
        (status = 503, description = "`mempool_full` or `unavailable` (see `Retry-After`)", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn approve(
    State(ctx): State<Arc<ApiContext>>,
    path: Result<Path<ProposalPath>, PathRejection>,
    QueryParams(wait): QueryParams<WaitQuery>,
    OptionalJsonBody(approval): OptionalJsonBody<Approval>,
) -> Result<Response, ApiError> {
    let wait = wait::wait_of(&wait)?;
    let reason = approval.reason.unwrap_or_default();
    vote(&ctx, path, true, reason, wait).await
}

/// `POST /v1/proposals/{proposal_id}/reject`: this organisation votes against, with a reason.
#[utoipa::path(
    post, path = "/v1/proposals/{proposal_id}/reject", operation_id = "reject_proposal", tag = "governance",
    params(ProposalPath, WaitQuery),
    request_body = Refusal,
    responses(
        (status = 202, description = "Admitted to the mempool; with `wait=true`, admitted but not finalized within the timeout", body = custodia_api::ProposalTx),
        (status = 200, description = "With `wait=true`: finalized and applied; carries the receipt; a tx that failed in its block answers with its receipt's code, at that code's status below", body = custodia_api::ProposalTx),
        (status = 400, description = "`reason_required`, `invalid_json`, `invalid_query`, `invalid_proposal_id`, `too_large`", body = custodia_api::ErrorBody),
        (status = 403, description = "`own_removal`: the member a removal names does not vote on it; `signer_removed`", body = custodia_api::ErrorBody),
        (status = 404, description = "`proposal_not_found`", body = custodia_api::ErrorBody),
        (status = 409, description = "`proposal_closed`, `already_voted`, `signer_suspended`; `tx_expired` with `wait=true`", body = custodia_api::ErrorBody),
        (status = 503, description = "`mempool_full` or `unavailable` (see `Retry-After`)", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn reject(
    State(ctx): State<Arc<ApiContext>>,
    path: Result<Path<ProposalPath>, PathRejection>,
    QueryParams(wait): QueryParams<WaitQuery>,
    JsonBody(Refusal { reason }): JsonBody<Refusal>,
) -> Result<Response, ApiError> {
    let wait = wait::wait_of(&wait)?;
    if custodia_api::limits::is_blank(&reason) {
        return Err(ApiError::bad_request(
            "reason_required",
            "a vote against needs a reason: send {\"reason\": \"why\"}",
        ));
    }
    vote(&ctx, path, false, reason, wait).await
}

async fn vote(
    ctx: &ApiContext,
    path: Result<Path<ProposalPath>, PathRejection>,
    approve: bool,
    reason: String,
    wait: wait::Wait,
) -> Result<Response, ApiError> {
    let proposal_id = existing(ctx, path).await?;
    let body = Body::Vote {
        proposal_id,
        approve,
        reason,
    };
    let submitted = wait::submit(ctx, body, wait).await?;
    Ok(wait::answer(Written::Proposal(proposal_id), submitted))
}

/// `GET /v1/proposals`: proposals, oldest first, with their votes.
#[utoipa::path(
    get, path = "/v1/proposals", operation_id = "list_proposals", tag = "governance",
    params(ProposalFilter),
    responses(
        (status = 200, description = "The proposals", body = ProposalPage),
        (status = 400, description = "`invalid_query`", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn list(
    State(ctx): State<Arc<ApiContext>>,
    QueryParams(filter): QueryParams<ProposalFilter>,
) -> Result<Json<ProposalPage>, ApiError> {
    let status = filter.status.map(|s| s.as_str());
    let (rows, orgs) = query(&ctx.ledger, move |queries| {
        let rows = queries.proposals(status)?;
        let mut with_votes = Vec::with_capacity(rows.len());
        for row in rows {
            let votes = queries.votes(&row.proposal_id)?;
            with_votes.push((row, votes));
        }
        Ok((with_votes, queries.orgs()?))
    })
    .await?;
    let proposals = rows
        .into_iter()
        .map(|(row, votes)| view(row, votes, &orgs))
        .collect::<Result<_, _>>()?;
    Ok(Json(ProposalPage { proposals }))
}

/// `GET /v1/proposals/{proposal_id}`.
#[utoipa::path(
    get, path = "/v1/proposals/{proposal_id}", operation_id = "show_proposal", tag = "governance",
    params(ProposalPath),
    responses(
        (status = 200, description = "The proposal with its votes", body = ProposalView),
        (status = 400, description = "`invalid_proposal_id`", body = custodia_api::ErrorBody),
        (status = 404, description = "`proposal_not_found`", body = custodia_api::ErrorBody),
    ),
)]
pub(crate) async fn show(
    State(ctx): State<Arc<ApiContext>>,
    path: Result<Path<ProposalPath>, PathRejection>,
) -> Result<Json<ProposalView>, ApiError> {
    let Path(ProposalPath { proposal_id }) = path?;
    let id = proposal_id_of(&proposal_id)?;
    let found = query(&ctx.ledger, move |queries| {
        let Some(row) = queries.proposal(&id)? else {
            return Ok(None);
        };
        Ok(Some((row, queries.votes(&id)?, queries.orgs()?)))
    })
    .await?;
    let Some((row, votes, orgs)) = found else {
        return Err(not_found(&id));
    };
    Ok(Json(view(row, votes, &orgs)?))
}

fn proposal_id_of(text: &str) -> Result<ProposalId, ApiError> {
    text.parse().map_err(|err| {
        ApiError::bad_request(
            "invalid_proposal_id",
            format!("{err}: use a proposal id as GET /v1/proposals lists them"),
        )
    })
}

fn not_found(id: &ProposalId) -> ApiError {
    ApiError::not_found("proposal_not_found", format!("no proposal {id}"))
}

async fn existing(
    ctx: &ApiContext,
    path: Result<Path<ProposalPath>, PathRejection>,
) -> Result<ProposalId, ApiError> {
    let Path(ProposalPath { proposal_id }) = path?;
    let id = proposal_id_of(&proposal_id)?;
    let found = query(&ctx.ledger, move |queries| {
        Ok(queries.proposal(&id)?.is_some())
    })
    .await?;
    if found { Ok(id) } else { Err(not_found(&id)) }
}

/// The protocol's change of the API's, organisations by name, keys from hex (400s).
fn change_of(change: ProposedChange, orgs: &[Org]) -> Result<Change, ApiError> {
    Ok(match change {
        ProposedChange::AddMember(NewMember {
            name,
            identity_key,
            encryption_key,
            p2p,
            api,
        }) => {
            let identity_key = identity_key_from_hex(&identity_key).ok_or_else(|| {
                invalid_key("identity_key", "an Ed25519 public key: 64 hex digits")
            })?;
            let encryption_key = hex::decode(&encryption_key)
                .ok()
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .map(EncryptionKey)
                .ok_or_else(|| invalid_key("encryption_key", "an X25519 key: 64 hex digits"))?;
            Change::AddMember(Box::new(GenesisOrg {
                name,
                role: Role::Member,
                identity_key,
                encryption_key,
                p2p,
                api,
            }))
        }
        ProposedChange::RemoveMember { org } => Change::RemoveMember {
            org: Directory::of_orgs(orgs).id(&org)?,
        },
        ProposedChange::ChangeParams(values) => {
            let values = values.set();
            let mut changes = Vec::with_capacity(values.len());
            for (name, value) in values {
                let param: GovernedParam = name
                    .parse()
                    .map_err(|err: String| ApiError::bad_request("invalid_proposal", err))?;
                changes.push((param, value));
            }
            Change::ChangeParams(changes)
        }
    })
}

fn invalid_key(field: &str, what: &str) -> ApiError {
    ApiError::bad_request(
        "invalid_key",
        format!("{field} is not {what}: copy it from the member's org.pub.toml"),
    )
}

fn view(row: ProposalRow, votes: Vec<VoteRow>, orgs: &[Org]) -> Result<ProposalView, ApiError> {
    let name = |id: OrgId| {
        orgs.iter()
            .find(|o| o.id == id)
            .map_or_else(|| format!("#{id}"), |o| o.name.clone())
    };
    let status = row
        .status
        .parse::<ProposalStatus>()
        .map_err(ApiError::internal)?;
    Ok(ProposalView {
        proposal_id: row.proposal_id,
        proposer: name(row.proposer),
        kind: row.change.name().to_string(),
        description: row.description,
        target: row.target.map(name),
        ttl: row.ttl,
        created_height: row.created_height,
        expires_height: row.expires_height,
        status,
        status_height: row.status_height,
        effective_height: row.effective_height,
        votes: votes
            .into_iter()
            .map(|vote| ProposalVote {
                org: name(vote.org),
                approve: vote.approve,
                reason: vote.reason,
                height: vote.height,
            })
            .collect(),
    })
}
