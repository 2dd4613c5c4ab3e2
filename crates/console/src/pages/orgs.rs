//! The consortium's organisations; the supervisor suspends (with a reason) and reinstates
//! members, each after a confirmation.

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
use custodia_api::{Membership, Org, OrgTx, Orgs, Reinstatement, Role, Suspension};
use maud::{Markup, html};
use serde::Deserialize;

/// `GET /console/orgs`.
pub(crate) async fn list(
    State(console): State<Shared>,
    signed: Signed,
    Query(notice): Query<Notice>,
) -> Response {
    let orgs = match console.api.get::<Orgs>("/v1/orgs").await {
        Ok(orgs) => orgs.orgs,
        Err(failure) => return layout::failed(&signed, Nav::Orgs, "Organisations", &failure),
    };
    let body = html! {
        (notice.render())
        div #orgs data-live {
            (layout::table("Organisations", html! {
                table {
                    thead { tr {
                        th scope="col" { "Organisation" } th scope="col" { "Role" } th scope="col" { "Membership" }
                        th scope="col" { "Status" } th scope="col" { "Validates" } th scope="col" { "API" }
                        @if signed.is_supervisor() { th scope="col" { "Action" } }
                    } }
                    tbody {
                        @for org in &orgs {
                            tr {
                                th scope="row" { (org.name) }
                                td { (org.role) }
                                td { (org.membership) " at " (view::height(org.membership_height)) }
                                td {
                                    @if org.active { (view::badge("active")) } @else { (view::badge("suspended")) }
                                    @if let Some(reason) = &org.status_reason { " " (reason) }
                                }
                                td { (validates(org)) }
                                td.mono { (org.api) }
                                @if signed.is_supervisor() { td { (action(org)) } }
                            }
                        }
                    }
                }
            }))
        }
    };
    layout::page(&signed, Nav::Orgs, "Organisations", body)
}

fn validates(org: &Org) -> String {
    match (org.validator_from, org.validator_until) {
        (Some(from), Some(until)) => format!("epochs {from}–{until}"),
        (Some(from), None) => format!("from epoch {from}"),
        _ => "—".into(),
    }
}

fn action(org: &Org) -> Markup {
    if org.role == Role::Supervisor || org.membership == Membership::Removed {
        return html! {};
    }
    let (verb, label) = if org.active {
        ("suspend", "Suspend")
    } else {
        ("reinstate", "Reinstate")
    };
    html! { a.button href={ "/console/orgs/" (org.name) "/" (verb) } { (label) " " (org.name) } }
}

fn parse(action: &str) -> Option<bool> {
    match action {
        "suspend" => Some(true),
        "reinstate" => Some(false),
        _ => None,
    }
}

/// `GET /console/orgs/{name}/{suspend|reinstate}`: the confirmation.
pub(crate) async fn confirm(
    signed: Signed,
    Path((name, action)): Path<(String, String)>,
) -> Response {
    let Some(suspend) = parse(&action) else {
        return crate::pages::not_found(signed).await;
    };
    let title = if suspend {
        "Suspend an organisation"
    } else {
        "Reinstate an organisation"
    };
    let body = form(&signed, &name, suspend, "", None);
    layout::page(&signed, Nav::Orgs, title, body)
}

fn form(signed: &Signed, name: &str, suspend: bool, reason: &str, error: Option<Markup>) -> Markup {
    let verb = if suspend { "suspend" } else { "reinstate" };
    html! {
        @if let Some(error) = error { (error) }
        form.card.confirm method="post" action={ "/console/orgs/" (name) "/" (verb) } {
            (layout::csrf_field(&signed.session))
            p.question {
                @if suspend { "Suspend " (name) "? It can no longer submit, request or decide until reinstated." }
                @else { "Reinstate " (name) "?" }
            }
            label for="reason" { @if suspend { "Reason (required)" } @else { "Reason (optional)" } }
            textarea #reason name="reason" rows="3" required[suspend] { (reason) }
            div.actions {
                button.danger type="submit" { @if suspend { "Confirm suspension" } @else { "Confirm reinstatement" } }
                a.button href="/console/orgs" { "Back" }
            }
        }
    }
}

/// The suspension form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ActForm {
    #[serde(default)]
    reason: String,
}

/// `POST /console/orgs/{name}/{suspend|reinstate}` (the API refuses it but to the supervisor).
pub(crate) async fn act(
    State(console): State<Shared>,
    signed: Signed,
    Path((name, action)): Path<(String, String)>,
    Form(form_data): Form<ActForm>,
) -> Response {
    let Some(suspend) = parse(&action) else {
        return crate::pages::not_found(signed).await;
    };
    let title = if suspend {
        "Suspend an organisation"
    } else {
        "Reinstate an organisation"
    };
    let reason = form_data.reason.trim().to_string();
    if suspend && reason.is_empty() {
        let error = html! { p.alert role="alert" { "A suspension needs a reason." } };
        let body = form(&signed, &name, suspend, "", Some(error));
        return layout::page_with(StatusCode::BAD_REQUEST, &signed, Nav::Orgs, title, body);
    }
    let path = format!("/v1/orgs/{name}/{action}");
    let written = if suspend {
        console
            .api
            .write::<_, OrgTx>(
                &path,
                &Suspension {
                    reason: reason.clone(),
                },
            )
            .await
    } else {
        let reason = (!reason.is_empty()).then(|| reason.clone());
        console
            .api
            .write::<_, OrgTx>(&path, &Reinstatement { reason })
            .await
    };
    match written {
        Ok(_) => {
            let notice = if suspend { "suspended" } else { "reinstated" };
            Redirect::to(&format!("/console/orgs?notice={notice}")).into_response()
        }
        Err(failure) => {
            let body = form(
                &signed,
                &name,
                suspend,
                &reason,
                Some(layout::alert(&failure)),
            );
            layout::page_with(failure.status, &signed, Nav::Orgs, title, body)
        }
    }
}
