//! Small pieces of markup the pages share: status badges, short ids, links.

use maud::{Markup, html};

/// A status word as a badge (its class names the status, for colour; the word is the text).
pub(crate) fn badge(status: &str) -> Markup {
    html! { span class={ "badge badge-" (status) } { (status) } }
}

/// A link to a record.
pub(crate) fn record_link(id: &impl std::fmt::Display) -> Markup {
    let id = id.to_string();
    html! { a.id href={ "/console/records/" (id) } { (id) } }
}

/// A link to a request.
pub(crate) fn request_link(id: &impl std::fmt::Display) -> Markup {
    let id = id.to_string();
    html! { a.id href={ "/console/requests/" (id) } { (id) } }
}

/// A block height.
pub(crate) fn height(height: u64) -> Markup {
    html! { span.height { "#" (height) } }
}

/// A list of words, comma-separated.
pub(crate) fn words(words: &[String]) -> String {
    if words.is_empty() {
        "—".into()
    } else {
        words.join(", ")
    }
}

/// Paging links for a list whose page started at `offset` with `limit` per page, `shown`
/// items on this page; `query` is the rest of the list's query string.
pub(crate) fn pager(path: &str, query: &str, offset: u64, limit: u64, shown: usize) -> Markup {
    let link = |offset: u64| {
        if query.is_empty() {
            format!("{path}?offset={offset}")
        } else {
            format!("{path}?{query}&offset={offset}")
        }
    };
    html! {
        nav.pager aria-label="Pages" {
            @if offset > 0 {
                a href=(link(offset.saturating_sub(limit))) { "← Previous" }
            }
            span { "Showing " (offset + 1) "–" (offset + shown as u64) }
            @if shown as u64 >= limit {
                a href=(link(offset + limit)) { "Next →" }
            }
        }
    }
}
