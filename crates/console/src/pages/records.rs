//! Records: the list with filters and paging, one record with its verdict and audit trail,
//! and a new record from a form (fields added one by one) or from JSON.

use crate::{
    Shared,
    layout::{self, Nav, Signed},
    pages::{Notice, audit, blank},
    view,
};
use axum::{
    Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use custodia_api::{
    AuditFilter, AuditPage, Fields, NewRecord, RecordFilter, RecordPage, RecordStatus, RecordTx,
    RecordView,
};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

/// Records per page.
const PAGE: u64 = 50;
/// Field rows a new form starts with.
const FIRST_ROWS: usize = 2;
/// Most rows the form grows to (the chain's limit on fields is the API's to enforce).
const MAX_ROWS: usize = 256;

/// The list's query, as the filter form sends it (empty = any).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    provider: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    offset: Option<u64>,
}

/// `GET /console/records`.
pub(crate) async fn list(
    State(console): State<Shared>,
    signed: Signed,
    Query(query): Query<ListQuery>,
) -> Response {
    let status = match blank(&query.status).map(str::parse::<RecordStatus>) {
        Some(Err(message)) => {
            return layout::page_with(
                StatusCode::BAD_REQUEST,
                &signed,
                Nav::Records,
                "Records",
                html! { p.alert role="alert" { (message) } },
            );
        }
        Some(Ok(status)) => Some(status),
        None => None,
    };
    let offset = query.offset.unwrap_or(0);
    let filter = RecordFilter {
        provider: blank(&query.provider).map(str::to_string),
        kind: blank(&query.kind).map(str::to_string),
        status,
        offset: Some(offset),
        limit: Some(PAGE),
    };
    let page = console
        .api
        .get_query::<_, RecordPage>("/v1/records", &filter)
        .await;
    let rest = serde_urlencoded::to_string([
        ("provider", &query.provider),
        ("kind", &query.kind),
        ("status", &query.status),
    ])
    .unwrap_or_default();
    let body = html! {
        p { a.button href="/console/records/new" { "Submit a record" } }
        form.filters method="get" action="/console/records" aria-label="Filter records" {
            label { "Provider" input type="text" name="provider" value=(query.provider); }
            label { "Kind" input type="text" name="kind" value=(query.kind); }
            label {
                "Status"
                select name="status" {
                    option value="" selected[query.status.is_empty()] { "any" }
                    @for status in RecordStatus::ALL {
                        option value=(status) selected[query.status == status.as_str()] { (status) }
                    }
                }
            }
            button type="submit" { "Filter" }
        }
        div #records data-live {
            @match &page {
                Ok(page) => {
                    (table(&page.records))
                    (view::pager("/console/records", &rest, offset, PAGE, page.records.len()))
                }
                Err(failure) => (layout::alert(failure)),
            }
        }
    };
    layout::page(&signed, Nav::Records, "Records", body)
}

fn table(records: &[RecordView]) -> Markup {
    if records.is_empty() {
        return html! { p.empty { "No records match." } };
    }
    layout::table(
        "Records",
        html! {
            table {
                thead { tr {
                    th scope="col" { "Record" } th scope="col" { "Provider" } th scope="col" { "Kind" }
                    th scope="col" { "Fields" } th scope="col" { "Status" } th scope="col" { "Submitted" }
                } }
                tbody {
                    @for record in records {
                        tr {
                            td { (view::record_link(&record.record_id)) }
                            td { (record.provider) }
                            td { (record.kind) }
                            td { (view::words(&record.fields)) }
                            td { (view::badge(record.status.as_str())) }
                            td { (view::height(record.submitted_height)) }
                        }
                    }
                }
            }
        },
    )
}

/// `GET /console/records/{record_id}`: metadata, verdict and audit trail (never values).
pub(crate) async fn show(
    State(console): State<Shared>,
    signed: Signed,
    Path(record_id): Path<String>,
    Query(notice): Query<Notice>,
) -> Response {
    let title = format!("Record {record_id}");
    let record = match console
        .api
        .get::<RecordView>(&format!("/v1/records/{record_id}"))
        .await
    {
        Ok(record) => record,
        Err(failure) => return layout::failed(&signed, Nav::Records, &title, &failure),
    };
    let trail = console
        .api
        .get_query::<_, AuditPage>(
            "/v1/audit",
            &AuditFilter {
                record: Some(record.record_id),
                limit: Some(1000),
                ..AuditFilter::default()
            },
        )
        .await;
    let can_request = record.provider != signed.org && record.status == RecordStatus::Accepted;
    let body = html! {
        (notice.render())
        div #record data-live {
            dl.facts {
                dt { "Provider" } dd { (record.provider) }
                dt { "Kind" } dd { (record.kind) }
                dt { "Tags" } dd { (view::words(&record.tags)) }
                dt { "Fields" } dd { (view::words(&record.fields)) }
                dt { "Status" } dd { (view::badge(record.status.as_str())) }
                @if let Some(reason) = &record.reason { dt { "Supervisor's reason" } dd { (reason) } }
                dt { "Submitted at" } dd { (view::height(record.submitted_height)) }
                dt { "Verdict at" } dd { @match record.attested_height { Some(h) => (view::height(h)), None => "awaiting the supervisor" } }
                dt { "Commitment" } dd.mono.wrap { (record.commitment) }
                dt { "Sealed size" } dd { (record.sealed_bytes) " bytes" }
            }
            @if can_request {
                p { a.button href={ "/console/requests/new?record=" (record.record_id) } { "Request fields of this record" } }
            }
            h2 { "Audit trail" }
            @match &trail {
                Ok(page) => (audit::table(&page.entries)),
                Err(failure) => (layout::alert(failure)),
            }
        }
    };
    layout::page(&signed, Nav::Records, &title, body)
}

/// One row of the form: a field's name, type and value.
#[derive(Debug, Clone, Default)]
struct Row {
    name: String,
    kind: String,
    value: String,
}

/// What the form holds, to render it again.
#[derive(Debug, Default)]
struct Draft {
    kind: String,
    tags: String,
    json: String,
    rows: Vec<Row>,
}

/// `GET /console/records/new`.
pub(crate) async fn new(signed: Signed) -> Response {
    let draft = Draft {
        rows: vec![Row::default(); FIRST_ROWS],
        ..Draft::default()
    };
    layout::page(
        &signed,
        Nav::Records,
        "Submit a record",
        form(&signed, &draft, None),
    )
}

fn form(signed: &Signed, draft: &Draft, error: Option<Markup>) -> Markup {
    html! {
        @if let Some(error) = error { (error) }
        p.help {
            "The values are sealed to the supervisor on this node before they leave it; the chain \
             keeps only a commitment to each."
        }
        form.card method="post" action="/console/records" #record-form {
            (layout::csrf_field(&signed.session))
            label for="kind" { "Kind" }
            input #kind type="text" name="kind" value=(draft.kind) placeholder="claim";
            label for="tags" { "Tags (comma-separated, optional)" }
            input #tags type="text" name="tags" value=(draft.tags);
            fieldset #field-rows {
                legend { "Fields" }
                @for (i, row) in draft.rows.iter().enumerate() {
                    @let n = i + 1;
                    div.field-row {
                        div {
                            label for={ "field-name-" (n) } { "Field " (n) " name" }
                            input id={ "field-name-" (n) } type="text" name="field_name" value=(row.name);
                        }
                        div {
                            label for={ "field-type-" (n) } { "Field " (n) " type" }
                            select id={ "field-type-" (n) } name="field_type" {
                                option value="text" selected[row.kind != "number" && row.kind != "boolean"] { "text" }
                                option value="number" selected[row.kind == "number"] { "number" }
                                option value="boolean" selected[row.kind == "boolean"] { "yes / no" }
                            }
                        }
                        div {
                            label for={ "field-value-" (n) } { "Field " (n) " value" }
                            input id={ "field-value-" (n) } type="text" name="field_value" value=(row.value);
                        }
                    }
                }
                button type="submit" name="action" value="add" formnovalidate { "Add a field" }
            }
            details open[!draft.json.is_empty()] {
                summary { "Or the whole record as JSON" }
                label for="json" { "Record JSON: {\"kind\": …, \"tags\": […], \"fields\": {…}}" }
                textarea #json name="json" rows="8" { (draft.json) }
                label for="json-file" { "Load a JSON file into the box" }
                input #json-file type="file" accept="application/json,.json" data-load-into="json";
            }
            button.primary type="submit" name="action" value="submit" { "Submit the record" }
        }
    }
}

/// `POST /console/records`: adds a row, or submits the record (`POST /v1/records`).
pub(crate) async fn submit(
    State(console): State<Shared>,
    signed: Signed,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let (draft, action) = draft_of(pairs);
    if action == "add" {
        let mut draft = draft;
        if draft.rows.len() < MAX_ROWS {
            draft.rows.push(Row::default());
        }
        let body = form(&signed, &draft, None);
        return layout::page(&signed, Nav::Records, "Submit a record", body);
    }
    let record = match record_of(&draft) {
        Ok(record) => record,
        Err(message) => {
            let error = html! { p.alert role="alert" { (message) } };
            let body = form(&signed, &draft, Some(error));
            return layout::page_with(
                StatusCode::BAD_REQUEST,
                &signed,
                Nav::Records,
                "Submit a record",
                body,
            );
        }
    };
    match console
        .api
        .write::<_, RecordTx>("/v1/records", &record)
        .await
    {
        Ok(RecordTx {
            record_id,
            receipt: Some(_),
            ..
        }) => {
            Redirect::to(&format!("/console/records/{record_id}?notice=submitted")).into_response()
        }
        Ok(RecordTx {
            record_id, tx_id, ..
        }) => {
            let body = html! {
                (layout::notice("The record was admitted, but no block has taken it yet."))
                p { "Record " (view::record_link(&record_id)) ", tx " span.mono { (tx_id) } ". It appears once finalized." }
            };
            layout::page(&signed, Nav::Records, "Record admitted", body)
        }
        Err(failure) => {
            let body = form(&signed, &draft, Some(layout::alert(&failure)));
            layout::page_with(
                failure.status,
                &signed,
                Nav::Records,
                "Submit a record",
                body,
            )
        }
    }
}

/// The form's fields in order; rows start at each `field_name`.
fn draft_of(pairs: Vec<(String, String)>) -> (Draft, String) {
    let mut draft = Draft::default();
    let mut action = String::new();
    for (name, value) in pairs {
        match name.as_str() {
            "kind" => draft.kind = value,
            "tags" => draft.tags = value,
            "json" => draft.json = value,
            "action" => action = value,
            "field_name" => draft.rows.push(Row {
                name: value,
                ..Row::default()
            }),
            "field_type" | "field_value" => {
                if draft.rows.is_empty() {
                    draft.rows.push(Row::default());
                }
                let row = draft.rows.last_mut().expect("a row was just ensured");
                if name == "field_type" {
                    row.kind = value;
                } else {
                    row.value = value;
                }
            }
            _ => {}
        }
    }
    (draft, action)
}

/// The record the form describes: its JSON if given, else its rows.
fn record_of(draft: &Draft) -> Result<NewRecord, String> {
    if !draft.json.trim().is_empty() {
        return serde_json::from_str::<NewRecord>(&draft.json).map_err(|err| {
            format!("the JSON is not a record ({err}): give {{\"kind\", \"tags\", \"fields\"}}")
        });
    }
    let mut fields = Vec::new();
    for (i, row) in draft.rows.iter().enumerate() {
        let name = row.name.trim();
        if name.is_empty() && row.value.trim().is_empty() {
            continue;
        }
        if name.is_empty() {
            return Err(format!("field {} has a value but no name: name it", i + 1));
        }
        let value = match row.kind.as_str() {
            "number" => serde_json::from_str::<serde_json::Number>(row.value.trim())
                .map(Value::Number)
                .map_err(|_| {
                    format!(
                        "field {name:?} is a number but {:?} is not one: write digits, e.g. 1200 or 12.5",
                        row.value
                    )
                })?,
            "boolean" => match row.value.trim().to_ascii_lowercase().as_str() {
                "yes" | "true" => Value::Bool(true),
                "no" | "false" => Value::Bool(false),
                _ => return Err(format!("field {name:?} is yes / no: write yes or no")),
            },
            _ => Value::String(row.value.clone()),
        };
        fields.push((name.to_string(), value));
    }
    if fields.is_empty() {
        return Err("the record has no fields: name at least one field and give its value".into());
    }
    Ok(NewRecord {
        kind: draft.kind.trim().to_string(),
        tags: draft
            .tags
            .split(',')
            .map(str::trim)
            .filter(|tag| !tag.is_empty())
            .map(str::to_string)
            .collect(),
        fields: Fields(fields),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn rows_become_typed_fields_in_order() {
        let (draft, action) = draft_of(pairs(&[
            ("kind", "claim"),
            ("tags", "motor, 2026"),
            ("field_name", "amount"),
            ("field_type", "number"),
            ("field_value", "1200"),
            ("field_name", "insured"),
            ("field_type", "text"),
            ("field_value", "A. Jones"),
            ("field_name", ""),
            ("field_type", "text"),
            ("field_value", ""),
            ("action", "submit"),
        ]));
        assert_eq!(action, "submit");
        let record = record_of(&draft).unwrap();
        assert_eq!(record.kind, "claim");
        assert_eq!(record.tags, vec!["motor", "2026"]);
        assert_eq!(
            record.fields.0,
            vec![
                ("amount".to_string(), serde_json::json!(1200)),
                ("insured".to_string(), serde_json::json!("A. Jones")),
            ]
        );
    }

    #[test]
    fn a_bad_row_says_which_and_why() {
        let (draft, _) = draft_of(pairs(&[
            ("field_name", "amount"),
            ("field_type", "number"),
            ("field_value", "twelve"),
        ]));
        assert!(
            record_of(&draft)
                .unwrap_err()
                .contains("\"amount\" is a number")
        );
        let (draft, _) = draft_of(pairs(&[("field_name", ""), ("field_value", "x")]));
        assert!(record_of(&draft).unwrap_err().contains("no name"));
        assert!(
            record_of(&Draft::default())
                .unwrap_err()
                .contains("no fields")
        );
    }

    #[test]
    fn json_wins_over_rows() {
        let draft = Draft {
            json: r#"{"kind":"claim","fields":{"a":1}}"#.into(),
            ..Draft::default()
        };
        assert_eq!(record_of(&draft).unwrap().fields.0.len(), 1);
        let bad = Draft {
            json: "{".into(),
            ..Draft::default()
        };
        assert!(
            record_of(&bad)
                .unwrap_err()
                .starts_with("the JSON is not a record")
        );
    }
}
