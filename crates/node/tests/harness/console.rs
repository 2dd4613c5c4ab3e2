//! The harness of the console tests (`console.rs`, `console_forms.rs`): one ledger without
//! consensus shared by every organisation's node, requests as a browser sends them, and the
//! assertions every console page must pass.

#![allow(dead_code, unused_imports)]

pub use axum::{
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
pub use custodia_node::{
    Keyring, Ledger, MempoolLimits,
    api::{ApiContext, ApiLimits, app, openapi_document, served_routes},
};
pub use custodia_protocol::{
    Block, OrgKeys, Params, Tx,
    testing::{ORG_NAMES, consortium_keys, genesis_of},
};
pub use serde_json::{Value, json};
pub use std::{sync::Arc, time::Duration};
pub use tower::ServiceExt as _;

pub const TOKEN_A: &str = "console-token-a-0123456789";
pub const TOKEN_B: &str = "console-token-b-9876543210";
pub const MEMBER_A: usize = 1;
pub const MEMBER_B: usize = 2;
pub const PORT_A: u16 = 7301;
pub const PORT_B: u16 = 7302;
pub const FORM: &str = "application/x-www-form-urlencoded";

/// One ledger shared by every organisation's node.
pub struct Chain {
    pub ledger: Arc<Ledger>,
    pub keys: Vec<OrgKeys>,
    pub _dir: tempfile::TempDir,
}

impl Chain {
    pub fn new() -> Self {
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
    pub fn node(&self, org: usize, token: &str, secure: bool, port: u16) -> Node {
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
    pub fn apply_mempool(&self) -> Vec<custodia_state::Receipt> {
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
pub struct Node {
    pub app: Router,
    pub org: &'static str,
    pub token: String,
    /// The `Host` a browser sends it.
    pub host: String,
    /// Its console's session cookie name.
    pub cookie: String,
}

#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: impl axum::http::header::AsHeaderName) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("an ASCII header"))
    }

    pub fn location(&self) -> Option<&str> {
        self.header(LOCATION)
    }

    /// Asserts a 303 to `to` with an empty body.
    pub fn assert_see_other(&self, to: &str) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "{}", self.body);
        assert_eq!(self.location(), Some(to));
        assert_eq!(self.body, "", "a redirect has no body");
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("body is not JSON ({err}): {}", self.body))
    }

    /// Asserts the answer is an HTML page with `status`.
    pub fn assert_html(&self, status: StatusCode) -> &str {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.header(CONTENT_TYPE), Some("text/html; charset=utf-8"));
        assert!(self.body.starts_with("<!DOCTYPE html>"), "{}", self.body);
        &self.body
    }
}

/// A browser's request to `node`: its `Host`, the cookies given.
pub fn browser(
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
pub fn form(pairs: &[(&str, &str)]) -> String {
    pub fn encode(text: &str) -> String {
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
    pub async fn send(&self, request: Request<Body>) -> Answer {
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
    pub async fn get(&self, path: &str, cookies: &[&str]) -> Answer {
        let request = browser(self, Method::GET, path, cookies)
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    /// `POST path` of the form `pairs`, as a browser with `cookies` and `headers`.
    pub async fn post(
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
    pub async fn api_get(&self, path: &str) -> Value {
        let request = Request::get(path)
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .body(Body::empty())
            .unwrap();
        let answer = self.send(request).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.json()
    }

    /// `POST path` of the REST API with `body`, with the token, not waiting.
    pub async fn api_post(&self, path: &str, body: Value) -> Value {
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
    pub async fn sign_in(&self) -> String {
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
    pub async fn csrf(&self, cookie: &str) -> String {
        let answer = self.get("/console", &[cookie]).await;
        csrf_of(answer.assert_html(StatusCode::OK))
    }

    /// Whether `cookie` opens the overview.
    pub async fn opens(&self, cookie: &str) -> bool {
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
pub fn assert_hex_id(value: &str) {
    assert_eq!(value.len(), 64, "{value}");
    assert!(
        value
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "{value}"
    );
}

/// The value of the hidden `csrf` input of `html`.
pub fn csrf_of(html: &str) -> String {
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
pub fn assert_secure_headers(answer: &Answer, what: &str) {
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
pub fn assert_page_headers(answer: &Answer, what: &str) {
    assert_secure_headers(answer, what);
    assert_eq!(answer.header(CACHE_CONTROL), Some("no-store"), "{what}");
}

/// Asserts `html` runs no inline script and has no inline style.
pub fn assert_no_inline_code(html: &str, what: &str) {
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
pub async fn applied_record(chain: &Chain, node: &Node) -> String {
    let body = json!({"kind": "claim", "fields": {"amount": 900, "insured": "J. Secret"}});
    let answer = node.api_post("/v1/records", body).await;
    assert!(chain.apply_mempool().iter().all(|r| r.is_ok()));
    answer["record_id"]
        .as_str()
        .expect("a record id")
        .to_string()
}
