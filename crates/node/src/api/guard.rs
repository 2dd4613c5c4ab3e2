//! What bounds the API's work (DESIGN §7.10): how many requests it serves at once, how long one
//! may take, and how many event streams may be open. A request over a bound is answered 503
//! `unavailable` with `Retry-After` at once, rather than queued.

use super::ApiError;
use axum::{
    BoxError,
    extract::Request,
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use custodia_api::limits::{DEFAULT_TIMEOUT_SECS, MAX_TIMEOUT_SECS};
use std::{sync::Arc, time::Duration};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Extra time a waiting request gets over the wait it names, for the work around the wait.
const WAIT_SLACK: Duration = Duration::from_secs(10);

/// The API's bounds (`[api]` of `config.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiLimits {
    /// Requests served at once; more are refused with 503.
    pub max_concurrent_requests: usize,
    /// Longest a request that does not wait on the chain may take.
    pub request_timeout: Duration,
    /// Event streams (`GET /v1/events`) open at once; more are refused with 503.
    pub max_event_streams: usize,
}

impl Default for ApiLimits {
    fn default() -> Self {
        Self {
            max_concurrent_requests: 256,
            request_timeout: Duration::from_secs(30),
            max_event_streams: 64,
        }
    }
}

/// The open event streams, at most [`ApiLimits::max_event_streams`].
#[derive(Clone)]
pub(crate) struct EventStreams(Arc<Semaphore>);

impl EventStreams {
    pub(crate) fn new(max: usize) -> Self {
        Self(Arc::new(Semaphore::new(max)))
    }

    /// A place for one more stream (held as long as the stream is open), or a 503.
    pub(crate) fn open(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.0.clone().try_acquire_owned().map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_streams",
                "this node serves as many event streams as it is configured to \
                 ([api] max_event_streams): close one, or retry later",
            )
            .retry_after(5)
        })
    }
}

/// The answer to a request the concurrency limit refused.
pub(crate) async fn overloaded(_: BoxError) -> Response {
    ApiError::unavailable(
        "the node is serving as many requests as it is configured to ([api] \
         max_concurrent_requests): retry shortly",
    )
    .into_response()
}

/// Bounds the time of every request but the event stream: a request that waits on the chain
/// (`?wait=true&timeout=S`) gets its wait and [`WAIT_SLACK`]; any other gets
/// `request_timeout`. Past its time it is answered 503.
pub(crate) async fn deadline(limits: ApiLimits, request: Request, next: Next) -> Response {
    if request.uri().path() == "/v1/events" {
        return next.run(request).await;
    }
    let allowed = match waits(request.uri().query().unwrap_or("")) {
        Some(seconds) => Duration::from_secs(seconds) + WAIT_SLACK,
        None => limits.request_timeout,
    };
    match tokio::time::timeout(allowed, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::unavailable(format!(
            "the node did not answer within {} s: it is overloaded; retry shortly",
            allowed.as_secs()
        ))
        .into_response(),
    }
}

/// The seconds a query asks to wait, if it asks to (`wait=true`); an out-of-range timeout is
/// left to the handler to refuse.
fn waits(query: &str) -> Option<u64> {
    let value = |name: &str| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    };
    if value("wait") != Some("true") {
        return None;
    }
    let seconds = value("timeout")
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_TIMEOUT_SECS);
    Some(seconds.min(MAX_TIMEOUT_SECS))
}

#[cfg(test)]
mod tests {
    use super::waits;

    #[test]
    fn a_wait_is_read_off_the_query() {
        assert_eq!(waits(""), None);
        assert_eq!(waits("wait=false&timeout=5"), None);
        assert_eq!(waits("wait=true"), Some(30));
        assert_eq!(waits("timeout=5&wait=true"), Some(5));
        assert_eq!(waits("wait=true&timeout=9999"), Some(600));
        assert_eq!(waits("wait=true&timeout=x"), Some(30));
    }
}
