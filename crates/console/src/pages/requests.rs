//! Share requests: the inbox of decisions, this organisation's own requests, a new request,
//! one request with its timeline, and the opened data of a delivered one.

use crate::{
    Shared,
    layout::{self, Nav, Signed},
    pages::{Notice, audit},
    view,
};
use axum::{
    Form,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use custodia_api::{
    AuditFilter, AuditPage, DecisionState, Fetched, NewRequest, RecordFilter, RecordId, RecordPage,
    RecordStatus, RecordView, RequestDetail, RequestFilter, RequestPage, RequestStatus, RequestTx,
    RequestView,
};
use maud::{Markup, html};
use serde::Deserialize;

/// Requests per page of the list.
const PAGE: u64 = 100;
/// Most pending requests whose decisions the inbox reads.
const INBOX: usize = 100;

/// The list's query.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    offset: Option<u64>,
}

/// `GET /console/requests`.
pub(crate) async fn list(
    State(console): State<Shared>,
    signed: Signed,
    Query(query): Query<ListQuery>,
    Query(notice): Query<Notice>,
) -> Response {
    let pending = console
        .api
        .get_query::<_, RequestPage>(
            "/v1/requests",
            &RequestFilter {
                status: Some(RequestStatus::Pending),
                party: Some(signed.org.clone()),
                limit: Some(INBOX as u64),
                ..RequestFilter::default()
            },
        )
        .await;
    let mut inbox = Vec::new();
    if let Ok(page) = &pending {
        for request in page.requests.iter().filter(|r| r.requester != signed.org) {
            let detail = console
                .api
                .get::<RequestDetail>(&format!("/v1/requests/{}", request.request_id))
                .await;
            if let Ok(detail) = detail
                && awaits(&detail, &signed.org)
            {
                inbox.push(detail.request);
            }
        }
    }
    let offset = query.offset.unwrap_or(0);
    let all = console
        .api
        .get_query::<_, RequestPage>(
            "/v1/requests",
            &RequestFilter {
                party: Some(signed.org.clone()),
                offset: Some(offset),
                limit: Some(PAGE),
                ..RequestFilter::default()
            },
        )
        .await;
    let body = html! {
        (notice.render())
        p { a.button href="/console/requests/new" { "Request data" } }
        div #requests data-live {
            section aria-labelledby="inbox-heading" {
                h2 #inbox-heading { "Awaiting your decision (" (inbox.len()) ")" }
                @match &pending {
                    Err(failure) => (layout::alert(failure)),
                    Ok(_) if inbox.is_empty() => p.empty { "Nothing awaits your decision." },
                    Ok(_) => (table("Awaiting your decision", &inbox)),
                }
            }
            section aria-labelledby="mine-heading" {
                h2 #mine-heading { "Requests you are party to" }
                @match &all {
                    Err(failure) => (layout::alert(failure)),
                    Ok(page) if page.requests.is_empty() => p.empty { "No requests yet." },
                    Ok(page) => {
                        (table("Requests you are party to", &page.requests))
                        (view::pager("/console/requests", "", offset, PAGE, page.requests.len()))
                    }
                }
            }
        }
    };
    layout::page(&signed, Nav::Requests, "Requests", body)
}

/// Whether `org` must still decide on `detail`.
pub(crate) fn awaits(detail: &RequestDetail, org: &str) -> bool {
    detail.request.status == RequestStatus::Pending
        && detail
            .decisions
            .iter()
            .any(|d| d.org == org && d.decision == DecisionState::Pending)
}

fn table(label: &str, requests: &[RequestView]) -> Markup {
    layout::table(
        label,
        html! {
            table {
                thead { tr {
                    th scope="col" { "Request" } th scope="col" { "Requester" } th scope="col" { "Records" }
                    th scope="col" { "Fields" } th scope="col" { "Purpose" } th scope="col" { "Status" }
                    th scope="col" { "Since" }
                } }
                tbody {
                    @for request in requests {
                        tr {
                            td { (view::request_link(&request.request_id)) }
                            td { (request.requester) }
                            td { @for id in &request.record_ids { (view::record_link(id)) " " } }
                            td { (view::words(&request.fields)) }
                            td { (request.purpose) }
                            td { (view::badge(request.status.as_str())) }
                            td { (view::height(request.status_height)) }
                        }
                    }
                }
            }
        },
    )
}

/// The new request's query: the record chosen, if any.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct NewQuery {
    #[serde(default)]
    record: String,
}

/// `GET /console/requests/new[?record=ID]`: choose a record, then some of its fields.
pub(crate) async fn new(
    State(console): State<Shared>,
    signed: Signed,
    Query(query): Query<NewQuery>,
) -> Response {
    let title = "Request data";
    if query.record.is_empty() {
        let records = console
            .api
            .get_query::<_, RecordPage>(
                "/v1/records",
                &RecordFilter {
                    status: Some(RecordStatus::Accepted),
                    limit: Some(1000),
                    ..RecordFilter::default()
                },
            )
            .await;
        let body = html! {
            @match records {
                Err(failure) => (layout::alert(&failure)),
                Ok(page) => {
                    @let others: Vec<&RecordView> = page.records.iter().filter(|r| r.provider != signed.org).collect();
                    @if others.is_empty() {
                        p.empty { "No other organisation has an accepted record yet." }
                    } @else {
                        form.card method="get" action="/console/requests/new" {
                            label for="record" { "Record" }
                            select #record name="record" required {
                                @for record in others {
                                    option value=(record.record_id) {
                                        (record.record_id) " · " (record.kind) " from " (record.provider)
                                    }
                                }
                            }
                            button type="submit" { "Choose its fields" }
                        }
                    }
                }
            }
        };
        return layout::page(&signed, Nav::Requests, title, body);
    }
    let record = match console
        .api
        .get::<RecordView>(&format!("/v1/records/{}", query.record))
        .await
    {
        Ok(record) => record,
        Err(failure) => return layout::failed(&signed, Nav::Requests, title, &failure),
    };
    layout::page(
        &signed,
        Nav::Requests,
        title,
        request_form(&signed, &record, &[], "", None),
    )
}

fn request_form(
    signed: &Signed,
    record: &RecordView,
    chosen: &[String],
    purpose: &str,
    error: Option<Markup>,
) -> Markup {
    html! {
        @if let Some(error) = error { (error) }
        form.card method="post" action="/console/requests" #request-form {
            (layout::csrf_field(&signed.session))
            input type="hidden" name="record" value=(record.record_id);
            p { "Record " (view::record_link(&record.record_id)) ", " (record.kind) " from " (record.provider) "." }
            fieldset {
                legend { "Fields to disclose" }
                @for field in &record.fields {
                    label.check {
                        input type="checkbox" name="field" value=(field) checked[chosen.contains(field)];
                        (field)
                    }
                }
            }
            label for="purpose" { "Purpose" }
            input #purpose type="text" name="purpose" value=(purpose) required
                placeholder="fraud check";
            button.primary type="submit" { "Submit the request" }
        }
    }
}

/// `POST /console/requests`: a signed request (`POST /v1/requests`).
pub(crate) async fn create(
    State(console): State<Shared>,
    signed: Signed,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let title = "Request data";
    let value = |key: &str| {
        pairs
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    };
    let fields: Vec<String> = pairs
        .iter()
        .filter(|(name, _)| name == "field")
        .map(|(_, value)| value.clone())
        .collect();
    let purpose = value("purpose");
    let record = match console
        .api
        .get::<RecordView>(&format!("/v1/records/{}", value("record")))
        .await
    {
        Ok(record) => record,
        Err(failure) => return layout::failed(&signed, Nav::Requests, title, &failure),
    };
    let again = |error: Markup, status: StatusCode| {
        let body = request_form(&signed, &record, &fields, &purpose, Some(error));
        layout::page_with(status, &signed, Nav::Requests, title, body)
    };
    if fields.is_empty() {
        let error = html! { p.alert role="alert" { "Choose at least one field to disclose." } };
        return again(error, StatusCode::BAD_REQUEST);
    }
    let request = NewRequest {
        record_ids: vec![record.record_id],
        fields: fields.clone(),
        purpose: purpose.trim().to_string(),
        ttl: None,
    };
    match console
        .api
        .write::<_, RequestTx>("/v1/requests", &request)
        .await
    {
        Ok(RequestTx {
            request_id,
            receipt: Some(_),
            ..
        }) => Redirect::to(&format!("/console/requests/{request_id}?notice=requested"))
            .into_response(),
        Ok(RequestTx { request_id, .. }) => {
            let body = html! {
                (layout::notice("The request was admitted, but no block has taken it yet."))
                p { (view::request_link(&request_id)) " appears once finalized." }
            };
            layout::page(&signed, Nav::Requests, "Request admitted", body)
        }
        Err(failure) => again(layout::alert(&failure), failure.status),
    }
}

/// `GET /console/requests/{request_id}`: the request, its timeline and what this organisation
/// may do about it.
pub(crate) async fn show(
    State(console): State<Shared>,
    signed: Signed,
    Path(request_id): Path<String>,
    Query(notice): Query<Notice>,
) -> Response {
    let title = format!("Request {request_id}");
    let detail = match console
        .api
        .get::<RequestDetail>(&format!("/v1/requests/{request_id}"))
        .await
    {
        Ok(detail) => detail,
        Err(failure) => return layout::failed(&signed, Nav::Requests, &title, &failure),
    };
    let request = &detail.request;
    let trail = console
        .api
        .get_query::<_, AuditPage>(
            "/v1/audit",
            &AuditFilter {
                request: Some(request.request_id),
                limit: Some(1000),
                ..AuditFilter::default()
            },
        )
        .await;
    let id = request.request_id.to_string();
    let mine = request.requester == signed.org;
    let body = html! {
        (notice.render())
        div #request data-live {
            dl.facts {
                dt { "Requester" } dd { (request.requester) }
                dt { "Records" } dd { @for record in &request.record_ids { (view::record_link(record)) " " } }
                dt { "Fields" } dd { (view::words(&request.fields)) }
                dt { "Purpose" } dd { (request.purpose) }
                dt { "Status" } dd { (view::badge(request.status.as_str())) " since " (view::height(request.status_height)) }
                @if let Some(reason) = &request.reason { dt { "Reason" } dd { (reason) } }
                dt { "Expires at" } dd { (view::height(request.expires_height)) }
            }
            div.actions {
                @if awaits(&detail, &signed.org) {
                    a.button.primary href={ "/console/requests/" (id) "/approve" } { "Approve" }
                    a.button.danger href={ "/console/requests/" (id) "/reject" } { "Reject" }
                }
                @if mine && request.status == RequestStatus::Pending {
                    a.button href={ "/console/requests/" (id) "/cancel" } { "Withdraw" }
                }
                @if mine && request.status == RequestStatus::Delivered {
                    a.button.primary href={ "/console/requests/" (id) "/data" } { "Open the delivered data" }
                }
            }
            h2 { "Timeline" }
            ol.timeline {
                li { (view::height(request.created_height)) " " (request.requester) " asked for " (view::words(&request.fields)) " for “" (request.purpose) "”" }
                @for decision in timeline(&detail.decisions) {
                    li {
                        @match decision.height { Some(h) => (view::height(h)), None => span.height { "—" } }
                        " " (decision.org) ": " (view::badge(decision.decision.as_str()))
                        @if let Some(reason) = decision.reason.as_deref().filter(|r| !r.is_empty()) { " — " (reason) }
                    }
                }
                @if let Some(delivery) = &detail.delivery {
                    li { (view::height(delivery.height)) " the supervisor delivered " (delivery.sealed_bytes) " sealed bytes" }
                }
            }
            h2 { "Audit trail" }
            @match &trail {
                Ok(page) => (audit::table(&page.entries)),
                Err(failure) => (layout::alert(failure)),
            }
        }
    };
    layout::page(&signed, Nav::Requests, &title, body)
}

/// The decisions in the order they were taken (by height), those still awaited last.
fn timeline(decisions: &[custodia_api::Decision]) -> Vec<&custodia_api::Decision> {
    let mut sorted: Vec<&custodia_api::Decision> = decisions.iter().collect();
    sorted.sort_by_key(|d| d.height.unwrap_or(u64::MAX));
    sorted
}

/// `?format=json` downloads the opened data.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DataQuery {
    #[serde(default)]
    format: String,
}

/// `GET /console/requests/{request_id}/data`: the delivery opened and verified on this node
/// (`GET /v1/requests/{id}/fetch`), each disclosed value with its verification.
pub(crate) async fn data(
    State(console): State<Shared>,
    signed: Signed,
    Path(request_id): Path<String>,
    Query(query): Query<DataQuery>,
) -> Response {
    let title = format!("Data of {request_id}");
    let fetched = match console
        .api
        .get::<Fetched>(&format!("/v1/requests/{request_id}/fetch"))
        .await
    {
        Ok(fetched) => fetched,
        Err(failure) => return layout::failed(&signed, Nav::Requests, &title, &failure),
    };
    if query.format == "json" {
        let json = serde_json::to_string_pretty(&fetched).unwrap_or_default();
        let disposition = format!("attachment; filename=\"{request_id}.json\"");
        return (
            [
                (header::CONTENT_TYPE, "application/json".to_string()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            json,
        )
            .into_response();
    }
    let body = html! {
        p {
            "Opened on this node with your organisation's key and checked against each provider's \
             commitment on the chain. "
            a.button href={ "/console/requests/" (request_id) "/data?format=json" } download { "Download as JSON" }
        }
        @for record in &fetched.records {
            section.card aria-label={ "Record " (record.record_id) } {
                h2 { (view::record_link(&record.record_id)) " · " (record.kind) " from " (record.provider) }
                p {
                    @if record.verified {
                        span.badge.badge-verified { "verified" } " Every value matches the provider's commitment."
                    } @else {
                        span.badge.badge-rejected { "not verified" } " Do not rely on these values."
                    }
                }
                (layout::table("Disclosed values", html! {
                    table.disclosed {
                        thead { tr { th scope="col" { "Field" } th scope="col" { "Value" } th scope="col" { "Verification" } } }
                        tbody {
                            @for (name, value) in &record.fields {
                                tr {
                                    th scope="row" { (name) }
                                    td.mono data-field=(name) { (value_text(value)) }
                                    td { @if record.verified { "matches the commitment" } @else { "does not match" } }
                                }
                            }
                        }
                    }
                }))
            }
        }
    };
    layout::page(&signed, Nav::Requests, &title, body)
}

/// A JSON value as a person reads it (strings without quotes).
fn value_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The record ids of `request` as text (for confirmations).
pub(crate) fn records_text(ids: &[RecordId]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
