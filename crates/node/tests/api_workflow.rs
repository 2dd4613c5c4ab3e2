//! The organisation-facing API over one shared ledger without consensus: each organisation's
//! node is a router with its own keys, and the test plays the chain by applying the mempool's
//! txs as blocks (and the supervisor's role worker by attesting and delivering itself).

use axum::{
    Router,
    body::{Body, Bytes, to_bytes},
    http::{
        Method, Request, StatusCode,
        header::{AUTHORIZATION, CONTENT_TYPE},
    },
};
use custodia_node::{
    Ledger, MempoolLimits,
    api::{ApiContext, router},
};
use custodia_protocol::{
    Block, Body as TxBody, OrgKeys, Params, RecordId, RequestId, Tx,
    delivery::{build_bundle, seal_bundle},
    record::open_record,
    testing::{ORG_NAMES, consortium_keys, genesis_of},
};
use serde_json::{Value, json};
use std::{sync::Arc, time::Duration};
use tower::ServiceExt as _;

const TOKEN: &str = "workflow-token-0123456789";
const SUPERVISOR: usize = 0;
const MEMBER_A: usize = 1;
const MEMBER_B: usize = 2;

/// One ledger shared by every organisation's API.
struct Chain {
    ledger: Arc<Ledger>,
    keys: Vec<OrgKeys>,
    _dir: tempfile::TempDir,
}

/// One organisation's API.
#[derive(Clone)]
struct Node {
    app: Router,
}

struct Answer {
    status: StatusCode,
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

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn ok(&self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "{}", self.text());
        self.json()
    }

    /// Asserts an API error with `status` and `code`; returns its message.
    fn error(&self, status: StatusCode, code: &str) -> String {
        let body = self.json();
        assert_eq!(self.status, status, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
        assert_eq!(
            body["error"].as_object().map(|o| o.len()),
            Some(2),
            "{body}"
        );
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{body}");
        message.to_string()
    }
}

impl Chain {
    fn new() -> Self {
        Self::with_params(Params::default())
    }

    fn with_params(params: Params) -> Self {
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

    fn node(&self, org: usize) -> Node {
        Node {
            app: router(ApiContext {
                ledger: self.ledger.clone(),
                org: ORG_NAMES[org].into(),
                keys: Arc::new(custodia_node::Keyring::in_memory(self.keys[org].clone())),
                token: TOKEN.into(),
                peers: Arc::new(|| 3),
                metrics: Arc::new(String::new),
            }),
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
        let receipts = self.apply(txs);
        self.ledger.mempool().remove_applied(&ids);
        receipts
    }

    fn apply(&self, txs: Vec<Tx>) -> Vec<custodia_state::Receipt> {
        let mut state = self.ledger.state();
        let block = Block {
            parent: state.last_block_digest(),
            height: state.height() + 1,
            timestamp_ms: 1_700_000_000_000 + state.height(),
            txs,
        };
        state
            .apply(&block)
            .expect("apply")
            .expect("a new block")
            .receipts
    }

    fn sign(&self, org: usize, body: TxBody) -> Tx {
        let valid_until = self.ledger.state().height() + 10;
        Tx::sign(
            &self.keys[org].identity,
            self.ledger.chain(),
            valid_until,
            body,
        )
    }

    /// The supervisor accepts a submitted record.
    fn accept(&self, record_id: RecordId) {
        let tx = self.sign(
            SUPERVISOR,
            TxBody::AttestRecord {
                record_id,
                accepted: true,
                reason: String::new(),
            },
        );
        assert!(self.apply(vec![tx])[0].is_ok());
    }

    /// The supervisor delivers an approved request (what its role worker does).
    fn deliver(&self, request_id: RequestId) {
        let chain = self.ledger.chain();
        let (request, records) = {
            let state = self.ledger.state();
            let queries = state.queries();
            let request = queries.request(&request_id).unwrap().unwrap();
            let records: Vec<_> = request
                .record_ids
                .iter()
                .map(|id| {
                    let header = queries.record(id).unwrap().unwrap().header();
                    let sealed = queries.record_sealed(id).unwrap().unwrap();
                    let fields =
                        open_record(&chain, &self.keys[SUPERVISOR].encryption, &header, &sealed)
                            .unwrap();
                    (header, fields)
                })
                .collect();
            (request, records)
        };
        let bundle = build_bundle(request_id, &request.fields, &records).unwrap();
        let requester = self
            .keys
            .iter()
            .find(|k| k.identity_key() == request.requester_key)
            .unwrap();
        let sealed = seal_bundle(
            &chain,
            &requester.identity_key(),
            &requester.encryption_key(),
            &bundle,
        )
        .unwrap();
        let tx = self.sign(
            SUPERVISOR,
            TxBody::Deliver {
                request_id,
                sealed: sealed.into(),
            },
        );
        assert!(self.apply(vec![tx])[0].is_ok());
    }

    /// Member A's record of `fields`, submitted and accepted.
    async fn accepted_record(&self, fields: Value) -> String {
        let answer = self
            .node(MEMBER_A)
            .post("/v1/records", json!({"kind": "claim", "fields": fields}))
            .await;
        let id = answer.ok(StatusCode::ACCEPTED)["record_id"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(self.apply_mempool()[0].is_ok());
        self.accept(id.parse().unwrap());
        id
    }

    /// Member B's pending request for `fields` of `record_id`.
    async fn pending_request(&self, record_id: &str, fields: Value) -> String {
        let body = json!({"record_ids": [record_id], "fields": fields, "purpose": "fraud check"});
        let answer = self.node(MEMBER_B).post("/v1/requests", body).await;
        let id = answer.ok(StatusCode::ACCEPTED)["request_id"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(self.apply_mempool()[0].is_ok());
        id
    }
}

impl Node {
    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        Answer {
            status: parts.status,
            body: to_bytes(body, usize::MAX).await.unwrap(),
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(authorized(Method::GET, path).body(Body::empty()).unwrap())
            .await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.post_raw(path, body.to_string()).await
    }

    async fn post_raw(&self, path: &str, body: impl Into<Body>) -> Answer {
        let request = authorized(Method::POST, path)
            .header(CONTENT_TYPE, "application/json")
            .body(body.into())
            .unwrap();
        self.send(request).await
    }
}

fn authorized(method: Method, path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
}

#[tokio::test]
async fn provider_submits_supervisor_accepts_requester_asks_both_approve_requester_fetches() {
    let chain = Chain::new();
    let (a, b, supervisor) = (
        chain.node(MEMBER_A),
        chain.node(MEMBER_B),
        chain.node(SUPERVISOR),
    );
    let record_id = chain
        .accepted_record(json!({"amount": 1200, "insured": "Jane Doe", "plate": "AB-123"}))
        .await;
    let record = a.get(&format!("/v1/records/{record_id}")).await;
    let record = record.ok(StatusCode::OK);
    assert_eq!(record["status"], "accepted");
    assert_eq!(record["provider"], "member-a");
    assert_eq!(record["attested_height"], 2);

    let request_id = chain
        .pending_request(&record_id, json!(["amount", "insured"]))
        .await;
    let fetch = format!("/v1/requests/{request_id}/fetch");
    let message = b.get(&fetch).await.error(StatusCode::CONFLICT, "pending");
    assert!(
        message.contains("member-a") && message.contains("supervisor"),
        "{message}"
    );
    a.get(&fetch)
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");

    let approve = format!("/v1/requests/{request_id}/approve");
    a.post_raw(&approve, "").await.ok(StatusCode::ACCEPTED);
    let answer = supervisor
        .post(&approve, json!({"reason": "lawful purpose"}))
        .await;
    assert_eq!(answer.ok(StatusCode::ACCEPTED)["request_id"], request_id);
    assert!(chain.apply_mempool().iter().all(|r| r.is_ok()));
    b.get(&fetch).await.error(StatusCode::CONFLICT, "approved");

    chain.deliver(request_id.parse().unwrap());
    let fetched = b.get(&fetch).await.ok(StatusCode::OK);
    assert_eq!(
        fetched,
        json!({
            "request_id": request_id,
            "records": [{
                "record_id": record_id,
                "provider": "member-a",
                "kind": "claim",
                "fields": {"amount": 1200, "insured": "Jane Doe"},
                "verified": true,
            }],
        })
    );

    let detail = b
        .get(&format!("/v1/requests/{request_id}"))
        .await
        .ok(StatusCode::OK);
    assert_eq!(detail["status"], "delivered");
    assert_eq!(detail["requester"], "member-b");
    assert_eq!(detail["record_ids"], json!([record_id]));
    let decisions = detail["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 2);
    assert!(decisions.iter().all(|d| d["decision"] == "approved"));
    assert!(decisions.iter().any(|d| d["org"] == "member-a"));
    assert_eq!(detail["delivery"]["height"], 5);

    let listed = b
        .get("/v1/requests?party=member-b&status=delivered")
        .await
        .ok(StatusCode::OK);
    assert_eq!(listed["requests"][0]["request_id"], request_id);
    assert_eq!(listed["limit"], 100);

    let audit = a
        .get(&format!("/v1/audit?request={request_id}"))
        .await
        .ok(StatusCode::OK);
    let text = audit.to_string();
    assert!(text.contains("\"request_created\"") && text.contains("\"request_delivered\""));
    assert_eq!(audit["entries"][0]["actor"], "member-b");
    let by_org = a.get("/v1/audit?org=member-a").await.ok(StatusCode::OK);
    assert_eq!(by_org["entries"][0]["kind"], "record_submitted");
    assert_eq!(by_org["entries"][0]["record_id"], record_id);
}

#[tokio::test]
async fn record_endpoints_show_field_names_but_never_values() {
    let chain = Chain::new();
    let a = chain.node(MEMBER_A);
    let body = json!({"kind": "claim", "tags": ["motor"], "fields": {"secret_note": "XYZZY-PLUGH", "amount": 987654321}});
    let answer = a.post("/v1/records", body).await;
    let submitted = answer.ok(StatusCode::ACCEPTED);
    assert_eq!(submitted.as_object().unwrap().len(), 2, "{submitted}");
    assert_eq!(submitted["tx_id"].as_str().map(str::len), Some(64));
    let record_id = submitted["record_id"].as_str().unwrap().to_string();
    chain.apply_mempool();
    for path in [
        format!("/v1/records/{record_id}"),
        "/v1/records".to_string(),
        "/v1/records?provider=member-a&kind=claim&status=submitted".to_string(),
        format!("/v1/audit?record={record_id}"),
    ] {
        let answer = a.get(&path).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
        let text = answer.text();
        assert!(
            !text.contains("XYZZY") && !text.contains("987654321"),
            "{path}: {text}"
        );
    }
    let record = a.get(&format!("/v1/records/{record_id}")).await.json();
    assert_eq!(record["fields"], json!(["amount", "secret_note"]));
    assert_eq!(record["tags"], json!(["motor"]));
    assert_eq!(record["status"], "submitted");
    assert_eq!(record["reason"], Value::Null);
    let page = a.get("/v1/records?status=accepted").await.json();
    assert_eq!(page["records"], json!([]));
}

#[tokio::test]
async fn wait_true_answers_with_the_receipt_once_the_block_is_applied() {
    let chain = Chain::new();
    let a = chain.node(MEMBER_A);
    let waiting = tokio::spawn(async move {
        let body = json!({"kind": "claim", "fields": {"amount": 1}});
        a.post("/v1/records?wait=true&timeout=20", body).await
    });
    while chain.ledger.mempool().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!waiting.is_finished(), "answered before any block");
    let receipts = chain.apply_mempool();
    let answer = waiting.await.unwrap();
    let body = answer.ok(StatusCode::OK);
    assert_eq!(body["receipt"]["code"], "ok");
    assert_eq!(body["receipt"]["height"], 1);
    assert_eq!(body["receipt"]["body"], "submit_record");
    assert_eq!(body["tx_id"], body["receipt"]["tx_id"]);
    assert_eq!(
        body["tx_id"],
        custodia_protocol::hash::to_hex(&receipts[0].tx_id)
    );
    assert!(body["record_id"].as_str().unwrap().starts_with("rec_"));
}

#[tokio::test]
async fn wait_true_turns_a_failed_receipt_into_its_code_at_the_status_of_admission() {
    let chain = Chain::new();
    let record_id = chain.accepted_record(json!({"amount": 1})).await;
    let request_id = chain.pending_request(&record_id, json!([])).await;
    // The requester cancels; the provider's approval, admitted meanwhile, then fails.
    chain
        .node(MEMBER_B)
        .post_raw(&format!("/v1/requests/{request_id}/cancel"), "{}")
        .await
        .ok(StatusCode::ACCEPTED);
    let a = chain.node(MEMBER_A);
    let path = format!("/v1/requests/{request_id}/approve?wait=true");
    let waiting = tokio::spawn(async move { a.post_raw(&path, "").await });
    while chain.ledger.mempool().len() < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let receipts = chain.apply_mempool();
    let answer = waiting.await.unwrap();
    // The status the same refusal gets at admission (409 for a closed request), so a client
    // that raced another gets one answer whichever saw the conflict first.
    assert_eq!(receipts[1].code, "request_not_pending");
    let message = answer.error(StatusCode::CONFLICT, "request_not_pending");
    assert!(message.contains("failed in block 4"), "{message}");
    chain
        .node(MEMBER_B)
        .get(&format!("/v1/requests/{request_id}/fetch"))
        .await
        .error(StatusCode::CONFLICT, "cancelled");
}

#[tokio::test]
async fn fetch_with_wait_returns_once_the_approved_request_is_delivered() {
    let chain = Chain::new();
    let record_id = chain.accepted_record(json!({"amount": 7})).await;
    let request_id = chain.pending_request(&record_id, json!([])).await;
    for org in [MEMBER_A, SUPERVISOR] {
        chain
            .node(org)
            .post_raw(&format!("/v1/requests/{request_id}/approve"), "")
            .await
            .ok(StatusCode::ACCEPTED);
    }
    chain.apply_mempool();
    let b = chain.node(MEMBER_B);
    let fetch = format!("/v1/requests/{request_id}/fetch?wait=true");
    let answer = b.get(&format!("{fetch}&timeout=1")).await;
    answer.error(StatusCode::CONFLICT, "approved");
    let waiting = tokio::spawn(async move { b.get(&format!("{fetch}&timeout=20")).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!waiting.is_finished());
    chain.deliver(request_id.parse().unwrap());
    let fetched = waiting.await.unwrap().ok(StatusCode::OK);
    assert_eq!(fetched["records"][0]["fields"], json!({"amount": 7}));
}

#[tokio::test]
async fn a_rejected_request_fetches_as_409_rejected_with_the_reason() {
    let chain = Chain::new();
    let record_id = chain.accepted_record(json!({"amount": 1})).await;
    let request_id = chain.pending_request(&record_id, json!([])).await;
    let reject = format!("/v1/requests/{request_id}/reject");
    let a = chain.node(MEMBER_A);
    a.post(&reject, json!({"reason": "not a lawful purpose"}))
        .await
        .ok(StatusCode::ACCEPTED);
    chain.apply_mempool();
    let message = chain
        .node(MEMBER_B)
        .get(&format!("/v1/requests/{request_id}/fetch"))
        .await
        .error(StatusCode::CONFLICT, "rejected");
    assert!(message.contains("not a lawful purpose"), "{message}");
}

// Found by schemathesis: a second rotation while the first one's RotateKeys still waited in the
// mempool announced the same key again (taken for a crashed rotation), and its tx failed
// `key_reused` in the block. Each call now rotates once: the second makes the next key.
#[tokio::test]
async fn two_rotations_in_a_row_each_announce_a_key_of_their_own() {
    let chain = Chain::new();
    let member = chain.node(MEMBER_A);
    let first = member
        .post("/v1/keys/rotate", json!({"encryption": true}))
        .await
        .ok(StatusCode::ACCEPTED);
    let second = member
        .post("/v1/keys/rotate", json!({"encryption": true}))
        .await
        .ok(StatusCode::ACCEPTED);
    assert_ne!(first["encryption_key"], second["encryption_key"]);
    let receipts = chain.apply_mempool();
    assert_eq!(receipts.len(), 2);
    for receipt in &receipts {
        assert!(receipt.is_ok(), "{receipt:?}");
    }
    let orgs = member.get("/v1/orgs").await.ok(StatusCode::OK);
    let me = &orgs["orgs"][MEMBER_A];
    assert_eq!(me["encryption_key"], second["encryption_key"]);
    let keys: Vec<&Value> = me["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["kind"] == "encryption")
        .collect();
    assert_eq!(keys.len(), 3, "{me}");
    member
        .post("/v1/keys/rotate", json!({"encryption": false}))
        .await
        .error(StatusCode::BAD_REQUEST, "unsupported_rotation");
}
