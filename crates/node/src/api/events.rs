//! `GET /v1/events`: server-sent events from now on, from the executed-block feed. Per applied
//! block an `event: block` with its header and receipts, then one event per chain event named
//! by its kind (`record_submitted`, `request_approved`, …), organisations by name. A subscriber
//! too slow for the feed gets an `event: lagged` saying how many blocks it missed, then the
//! stream goes on. A keep-alive comment every 15 s keeps idle connections open.

use super::{ApiContext, ApiError, guard::EventStreams, params::Directory, views};
use crate::Executed;
use axum::{
    Extension,
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
};
use custodia_api::{
    BlockEvent, ChainEvent, LaggedEvent,
    events::{BLOCK, LAGGED},
};
use custodia_protocol::hash::to_hex;
use futures::{Stream, StreamExt as _};
use serde::Serialize;
use std::{collections::VecDeque, convert::Infallible, sync::Arc, time::Duration};
use tokio::sync::broadcast::{Receiver, error::RecvError};

/// Interval of the keep-alive comments.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `GET /v1/events`.
#[utoipa::path(
    get, path = "/v1/events", tag = "chain",
    responses(
        (status = 200, content_type = "text/event-stream", body = super::openapi::StreamEvent, description = "Server-sent events from now on: `event: block` (data: BlockEvent), then one event per chain event named by its kind (data: ChainEvent); `event: lagged` (data: LaggedEvent) when this subscriber missed blocks; a keep-alive comment every 15 s. The schema describes one event"),
    ),
)]
pub(crate) async fn events(
    State(ctx): State<Arc<ApiContext>>,
    Extension(streams): Extension<EventStreams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Held by the stream: the place is freed when the client goes away.
    let place = streams.open()?;
    let names = Arc::new(Directory::read(&ctx.ledger).await?);
    // A block may name an organisation admitted after the stream opened: read them again.
    let ledger = ctx.ledger.clone();
    let refresh: Refresh = Arc::new(move || {
        ledger
            .query(|queries| Ok(queries.orgs()?))
            .ok()
            .map(|orgs| Directory::of_orgs(&orgs))
    });
    let events = stream(ctx.ledger.subscribe(), names, refresh).map(move |event| {
        let _held = &place;
        event
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive")))
}

/// Reads the organisations' names again (`None` when the state cannot be read).
pub(crate) type Refresh = Arc<dyn Fn() -> Option<Directory> + Send + Sync>;

/// The events of the executed blocks `blocks` receives, ending when the feed closes. A block
/// naming an organisation `names` does not know makes the stream `refresh` them.
pub(crate) fn stream(
    blocks: Receiver<Arc<Executed>>,
    names: Arc<Directory>,
    refresh: Refresh,
) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(
        (blocks, VecDeque::new(), names),
        move |(mut blocks, mut queue, mut names)| {
            let refresh = refresh.clone();
            async move {
                loop {
                    if let Some(event) = queue.pop_front() {
                        return Some((Ok(event), (blocks, queue, names)));
                    }
                    match blocks.recv().await {
                    Ok(executed) => {
                        let unknown = executed.events.iter().any(|e| {
                            [&e.actor, &e.subject]
                                .into_iter()
                                .flatten()
                                .any(|org| !names.knows(*org))
                        });
                        if unknown && let Some(fresh) = refresh() {
                            names = Arc::new(fresh);
                        }
                        queue.extend(events_of(&executed, &names))
                    }
                    Err(RecvError::Lagged(missed)) => queue.push_back(sse(
                        LAGGED,
                        &LaggedEvent {
                            missed,
                            message: format!(
                                "this subscriber fell behind and missed {missed} blocks' events: \
                                 read them with GET /v1/blocks/{{height}} and GET /v1/audit"
                            ),
                        },
                    )),
                    Err(RecvError::Closed) => return None,
                }
                }
            }
        },
    )
}

/// The SSE events of one executed block: the block, then its chain events.
fn events_of(executed: &Executed, names: &Directory) -> Vec<Event> {
    let mut events = Vec::with_capacity(1 + executed.events.len());
    events.push(sse(
        BLOCK,
        &BlockEvent {
            height: executed.height,
            digest: to_hex(&executed.digest),
            timestamp_ms: executed.timestamp_ms,
            state_commitment: to_hex(&executed.state_commitment),
            txs: executed
                .receipts
                .iter()
                .cloned()
                .map(views::receipt)
                .collect(),
        },
    ));
    for event in &executed.events {
        let kind = event.kind.as_str();
        events.push(sse(
            kind,
            &ChainEvent {
                height: event.height,
                tx_id: event.tx_id.as_ref().map(to_hex),
                kind: kind.to_string(),
                actor: names.name_of(event.actor),
                subject: names.name_of(event.subject),
                record_id: event.record_id,
                request_id: event.request_id,
                detail: event.detail.clone(),
                proposal_id: event.proposal_id,
            },
        ));
    }
    events
}

/// An SSE event named `name` with `data` as one line of JSON.
fn sse(name: &str, data: &impl Serialize) -> Event {
    // Compact JSON has no raw newline: it is one `data:` line.
    let data = serde_json::to_string(data).unwrap_or_else(|_| "{}".to_string());
    Event::default().event(name).data(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{body::to_bytes, response::IntoResponse};
    use custodia_protocol::{
        OrgId, RecordId,
        hash::sha256,
        testing::{consortium_keys, genesis_of},
    };
    use custodia_state::EventKind;
    use tokio::sync::broadcast;

    fn executed(height: u64, provider: custodia_protocol::OrgId) -> Arc<Executed> {
        let digest = sha256(&[&height.to_be_bytes()]);
        Arc::new(Executed {
            height,
            digest,
            timestamp_ms: 1_700_000_000_000 + height,
            state_commitment: digest,
            receipts: Vec::new(),
            events: vec![custodia_state::Event {
                height,
                tx_index: Some(0),
                tx_id: Some(digest),
                kind: EventKind::RecordSubmitted,
                actor: Some(provider),
                subject: None,
                record_id: Some(RecordId([height as u8; 16])),
                request_id: None,
                detail: String::new(),
                proposal_id: None,
            }],
        })
    }

    async fn text_of(blocks: Receiver<Arc<Executed>>, names: Directory) -> String {
        let response = Sse::new(stream(blocks, Arc::new(names), Arc::new(|| None))).into_response();
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn each_block_is_followed_by_its_events_with_org_names() {
        let keys = consortium_keys(2);
        let genesis = genesis_of(&keys, Default::default());
        let (sender, blocks) = broadcast::channel(8);
        sender.send(executed(1, OrgId(1))).unwrap();
        drop(sender);
        let text = text_of(blocks, Directory::of(&genesis)).await;
        let block = text.find("event: block\ndata: {\"height\":1,").unwrap();
        let event = text.find("event: record_submitted\ndata: {").unwrap();
        assert!(block < event, "{text}");
        assert!(text.contains("\"actor\":\"member-a\""), "{text}");
        assert!(text.contains(&format!("\"record_id\":\"rec_{}\"", "01".repeat(16))));
    }

    #[tokio::test]
    async fn a_lagging_subscriber_is_told_and_goes_on() {
        let keys = consortium_keys(2);
        let genesis = genesis_of(&keys, Default::default());
        let (sender, blocks) = broadcast::channel(2);
        for height in 1..=5 {
            sender.send(executed(height, OrgId(1))).unwrap();
        }
        drop(sender);
        let text = text_of(blocks, Directory::of(&genesis)).await;
        let lagged = text.find("event: lagged\ndata: {\"missed\":3,").unwrap();
        let next = text.find("data: {\"height\":4,").unwrap();
        assert!(lagged < next, "{text}");
        assert!(text.contains("data: {\"height\":5,"), "{text}");
        assert!(!text.contains("data: {\"height\":3,"), "{text}");
    }
}
