//! `GET /console/audit/{seq}/proof`: one audit entry's inclusion proof, checked by the console
//! (DESIGN §5.7) with the same check `custodia audit proof` makes.

use crate::api::Failure;
use crate::{
    Shared,
    layout::{self, Nav, Signed},
    view,
};
use axum::{
    extract::{Path, State},
    response::Response,
};
use custodia_api::{EventProof, verify_event_answer};
use maud::html;

/// `GET /console/audit/{seq}/proof`.
pub(crate) async fn page(
    State(console): State<Shared>,
    signed: Signed,
    Path(seq): Path<String>,
) -> Response {
    let title = format!("Proof of audit entry {seq}");
    let Ok(seq) = seq.parse::<u64>() else {
        let failure = Failure {
            status: axum::http::StatusCode::BAD_REQUEST,
            code: "invalid_seq".into(),
            message: format!(
                "{seq:?} is not an audit entry's number: open a proof from the audit trail"
            ),
        };
        return layout::failed(&signed, Nav::Audit, &title, &failure);
    };
    let proof = match console
        .api
        .get::<EventProof>(&format!("/v1/audit/{seq}/proof"))
        .await
    {
        Ok(proof) => proof,
        Err(failure) => return layout::failed(&signed, Nav::Audit, &title, &failure),
    };
    let checked = verify_event_answer(&proof, seq, None);
    let (event, p) = (&proof.event, &proof.proof);
    let body = html! {
        @match &checked {
            Ok(_) => div.notice role="status" {
                "Verified: this entry is leaf " (p.location) " of the history committed at block "
                (p.height) "."
            },
            Err(error) => div.alert role="alert" { strong { "Does not verify: " } (error) },
        }
        dl.facts {
            dt { "Entry" } dd { (event.seq) " — " (event.kind) " at " (view::height(event.height)) }
            @if let Some(id) = &event.record_id { dt { "Record" } dd { (view::record_link(id)) } }
            @if let Some(id) = &event.request_id { dt { "Request" } dd { (view::request_link(id)) } }
            @if !event.detail.is_empty() { dt { "Detail" } dd { (event.detail) } }
            dt { "Leaf" } dd { (p.location) }
            dt { "Proven against" } dd { (view::height(p.height)) }
            dt { "Block digest" } dd.mono.wrap { (p.block) }
            dt { "History root" } dd.mono.wrap { (p.history_root) }
            dt { "State commitment" } dd.mono.wrap { (p.state_commitment) }
        }
        p {
            "The console rebuilt the entry as the chain wrote it, checked its proof against the "
            "history root and recomputed the state commitment from the block and that root. "
            "Compare the commitment with another organisation's node to know it is the chain's."
        }
        p { a href={ "/console/audit" } { "← Audit trail" } }
    };
    layout::page(&signed, Nav::Audit, &title, body)
}
