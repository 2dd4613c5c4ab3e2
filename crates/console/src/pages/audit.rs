//! The audit trail, filtered by record, request, organisation or height range, and its export
//! as CSV or JSON.

use crate::{
    Shared,
    api::Failure,
    layout::{self, Nav, Signed},
    pages::blank,
    view,
};
use axum::{
    extract::{Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use custodia_api::{AuditEntry, AuditFilter, AuditPage};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

/// Entries per page.
const PAGE: u64 = 100;
/// Most entries one export holds (a larger trail is exported by height ranges).
const MAX_EXPORT: usize = 100_000;

/// The filter form, as the browser sends it (empty = any).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct Filter {
    #[serde(default)]
    record: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    org: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default, skip_serializing)]
    after: Option<u64>,
    #[serde(default, skip_serializing)]
    format: String,
}

impl Filter {
    /// The API's filter, or what is wrong with the form.
    fn to_api(&self) -> Result<AuditFilter, String> {
        let height = |text: &str, what: &str| -> Result<Option<u64>, String> {
            blank(text)
                .map(|text| {
                    text.parse::<u64>().map_err(|_| {
                        format!("{what} {text:?} is not a block height: write a whole number")
                    })
                })
                .transpose()
        };
        let record = blank(&self.record)
            .map(|id| id.parse().map_err(|err| format!("record: {err}")))
            .transpose()?;
        let request = blank(&self.request)
            .map(|id| id.parse().map_err(|err| format!("request: {err}")))
            .transpose()?;
        Ok(AuditFilter {
            record,
            request,
            org: blank(&self.org).map(str::to_string),
            from_height: height(&self.from, "from")?,
            to_height: height(&self.to, "to")?,
            after: self.after,
            limit: Some(PAGE),
        })
    }

    fn query(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }
}

/// `GET /console/audit`.
pub(crate) async fn page(
    State(console): State<Shared>,
    signed: Signed,
    Query(filter): Query<Filter>,
) -> Response {
    let api_filter = match filter.to_api() {
        Ok(api_filter) => api_filter,
        Err(message) => {
            let body = html! { (form(&filter)) p.alert role="alert" { (message) } };
            return layout::page_with(StatusCode::BAD_REQUEST, &signed, Nav::Audit, "Audit", body);
        }
    };
    let page = console
        .api
        .get_query::<_, AuditPage>("/v1/audit", &api_filter)
        .await;
    let query = filter.query();
    let body = html! {
        (form(&filter))
        p.exports {
            "Export what this filter selects: "
            a href={ "/console/audit/export?" (query) "&format=csv" } download { "CSV" }
            " · "
            a href={ "/console/audit/export?" (query) "&format=json" } download { "JSON" }
        }
        div #audit data-live {
            @match &page {
                Err(failure) => (layout::alert(failure)),
                Ok(page) => {
                    (table(&page.entries))
                    nav.pager aria-label="Pages" {
                        @if filter.after.is_some() { a href={ "/console/audit?" (query) } { "← First page" } }
                        @if let Some(next) = page.next { a href={ "/console/audit?" (query) "&after=" (next) } { "Next →" } }
                    }
                }
            }
        }
    };
    layout::page(&signed, Nav::Audit, "Audit", body)
}

fn form(filter: &Filter) -> Markup {
    html! {
        form.filters method="get" action="/console/audit" aria-label="Filter the audit trail" {
            label { "Record" input type="text" name="record" value=(filter.record) placeholder="rec_…"; }
            label { "Request" input type="text" name="request" value=(filter.request) placeholder="req_…"; }
            label { "Organisation" input type="text" name="org" value=(filter.org); }
            label { "From height" input type="text" inputmode="numeric" name="from" value=(filter.from); }
            label { "To height" input type="text" inputmode="numeric" name="to" value=(filter.to); }
            button type="submit" { "Filter" }
        }
    }
}

/// The trail's entries as a table, oldest first.
pub(crate) fn table(entries: &[AuditEntry]) -> Markup {
    if entries.is_empty() {
        return html! { p.empty { "No entries." } };
    }
    layout::table(
        "Audit trail",
        html! {
            table.audit {
                thead { tr {
                    th scope="col" { "Block" } th scope="col" { "Event" } th scope="col" { "By" }
                    th scope="col" { "Concerns" } th scope="col" { "Record" } th scope="col" { "Request" }
                    th scope="col" { "Detail" } th scope="col" { "Proof" }
                } }
                tbody {
                    @for entry in entries {
                        tr {
                            td { (view::height(entry.height)) }
                            td { (entry.kind) }
                            td { (entry.actor.as_deref().unwrap_or("—")) }
                            td { (entry.subject.as_deref().unwrap_or("—")) }
                            td { @if let Some(id) = &entry.record_id { (view::record_link(id)) } }
                            td { @if let Some(id) = &entry.request_id { (view::request_link(id)) } }
                            td { (entry.detail) }
                            td { a href={ "/console/audit/" (entry.seq) "/proof" } { "check" } }
                        }
                    }
                }
            }
        },
    )
}

/// `GET /console/audit/export?…&format=csv|json`: every entry the filter selects.
pub(crate) async fn export(
    State(console): State<Shared>,
    signed: Signed,
    Query(filter): Query<Filter>,
) -> Response {
    let refuse = |message: String| {
        let body = html! { p.alert role="alert" { (message) } };
        layout::page_with(
            StatusCode::BAD_REQUEST,
            &signed,
            Nav::Audit,
            "Audit export",
            body,
        )
    };
    let csv = match filter.format.as_str() {
        "csv" => true,
        "json" => false,
        other => return refuse(format!("format {other:?} is not csv or json")),
    };
    let mut api_filter = match filter.to_api() {
        Ok(api_filter) => api_filter,
        Err(message) => return refuse(message),
    };
    api_filter.limit = Some(1000);
    let entries = match all(&console, api_filter).await {
        Ok(entries) => entries,
        Err(failure) => return layout::failed(&signed, Nav::Audit, "Audit export", &failure),
    };
    let (kind, name, body) = if csv {
        ("text/csv; charset=utf-8", "audit.csv", to_csv(&entries))
    } else {
        (
            "application/json",
            "audit.json",
            serde_json::to_string_pretty(&entries).unwrap_or_default(),
        )
    };
    (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// Every page of the trail from `filter` on, up to [`MAX_EXPORT`] entries.
async fn all(console: &Shared, mut filter: AuditFilter) -> Result<Vec<AuditEntry>, Failure> {
    let mut entries = Vec::new();
    loop {
        let page = console
            .api
            .get_query::<_, AuditPage>("/v1/audit", &filter)
            .await?;
        entries.extend(page.entries);
        match page.next {
            Some(next) if entries.len() < MAX_EXPORT => filter.after = Some(next),
            _ => break,
        }
    }
    entries.truncate(MAX_EXPORT);
    Ok(entries)
}

/// The entries as CSV (RFC 4180: every field quoted, quotes doubled).
fn to_csv(entries: &[AuditEntry]) -> String {
    let mut out = String::from(
        "seq,height,timestamp_ms,tx_index,tx_id,kind,actor,subject,record_id,request_id,proposal_id,detail\r\n",
    );
    for entry in entries {
        let cells = [
            entry.seq.to_string(),
            entry.height.to_string(),
            entry.timestamp_ms.to_string(),
            entry.tx_index.map(|i| i.to_string()).unwrap_or_default(),
            entry.tx_id.clone().unwrap_or_default(),
            entry.kind.clone(),
            entry.actor.clone().unwrap_or_default(),
            entry.subject.clone().unwrap_or_default(),
            entry.record_id.map(|id| id.to_string()).unwrap_or_default(),
            entry
                .request_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            entry
                .proposal_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            entry.detail.clone(),
        ];
        let line: Vec<String> = cells
            .iter()
            .map(|cell| format!("\"{}\"", cell.replace('"', "\"\"")))
            .collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_every_cell() {
        let entry = AuditEntry {
            seq: 3,
            height: 7,
            timestamp_ms: 1,
            tx_index: Some(0),
            tx_id: Some("ab".into()),
            kind: "request_rejected".into(),
            actor: Some("member-a".into()),
            subject: None,
            record_id: None,
            request_id: None,
            detail: "said \"no\", twice".into(),
            proposal_id: None,
        };
        let csv = to_csv(&[entry]);
        let line = csv.lines().nth(1).unwrap();
        assert_eq!(
            line,
            "\"3\",\"7\",\"1\",\"0\",\"ab\",\"request_rejected\",\"member-a\",\"\",\"\",\"\",\"\",\"said \"\"no\"\", twice\""
        );
    }

    #[test]
    fn a_bad_height_is_refused_with_why() {
        let filter = Filter {
            from: "ten".into(),
            ..Filter::default()
        };
        assert!(filter.to_api().unwrap_err().contains("not a block height"));
    }
}
