//! Turning what the node answered (or did not) into the client's results and [`Error`]s.

use crate::{Error, Result};
use reqwest::{StatusCode, Url};
use std::time::Duration;

/// Largest answer body read.
const MAX_ANSWER_BYTES: usize = 64 << 20;
/// Longest part of a non-API error body quoted in an error message.
const MAX_QUOTED_BYTES: usize = 300;

/// The error of a call that got no answer.
pub(super) fn send_error(url: &Url, err: reqwest::Error, timeout: Duration) -> Error {
    let url = url.to_string();
    if err.is_timeout() {
        Error::TimedOut {
            url,
            seconds: timeout.as_secs(),
        }
    } else if err.is_connect() {
        Error::Unreachable {
            url,
            reason: reason_of(&err),
        }
    } else {
        Error::Transport {
            url,
            reason: reason_of(&err),
        }
    }
}

/// The innermost cause of `err`: what actually went wrong ("Connection refused").
pub(crate) fn reason_of(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &dyn std::error::Error = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// Reads an answer's body, at most [`MAX_ANSWER_BYTES`].
pub(super) async fn read_body(
    url: &Url,
    mut response: reqwest::Response,
    timeout: Duration,
) -> Result<Vec<u8>> {
    let status = response.status().as_u16();
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(Error::Decode {
                        url: url.to_string(),
                        status,
                        reason: format!("the answer is over {MAX_ANSWER_BYTES} bytes"),
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(err) => return Err(send_error(url, err, timeout)),
        }
    }
}

/// The error of a 4xx/5xx answer: the API's `{"error": {code, message}}`, or what the body
/// says when it is not in that shape (a proxy's page, say).
pub(super) fn api_error(url: &Url, status: StatusCode, body: &[u8]) -> Error {
    #[derive(serde::Deserialize)]
    struct Envelope {
        error: Body,
    }
    #[derive(serde::Deserialize)]
    struct Body {
        code: String,
        message: String,
    }
    if let Ok(Envelope { error }) = serde_json::from_slice::<Envelope>(body) {
        return Error::Api {
            status: status.as_u16(),
            code: error.code,
            message: error.message,
        };
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX_QUOTED_BYTES)])
        .trim()
        .to_string();
    let reason = status.canonical_reason().unwrap_or("error").to_lowercase();
    Error::Api {
        status: status.as_u16(),
        code: format!("http_{}", status.as_u16()),
        message: if text.is_empty() {
            format!("{url} answered {reason}")
        } else {
            format!("{url} answered {reason}: {text}")
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_answers_keep_the_apis_code_or_quote_the_body() {
        let url = Url::parse("http://a:1/v1/x").unwrap();
        let err = api_error(
            &url,
            StatusCode::NOT_FOUND,
            br#"{"error":{"code":"record_not_found","message":"no such record"}}"#,
        );
        assert_eq!(err.code(), Some("record_not_found"));
        assert_eq!(err.status(), Some(404));
        assert!(err.to_string().starts_with("no such record"), "{err}");
        let err = api_error(&url, StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>");
        assert_eq!(err.code(), Some("http_502"));
        assert!(err.to_string().contains("bad gateway"), "{err}");
    }
}
