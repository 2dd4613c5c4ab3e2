//! What the organisation-facing API does with bad input — malformed JSON, unknown fields,
//! wrong types, oversize records, malformed ids, bad query strings, a missing or wrong token —
//! and its self-description: status, orgs, the event stream's headers, `/openapi.json`.
//! Every refusal is the documented 4xx with a reason; nothing panics.

use axum::{
    body::Body,
    http::{
        Method, Request, StatusCode,
        header::{AUTHORIZATION, CONTENT_TYPE},
    },
};
use custodia_node::api::{openapi_document, served_routes};
use custodia_protocol::Params;
use serde_json::{Value, json};
use tower::ServiceExt as _;

#[path = "harness/api.rs"]
mod harness;
use harness::*;

const REQ: &str = "req_0123456789abcdef0123456789abcdef";
const REC: &str = "rec_0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn malformed_json_unknown_fields_and_wrong_types_are_invalid_json() {
    let chain = Chain::new(Params::default());
    let app = chain.node(MEMBER_A);
    let approve = format!("/v1/requests/{REQ}/approve");
    let cancel = format!("/v1/requests/{REQ}/cancel");
    let cases: [(&str, &str, &str); 12] = [
        ("/v1/records", "", "EOF"),
        ("/v1/records", "{\"kind\": \"claim\",", "EOF"),
        ("/v1/records", "not json", "expected"),
        (
            "/v1/records",
            r#"{"kind":"claim","fields":{"a":1},"colour":"red"}"#,
            "colour",
        ),
        (
            "/v1/records",
            r#"{"kind":7,"fields":{"a":1}}"#,
            "invalid type",
        ),
        (
            "/v1/records",
            r#"{"kind":"claim","fields":[1]}"#,
            "invalid type",
        ),
        ("/v1/records", r#"{"kind":"claim"}"#, "fields"),
        (
            "/v1/requests",
            r#"{"record_ids":[],"purpose":"x","why":"y"}"#,
            "why",
        ),
        (
            "/v1/requests",
            r#"{"record_ids":"rec_1","purpose":"x"}"#,
            "invalid type",
        ),
        (
            "/v1/requests",
            r#"{"record_ids":[],"purpose":"x","ttl":-1}"#,
            "invalid value",
        ),
        (&approve, r#"{"reasons":"x"}"#, "reasons"),
        (&cancel, r#"{"now":true}"#, "now"),
    ];
    for (path, body, mentions) in cases {
        let message = post(&app, path, body)
            .await
            .error(StatusCode::BAD_REQUEST, "invalid_json");
        assert!(message.contains(mentions), "{path} {body}: {message}");
    }
    assert!(chain.ledger.mempool().is_empty());
}

#[tokio::test]
async fn record_rules_are_400_with_the_rules_code() {
    let chain = Chain::new(Params::default());
    let app = chain.node(MEMBER_A);
    let many: serde_json::Map<String, Value> =
        (0..257).map(|i| (format!("f{i}"), json!(i))).collect();
    let cases = [
        (
            json!({"kind": "no spaces", "fields": {"a": 1}}),
            "invalid_kind",
        ),
        (
            json!({"kind": "claim", "tags": [""], "fields": {"a": 1}}),
            "invalid_tags",
        ),
        (json!({"kind": "claim", "fields": {}}), "no_fields"),
        (
            json!({"kind": "claim", "fields": {"bad name": 1}}),
            "invalid_field_name",
        ),
        (json!({"kind": "claim", "fields": many}), "too_many_fields"),
    ];
    for (body, code) in cases {
        post(&app, "/v1/records", body.to_string())
            .await
            .error(StatusCode::BAD_REQUEST, code);
    }
    post(
        &app,
        "/v1/records",
        r#"{"kind":"claim","fields":{"a":1,"a":2}}"#,
    )
    .await
    .error(StatusCode::BAD_REQUEST, "duplicate_field");
    assert!(chain.ledger.mempool().is_empty());
}

#[tokio::test]
async fn an_oversize_record_is_413_record_too_large() {
    let params = Params {
        max_record_bytes: 4096,
        ..Params::default()
    };
    let chain = Chain::new(params);
    let app = chain.node(MEMBER_A);
    let body = json!({"kind": "claim", "fields": {"scan": "x".repeat(5000)}});
    let message = post(&app, "/v1/records", body.to_string())
        .await
        .error(StatusCode::PAYLOAD_TOO_LARGE, "record_too_large");
    assert!(message.contains("4096"), "{message}");
    // A body far over the limit is refused before it is read whole.
    let body = json!({"kind": "claim", "fields": {"scan": "x".repeat(100_000)}});
    post(&app, "/v1/records", body.to_string())
        .await
        .error(StatusCode::PAYLOAD_TOO_LARGE, "record_too_large");
    let fits = json!({"kind": "claim", "fields": {"scan": "x".repeat(3000)}});
    assert_eq!(
        post(&app, "/v1/records", fits.to_string()).await.status,
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn malformed_ids_are_refused_with_their_codes() {
    let chain = Chain::new(Params::default());
    let app = chain.node(MEMBER_A);
    for path in ["/v1/records/xyz", &format!("/v1/records/{REQ}")] {
        get(&app, path)
            .await
            .error(StatusCode::BAD_REQUEST, "invalid_record_id");
    }
    // Ids in query strings and bodies are typed: a malformed one is a malformed query or body,
    // whose message says what an id looks like.
    for path in ["/v1/audit?record=rec_00", "/v1/audit?request=nope"] {
        let message = get(&app, path)
            .await
            .error(StatusCode::BAD_REQUEST, "invalid_query");
        assert!(message.contains("32 hex"), "{message}");
    }
    for path in [
        "/v1/requests/xyz".to_string(),
        format!("/v1/requests/{REC}"),
        "/v1/requests/req_zz/fetch".to_string(),
    ] {
        get(&app, &path)
            .await
            .error(StatusCode::BAD_REQUEST, "invalid_request_id");
    }
    for action in ["approve", "cancel"] {
        post(&app, &format!("/v1/requests/req_1/{action}"), "")
            .await
            .error(StatusCode::BAD_REQUEST, "invalid_request_id");
    }
    let body = json!({"record_ids": [REC, "rec_short"], "purpose": "x"});
    let message = post(&app, "/v1/requests", body.to_string())
        .await
        .error(StatusCode::BAD_REQUEST, "invalid_json");
    assert!(message.contains("rec_short"), "{message}");
    // Well-formed but unknown.
    get(&app, &format!("/v1/records/{REC}"))
        .await
        .error(StatusCode::NOT_FOUND, "record_not_found");
    for path in [
        format!("/v1/requests/{REQ}"),
        format!("/v1/requests/{REQ}/fetch"),
    ] {
        get(&app, &path)
            .await
            .error(StatusCode::NOT_FOUND, "request_not_found");
    }
    post(&app, &format!("/v1/requests/{REQ}/approve"), "")
        .await
        .error(StatusCode::NOT_FOUND, "request_not_found");
    for body in ["", "{}"] {
        post(&app, &format!("/v1/requests/{REQ}/reject"), body)
            .await
            .error(StatusCode::BAD_REQUEST, "invalid_json");
    }
    post(
        &app,
        &format!("/v1/requests/{REQ}/reject"),
        r#"{"reason": " \u0085 "}"#,
    )
    .await
    .error(StatusCode::BAD_REQUEST, "reason_required");
}

#[tokio::test]
async fn a_tx_no_peer_could_decode_is_never_signed_into_the_mempool() {
    let chain = Chain::new(Params::default());
    let app = chain.node(MEMBER_A);
    let too_long = "é".repeat(custodia_api::limits::MAX_PURPOSE_CHARS + 1);
    let too_many: Vec<String> = (0..=custodia_api::limits::MAX_FIELDS)
        .map(|i| format!("f{i}"))
        .collect();
    for body in [
        json!({"record_ids": [REC], "purpose": too_long}),
        json!({"record_ids": [REC], "purpose": "audit", "fields": too_many}),
    ] {
        let message = post(&app, "/v1/requests", body.to_string())
            .await
            .error(StatusCode::BAD_REQUEST, "too_large");
        assert!(message.contains("over the limit"), "{message}");
    }
    assert!(chain.ledger.mempool().is_empty());
}

#[tokio::test]
async fn query_strings_are_strict() {
    let chain = Chain::new(Params::default());
    let app = chain.node(MEMBER_A);
    for path in [
        "/v1/records?colour=red",
        "/v1/records?status=lost",
        "/v1/records?limit=1001",
        "/v1/records?limit=ten",
        "/v1/requests?status=approved-ish",
        "/v1/requests?offset=-1",
        "/v1/audit?who=me",
        &format!("/v1/requests/{REQ}/fetch?wait=maybe"),
    ] {
        let message = get(&app, path)
            .await
            .error(StatusCode::BAD_REQUEST, "invalid_query");
        assert!(!message.is_empty(), "{path}");
    }
    let body = json!({"kind": "claim", "fields": {"a": 1}}).to_string();
    for path in [
        "/v1/records?wait=true&timeout=601",
        "/v1/records?until=later",
    ] {
        post(&app, path, body.clone())
            .await
            .error(StatusCode::BAD_REQUEST, "invalid_query");
    }
    for path in [
        "/v1/records?provider=nobody",
        "/v1/requests?party=nobody",
        "/v1/audit?org=nobody",
    ] {
        let message = get(&app, path)
            .await
            .error(StatusCode::NOT_FOUND, "unknown_org");
        assert!(message.contains("member-a"), "{message}");
    }
    for path in [
        "/v1/records?provider=Nobody",
        "/v1/records?kind=not%20a%20kind",
        "/v1/audit?org=",
    ] {
        get(&app, path)
            .await
            .error(StatusCode::BAD_REQUEST, "invalid_query");
    }
    assert!(chain.ledger.mempool().is_empty());
}

#[tokio::test]
async fn the_wrong_party_is_403_and_an_unknown_record_404() {
    let chain = Chain::new(Params::default());
    let supervisor = chain.node(SUPERVISOR);
    let body = json!({"kind": "claim", "fields": {"a": 1}}).to_string();
    post(&supervisor, "/v1/records", body)
        .await
        .error(StatusCode::FORBIDDEN, "not_member");
    let request = json!({"record_ids": [REC], "purpose": "audit"}).to_string();
    post(&supervisor, "/v1/requests", request.clone())
        .await
        .error(StatusCode::FORBIDDEN, "not_member");
    post(&chain.node(MEMBER_A), "/v1/requests", request)
        .await
        .error(StatusCode::NOT_FOUND, "record_not_found");
}

#[tokio::test]
async fn a_wait_that_times_out_answers_202_without_a_receipt() {
    let chain = Chain::new(Params::default());
    let answer = post(
        &chain.node(MEMBER_A),
        "/v1/records?wait=true&timeout=1",
        json!({"kind": "claim", "fields": {"a": 1}}).to_string(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    let body = answer.json();
    assert!(
        body["tx_id"].is_string() && body.get("receipt").is_none(),
        "{body}"
    );
    assert_eq!(chain.ledger.mempool().len(), 1);
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_401_everywhere_but_healthz_and_openapi() {
    let chain = Chain::new(Params::default());
    let app = chain.node(MEMBER_A);
    for (method, path) in served_routes() {
        let path = path
            .replace("{record_id}", REC)
            .replace("{request_id}", REQ)
            .replace("{height}", "1")
            .replace("{tx_id}", &"0".repeat(64));
        for auth in [
            None,
            Some("Bearer wrong".to_string()),
            Some(TOKEN.to_string()),
        ] {
            let mut request = Request::builder()
                .method(Method::from_bytes(method.as_bytes()).unwrap())
                .uri(&path);
            if let Some(auth) = auth {
                request = request.header(AUTHORIZATION, auth);
            }
            let answer = send(&app, request.body(Body::empty()).unwrap()).await;
            if ["/healthz", "/openapi.json"].contains(&path.as_str()) {
                assert_eq!(answer.status, StatusCode::OK, "{path}");
            } else {
                answer.error(StatusCode::UNAUTHORIZED, "unauthorized");
            }
        }
    }
    assert!(chain.ledger.mempool().is_empty());
}

#[tokio::test]
async fn status_has_the_role_and_orgs_lists_the_consortium() {
    let chain = Chain::new(Params::default());
    let status = get(&chain.node(SUPERVISOR), "/v1/status").await.json();
    assert_eq!(
        (status["org"].clone(), status["role"].clone()),
        (json!("supervisor"), json!("supervisor"))
    );
    let orgs = get(&chain.node(MEMBER_A), "/v1/orgs").await.json();
    let orgs = orgs["orgs"].as_array().unwrap();
    assert_eq!(orgs.len(), 4);
    assert_eq!(orgs[1]["name"], "member-a");
    assert_eq!(orgs[1]["role"], "member");
    assert_eq!(
        orgs[1]["identity_key"],
        hex::encode(chain.keys[MEMBER_A].identity_key().as_ref())
    );
    assert_eq!(
        orgs[1]["encryption_key"],
        hex::encode(chain.keys[MEMBER_A].encryption_key().0)
    );
    assert_eq!(orgs[1]["api"], "127.0.0.1:8001");
    assert_eq!(orgs[1]["active"], true);
}

#[tokio::test]
async fn events_are_a_server_sent_event_stream() {
    let chain = Chain::new(Params::default());
    let request = Request::get("/v1/events")
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let response = chain.node(MEMBER_A).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
}

#[tokio::test]
async fn openapi_json_is_served_without_a_token_and_lists_every_route() {
    let chain = Chain::new(Params::default());
    let answer = send(
        &chain.node(MEMBER_A),
        Request::get("/openapi.json").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc = answer.json();
    assert_eq!(doc, openapi_document());
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    let served = served_routes();
    // Each operation has an id of its own (OpenAPI requires it; generators name calls by it).
    let mut ids = std::collections::BTreeMap::new();
    for (method, path) in &served {
        let id = paths[*path][method.to_lowercase()]["operationId"]
            .as_str()
            .unwrap_or_default();
        if let Some(other) = ids.insert(id.to_string(), (method, path)) {
            panic!("{method} {path} and {other:?} share the operation id {id:?}");
        }
    }
    for (method, path) in &served {
        let operation = &paths
            .get(*path)
            .unwrap_or_else(|| panic!("{path} is not documented"))[method.to_lowercase()];
        assert!(operation.is_object(), "{method} {path} is not documented");
        let responses = operation["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{method} {path}"
        );
        // Each `{name}` of the path is a parameter `in: path` with `required: true`.
        let parameters = operation["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for name in path.split('{').skip(1).filter_map(|s| s.split('}').next()) {
            let parameter = parameters
                .iter()
                .find(|p| p["in"] == "path" && p["name"] == name)
                .unwrap_or_else(|| panic!("{method} {path}: no path parameter {name}"));
            assert_eq!(parameter["required"], true, "{method} {path} {name}");
        }
        let open = ["/healthz", "/openapi.json"].contains(path);
        assert_eq!(responses.contains_key("401"), !open, "{method} {path}");
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
        }
    }
    let documented: usize = paths
        .values()
        .map(|item| {
            ["get", "post", "put", "delete", "patch"]
                .iter()
                .filter(|m| item.get(**m).is_some())
                .count()
        })
        .sum();
    assert_eq!(
        documented,
        served.len(),
        "the document lists a route the router does not serve"
    );
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    for schema in [
        "ErrorBody",
        "RecordView",
        "RequestDetail",
        "NewRecord",
        "Fetched",
        "BlockEvent",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}
