//! Deciding on a request (approve, reject with a reason) and withdrawing one's own, each after
//! a confirmation that names the requester, the records, the fields and the purpose.

use crate::{
    Shared,
    layout::{self, Nav, Signed},
    pages::requests::{awaits, records_text},
    view,
};
use axum::{
    Form,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use custodia_api::{Approval, Refusal, RequestDetail, RequestTx, Withdrawal};
use maud::{Markup, html};
use serde::Deserialize;

/// What can be done to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Approve,
    Reject,
    Cancel,
}

impl Action {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "approve" => Some(Action::Approve),
            "reject" => Some(Action::Reject),
            "cancel" => Some(Action::Cancel),
            _ => None,
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Cancel => "cancel",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Action::Approve => "Approve the request",
            Action::Reject => "Reject the request",
            Action::Cancel => "Withdraw the request",
        }
    }
}

/// `GET /console/requests/{id}/{approve|reject|cancel}`: the confirmation.
pub(crate) async fn confirm(
    State(console): State<Shared>,
    signed: Signed,
    Path((request_id, action)): Path<(String, String)>,
) -> Response {
    let Some(action) = Action::parse(&action) else {
        return crate::pages::not_found(signed).await;
    };
    match detail(&console, &request_id).await {
        Ok(detail) => {
            let body = form(&signed, action, &detail, "", None);
            layout::page(&signed, Nav::Requests, action.title(), body)
        }
        Err(failure) => layout::failed(&signed, Nav::Requests, action.title(), &failure),
    }
}

async fn detail(console: &Shared, request_id: &str) -> Result<RequestDetail, crate::api::Failure> {
    console
        .api
        .get::<RequestDetail>(&format!("/v1/requests/{request_id}"))
        .await
}

/// Whether `org` may take `action` on `detail` now (the API decides; this only hides forms
/// that could not succeed).
fn allowed(action: Action, detail: &RequestDetail, org: &str) -> bool {
    match action {
        Action::Approve | Action::Reject => awaits(detail, org),
        Action::Cancel => {
            detail.request.requester == org
                && detail.request.status == custodia_api::RequestStatus::Pending
        }
    }
}

fn form(
    signed: &Signed,
    action: Action,
    detail: &RequestDetail,
    reason: &str,
    error: Option<Markup>,
) -> Markup {
    let request = &detail.request;
    let id = request.request_id.to_string();
    if !allowed(action, detail, &signed.org) {
        return html! {
            @if let Some(error) = error { (error) }
            p.alert role="alert" #not-allowed {
                "Your organisation has no " (action.verb()) " to make on this request now."
            }
            p { a href={ "/console/requests/" (id) } { "Back to the request" } }
        };
    }
    let question = match action {
        Action::Approve => "Approve this disclosure?",
        Action::Reject => "Reject this disclosure?",
        Action::Cancel => "Withdraw your request?",
    };
    html! {
        @if let Some(error) = error { (error) }
        form.card.confirm method="post" action={ "/console/requests/" (id) "/" (action.verb()) } {
            (layout::csrf_field(&signed.session))
            p.question { (question) }
            dl.facts {
                dt { "Request" } dd { (view::request_link(&request.request_id)) }
                dt { "Requester" } dd #confirm-requester { (request.requester) }
                dt { "Records" } dd { (records_text(&request.record_ids)) }
                dt { "Fields" } dd #confirm-fields { (view::words(&request.fields)) }
                dt { "Purpose" } dd #confirm-purpose { (request.purpose) }
            }
            @if action == Action::Reject {
                label for="reason" { "Reason (required; the requester sees it)" }
                textarea #reason name="reason" rows="3" required { (reason) }
            }
            div.actions {
                @match action {
                    Action::Approve => button.primary type="submit" { "Confirm approval" },
                    Action::Reject => button.danger type="submit" { "Confirm rejection" },
                    Action::Cancel => button.danger type="submit" { "Confirm withdrawal" },
                }
                a.button href={ "/console/requests/" (id) } { "Back" }
            }
        }
    }
}

/// The decision form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DecisionForm {
    #[serde(default)]
    reason: String,
}

/// `POST /console/requests/{id}/{approve|reject|cancel}`: the signed decision or withdrawal,
/// through the API's own endpoint (which refuses what this organisation may not do).
pub(crate) async fn decide(
    State(console): State<Shared>,
    signed: Signed,
    Path((request_id, action)): Path<(String, String)>,
    Form(form_data): Form<DecisionForm>,
) -> Response {
    let Some(action) = Action::parse(&action) else {
        return crate::pages::not_found(signed).await;
    };
    let path = format!("/v1/requests/{request_id}/{}", action.verb());
    let reason = form_data.reason.trim().to_string();
    if action == Action::Reject && reason.is_empty() {
        return match detail(&console, &request_id).await {
            Ok(detail) => {
                let error = html! { p.alert role="alert" { "A rejection needs a reason: the requester sees it." } };
                let body = form(&signed, action, &detail, "", Some(error));
                layout::page_with(
                    StatusCode::BAD_REQUEST,
                    &signed,
                    Nav::Requests,
                    action.title(),
                    body,
                )
            }
            Err(failure) => layout::failed(&signed, Nav::Requests, action.title(), &failure),
        };
    }
    let written = match action {
        Action::Approve => {
            console
                .api
                .write::<_, RequestTx>(&path, &Approval { reason: None })
                .await
        }
        Action::Reject => {
            console
                .api
                .write::<_, RequestTx>(
                    &path,
                    &Refusal {
                        reason: reason.clone(),
                    },
                )
                .await
        }
        Action::Cancel => {
            console
                .api
                .write::<_, RequestTx>(&path, &Withdrawal {})
                .await
        }
    };
    let notice = match action {
        Action::Approve => "approved",
        Action::Reject => "rejected",
        Action::Cancel => "cancelled",
    };
    match written {
        Ok(_) => {
            Redirect::to(&format!("/console/requests/{request_id}?notice={notice}")).into_response()
        }
        Err(failure) => match detail(&console, &request_id).await {
            Ok(detail) => {
                let body = form(
                    &signed,
                    action,
                    &detail,
                    &reason,
                    Some(layout::alert(&failure)),
                );
                layout::page_with(failure.status, &signed, Nav::Requests, action.title(), body)
            }
            Err(_) => layout::failed(&signed, Nav::Requests, action.title(), &failure),
        },
    }
}
