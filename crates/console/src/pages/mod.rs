//! The console's pages, one module per section.

pub(crate) mod audit;
pub(crate) mod decide;
pub(crate) mod orgs;
pub(crate) mod overview;
pub(crate) mod proof;
pub(crate) mod proposals;
pub(crate) mod records;
pub(crate) mod requests;
pub(crate) mod sign_in;

use crate::layout::{self, Nav, Signed};
use axum::{http::StatusCode, response::Response};
use maud::html;

/// Any other path under `/console`.
pub(crate) async fn not_found(signed: Signed) -> Response {
    layout::page_with(
        StatusCode::NOT_FOUND,
        &signed,
        Nav::Overview,
        "Not found",
        html! { p { "There is no such page. " a href="/console" { "Go to the overview" } "." } },
    )
}

/// `?notice=…` after an action: one of a few fixed sentences (never text from the URL).
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Notice {
    #[serde(default)]
    notice: String,
}

impl Notice {
    pub(crate) fn render(&self) -> maud::Markup {
        let text = match self.notice.as_str() {
            "submitted" => "The record was submitted and finalized.",
            "requested" => "The request was submitted and finalized.",
            "approved" => "Your approval was finalized.",
            "rejected" => "Your rejection was finalized.",
            "cancelled" => "The request was withdrawn.",
            "suspended" => "The organisation was suspended.",
            "reinstated" => "The organisation was reinstated.",
            "voted" => "Your vote was finalized.",
            _ => return html! {},
        };
        layout::notice(text)
    }
}

/// `text` unless it is empty or blank.
pub(crate) fn blank(text: &str) -> Option<&str> {
    let text = text.trim();
    (!text.is_empty()).then_some(text)
}
