//! The web console at `/console` (DESIGN §7.13), as a browser sees it, over a ledger without
//! consensus: requests go straight to the node's whole router (`api::app`: the API and its
//! console), and the test plays the chain by applying the mempool's txs as blocks.
//!
//! What is checked: nothing but the sign-in page without a session; the session cookie's name
//! and attributes; the security headers of every console response; the CSRF and same-origin
//! checks on every write; two consoles in one browser; a record submitted through the form;
//! and that the console is not part of the REST API's document.

use axum::{
    Router,
    body::{Body, to_bytes},
    http::{
        HeaderMap, Method, Request, StatusCode,
        header::{
            AUTHORIZATION, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, HOST,
            LOCATION, ORIGIN, SET_COOKIE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
        },
    },
};
use custodia_node::{
    Keyring, Ledger, MempoolLimits,
    api::{ApiContext, ApiLimits, app, openapi_document, served_routes},
};
use custodia_protocol::{
    Block, OrgKeys, Params, Tx,
    testing::{ORG_NAMES, consortium_keys, genesis_of},
};
use serde_json::{Value, json};
use std::{sync::Arc, time::Duration};
use tower::ServiceExt as _;

const TOKEN_A: &str = "console-token-a-0123456789";
const TOKEN_B: &str = "console-token-b-9876543210";
const MEMBER_A: usize = 1;
const MEMBER_B: usize = 2;
const PORT_A: u16 = 7301;
const PORT_B: u16 = 7302;
const FORM: &str = "application/x-www-form-urlencoded";

/// One ledger shared by every organisation's node.
struct Chain {
    ledger: Arc<Ledger>,
    keys: Vec<OrgKeys>,
    _dir: tempfile::TempDir,
}

impl Chain {
    fn new() -> Self {
        let keys = consortium_keys(4);
        let dir = tempfile::tempdir().expect("temp dir");
        let ledger = Ledger::open(
            genesis_of(&keys, Params::default()),
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

    /// Organisation `org`'s node, with `token`, its API on `port` (TLS if `secure`).
    fn node(&self, org: usize, token: &str, secure: bool, port: u16) -> Node {
        let ctx = ApiContext {
            ledger: self.ledger.clone(),
            org: ORG_NAMES[org].into(),
            keys: Arc::new(Keyring::in_memory(self.keys[org].clone())),
            token: token.into(),
            peers: Arc::new(|| 3),
            metrics: Arc::new(String::new),
        };
        Node {
            app: app(ctx, ApiLimits::default(), secure, port),
            org: ORG_NAMES[org],
            token: token.to_string(),
            host: format!("127.0.0.1:{port}"),
            cookie: custodia_console::cookie_name(ORG_NAMES[org], port),
        }
    }

    /// Applies every tx of the mempool, in arrival order, as the next block.
    fn apply_mempool(&self) -> Vec<custodia_state::Receipt> {
        let height = self.ledger.state().height() + 1;
        let txs: Vec<Tx> = self
            .ledger
            .mempool()
            .select(height, usize::MAX, usize::MAX, u64::MAX, |_| false)
            .into_iter()
            .map(|tx| (*tx).clone())
            .collect();
        let ids: Vec<_> = txs.iter().map(Tx::id).collect();
        let mut state = self.ledger.state();
        let block = Block {
            parent: state.last_block_digest(),
            height: state.height() + 1,
            timestamp_ms: 1_700_000_000_000 + state.height(),
            txs,
        };
        let receipts = state
            .apply(&block)
            .expect("apply")
            .expect("a new block")
            .receipts;
        drop(state);
        self.ledger.mempool().remove_applied(&ids);
        receipts
    }
}

/// One organisation's node: its API and console.
#[derive(Clone)]
struct Node {
    app: Router,
    org: &'static str,
    token: String,
    /// The `Host` a browser sends it.
    host: String,
    /// Its console's session cookie name.
    cookie: String,
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: impl axum::http::header::AsHeaderName) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("an ASCII header"))
    }

    fn location(&self) -> Option<&str> {
        self.header(LOCATION)
    }

    /// Asserts a 303 to `to` with an empty body.
    fn assert_see_other(&self, to: &str) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "{}", self.body);
        assert_eq!(self.location(), Some(to));
        assert_eq!(self.body, "", "a redirect has no body");
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("body is not JSON ({err}): {}", self.body))
    }

    /// Asserts the answer is an HTML page with `status`.
    fn assert_html(&self, status: StatusCode) -> &str {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.header(CONTENT_TYPE), Some("text/html; charset=utf-8"));
        assert!(self.body.starts_with("<!DOCTYPE html>"), "{}", self.body);
        &self.body
    }
}

/// A browser's request to `node`: its `Host`, the cookies given.
fn browser(
    node: &Node,
    method: Method,
    path: &str,
    cookies: &[&str],
) -> axum::http::request::Builder {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(HOST, &node.host);
    if !cookies.is_empty() {
        request = request.header(COOKIE, cookies.join("; "));
    }
    request
}

/// `application/x-www-form-urlencoded` of `pairs`.
fn form(pairs: &[(&str, &str)]) -> String {
    fn encode(text: &str) -> String {
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Node {
    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let (parts, body) = response.into_parts();
        let bytes = to_bytes(body, usize::MAX).await.expect("the body");
        Answer {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8(bytes.to_vec()).expect("a UTF-8 body"),
        }
    }

    /// `GET path` as a browser with `cookies`.
    async fn get(&self, path: &str, cookies: &[&str]) -> Answer {
        let request = browser(self, Method::GET, path, cookies)
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    /// `POST path` of the form `pairs`, as a browser with `cookies` and `headers`.
    async fn post(
        &self,
        path: &str,
        cookies: &[&str],
        headers: &[(&str, &str)],
        pairs: &[(&str, &str)],
    ) -> Answer {
        let mut request = browser(self, Method::POST, path, cookies).header(CONTENT_TYPE, FORM);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::from(form(pairs))).unwrap())
            .await
    }

    /// `GET path` of the REST API, with the token.
    async fn api_get(&self, path: &str) -> Value {
        let request = Request::get(path)
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .body(Body::empty())
            .unwrap();
        let answer = self.send(request).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.json()
    }

    /// `POST path` of the REST API with `body`, with the token, not waiting.
    async fn api_post(&self, path: &str, body: Value) -> Value {
        let request = Request::post(path)
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .header(CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let answer = self.send(request).await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
        answer.json()
    }

    /// Signs in with the node's token; returns the cookie (`name=value`) a browser sends back.
    async fn sign_in(&self) -> String {
        let answer = self
            .post("/console/sign-in", &[], &[], &[("token", &self.token)])
            .await;
        answer.assert_see_other("/console");
        let set = answer.header(SET_COOKIE).expect("a session cookie");
        let pair = set.split(';').next().expect("name=value").to_string();
        let (name, value) = pair.split_once('=').expect("name=value");
        assert_eq!(name, self.cookie);
        assert_hex_id(value);
        pair
    }

    /// The CSRF token of the session of `cookie`, from the overview's sign-out form.
    async fn csrf(&self, cookie: &str) -> String {
        let answer = self.get("/console", &[cookie]).await;
        csrf_of(answer.assert_html(StatusCode::OK))
    }

    /// Whether `cookie` opens the overview.
    async fn opens(&self, cookie: &str) -> bool {
        let answer = self.get("/console", &[cookie]).await;
        match answer.status {
            StatusCode::OK => true,
            StatusCode::SEE_OTHER => {
                answer.assert_see_other("/console/sign-in");
                false
            }
            other => panic!("unexpected {other}: {}", answer.body),
        }
    }
}

/// A random 256-bit id in lowercase hex.
fn assert_hex_id(value: &str) {
    assert_eq!(value.len(), 64, "{value}");
    assert!(
        value
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "{value}"
    );
}

/// The value of the hidden `csrf` input of `html`.
fn csrf_of(html: &str) -> String {
    let marker = r#"<input type="hidden" name="csrf" value=""#;
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no csrf field: {html}"))
        + marker.len();
    let end = html[start..].find('"').expect("the value ends");
    let csrf = html[start..start + end].to_string();
    assert_hex_id(&csrf);
    csrf
}

/// Asserts the headers every console response carries.
fn assert_secure_headers(answer: &Answer, what: &str) {
    let csp = answer
        .header(CONTENT_SECURITY_POLICY)
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"));
    assert!(csp.contains("script-src 'self'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-eval"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(answer.header(X_FRAME_OPTIONS), Some("DENY"), "{what}");
    assert_eq!(
        answer.header(X_CONTENT_TYPE_OPTIONS),
        Some("nosniff"),
        "{what}"
    );
}

/// Asserts the headers of a console page (those above and `no-store`).
fn assert_page_headers(answer: &Answer, what: &str) {
    assert_secure_headers(answer, what);
    assert_eq!(answer.header(CACHE_CONTROL), Some("no-store"), "{what}");
}

/// Asserts `html` runs no inline script and has no inline style.
fn assert_no_inline_code(html: &str, what: &str) {
    let mut scripts = 0;
    for (at, _) in html.match_indices("<script") {
        let rest = &html[at..];
        let open_end = rest.find('>').expect("the tag ends");
        let open = &rest[..=open_end];
        assert!(open.contains(" src=\"/console/static/"), "{what}: {open}");
        assert!(
            rest[open_end + 1..].starts_with("</script>"),
            "{what}: a script with content: {}",
            &rest[..rest.len().min(200)]
        );
        scripts += 1;
    }
    assert!(scripts <= 1, "{what}: {scripts} scripts");
    assert!(!html.contains("style="), "{what}: an inline style");
    assert!(!html.contains("<style"), "{what}: a style element");
    let handler = html.match_indices(" on").any(|(at, _)| {
        let name: String = html[at + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        name.len() > 2 && html[at + 1 + name.len()..].starts_with('=')
    });
    assert!(!handler, "{what}: an event handler attribute");
    assert!(!html.contains("javascript:"), "{what}: a javascript: URL");
}

/// A record submitted through member A's API and applied; its id.
async fn applied_record(chain: &Chain, node: &Node) -> String {
    let body = json!({"kind": "claim", "fields": {"amount": 900, "insured": "J. Secret"}});
    let answer = node.api_post("/v1/records", body).await;
    assert!(chain.apply_mempool().iter().all(|r| r.is_ok()));
    answer["record_id"]
        .as_str()
        .expect("a record id")
        .to_string()
}

#[tokio::test]
async fn signed_out_pages_send_to_the_sign_in_and_show_nothing() {
    let chain = Chain::new();
    let a = chain.node(MEMBER_A, TOKEN_A, false, PORT_A);
    let record_id = applied_record(&chain, &a).await;
    let paths = [
        "/console".to_string(),
        "/console/".to_string(),
        "/console/records".to_string(),
        format!("/console/records/{record_id}"),
        "/console/records/new".to_string(),
        "/console/requests".to_string(),
        "/console/audit".to_string(),
        "/console/audit/export?format=json".to_string(),
        "/console/audit/1/proof".to_string(),
        "/console/orgs".to_string(),
        "/console/proposals".to_string(),
        "/console/events".to_string(),
        "/console/nope".to_string(),
    ];
    let strangers = [
        String::new(),
        format!("{}={}", a.cookie, "0".repeat(64)),
        format!("{}=", a.cookie),
        format!("other_cookie={}", "1".repeat(64)),
    ];
    for path in &paths {
        for cookie in &strangers {
            let cookies: Vec<&str> = [cookie.as_str()]
                .into_iter()
                .filter(|c| !c.is_empty())
                .collect();
            let answer = a.get(path, &cookies).await;
            answer.assert_see_other("/console/sign-in");
            assert!(!answer.body.contains(&record_id));
            assert!(answer.header(SET_COOKIE).is_none(), "{path}");
            assert_page_headers(&answer, path);
        }
    }
    // The API's own data stays behind its token too.
    let answer = a.get("/v1/records", &[]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);

    let answer = a.get("/console/sign-in", &[]).await;
    let html = answer.assert_html(StatusCode::OK);
    assert_page_headers(&answer, "the sign-in page");
    assert_no_inline_code(html, "the sign-in page");
    let input = html
        .match_indices("<input")
        .map(|(at, _)| &html[at..at + html[at..].find('>').unwrap()])
        .find(|tag| tag.contains(r#"name="token""#))
        .unwrap_or_else(|| panic!("no token input: {html}"));
    assert!(input.contains(r#"type="password""#), "{input}");
    assert!(html.contains(r#"<form class="card" method="post" action="/console/sign-in">"#));
    assert!(
        html.contains("member-a"),
        "the sign-in page names the organisation"
    );
    assert!(!html.contains(&record_id));
    assert!(
        !html.contains(r#"name="csrf""#),
        "no session, no csrf token"
    );
    assert!(!html.contains(TOKEN_A));
}

#[tokio::test]
async fn the_token_signs_in_with_a_strict_http_only_cookie_and_nothing_else_does() {
    let chain = Chain::new();
    let a = chain.node(MEMBER_A, TOKEN_A, false, PORT_A);
    assert_eq!(a.cookie, "custodia_member_a_7301");
    for wrong in [
        "",
        "wrong",
        &TOKEN_A[..TOKEN_A.len() - 1],
        &format!("{TOKEN_A}x"),
        TOKEN_B,
    ] {
        let answer = a
            .post("/console/sign-in", &[], &[], &[("token", wrong)])
            .await;
        let html = answer.assert_html(StatusCode::UNAUTHORIZED);
        assert!(answer.header(SET_COOKIE).is_none(), "{wrong:?}");
        assert!(answer.location().is_none());
        assert!(html.contains(r#"id="sign-in-error""#), "{html}");
        assert!(!html.contains(TOKEN_A));
        if !wrong.is_empty() {
            assert!(
                !html.contains(wrong),
                "the wrong token is not echoed: {html}"
            );
        }
        assert_page_headers(&answer, "a failed sign-in");
    }
    // No field at all is a wrong token, not a crash.
    let answer = a.post("/console/sign-in", &[], &[], &[]).await;
    answer.assert_html(StatusCode::UNAUTHORIZED);
    assert!(answer.header(SET_COOKIE).is_none());

    let answer = a
        .post("/console/sign-in", &[], &[], &[("token", TOKEN_A)])
        .await;
    answer.assert_see_other("/console");
    assert_page_headers(&answer, "the sign-in");
    let set_cookie = answer.header(SET_COOKIE).unwrap();
    let (pair, attributes) = set_cookie.split_once("; ").unwrap();
    let value = pair
        .strip_prefix("custodia_member_a_7301=")
        .expect(set_cookie);
    assert_hex_id(value);
    assert_eq!(attributes, "Path=/console; HttpOnly; SameSite=Strict");
    assert!(!answer.body.contains(TOKEN_A));
    assert!(!answer.location().unwrap().contains(TOKEN_A));
    assert_eq!(answer.headers.get_all(SET_COOKIE).iter().count(), 1);

    // Every sign-in is a session of its own.
    let again = a.sign_in().await;
    assert_ne!(again, pair);
    assert!(a.opens(pair).await && a.opens(&again).await);

    // Signed in, the sign-in page sends to the overview; no page shows the token.
    a.get("/console/sign-in", &[pair])
        .await
        .assert_see_other("/console");
    for path in ["/console", "/console/records/new", "/console/orgs"] {
        let answer = a.get(path, &[pair]).await;
        assert!(!answer.body.contains(TOKEN_A), "{path} shows the token");
        assert!(!answer.body.contains(value), "{path} shows the session id");
    }

    let tls = chain.node(MEMBER_A, TOKEN_A, true, PORT_A);
    let answer = tls
        .post("/console/sign-in", &[], &[], &[("token", TOKEN_A)])
        .await;
    answer.assert_see_other("/console");
    let set_cookie = answer.header(SET_COOKIE).unwrap();
    let (pair, attributes) = set_cookie.split_once("; ").unwrap();
    assert_hex_id(pair.strip_prefix("custodia_member_a_7301=").unwrap());
    assert_eq!(
        attributes,
        "Path=/console; HttpOnly; SameSite=Strict; Secure"
    );
    assert!(!answer.body.contains(TOKEN_A));
}

#[tokio::test]
async fn every_console_response_carries_the_security_headers_and_no_inline_code() {
    let chain = Chain::new();
    let a = chain.node(MEMBER_A, TOKEN_A, false, PORT_A);
    let record_id = applied_record(&chain, &a).await;
    applied_record(&chain, &a).await;
    assert_eq!(chain.ledger.state().height(), 2);
    let cookie = a.sign_in().await;

    let answer = a.get("/console", &[&cookie]).await;
    let html = answer.assert_html(StatusCode::OK);
    assert!(
        html.contains(r#"<span class="org">member-a</span>"#),
        "{html}"
    );
    assert!(html.contains("<dd>member-a</dd>"), "{html}");
    let status = a.api_get("/v1/status").await;
    let height = status["height"].as_u64().expect("a height");
    assert!(
        html.contains(&format!("<dd data-height>{height}</dd>")),
        "{html}"
    );
    assert!(
        html.contains("submit_record") || html.contains(&record_id),
        "{html}"
    );

    let pages = [
        "/console".to_string(),
        "/console/".to_string(),
        "/console/records".to_string(),
        format!("/console/records/{record_id}"),
        "/console/records/new".to_string(),
        "/console/requests".to_string(),
        "/console/requests/new".to_string(),
        "/console/audit".to_string(),
        "/console/audit/1/proof".to_string(),
        "/console/orgs".to_string(),
        "/console/proposals".to_string(),
    ];
    for path in &pages {
        let answer = a.get(path, &[&cookie]).await;
        let html = answer.assert_html(StatusCode::OK);
        assert_page_headers(&answer, path);
        assert_no_inline_code(html, path);
        assert!(
            html.contains(r#"<script src="/console/static/console.js" defer></script>"#),
            "{path}"
        );
        assert_eq!(csrf_of(html).len(), 64);
        assert!(!html.contains("J. Secret"), "{path} shows a sealed value");
    }

    let answer = a.get("/console/audit/1/proof", &[&cookie]).await;
    let html = answer.assert_html(StatusCode::OK);
    assert!(
        html.contains("Verified: this entry is leaf 1 of the history"),
        "{html}"
    );
    let answer = a.get("/console/audit/abc/proof", &[&cookie]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.body.contains("invalid_seq"), "{answer:?}");
    let answer = a.get("/console/audit/999999/proof", &[&cookie]).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(answer.body.contains("event_not_found"), "{answer:?}");

    let answer = a.get("/console/nope", &[&cookie]).await;
    let html = answer.assert_html(StatusCode::NOT_FOUND);
    assert_page_headers(&answer, "a 404");
    assert_no_inline_code(html, "a 404");
    let answer = a.get("/console/records/rec_nope", &[&cookie]).await;
    assert!(answer.status.is_client_error(), "{answer:?}");
    assert_page_headers(&answer, "an API refusal shown as a page");
    assert_no_inline_code(&answer.body, "an API refusal shown as a page");

    let answer = a.get("/console/sign-in", &[]).await;
    answer.assert_html(StatusCode::OK);
    assert_page_headers(&answer, "the sign-in page");

    let answer = a.post("/console/sign-out", &[&cookie], &[], &[]).await;
    let html = answer.assert_html(StatusCode::FORBIDDEN);
    assert_page_headers(&answer, "a refusal");
    assert_no_inline_code(html, "a refusal");
    let answer = a.post("/console/records", &[], &[], &[]).await;
    answer.assert_html(StatusCode::FORBIDDEN);
    assert_page_headers(&answer, "a refusal without a session");

    for (file, kind) in [
        ("console.js", "text/javascript; charset=utf-8"),
        ("console.css", "text/css; charset=utf-8"),
    ] {
        let answer = a.get(&format!("/console/static/{file}"), &[]).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header(CONTENT_TYPE), Some(kind));
        assert_secure_headers(&answer, file);
        assert!(!answer.body.is_empty());
    }
    let answer = a.get("/console/static/nope.js", &[]).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_secure_headers(&answer, "a missing asset");
}

#[tokio::test]
async fn every_write_needs_the_sessions_csrf_token_from_this_origin() {
    let chain = Chain::new();
    let a = chain.node(MEMBER_A, TOKEN_A, false, PORT_A);
    let cookie = a.sign_in().await;
    let csrf = a.csrf(&cookie).await;
    let sign_out = "/console/sign-out";

    let refused = |answer: Answer, what: &str| {
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{what}: {}",
            answer.body
        );
        assert!(answer.header(SET_COOKIE).is_none(), "{what}");
        assert!(answer.location().is_none(), "{what}");
        assert!(
            answer.body.contains(r#"role="alert""#),
            "{what}: {}",
            answer.body
        );
        assert!(!answer.body.contains(&csrf), "{what}");
    };
    refused(a.post(sign_out, &[&cookie], &[], &[]).await, "no csrf");
    assert!(
        a.opens(&cookie).await,
        "a refused sign-out left the session"
    );
    refused(
        a.post(sign_out, &[&cookie], &[], &[("csrf", "")]).await,
        "an empty csrf",
    );
    refused(
        a.post(sign_out, &[&cookie], &[], &[("csrf", &"0".repeat(64))])
            .await,
        "a wrong csrf",
    );
    refused(
        a.post(sign_out, &[&cookie], &[], &[("csrf", &csrf[..63])])
            .await,
        "a cut csrf",
    );
    refused(
        a.post(sign_out, &[], &[], &[("csrf", &csrf)]).await,
        "the csrf without the cookie",
    );
    for site in ["same-site", "cross-site", "none"] {
        refused(
            a.post(
                sign_out,
                &[&cookie],
                &[("sec-fetch-site", site)],
                &[("csrf", &csrf)],
            )
            .await,
            site,
        );
    }
    for origin in [
        "http://127.0.0.1:9999",
        "http://localhost:7301",
        "http://127.0.0.1",
        "null",
    ] {
        refused(
            a.post(
                sign_out,
                &[&cookie],
                &[(ORIGIN.as_str(), origin)],
                &[("csrf", &csrf)],
            )
            .await,
            origin,
        );
    }
    // The sign-in itself takes no csrf token but the same origin checks (login CSRF).
    let answer = a
        .post(
            "/console/sign-in",
            &[],
            &[("sec-fetch-site", "same-site")],
            &[("token", TOKEN_A)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.header(SET_COOKIE).is_none());
    let answer = a
        .post(
            "/console/sign-in",
            &[],
            &[(ORIGIN.as_str(), "http://127.0.0.1:9999")],
            &[("token", TOKEN_A)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.header(SET_COOKIE).is_none());
    // A write other than the sign-out, refused before its handler (nothing reaches the pool).
    let record = [
        ("kind", "claim"),
        ("field_name", "amount"),
        ("field_type", "number"),
        ("field_value", "1"),
        ("action", "submit"),
    ];
    refused(
        a.post("/console/records", &[&cookie], &[], &record).await,
        "a record without csrf",
    );
    assert!(chain.ledger.mempool().is_empty());

    assert!(a.opens(&cookie).await, "the refusals left the session");
    assert_eq!(a.csrf(&cookie).await, csrf, "one csrf token per session");

    let answer = a
        .post(
            sign_out,
            &[&cookie],
            &[
                ("sec-fetch-site", "same-origin"),
                (ORIGIN.as_str(), "http://127.0.0.1:7301"),
            ],
            &[("csrf", &csrf)],
        )
        .await;
    answer.assert_see_other("/console/sign-in");
    assert_eq!(
        answer.header(SET_COOKIE),
        Some("custodia_member_a_7301=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0")
    );
    assert!(
        !a.opens(&cookie).await,
        "the old cookie still opens the console"
    );
    // Signed out, the old csrf token is nothing either.
    refused(
        a.post(sign_out, &[&cookie], &[], &[("csrf", &csrf)]).await,
        "a signed-out session",
    );
}

#[tokio::test]
async fn two_consoles_in_one_browser_keep_their_sessions_apart() {
    let chain = Chain::new();
    let a = chain.node(MEMBER_A, TOKEN_A, false, PORT_A);
    let b = chain.node(MEMBER_B, TOKEN_B, false, PORT_B);
    assert_eq!(b.cookie, "custodia_member_b_7302");
    // Each console takes its own node's token only.
    let answer = b
        .post("/console/sign-in", &[], &[], &[("token", TOKEN_A)])
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let cookie_a = a.sign_in().await;
    let cookie_b = b.sign_in().await;
    let (_, id_a) = cookie_a.split_once('=').unwrap();
    let (_, id_b) = cookie_b.split_once('=').unwrap();

    // One console's cookie is nothing to the other, under either name.
    b.get("/console", &[&cookie_a])
        .await
        .assert_see_other("/console/sign-in");
    a.get("/console", &[&cookie_b])
        .await
        .assert_see_other("/console/sign-in");
    assert!(!b.opens(&format!("{}={id_a}", b.cookie)).await);
    assert!(!a.opens(&format!("{}={id_b}", a.cookie)).await);

    // A browser sends both cookies to both (same host): each console finds its own.
    let both = [cookie_a.as_str(), cookie_b.as_str()];
    for (node, other) in [(&a, &b), (&b, &a)] {
        let answer = node.get("/console", &both).await;
        let html = answer.assert_html(StatusCode::OK);
        let brand = format!(r#"<span class="org">{}</span>"#, node.org);
        assert!(html.contains(&brand), "{html}");
        assert!(!html.contains(&format!(r#"<span class="org">{}</span>"#, other.org)));
    }
    let csrf_a = csrf_of(&a.get("/console", &both).await.body);
    let csrf_b = csrf_of(&b.get("/console", &both).await.body);
    assert_ne!(csrf_a, csrf_b);

    // One session's csrf token is refused by the other's.
    let answer = b
        .post("/console/sign-out", &both, &[], &[("csrf", &csrf_a)])
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert!(b.opens(&cookie_b).await);
    let answer = a
        .post("/console/sign-out", &both, &[], &[("csrf", &csrf_b)])
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert!(a.opens(&cookie_a).await);

    // Two sessions of one console: neither's token serves the other.
    let second = a.sign_in().await;
    let csrf_second = a.csrf(&second).await;
    assert_ne!(csrf_second, csrf_a);
    let answer = a
        .post("/console/sign-out", &[&second], &[], &[("csrf", &csrf_a)])
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);

    // The same node on two ports: two cookie names, two session stores.
    let a_again = chain.node(MEMBER_A, TOKEN_A, false, PORT_B);
    assert_eq!(a_again.cookie, "custodia_member_a_7302");
    a_again
        .get("/console", &[&cookie_a])
        .await
        .assert_see_other("/console/sign-in");
    assert!(!a_again.opens(&format!("{}={id_a}", a_again.cookie)).await);

    // Signing out of one console leaves the other signed in.
    let answer = a
        .post("/console/sign-out", &both, &[], &[("csrf", &csrf_a)])
        .await;
    answer.assert_see_other("/console/sign-in");
    assert!(
        answer
            .header(SET_COOKIE)
            .unwrap()
            .starts_with("custodia_member_a_7301=;")
    );
    assert!(!a.opens(&cookie_a).await);
    assert!(a.opens(&second).await);
    assert!(b.opens(&cookie_b).await);
}

#[tokio::test]
async fn a_record_from_the_form_is_submitted_once_valid_and_finalized() {
    let chain = Chain::new();
    let a = chain.node(MEMBER_A, TOKEN_A, false, PORT_A);
    let cookie = a.sign_in().await;
    let answer = a.get("/console/records/new", &[&cookie]).await;
    let html = answer.assert_html(StatusCode::OK);
    let csrf = csrf_of(html);
    assert_eq!(html.matches(r#"name="field_name""#).count(), 2);

    // Adding a row keeps what was typed and submits nothing.
    let answer = a
        .post(
            "/console/records",
            &[&cookie],
            &[],
            &[
                ("csrf", &csrf),
                ("kind", "claim"),
                ("field_name", "amount"),
                ("field_type", "number"),
                ("field_value", "1200"),
                ("action", "add"),
            ],
        )
        .await;
    let html = answer.assert_html(StatusCode::OK);
    assert_eq!(html.matches(r#"name="field_name""#).count(), 2, "{html}");
    assert!(html.contains(r#"value="1200""#), "{html}");
    assert!(chain.ledger.mempool().is_empty());

    // A number field that holds no number: 400, naming the field; nothing submitted.
    let answer = a
        .post(
            "/console/records",
            &[&cookie],
            &[],
            &[
                ("csrf", &csrf),
                ("kind", "claim"),
                ("field_name", "amount"),
                ("field_type", "number"),
                ("field_value", "twelve"),
                ("field_name", "insured"),
                ("field_type", "text"),
                ("field_value", "A. Jones"),
                ("action", "submit"),
            ],
        )
        .await;
    let html = answer.assert_html(StatusCode::BAD_REQUEST);
    assert_page_headers(&answer, "a refused form");
    assert!(
        html.contains("field &quot;amount&quot; is a number but &quot;twelve&quot; is not one"),
        "{html}"
    );
    assert!(
        html.contains(r#"value="twelve""#),
        "the form keeps the draft: {html}"
    );
    assert!(
        html.contains(r#"value="A. Jones""#),
        "the form keeps the draft: {html}"
    );
    assert!(chain.ledger.mempool().is_empty());
    assert_eq!(a.api_get("/v1/records").await["records"], json!([]));

    // A valid record: the console waits for the block, then shows the record.
    let rows = [
        ("csrf", csrf.as_str()),
        ("kind", "claim"),
        ("tags", "motor"),
        ("field_name", "amount"),
        ("field_type", "number"),
        ("field_value", "1200"),
        ("field_name", "insured"),
        ("field_type", "text"),
        ("field_value", "A. Jones"),
        ("field_name", ""),
        ("field_type", "text"),
        ("field_value", ""),
        ("action", "submit"),
    ]
    .map(|(name, value)| (name.to_string(), value.to_string()));
    let waiting = {
        let a = a.clone();
        let cookie = cookie.clone();
        tokio::spawn(async move {
            let pairs: Vec<(&str, &str)> =
                rows.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            a.post("/console/records", &[&cookie], &[], &pairs).await
        })
    };
    while chain.ledger.mempool().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!waiting.is_finished(), "answered before any block");
    let receipts = chain.apply_mempool();
    assert_eq!(receipts.len(), 1);
    assert!(receipts[0].is_ok(), "{:?}", receipts[0]);
    let answer = waiting.await.unwrap();
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let location = answer.location().unwrap().to_string();
    let record_id = location
        .strip_prefix("/console/records/")
        .and_then(|rest| rest.strip_suffix("?notice=submitted"))
        .unwrap_or_else(|| panic!("{location}"));
    assert!(record_id.starts_with("rec_"), "{location}");
    assert!(!answer.body.contains("A. Jones"));

    let records = a.api_get("/v1/records").await;
    let records = records["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["record_id"], record_id);
    assert_eq!(records[0]["provider"], "member-a");
    assert_eq!(records[0]["kind"], "claim");
    assert_eq!(records[0]["tags"], json!(["motor"]));
    assert_eq!(records[0]["fields"], json!(["amount", "insured"]));

    let answer = a.get(&location, &[&cookie]).await;
    let html = answer.assert_html(StatusCode::OK);
    assert!(
        html.contains("The record was submitted and finalized."),
        "{html}"
    );
    assert!(html.contains("<dd>amount, insured</dd>"), "{html}");
    assert!(
        !html.contains("A. Jones"),
        "a record page never shows values"
    );
    assert!(!html.contains("1200"), "a record page never shows values");
    let listed = a.get("/console/records", &[&cookie]).await;
    assert!(listed.assert_html(StatusCode::OK).contains(record_id));
}

#[tokio::test]
async fn the_console_is_not_part_of_the_rest_api() {
    let document = openapi_document();
    let paths = document["paths"].as_object().expect("paths");
    assert!(paths.contains_key("/v1/records"), "the document has paths");
    let console: Vec<&String> = paths.keys().filter(|p| p.starts_with("/console")).collect();
    assert!(console.is_empty(), "{console:?}");
    let served = served_routes();
    assert!(served.contains(&("POST", "/v1/records")));
    let console: Vec<_> = served
        .iter()
        .filter(|(_, path)| path.starts_with("/console"))
        .collect();
    assert!(console.is_empty(), "{console:?}");

    // As the node serves it, too.
    let chain = Chain::new();
    let a = chain.node(MEMBER_A, TOKEN_A, false, PORT_A);
    let answer = a.get("/openapi.json", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    let served = answer.json();
    assert!(
        served["paths"]
            .as_object()
            .unwrap()
            .keys()
            .all(|p| !p.starts_with("/console"))
    );
    // And the API's own paths keep the API's JSON errors, not console pages.
    let answer = a.get("/v1/nope", &[]).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(
        answer.json()["error"]["code"].is_string(),
        "{}",
        answer.body
    );
    assert!(answer.header(CONTENT_SECURITY_POLICY).is_none());
}
