//! `GET /v1/events`: a server-sent event stream, parsed into typed [`Event`]s.
//!
//! The parser is bounded (one event's text is at most [`MAX_EVENT_BYTES`]) and tolerant of
//! what SSE allows: `\n` or `\r\n` line ends, comments (keep-alives), several `data:` lines.

use crate::{Error, Result};
use custodia_api::{BlockEvent, ChainEvent, Event, LaggedEvent};
use futures::Stream;
use std::collections::VecDeque;

/// Most bytes one event may take before the stream is considered broken.
pub const MAX_EVENT_BYTES: usize = 4 << 20;

/// An open event stream. Read it with [`EventStream::next`] or turn it into a
/// [`Stream`] with [`EventStream::into_stream`].
pub struct EventStream {
    url: String,
    response: reqwest::Response,
    parser: SseParser,
    ready: VecDeque<Result<Event>>,
}

impl EventStream {
    pub(crate) fn new(url: String, response: reqwest::Response) -> Self {
        Self {
            url,
            response,
            parser: SseParser::default(),
            ready: VecDeque::new(),
        }
    }

    /// The next event; `None` when the node closed the stream.
    pub async fn next(&mut self) -> Option<Result<Event>> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            let chunk = match self.response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => return None,
                Err(err) => {
                    return Some(Err(Error::Transport {
                        url: self.url.clone(),
                        reason: crate::client::reason_of(&err),
                    }));
                }
            };
            match self.parser.feed(&chunk) {
                Ok(raw) => {
                    for raw in raw {
                        if let Some(event) = typed(&self.url, raw) {
                            self.ready.push_back(event);
                        }
                    }
                }
                Err(reason) => {
                    return Some(Err(Error::Decode {
                        url: self.url.clone(),
                        status: 200,
                        reason,
                    }));
                }
            }
        }
    }

    /// The events as a [`Stream`].
    pub fn into_stream(self) -> impl Stream<Item = Result<Event>> + Send {
        futures::stream::unfold(self, |mut events| async move {
            events.next().await.map(|event| (event, events))
        })
    }
}

/// An event as it came over the wire.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RawEvent {
    /// The `event:` name (`message` when absent).
    pub name: String,
    /// The `data:` lines, joined by `\n`.
    pub data: String,
}

/// The typed event of `raw`; `None` for an event without data.
fn typed(url: &str, raw: RawEvent) -> Option<Result<Event>> {
    if raw.data.is_empty() {
        return None;
    }
    let decoded = match raw.name.as_str() {
        "block" => serde_json::from_str::<BlockEvent>(&raw.data).map(Event::Block),
        "lagged" => serde_json::from_str::<LaggedEvent>(&raw.data).map(Event::Lagged),
        _ => serde_json::from_str::<ChainEvent>(&raw.data).map(Event::Chain),
    };
    Some(decoded.map_err(|err| Error::Decode {
        url: url.to_string(),
        status: 200,
        reason: format!("event {:?}: {err}", raw.name),
    }))
}

/// Splits a byte stream into server-sent events.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    /// Bytes of a line not yet ended.
    line: Vec<u8>,
    /// The event being read.
    current: RawEvent,
    /// Bytes taken by the event being read.
    current_bytes: usize,
}

impl SseParser {
    /// Takes `bytes`; returns the events they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<RawEvent>, String> {
        let mut done = Vec::new();
        for &byte in bytes {
            if byte != b'\n' {
                self.line.push(byte);
                self.current_bytes += 1;
                if self.current_bytes > MAX_EVENT_BYTES {
                    return Err(format!("an event is longer than {MAX_EVENT_BYTES} bytes"));
                }
                continue;
            }
            let mut line = std::mem::take(&mut self.line);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if line.is_empty() {
                let event = std::mem::take(&mut self.current);
                self.current_bytes = 0;
                if !event.data.is_empty() || !event.name.is_empty() {
                    done.push(RawEvent {
                        name: if event.name.is_empty() {
                            "message".into()
                        } else {
                            event.name
                        },
                        data: event.data,
                    });
                }
                continue;
            }
            let line = String::from_utf8(line).map_err(|_| "an event is not UTF-8".to_string())?;
            self.field(&line);
        }
        Ok(done)
    }

    fn field(&mut self, line: &str) {
        if line.starts_with(':') {
            return; // a comment: the server's keep-alive
        }
        let (name, value) = match line.split_once(':') {
            Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match name {
            "event" => self.current.name = value.to_string(),
            "data" => {
                if !self.current.data.is_empty() {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
            }
            _ => {} // `id`, `retry` and unknown fields carry nothing the client uses
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(name: &str, data: &str) -> RawEvent {
        RawEvent {
            name: name.into(),
            data: data.into(),
        }
    }

    #[test]
    fn events_split_on_blank_lines_whatever_the_chunking() {
        let text = ": keep-alive\n\nevent: block\ndata: {\"height\":1}\n\r\nevent: record_submitted\r\ndata: {\"a\":\r\ndata: 2}\r\n\r\n";
        let expected = vec![
            raw("block", "{\"height\":1}"),
            raw("record_submitted", "{\"a\":\n2}"),
        ];
        for chunk in [1, 2, 7, text.len()] {
            let mut parser = SseParser::default();
            let mut got = Vec::new();
            for part in text.as_bytes().chunks(chunk) {
                got.extend(parser.feed(part).unwrap());
            }
            assert_eq!(got, expected, "chunks of {chunk}");
        }
    }

    #[test]
    fn an_unnamed_event_is_a_message_and_values_keep_inner_spaces() {
        let mut parser = SseParser::default();
        let got = parser.feed(b"data:  two spaces\nid: 7\n\n").unwrap();
        assert_eq!(got, vec![raw("message", " two spaces")]);
    }

    #[test]
    fn an_endless_event_is_refused() {
        let mut parser = SseParser::default();
        let line = vec![b'x'; MAX_EVENT_BYTES + 1];
        assert!(parser.feed(&line).is_err());
    }

    #[test]
    fn block_and_chain_events_are_typed() {
        let block = typed(
            "u",
            raw(
                "block",
                r#"{"height":3,"digest":"ab","timestamp_ms":5,"state_commitment":"cd","txs":[]}"#,
            ),
        );
        assert!(matches!(block, Some(Ok(Event::Block(b))) if b.height == 3));
        let chain = typed(
            "u",
            raw(
                "request_approved",
                r#"{"height":3,"tx_id":null,"kind":"request_approved","actor":"supervisor","subject":null,"record_id":null,"request_id":"req_000102030405060708090a0b0c0d0e0f","detail":""}"#,
            ),
        );
        assert!(matches!(chain, Some(Ok(Event::Chain(c))) if c.kind == "request_approved"));
        let lagged = typed("u", raw("lagged", r#"{"missed":4,"message":"read them"}"#));
        assert!(matches!(lagged, Some(Ok(Event::Lagged(l))) if l.missed == 4));
        assert!(matches!(
            typed("u", raw("block", "{}")),
            Some(Err(Error::Decode { .. }))
        ));
        assert!(typed("u", raw("block", "")).is_none());
    }
}
