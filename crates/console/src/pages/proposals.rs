//! Governance proposals with their votes; this organisation votes after a confirmation.

use crate::{
    Shared,
    layout::{self, Nav, Signed},
    pages::Notice,
    view,
};
use axum::{
    Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use custodia_api::{
    Approval, ProposalFilter, ProposalPage, ProposalStatus, ProposalTx, ProposalView, Refusal,
};
use maud::{Markup, html};
use serde::Deserialize;

/// `GET /console/proposals`.
pub(crate) async fn list(
    State(console): State<Shared>,
    signed: Signed,
    Query(notice): Query<Notice>,
) -> Response {
    let page = console
        .api
        .get_query::<_, ProposalPage>("/v1/proposals", &ProposalFilter::default())
        .await;
    let body = html! {
        (notice.render())
        p.help { "Proposals are made with `custodia org propose`; here each organisation votes." }
        div #proposals data-live {
            @match &page {
                Err(failure) => (layout::alert(failure)),
                Ok(page) if page.proposals.is_empty() => p.empty { "No proposals yet." },
                Ok(page) => (layout::table("Proposals", html! {
                    table {
                        thead { tr {
                            th scope="col" { "Proposal" } th scope="col" { "Change" } th scope="col" { "By" }
                            th scope="col" { "Status" } th scope="col" { "Votes" } th scope="col" { "Expires" }
                        } }
                        tbody {
                            @for proposal in &page.proposals {
                                tr {
                                    td { a.id href={ "/console/proposals/" (proposal.proposal_id) } { (proposal.proposal_id) } }
                                    td { (proposal.description) }
                                    td { (proposal.proposer) }
                                    td { (view::badge(proposal.status.as_str())) }
                                    td { (proposal.votes.len()) }
                                    td { (view::height(proposal.expires_height)) }
                                }
                            }
                        }
                    }
                })),
            }
        }
    };
    layout::page(&signed, Nav::Proposals, "Proposals", body)
}

async fn proposal(console: &Shared, id: &str) -> Result<ProposalView, crate::api::Failure> {
    console
        .api
        .get::<ProposalView>(&format!("/v1/proposals/{id}"))
        .await
}

fn may_vote(proposal: &ProposalView, org: &str) -> bool {
    proposal.status == ProposalStatus::Open && !proposal.votes.iter().any(|v| v.org == org)
}

/// `GET /console/proposals/{id}`.
pub(crate) async fn show(
    State(console): State<Shared>,
    signed: Signed,
    Path(id): Path<String>,
    Query(notice): Query<Notice>,
) -> Response {
    let title = format!("Proposal {id}");
    let proposal = match proposal(&console, &id).await {
        Ok(proposal) => proposal,
        Err(failure) => return layout::failed(&signed, Nav::Proposals, &title, &failure),
    };
    let body = html! {
        (notice.render())
        div #proposal data-live {
            dl.facts {
                dt { "Change" } dd { (proposal.description) }
                dt { "Proposer" } dd { (proposal.proposer) }
                dt { "Status" } dd { (view::badge(proposal.status.as_str())) " since " (view::height(proposal.status_height)) }
                @if let Some(h) = proposal.effective_height { dt { "Takes effect at" } dd { (view::height(h)) } }
                dt { "Created at" } dd { (view::height(proposal.created_height)) }
                dt { "Expires at" } dd { (view::height(proposal.expires_height)) }
            }
            @if may_vote(&proposal, &signed.org) {
                div.actions {
                    a.button.primary href={ "/console/proposals/" (id) "/approve" } { "Vote for" }
                    a.button.danger href={ "/console/proposals/" (id) "/reject" } { "Vote against" }
                }
            }
            h2 { "Votes" }
            @if proposal.votes.is_empty() { p.empty { "No votes yet." } } @else {
                ol.timeline {
                    @for vote in &proposal.votes {
                        li {
                            (view::height(vote.height)) " " (vote.org) ": "
                            @if vote.approve { (view::badge("approved")) } @else { (view::badge("rejected")) }
                            @if !vote.reason.is_empty() { " — " (vote.reason) }
                        }
                    }
                }
            }
        }
    };
    layout::page(&signed, Nav::Proposals, &title, body)
}

fn parse(action: &str) -> Option<bool> {
    match action {
        "approve" => Some(true),
        "reject" => Some(false),
        _ => None,
    }
}

fn form(signed: &Signed, proposal: &ProposalView, approve: bool, error: Option<Markup>) -> Markup {
    let id = proposal.proposal_id.to_string();
    html! {
        @if let Some(error) = error { (error) }
        @if may_vote(proposal, &signed.org) {
            form.card.confirm method="post" action={ "/console/proposals/" (id) "/" (if approve { "approve" } else { "reject" }) } {
                (layout::csrf_field(&signed.session))
                p.question { @if approve { "Vote for: " } @else { "Vote against: " } (proposal.description) "?" }
                label for="reason" { @if approve { "Reason (optional)" } @else { "Reason (required)" } }
                textarea #reason name="reason" rows="3" required[!approve] {}
                div.actions {
                    button.primary type="submit" { @if approve { "Confirm vote for" } @else { "Confirm vote against" } }
                    a.button href={ "/console/proposals/" (id) } { "Back" }
                }
            }
        } @else {
            p.alert role="alert" { "Your organisation cannot vote on this proposal now." }
        }
    }
}

/// `GET /console/proposals/{id}/{approve|reject}`: the confirmation.
pub(crate) async fn confirm(
    State(console): State<Shared>,
    signed: Signed,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let Some(approve) = parse(&action) else {
        return crate::pages::not_found(signed).await;
    };
    match proposal(&console, &id).await {
        Ok(proposal) => {
            let body = form(&signed, &proposal, approve, None);
            layout::page(&signed, Nav::Proposals, "Vote", body)
        }
        Err(failure) => layout::failed(&signed, Nav::Proposals, "Vote", &failure),
    }
}

/// The vote form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct VoteForm {
    #[serde(default)]
    reason: String,
}

/// `POST /console/proposals/{id}/{approve|reject}`: the signed vote.
pub(crate) async fn vote(
    State(console): State<Shared>,
    signed: Signed,
    Path((id, action)): Path<(String, String)>,
    Form(form_data): Form<VoteForm>,
) -> Response {
    let Some(approve) = parse(&action) else {
        return crate::pages::not_found(signed).await;
    };
    let reason = form_data.reason.trim().to_string();
    let path = format!("/v1/proposals/{id}/{action}");
    let written = if approve {
        let reason = (!reason.is_empty()).then_some(reason);
        console
            .api
            .write::<_, ProposalTx>(&path, &Approval { reason })
            .await
    } else if reason.is_empty() {
        Err(crate::api::Failure {
            status: StatusCode::BAD_REQUEST,
            code: "reason_required".into(),
            message: "a vote against needs a reason".into(),
        })
    } else {
        console
            .api
            .write::<_, ProposalTx>(&path, &Refusal { reason })
            .await
    };
    match written {
        Ok(_) => Redirect::to(&format!("/console/proposals/{id}?notice=voted")).into_response(),
        Err(failure) => match proposal(&console, &id).await {
            Ok(proposal) => {
                let body = form(&signed, &proposal, approve, Some(layout::alert(&failure)));
                layout::page_with(failure.status, &signed, Nav::Proposals, "Vote", body)
            }
            Err(_) => layout::failed(&signed, Nav::Proposals, "Vote", &failure),
        },
    }
}
