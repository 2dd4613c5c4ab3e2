//! The overview: who this node is, where its chain stands, and the latest events, live.

use crate::{
    Shared,
    layout::{self, Nav, Signed},
    view,
};
use axum::{
    extract::State,
    response::{IntoResponse, Response},
};
use custodia_api::{AuditEntry, AuditFilter, AuditPage};
use maud::{Markup, html};

/// How many of the latest events the overview shows.
const LATEST: usize = 20;
/// How far back (blocks) the overview looks for them.
const LATEST_BLOCKS: u64 = 500;

/// `GET /console`.
pub(crate) async fn page(State(console): State<Shared>, signed: Signed) -> Response {
    let Some(status) = signed.status.clone() else {
        let failure = console.api.get::<custodia_api::Status>("/v1/status").await;
        return match failure {
            Err(failure) => layout::failed(&signed, Nav::Overview, "Overview", &failure),
            Ok(_) => layout::page(&signed, Nav::Overview, "Overview", html! {}),
        };
    };
    let latest = latest(&console, status.height).await;
    let body = html! {
        section aria-labelledby="chain-heading" {
            h2 #chain-heading { "Node and chain" }
            dl.facts #facts data-live {
                dt { "Organisation" } dd { (status.org) }
                dt { "Role" } dd { (status.role) }
                dt { "Chain" } dd { (status.chain_id) " · " span.mono.wrap { (status.chain) } }
                dt { "Height" } dd data-height { (status.height) }
                dt { "Epoch" } dd { (status.epoch) }
                dt { "Validators" } dd { (view::words(&status.validators)) }
                dt { "This node validates" } dd { @if status.validator { "yes" } @else { "no" } }
                dt { "Peers connected" } dd { (status.peers) }
                dt { "State commitment" } dd.mono.wrap { (status.state_commitment) }
                dt { "Certified up to block" } dd data-certified {
                    @if status.certified_height == 0 { "none yet" } @else { (status.certified_height) }
                }
                dt { "Mempool" } dd { (status.mempool.txs) " txs, " (status.mempool.bytes) " bytes" }
            }
        }
        section aria-labelledby="events-heading" {
            h2 #events-heading { "Latest events" }
            div #latest data-live {
                @match &latest {
                    Ok(page) => (latest_table(&page.entries)),
                    Err(failure) => (layout::alert(failure)),
                }
            }
        }
    };
    layout::page(&signed, Nav::Overview, "Overview", body)
}

/// The trail of the latest blocks, oldest first: of the last [`LATEST_BLOCKS`] blocks, or of
/// fewer when they hold more entries than one page (a busy chain), so the page ends at the head.
async fn latest(console: &Shared, height: u64) -> Result<AuditPage, crate::api::Failure> {
    let mut span = LATEST_BLOCKS;
    loop {
        let filter = AuditFilter {
            from_height: Some(height.saturating_sub(span)),
            limit: Some(1000),
            ..AuditFilter::default()
        };
        let page = console
            .api
            .get_query::<_, AuditPage>("/v1/audit", &filter)
            .await?;
        if page.next.is_none() || span == 0 {
            return Ok(page);
        }
        span /= 10;
    }
}

/// The latest entries, newest first.
fn latest_table(entries: &[AuditEntry]) -> Markup {
    if entries.is_empty() {
        return html! { p.empty { "No events in the latest " (LATEST_BLOCKS) " blocks." } };
    }
    layout::table(
        "Latest events",
        html! {
            table {
                thead { tr { th scope="col" { "Block" } th scope="col" { "Event" } th scope="col" { "By" } th scope="col" { "Concerns" } th scope="col" { "Detail" } } }
                tbody {
                    @for entry in entries.iter().rev().take(LATEST) {
                        tr {
                            td { (view::height(entry.height)) }
                            td { (entry.kind) }
                            td { (entry.actor.as_deref().unwrap_or("—")) }
                            td {
                                @if let Some(id) = &entry.request_id { (view::request_link(id)) " " }
                                @if let Some(id) = &entry.record_id { (view::record_link(id)) " " }
                                (entry.subject.as_deref().unwrap_or(""))
                            }
                            td { (entry.detail) }
                        }
                    }
                }
            }
        },
    )
}

/// `GET /console/events`: the node's event stream (`GET /v1/events`) for this session's
/// live updates; it takes one of the API's event-stream places like any other subscriber.
pub(crate) async fn events(State(console): State<Shared>, _signed: Signed) -> Response {
    console.api.raw("/v1/events").await.into_response()
}
