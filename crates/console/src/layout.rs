//! The page shell: header with the organisation and role, navigation, sign-out, and the pieces
//! every page uses (alerts, notices, the CSRF field, scrollable tables).

use crate::{Shared, api::Failure, session::Session};
use axum::{
    extract::{FromRequestParts, OptionalFromRequestParts},
    http::{StatusCode, request::Parts},
    response::{Html, IntoResponse, Redirect, Response},
};
use custodia_api::{Role, Status};
use maud::{DOCTYPE, Markup, html};

/// The sections of the console, in the navigation's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Overview,
    Records,
    Requests,
    Audit,
    Orgs,
    Proposals,
}

impl Nav {
    const ALL: [Nav; 6] = [
        Nav::Overview,
        Nav::Records,
        Nav::Requests,
        Nav::Audit,
        Nav::Orgs,
        Nav::Proposals,
    ];

    fn label(self) -> &'static str {
        match self {
            Nav::Overview => "Overview",
            Nav::Records => "Records",
            Nav::Requests => "Requests",
            Nav::Audit => "Audit",
            Nav::Orgs => "Organisations",
            Nav::Proposals => "Proposals",
        }
    }

    fn href(self) -> &'static str {
        match self {
            Nav::Overview => "/console",
            Nav::Records => "/console/records",
            Nav::Requests => "/console/requests",
            Nav::Audit => "/console/audit",
            Nav::Orgs => "/console/orgs",
            Nav::Proposals => "/console/proposals",
        }
    }
}

/// A signed-in officer's request: the session, and who this node is (from `/v1/status`).
pub(crate) struct Signed {
    pub(crate) session: Session,
    pub(crate) org: String,
    pub(crate) role: Option<Role>,
    pub(crate) status: Option<Status>,
}

impl Signed {
    pub(crate) fn is_supervisor(&self) -> bool {
        self.role == Some(Role::Supervisor)
    }
}

impl FromRequestParts<Shared> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Shared) -> Result<Self, Response> {
        let Some(session) = console.sessions.current(&parts.headers) else {
            return Err(Redirect::to("/console/sign-in").into_response());
        };
        let status = console.api.get::<Status>("/v1/status").await.ok();
        Ok(Signed {
            session,
            org: status
                .as_ref()
                .map_or_else(|| console.org.clone(), |s| s.org.clone()),
            role: status.as_ref().map(|s| s.role),
            status,
        })
    }
}

impl OptionalFromRequestParts<Shared> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Shared,
    ) -> Result<Option<Self>, Response> {
        match <Signed as FromRequestParts<Shared>>::from_request_parts(parts, console).await {
            Ok(signed) => Ok(Some(signed)),
            Err(_) => Ok(None),
        }
    }
}

/// A whole page of section `nav` titled `title`.
pub(crate) fn page(signed: &Signed, nav: Nav, title: &str, body: Markup) -> Response {
    page_with(StatusCode::OK, signed, nav, title, body)
}

/// A whole page, answered with `status`.
pub(crate) fn page_with(
    status: StatusCode,
    signed: &Signed,
    nav: Nav,
    title: &str,
    body: Markup,
) -> Response {
    let role = signed.role.map_or("role unknown", |r| r.as_str());
    let shell = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (signed.org) " · custodia" }
                link rel="stylesheet" href="/console/static/console.css";
                link rel="icon" href="/console/static/favicon.svg" type="image/svg+xml";
                script src="/console/static/console.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    div.brand {
                        span.product { "custodia" }
                        span.org { (signed.org) }
                        span.role { (role) }
                    }
                    nav aria-label="Sections" {
                        ul {
                            @for item in Nav::ALL {
                                li {
                                    @if item == nav {
                                        a href=(item.href()) aria-current="page" { (item.label()) }
                                    } @else {
                                        a href=(item.href()) { (item.label()) }
                                    }
                                }
                            }
                        }
                    }
                    form.sign-out method="post" action="/console/sign-out" {
                        (csrf_field(&signed.session))
                        button type="submit" { "Sign out" }
                    }
                }
                main #main tabindex="-1" {
                    h1 { (title) }
                    p.live-state #live-state aria-live="polite" {}
                    (body)
                }
            }
        }
    };
    (status, Html(shell.into_string())).into_response()
}

/// A page without the navigation (sign-in, refusals), answered as it is.
pub(crate) fn bare(title: &str, heading: &str, message: &str) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · custodia" }
                    link rel="stylesheet" href="/console/static/console.css";
                    link rel="icon" href="/console/static/favicon.svg" type="image/svg+xml";
                }
                body.bare {
                    main #main {
                        h1 { (heading) }
                        p.alert role="alert" { (message) }
                        p { a href="/console" { "Back to the console" } }
                    }
                }
            }
        }
        .into_string(),
    )
}

/// The hidden field every form of `session` carries.
pub(crate) fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// What the API refused, as an alert.
pub(crate) fn alert(failure: &Failure) -> Markup {
    html! {
        div.alert role="alert" {
            strong { "Refused (" (failure.code) "): " }
            (failure.message)
        }
    }
}

/// A page that says what the API refused, with the API's status.
pub(crate) fn failed(signed: &Signed, nav: Nav, title: &str, failure: &Failure) -> Response {
    page_with(failure.status, signed, nav, title, alert(failure))
}

/// A confirmation of what was done.
pub(crate) fn notice(text: &str) -> Markup {
    html! { div.notice role="status" { (text) } }
}

/// A table in a region that scrolls sideways on a narrow screen (and can be focused, so a
/// keyboard can scroll it).
pub(crate) fn table(label: &str, table: Markup) -> Markup {
    html! {
        div.table-wrap role="region" aria-label=(label) tabindex="0" { (table) }
    }
}
