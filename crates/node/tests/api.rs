//! The node's REST API over a ledger without consensus: requests go straight to the router.

use axum::{
    Router,
    body::{Body, Bytes, to_bytes},
    http::{
        HeaderMap, Method, Request, StatusCode,
        header::{AUTHORIZATION, CONTENT_TYPE},
    },
};
use commonware_codec::Encode as _;
use custodia_node::{
    Ledger, MempoolLimits,
    api::{ApiContext, BATCH_CONTENT_TYPE, router},
};
use custodia_protocol::{
    Block, OrgKeys, Params, Tx,
    hash::{sha256, to_hex},
    testing::{consortium_keys, genesis_of, submit_record},
};
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt as _;

const TOKEN: &str = "test-token-0123456789";
const SUPERVISOR: usize = 0;
const MEMBER_A: usize = 1;
const MEMBER_B: usize = 2;

struct Node {
    app: Router,
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
            panic!(
                "body is not JSON ({err}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts the answer is an API error with `status` and `code`, in the JSON error shape.
    fn assert_error(&self, status: StatusCode, code: &str) -> String {
        let body = self.json();
        assert_eq!(self.status, status, "unexpected status; body {body}");
        let error = body["error"].as_object().expect("an error object");
        assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");
        assert_eq!(error.len(), 2, "{body}");
        assert_eq!(error["code"], code, "{body}");
        let message = error["message"].as_str().expect("a message").to_string();
        assert!(!message.is_empty());
        message
    }
}

impl Node {
    fn new() -> Self {
        Self::with_limits(MempoolLimits::default())
    }

    fn with_limits(limits: MempoolLimits) -> Self {
        let keys = consortium_keys(4);
        let genesis = genesis_of(&keys, Params::default());
        let dir = tempfile::tempdir().expect("temp dir");
        let ledger = Ledger::open(genesis, Some(dir.path().join("state.sqlite")), limits)
            .expect("open the ledger");
        let app = router(ApiContext {
            ledger: ledger.clone(),
            org: "member-a".into(),
            keys: Arc::new(custodia_node::Keyring::in_memory(keys[MEMBER_A].clone())),
            token: TOKEN.into(),
            peers: Arc::new(|| 3),
            metrics: Arc::new(|| "custodia_applied_height 0\n".into()),
        });
        Self {
            app,
            ledger,
            keys,
            _dir: dir,
        }
    }

    /// A fresh valid `SubmitRecord` by member A.
    fn tx(&self) -> Tx {
        self.tx_for(&self.ledger.chain())
    }

    fn tx_for(&self, chain: &custodia_protocol::Digest) -> Tx {
        let fields = [("amount", json!(1200)), ("insured", json!("Jane Doe"))];
        submit_record(
            chain,
            &self.keys[MEMBER_A],
            &self.keys[SUPERVISOR],
            &fields,
            100,
        )
        .1
    }

    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let (parts, body) = response.into_parts();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body: to_bytes(body, usize::MAX).await.expect("the body"),
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(authorized(Method::GET, path).body(Body::empty()).unwrap())
            .await
    }

    async fn post(&self, content_type: &str, body: impl Into<Body>) -> Answer {
        let request = authorized(Method::POST, "/v1/txs")
            .header(CONTENT_TYPE, content_type)
            .body(body.into())
            .unwrap();
        self.send(request).await
    }

    async fn submit(&self, tx: &Tx) -> Answer {
        self.post("application/octet-stream", tx.encode()).await
    }

    async fn submit_batch(&self, txs: Vec<Tx>) -> Answer {
        self.post(BATCH_CONTENT_TYPE, txs.encode()).await
    }
}

fn authorized(method: Method, path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
}

fn with_bad_signature(mut tx: Tx) -> Tx {
    tx.nonce ^= 1;
    tx
}

#[tokio::test]
async fn healthz_answers_ok_without_a_token() {
    let node = Node::new();
    let request = Request::get("/healthz").body(Body::empty()).unwrap();
    let answer = node.send(request).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json(), json!({ "ok": true }));
}

#[tokio::test]
async fn every_other_endpoint_refuses_a_missing_or_wrong_token() {
    let node = Node::new();
    for path in ["/v1/status", "/metrics", "/v1/blocks/1", "/v1/receipts/00"] {
        for auth in [None, Some("Bearer wrong"), Some("Basic x"), Some(TOKEN)] {
            let mut request = Request::get(path);
            if let Some(auth) = auth {
                request = request.header(AUTHORIZATION, auth);
            }
            let answer = node.send(request.body(Body::empty()).unwrap()).await;
            answer.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
            assert_eq!(answer.headers["www-authenticate"], "Bearer");
        }
    }
    let request = Request::post("/v1/txs")
        .header(CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(node.tx().encode()))
        .unwrap();
    let answer = node.send(request).await;
    answer.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(node.ledger.mempool().len(), 0);
}

#[tokio::test]
async fn a_valid_tx_is_accepted_and_pending_until_a_block_holds_it() {
    let node = Node::new();
    let tx = node.tx();
    let answer = node.submit(&tx).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.json());
    assert_eq!(answer.json(), json!({ "tx_id": to_hex(&tx.id()) }));
    assert!(node.ledger.mempool().contains(&tx.id()));

    let answer = node
        .get(&format!("/v1/receipts/{}", to_hex(&tx.id())))
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    assert_eq!(
        answer.json(),
        json!({ "tx_id": to_hex(&tx.id()), "status": "pending" })
    );
}

#[tokio::test]
async fn malformed_bytes_are_a_bad_request_that_says_what_to_send() {
    let node = Node::new();
    for body in [&b""[..], b"not a transaction", &node.tx().encode()[..40]] {
        let answer = node.post("application/octet-stream", body.to_vec()).await;
        let message = answer.assert_error(StatusCode::BAD_REQUEST, "malformed_tx");
        assert!(message.contains("binary encoding"), "{message}");
    }
    let mut trailing = node.tx().encode().to_vec();
    trailing.push(0);
    let answer = node.post("application/octet-stream", trailing).await;
    answer.assert_error(StatusCode::BAD_REQUEST, "malformed_tx");
}

#[tokio::test]
async fn a_body_over_a_blocks_size_is_refused_as_too_large() {
    let node = Node::new();
    let limit = Params::default().max_block_bytes as usize + (64 << 10);
    let answer = node
        .post("application/octet-stream", vec![0u8; limit + 1])
        .await;
    let message = answer.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert!(message.contains(&limit.to_string()), "{message}");
}

#[tokio::test]
async fn a_tx_for_another_chain_is_refused_as_wrong_chain() {
    let node = Node::new();
    let tx = node.tx_for(&sha256(&[b"another chain"]));
    let message = node
        .submit(&tx)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "wrong_chain");
    assert!(
        message.contains("sign the transaction for this chain"),
        "{message}"
    );
}

#[tokio::test]
async fn a_tx_whose_signature_does_not_verify_is_refused() {
    let node = Node::new();
    let tx = with_bad_signature(node.tx());
    node.submit(&tx)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "bad_signature");
    assert_eq!(node.ledger.mempool().len(), 0);
}

#[tokio::test]
async fn a_tx_the_state_would_reject_is_refused_with_the_rules_code() {
    let node = Node::new();
    // Only members may submit records.
    let fields = [("amount", json!(1))];
    let (_, tx) = submit_record(
        &node.ledger.chain(),
        &node.keys[SUPERVISOR],
        &node.keys[SUPERVISOR],
        &fields,
        100,
    );
    node.submit(&tx)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "not_member");
    // Past its window.
    let (_, late) = submit_record(
        &node.ledger.chain(),
        &node.keys[MEMBER_B],
        &node.keys[SUPERVISOR],
        &fields,
        10_000,
    );
    node.submit(&late)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "outside_window");
}

#[tokio::test]
async fn the_same_tx_twice_is_a_conflict() {
    let node = Node::new();
    let tx = node.tx();
    assert_eq!(node.submit(&tx).await.status, StatusCode::ACCEPTED);
    let message = node
        .submit(&tx)
        .await
        .assert_error(StatusCode::CONFLICT, "duplicate_tx");
    assert!(message.contains(&to_hex(&tx.id())), "{message}");
}

#[tokio::test]
async fn a_full_mempool_answers_unavailable_with_the_reason() {
    let node = Node::with_limits(MempoolLimits {
        max_txs: 1,
        max_bytes: 1 << 20,
    });
    assert_eq!(node.submit(&node.tx()).await.status, StatusCode::ACCEPTED);
    let answer = node.submit(&node.tx()).await;
    let message = answer.assert_error(StatusCode::SERVICE_UNAVAILABLE, "mempool_full");
    assert!(message.contains("mempool full"), "{message}");
    assert!(answer.headers.contains_key("retry-after"));

    let answer = node.submit_batch(vec![node.tx(), node.tx()]).await;
    answer.assert_error(StatusCode::SERVICE_UNAVAILABLE, "mempool_full");
}

#[tokio::test]
async fn a_batch_takes_the_good_txs_and_names_the_bad_ones_by_index() {
    let node = Node::new();
    let good = node.tx();
    let bad = with_bad_signature(node.tx());
    let other = node.tx_for(&sha256(&[b"another chain"]));
    let answer = node
        .submit_batch(vec![good.clone(), bad, other, good.clone()])
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.json());
    let body = answer.json();
    assert_eq!(body["accepted"], json!([to_hex(&good.id())]));
    let rejected = body["rejected"].as_array().expect("rejected");
    let codes: Vec<(u64, &str)> = rejected
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            (1, "bad_signature"),
            (2, "wrong_chain"),
            (3, "duplicate_tx")
        ]
    );
    assert!(rejected.iter().all(|r| r["message"].as_str().is_some()));
    assert_eq!(node.ledger.mempool().len(), 1);
}

#[tokio::test]
async fn a_batch_is_prechecked_as_if_the_txs_admitted_before_were_applied() {
    let node = Node::new();
    let first = node.tx();
    // The same record again, in a tx of its own (another nonce): it could never apply after
    // the first, so the batch refuses it rather than admitting a tx bound to fail.
    let again = Tx::sign(
        &node.keys[MEMBER_A].identity,
        first.chain,
        first.valid_until,
        first.body.clone(),
    );
    let answer = node.submit_batch(vec![first.clone(), again]).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.json());
    let body = answer.json();
    assert_eq!(body["accepted"], json!([to_hex(&first.id())]));
    assert_eq!(body["rejected"][0]["index"], 1);
    assert_eq!(body["rejected"][0]["code"], "record_exists");
    // Nothing of the precheck was committed: the record is not in the state.
    assert_eq!(node.ledger.head().height, 0);
    let records = node.get("/v1/records").await;
    assert_eq!(records.json()["records"], json!([]), "{}", records.json());
}

#[tokio::test]
async fn a_batch_that_cannot_be_decoded_is_a_bad_request() {
    let node = Node::new();
    let mut bytes = vec![node.tx()].encode().to_vec();
    bytes.truncate(bytes.len() - 1);
    let answer = node.post(BATCH_CONTENT_TYPE, bytes).await;
    answer.assert_error(StatusCode::BAD_REQUEST, "malformed_batch");
    // A single tx is not a batch.
    let answer = node.post(BATCH_CONTENT_TYPE, node.tx().encode()).await;
    answer.assert_error(StatusCode::BAD_REQUEST, "malformed_batch");
}

#[tokio::test]
async fn a_body_of_another_content_type_is_refused_with_the_accepted_ones() {
    let node = Node::new();
    let answer = node.post("application/json", "{}").await;
    let message = answer.assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    assert!(message.contains(BATCH_CONTENT_TYPE), "{message}");
}

#[tokio::test]
async fn status_shows_chain_org_head_peers_mempool_and_epoch() {
    let node = Node::new();
    node.submit(&node.tx()).await;
    let answer = node.get("/v1/status").await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    let head = node.ledger.head();
    let bytes = node.ledger.mempool().bytes();
    // Every genesis organisation, in seat order (by identity key).
    let mut orgs: Vec<_> = node.ledger.genesis().orgs.iter().collect();
    orgs.sort_by(|a, b| a.identity_key.cmp(&b.identity_key));
    let validators: Vec<&str> = orgs.iter().map(|org| org.name.as_str()).collect();
    assert_eq!(
        body,
        json!({
            "chain_id": "custodia-test",
            "chain": to_hex(&node.ledger.chain()),
            "org": "member-a",
            "role": "member",
            "height": 0,
            "state_commitment": to_hex(&head.state_commitment),
            "certified_height": 0,
            "peers": 3,
            "mempool": { "txs": 1, "bytes": bytes },
            "epoch": 0,
            "validators": validators,
            "validator": true,
        })
    );
}

#[tokio::test]
async fn heights_without_a_block_are_not_found_and_non_numbers_are_bad_requests() {
    let node = Node::new();
    for height in ["0", "1", "18446744073709551615"] {
        let answer = node.get(&format!("/v1/blocks/{height}")).await;
        answer.assert_error(StatusCode::NOT_FOUND, "block_not_found");
    }
    for height in ["abc", "-1", "1.5", "18446744073709551616"] {
        let answer = node.get(&format!("/v1/blocks/{height}")).await;
        answer.assert_error(StatusCode::BAD_REQUEST, "invalid_height");
    }
}

#[tokio::test]
async fn a_finalized_block_is_served_with_its_receipts_and_each_receipt_alone() {
    let node = Node::new();
    let good = node.tx();
    let fields = [("amount", json!(1))];
    let (_, failing) = submit_record(
        &node.ledger.chain(),
        &node.keys[SUPERVISOR],
        &node.keys[SUPERVISOR],
        &fields,
        100,
    );
    let applied = {
        let mut state = node.ledger.state();
        let block = Block {
            parent: state.last_block_digest(),
            height: 1,
            timestamp_ms: 1_700_000_000_000,
            txs: vec![good.clone(), failing.clone()],
        };
        state.apply(&block).expect("apply").expect("a new block")
    };

    let answer = node.get("/v1/blocks/1").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json());
    let body = answer.json();
    assert_eq!(body["height"], 1);
    assert_eq!(body["digest"], to_hex(&applied.digest));
    assert_eq!(body["timestamp_ms"], 1_700_000_000_000u64);
    assert_eq!(body["state_commitment"], to_hex(&applied.state_commitment));
    assert_eq!(body["parent"].as_str().map(str::len), Some(64));
    let txs = body["txs"].as_array().expect("txs");
    assert_eq!(txs.len(), 2);
    for (i, (receipt, tx)) in txs.iter().zip([&good, &failing]).enumerate() {
        assert_eq!(receipt["tx_id"], to_hex(&tx.id()));
        assert_eq!(receipt["index"], i);
        assert_eq!(receipt["signer"], hex::encode(tx.signer.as_ref()));
        assert_eq!(receipt["body"], "submit_record");
    }
    assert_eq!(
        (txs[0]["code"].clone(), txs[0]["message"].clone()),
        (json!("ok"), json!(""))
    );
    assert_eq!(txs[1]["code"], "not_member");

    let answer = node
        .get(&format!("/v1/receipts/{}", to_hex(&failing.id())))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let mut expected = txs[1].clone();
    expected["status"] = json!("applied");
    assert_eq!(answer.json(), expected);

    // Applied once, it cannot be admitted again.
    node.submit(&good)
        .await
        .assert_error(StatusCode::CONFLICT, "duplicate_tx");
}

#[tokio::test]
async fn a_malformed_tx_id_is_a_bad_request_and_an_unknown_one_not_found() {
    let node = Node::new();
    for id in ["xyz", "00", &"g".repeat(64), &"0".repeat(66)] {
        let answer = node.get(&format!("/v1/receipts/{id}")).await;
        answer.assert_error(StatusCode::BAD_REQUEST, "invalid_tx_id");
    }
    let unknown = to_hex(&node.tx().id());
    let answer = node.get(&format!("/v1/receipts/{unknown}")).await;
    answer.assert_error(StatusCode::NOT_FOUND, "unknown_tx");
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let node = Node::new();
    let answer = node.get("/metrics").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    assert_eq!(&answer.body[..], b"custodia_applied_height 0\n");
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_answer_in_the_error_shape() {
    let node = Node::new();
    node.get("/v1/nothing")
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    node.get("/v1/blocks")
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    let answer = node
        .send(
            authorized(Method::GET, "/v1/txs")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    answer.assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert!(answer.headers.contains_key("allow"));
    let answer = node
        .send(Request::delete("/healthz").body(Body::empty()).unwrap())
        .await;
    answer.assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

#[tokio::test]
async fn serve_answers_over_tcp() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let node = Node::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let ctx = ApiContext {
        ledger: node.ledger.clone(),
        org: "member-a".into(),
        keys: Arc::new(custodia_node::Keyring::in_memory(
            node.keys[MEMBER_A].clone(),
        )),
        token: TOKEN.into(),
        peers: Arc::new(|| 0),
        metrics: Arc::new(String::new),
    };
    let server = tokio::spawn(custodia_node::api::serve(listener, ctx, Default::default()));
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.ends_with(r#"{"ok":true}"#), "{answer}");
    server.abort();
}
