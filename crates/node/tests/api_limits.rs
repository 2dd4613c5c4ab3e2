//! The API's bounds (DESIGN §7.10): event streams past the cap, requests past the concurrency
//! limit and requests past their time are answered 503 with `Retry-After` at once, and a page
//! of the audit trail is bounded and leads to the next.

#[path = "harness/api.rs"]
mod harness;

use axum::{
    body::Body,
    http::{Request, StatusCode, header::AUTHORIZATION},
};
use custodia_node::api::ApiLimits;
use custodia_protocol::Params;
use harness::*;
use std::time::Duration;
use tower::ServiceExt as _;

fn events_request() -> Request<Body> {
    Request::get("/v1/events")
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn event_streams_past_the_cap_are_refused_and_a_closed_one_frees_its_place() {
    let chain = Chain::new(Params::default());
    let limits = ApiLimits {
        max_event_streams: 2,
        ..ApiLimits::default()
    };
    let app = chain.node_with(MEMBER_A, limits);
    let first = app.clone().oneshot(events_request()).await.unwrap();
    let second = app.clone().oneshot(events_request()).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(second.status(), StatusCode::OK);
    let third = send(&app, events_request()).await;
    third.error(StatusCode::SERVICE_UNAVAILABLE, "too_many_streams");
    assert!(third.headers.contains_key("retry-after"));
    // A client that goes away drops its stream's body, and its place with it.
    drop(first);
    let again = app.clone().oneshot(events_request()).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    drop((second, again));
}

#[tokio::test]
async fn a_request_past_the_concurrency_limit_is_refused_at_once() {
    let chain = Chain::new(Params::default());
    let limits = ApiLimits {
        max_concurrent_requests: 1,
        ..ApiLimits::default()
    };
    let app = chain.node_with(MEMBER_A, limits);
    // No block is ever made here: this write waits its whole second, holding the one place.
    let waiting = {
        let app = app.clone();
        tokio::spawn(async move {
            post(
                &app,
                "/v1/records?wait=true&timeout=1",
                r#"{"kind": "claim", "fields": {"a": 1}}"#,
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refused = get(&app, "/v1/status").await;
    refused.error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert!(refused.headers.contains_key("retry-after"));
    assert_eq!(waiting.await.unwrap().status, StatusCode::ACCEPTED);
    assert_eq!(get(&app, "/v1/status").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_wait_gets_the_time_it_names_past_the_request_timeout() {
    let chain = Chain::new(Params::default());
    let limits = ApiLimits {
        request_timeout: Duration::from_millis(300),
        ..ApiLimits::default()
    };
    let app = chain.node_with(MEMBER_A, limits);
    // A write that waits 1 s is within the time it asked for, well past `request_timeout`.
    let waited = post(
        &app,
        "/v1/records?wait=true&timeout=1",
        r#"{"kind": "claim", "fields": {"a": 1}}"#,
    )
    .await;
    assert_eq!(waited.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn the_audit_trail_is_paged_and_each_page_leads_to_the_next() {
    let chain = Chain::new(Params::default());
    let app = chain.node(MEMBER_A);
    let page = get(&app, "/v1/audit?limit=1000").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.json()["next"], serde_json::Value::Null);
    get(&app, "/v1/audit?limit=1001")
        .await
        .error(StatusCode::BAD_REQUEST, "invalid_query");
    get(&app, "/v1/audit?after=9223372036854775808")
        .await
        .error(StatusCode::BAD_REQUEST, "invalid_query");
}
