//! What the organisation-facing API does with bad input — malformed JSON, unknown fields,
//! wrong types, oversize records, malformed ids, bad query strings, a missing or wrong token —
//! and its self-description: status, orgs, the event stream's headers, `/openapi.json`.
//! Every refusal is the documented 4xx with a reason; nothing panics.

use axum::{
    Router,
    body::{Body, Bytes, to_bytes},
    http::{
        HeaderMap, Method, Request, StatusCode,
        header::{AUTHORIZATION, CONTENT_TYPE},
    },
};
use custodia_node::{
    Ledger, MempoolLimits,
    api::{ApiContext, openapi_document, router, served_routes},
};
use custodia_protocol::{
    OrgKeys, Params,
    testing::{ORG_NAMES, consortium_keys, genesis_of},
};
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt as _;

const TOKEN: &str = "input-token-0123456789";
const SUPERVISOR: usize = 0;
const MEMBER_A: usize = 1;

struct Chain {
    ledger: Arc<Ledger>,
    keys: Vec<OrgKeys>,
    _dir: tempfile::TempDir,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!("not JSON ({err}): {}", String::from_utf8_lossy(&self.body))
        })
    }

    /// Asserts an API error with `status` and `code`; returns its message.
    fn error(&self, status: StatusCode, code: &str) -> String {
        let body = self.json();
        assert_eq!(self.status, status, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{body}");
        message.to_string()
    }
}

impl Chain {
    fn new(params: Params) -> Self {
        let keys = consortium_keys(4);
        let dir = tempfile::tempdir().expect("temp dir");
        let ledger = Ledger::open(
            genesis_of(&keys, params),
            Some(dir.path().join("state.sqlite")),
            MempoolLimits::default(),
        )
        .expect("open the ledger");
        Self {
            ledger,
            keys,
            _dir: dir,
        }
    }

    fn node(&self, org: usize) -> Router {
        router(ApiContext {
            ledger: self.ledger.clone(),
            org: ORG_NAMES[org].into(),
            keys: Arc::new(self.keys[org].clone()),
            token: TOKEN.into(),
            peers: Arc::new(|| 3),
            metrics: Arc::new(String::new),
        })
    }
}

async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: to_bytes(body, usize::MAX).await.unwrap(),
    }
}

async fn get(app: &Router, path: &str) -> Answer {
    let request = Request::get(path)
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    send(app, request).await
}

async fn post(app: &Router, path: &str, body: impl Into<Body>) -> Answer {
    let request = Request::post(path)
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap();
    send(app, request).await
}

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
    for path in [
        "/v1/records/xyz",
        &format!("/v1/records/{REQ}"),
        "/v1/audit?record=rec_00",
    ] {
        get(&app, path)
            .await
            .error(StatusCode::BAD_REQUEST, "invalid_record_id");
    }
    for path in [
        "/v1/requests/xyz".to_string(),
        format!("/v1/requests/{REC}"),
        "/v1/requests/req_zz/fetch".to_string(),
        "/v1/audit?request=nope".to_string(),
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
    post(&app, "/v1/requests", body.to_string())
        .await
        .error(StatusCode::BAD_REQUEST, "invalid_record_id");
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
    for body in ["", "{}", r#"{"reason": "  "}"#] {
        post(&app, &format!("/v1/requests/{REQ}/reject"), body)
            .await
            .error(StatusCode::BAD_REQUEST, "reason_required");
    }
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
            .error(StatusCode::BAD_REQUEST, "unknown_org");
        assert!(message.contains("member-a"), "{message}");
    }
    assert!(chain.ledger.mempool().is_empty());
}

#[tokio::test]
async fn the_wrong_party_is_403_and_state_rules_are_400() {
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
        .error(StatusCode::BAD_REQUEST, "record_not_found");
}

#[tokio::test]
async fn wait_true_gives_up_with_504_and_says_where_to_follow() {
    let chain = Chain::new(Params::default());
    let answer = post(
        &chain.node(MEMBER_A),
        "/v1/records?wait=true&timeout=1",
        json!({"kind": "claim", "fields": {"a": 1}}).to_string(),
    )
    .await;
    let message = answer.error(StatusCode::GATEWAY_TIMEOUT, "timeout");
    assert!(message.contains("GET /v1/receipts/"), "{message}");
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
