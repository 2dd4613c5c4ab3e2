//! An organisation's API over one ledger, in process, for the API tests: requests go through
//! the real router (`tower::ServiceExt::oneshot`), nothing listens on a socket.

#![allow(dead_code)] // each test file uses a part

use axum::{
    Router,
    body::{Body, Bytes, to_bytes},
    http::{
        HeaderMap, Request, StatusCode,
        header::{AUTHORIZATION, CONTENT_TYPE},
    },
};
use custodia_node::{
    Ledger, MempoolLimits,
    api::{ApiContext, ApiLimits, router_with},
};
use custodia_protocol::{
    OrgKeys, Params,
    testing::{ORG_NAMES, consortium_keys, genesis_of},
};
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt as _;

pub const TOKEN: &str = "input-token-0123456789";
pub const SUPERVISOR: usize = 0;
pub const MEMBER_A: usize = 1;

pub struct Chain {
    pub ledger: Arc<Ledger>,
    pub keys: Vec<OrgKeys>,
    _dir: tempfile::TempDir,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!("not JSON ({err}): {}", String::from_utf8_lossy(&self.body))
        })
    }

    /// Asserts an API error with `status` and `code`; returns its message.
    pub fn error(&self, status: StatusCode, code: &str) -> String {
        let body = self.json();
        assert_eq!(self.status, status, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{body}");
        message.to_string()
    }
}

impl Chain {
    pub fn new(params: Params) -> Self {
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

    pub fn node(&self, org: usize) -> Router {
        self.node_with(org, ApiLimits::default())
    }

    pub fn node_with(&self, org: usize, limits: ApiLimits) -> Router {
        router_with(
            ApiContext {
                ledger: self.ledger.clone(),
                org: ORG_NAMES[org].into(),
                keys: Arc::new(custodia_node::Keyring::in_memory(self.keys[org].clone())),
                token: TOKEN.into(),
                peers: Arc::new(|| 3),
                metrics: Arc::new(String::new),
            },
            limits,
        )
    }
}

pub async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: to_bytes(body, usize::MAX).await.unwrap(),
    }
}

pub async fn get(app: &Router, path: &str) -> Answer {
    let request = Request::get(path)
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    send(app, request).await
}

pub async fn post(app: &Router, path: &str, body: impl Into<Body>) -> Answer {
    let request = Request::post(path)
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap();
    send(app, request).await
}
