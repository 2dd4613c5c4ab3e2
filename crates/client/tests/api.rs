//! The client against the node's real API router, served over TCP in-process: one shared
//! ledger, one API per organisation with its own keys. A background task plays consensus (it
//! applies the mempool's txs as blocks) and the test plays the supervisor's role worker
//! (attest, deliver). This is what catches a client and an API that disagree on a shape.

use commonware_codec::Encode as _;
use custodia_client::{
    AuditFilter, Client, Error, NewRecord, NewRequest, RecordFilter, RecordId, RecordStatus,
    RequestFilter, RequestId, RequestStatus, Role, TxStatus, Wait,
};
use custodia_node::{
    Ledger, MempoolLimits,
    api::{ApiContext, serve},
};
use custodia_protocol::{
    Block, Body, OrgKeys, Params, Tx,
    delivery::{build_bundle, seal_bundle},
    record::open_record,
    testing::{ORG_NAMES, consortium_keys, genesis_of, submit_record},
};
use serde_json::{Value, json};
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

const TOKEN: &str = "client-test-token-0123456789";
const SUPERVISOR: usize = 0;
const MEMBER_A: usize = 1;
const MEMBER_B: usize = 2;
/// How often the test's "consensus" makes a block of the mempool.
const BLOCK_INTERVAL: Duration = Duration::from_millis(20);
const WAIT: Wait = Wait::Finalized(Duration::from_secs(10));

/// A chain shared by every organisation's API.
struct Chain {
    ledger: Arc<Ledger>,
    keys: Vec<OrgKeys>,
    /// Whether the block producer makes blocks.
    producing: Arc<AtomicBool>,
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
        let producing = Arc::new(AtomicBool::new(true));
        tokio::spawn(produce_blocks(ledger.clone(), producing.clone()));
        Self {
            ledger,
            keys,
            producing,
            _dir: dir,
        }
    }

    /// A client of organisation `org`'s API, served on a fresh port.
    async fn client(&self, org: usize) -> Client {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let ctx = ApiContext {
            ledger: self.ledger.clone(),
            org: ORG_NAMES[org].into(),
            keys: Arc::new(custodia_node::Keyring::in_memory(self.keys[org].clone())),
            token: TOKEN.into(),
            peers: Arc::new(|| 3),
            metrics: Arc::new(String::new),
        };
        tokio::spawn(serve(listener, ctx, Default::default()));
        Client::new(&format!("http://{addr}"), TOKEN).unwrap()
    }

    /// Signs `body` as organisation `org` and puts it in the mempool.
    fn submit(&self, org: usize, body: Body) {
        let valid_until = self.ledger.state().height() + 20;
        let tx = Tx::sign(
            &self.keys[org].identity,
            self.ledger.chain(),
            valid_until,
            body,
        );
        self.ledger.submit(tx).expect("admitted");
    }

    /// The supervisor's verdict on a record (what its role worker does).
    fn attest(&self, record_id: RecordId, accepted: bool, reason: &str) {
        let body = Body::AttestRecord {
            record_id,
            accepted,
            reason: reason.into(),
        };
        self.submit(SUPERVISOR, body);
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
        let body = Body::Deliver {
            request_id,
            sealed: sealed.into(),
        };
        self.submit(SUPERVISOR, body);
    }

    /// Member A's record, submitted through its API and accepted by the supervisor.
    async fn accepted_record(&self, a: &Client, fields: Value) -> RecordId {
        let record_id = a
            .submit_record(&claim(fields), WAIT)
            .await
            .unwrap()
            .record_id;
        self.attest(record_id, true, "");
        let record = a
            .wait_verdict(&record_id, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(record.status, RecordStatus::Accepted);
        record_id
    }
}

/// Plays consensus: every [`BLOCK_INTERVAL`], the mempool's txs become the next block.
async fn produce_blocks(ledger: Arc<Ledger>, producing: Arc<AtomicBool>) {
    loop {
        tokio::time::sleep(BLOCK_INTERVAL).await;
        if !producing.load(Ordering::SeqCst) {
            continue;
        }
        let mut state = ledger.state();
        let height = state.height() + 1;
        let txs: Vec<Tx> = ledger
            .mempool()
            .select(height, usize::MAX, usize::MAX, u64::MAX, |_| false)
            .into_iter()
            .map(|tx| (*tx).clone())
            .collect();
        if txs.is_empty() {
            continue;
        }
        let ids: Vec<_> = txs.iter().map(Tx::id).collect();
        let block = Block {
            parent: state.last_block_digest(),
            height,
            timestamp_ms: 1_700_000_000_000 + height * 1000,
            txs,
        };
        state.apply(&block).expect("apply").expect("a new block");
        drop(state);
        ledger.mempool().remove_applied(&ids);
    }
}

fn claim(fields: Value) -> NewRecord {
    NewRecord {
        kind: "claim".into(),
        tags: vec!["motor".into()],
        fields: serde_json::from_value(fields).unwrap(),
    }
}

fn request_for(record_id: RecordId, fields: &[&str]) -> NewRequest {
    NewRequest {
        record_ids: vec![record_id],
        fields: fields.iter().map(|f| f.to_string()).collect(),
        purpose: "fraud check".into(),
        ttl: None,
    }
}

fn api_code(err: &Error) -> (u16, &str) {
    match err {
        Error::Api { status, code, .. } => (*status, code),
        other => panic!("not an API error: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_orgs_and_health_read_in_the_contracts_shape() {
    let chain = Chain::new();
    let a = chain.client(MEMBER_A).await;
    a.healthz().await.unwrap();
    let status = a.status().await.unwrap();
    assert_eq!(status.org, "member-a");
    assert_eq!(status.role, Role::Member);
    assert_eq!(status.chain_id, "custodia-test");
    assert_eq!(status.chain.len(), 64);
    assert_eq!(status.peers, 3);
    let orgs = a.orgs().await.unwrap();
    let names: Vec<&str> = orgs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ORG_NAMES);
    assert_eq!(orgs[0].role, Role::Supervisor);
    assert!(orgs.iter().all(|o| o.active));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_submits_supervisor_accepts_requester_asks_both_approve_requester_fetches() {
    let chain = Chain::new();
    let a = chain.client(MEMBER_A).await;
    let b = chain.client(MEMBER_B).await;
    let supervisor = chain.client(SUPERVISOR).await;

    // 1 submit: the write waits for its block and comes back with the receipt.
    let fields = json!({"amount": 1200, "insured": "Jane Doe", "plate": "AB-123"});
    let submitted = a.submit_record(&claim(fields), WAIT).await.unwrap();
    let receipt = submitted.receipt.expect("a waited write has its receipt");
    assert!(receipt.is_ok(), "{receipt:?}");
    assert_eq!(receipt.tx_id, submitted.tx_id);
    let record_id = submitted.record_id;
    let record = b.record(&record_id).await.unwrap();
    assert_eq!(record.status, RecordStatus::Submitted);
    assert_eq!(record.provider, "member-a");
    assert_eq!(record.fields, ["amount", "insured", "plate"]);
    assert_eq!(record.tags, ["motor"]);
    assert_eq!(record.submitted_height, receipt.height);

    // 2 seal: the supervisor's verdict.
    chain.attest(record_id, true, "");
    let record = a
        .wait_verdict(&record_id, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(record.status, RecordStatus::Accepted);
    assert!(record.attested_height.is_some());
    let filter = RecordFilter {
        provider: Some("member-a".into()),
        status: Some(RecordStatus::Accepted),
        ..RecordFilter::default()
    };
    let page = b.records(&filter).await.unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.records[0].record_id, record_id);

    // 3 request: member B asks for two of the three fields.
    let created = b
        .create_request(&request_for(record_id, &["amount", "insured"]), WAIT)
        .await
        .unwrap();
    assert!(created.receipt.as_ref().is_some_and(|r| r.is_ok()));
    let request_id = created.request_id;
    let err = b.fetch(&request_id, Wait::No).await.unwrap_err();
    assert_eq!(api_code(&err), (409, "pending"));
    let err = a.fetch(&request_id, Wait::No).await.unwrap_err();
    assert_eq!(api_code(&err), (403, "forbidden"));

    // 4 approve: the provider and the supervisor.
    let approved = a.approve(&request_id, None, WAIT).await.unwrap();
    assert_eq!(approved.request_id, request_id);
    assert!(approved.receipt.is_some());
    supervisor
        .approve(&request_id, Some("lawful purpose"), WAIT)
        .await
        .unwrap();
    let detail = b.request(&request_id).await.unwrap();
    assert_eq!(detail.request.status, RequestStatus::Approved);
    assert_eq!(detail.request.requester, "member-b");
    assert_eq!(detail.request.fields, ["amount", "insured"]);
    assert_eq!(detail.decisions.len(), 2);
    assert!(detail.delivery.is_none());
    let pending = RequestFilter {
        status: Some(RequestStatus::Approved),
        ..RequestFilter::default()
    };
    assert_eq!(b.requests(&pending).await.unwrap().requests.len(), 1);

    // 5 deliver, 6 open: fetch waits while the request is approved but not delivered.
    let fetching = {
        let b = b.clone();
        tokio::spawn(async move { b.fetch(&request_id, WAIT).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    chain.deliver(request_id);
    let fetched = fetching.await.unwrap().unwrap();
    assert_eq!(fetched.request_id, request_id);
    assert_eq!(fetched.records.len(), 1);
    let delivered = &fetched.records[0];
    assert_eq!(delivered.record_id, record_id);
    assert_eq!(delivered.provider, "member-a");
    assert!(delivered.verified);
    assert_eq!(
        serde_json::to_value(&delivered.fields).unwrap(),
        json!({"amount": 1200, "insured": "Jane Doe"})
    );
    let detail = b.request(&request_id).await.unwrap();
    assert_eq!(detail.request.status, RequestStatus::Delivered);
    assert!(detail.delivery.is_some());

    // 7 audit: the whole story of the request, organisations by name.
    let trail = supervisor
        .audit(&AuditFilter {
            request: Some(request_id),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let kinds: Vec<&str> = trail.entries.iter().map(|e| e.kind.as_str()).collect();
    for kind in ["request_created", "request_approved", "request_delivered"] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
    assert!(
        trail
            .entries
            .iter()
            .any(|e| e.actor.as_deref() == Some("member-b"))
    );

    // Blocks and receipts.
    let block = a.block(receipt.height).await.unwrap();
    assert_eq!(block.height, receipt.height);
    assert!(block.txs.iter().any(|r| r.tx_id == submitted.tx_id));
    match a.receipt(&submitted.tx_id).await.unwrap() {
        TxStatus::Applied(found) => assert_eq!(found, receipt),
        pending => panic!("not applied: {pending:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_failures_carry_the_apis_status_and_code() {
    let chain = Chain::new();
    let a = chain.client(MEMBER_A).await;
    let b = chain.client(MEMBER_B).await;
    let supervisor = chain.client(SUPERVISOR).await;
    let record_id = chain.accepted_record(&a, json!({"amount": 1})).await;

    // Wrong party, bad input, unknown ids.
    let err = a
        .create_request(&request_for(record_id, &[]), WAIT)
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (403, "own_record"));
    let err = supervisor
        .submit_record(&claim(json!({"x": 1})), WAIT)
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (403, "not_member"));
    let err = b
        .create_request(&request_for(record_id, &["nope"]), WAIT)
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (422, "unknown_field"));
    let unknown = RecordId::random();
    let err = a.record(&unknown).await.unwrap_err();
    assert_eq!(api_code(&err), (404, "record_not_found"));
    let err = a.request(&RequestId::random()).await.unwrap_err();
    assert_eq!(api_code(&err), (404, "request_not_found"));
    let err = a.receipt("xyz").await.unwrap_err();
    assert_eq!(api_code(&err), (400, "invalid_tx_id"));

    // A rejection ends the request; its requester cannot fetch, and cannot cancel it now.
    let request_id = b
        .create_request(&request_for(record_id, &[]), WAIT)
        .await
        .unwrap()
        .request_id;
    let err = a.reject(&request_id, "", WAIT).await.unwrap_err();
    assert_eq!(api_code(&err), (400, "reason_required"));
    a.reject(&request_id, "no lawful basis", WAIT)
        .await
        .unwrap();
    let err = b.cancel(&request_id, WAIT).await.unwrap_err();
    assert_eq!(api_code(&err), (409, "request_closed"));
    let detail = b.request(&request_id).await.unwrap();
    assert_eq!(detail.request.status, RequestStatus::Rejected);
    assert_eq!(detail.request.reason.as_deref(), Some("no lawful basis"));
    let err = b.fetch(&request_id, Wait::No).await.unwrap_err();
    assert_eq!(api_code(&err), (409, "rejected"));
    assert!(err.to_string().contains("no lawful basis"), "{err}");

    // A pending request is the requester's to cancel.
    let request_id = b
        .create_request(&request_for(record_id, &[]), WAIT)
        .await
        .unwrap()
        .request_id;
    let err = a.cancel(&request_id, WAIT).await.unwrap_err();
    assert_eq!(api_code(&err), (403, "not_requester"));
    b.cancel(&request_id, WAIT).await.unwrap();
    let err = b.fetch(&request_id, Wait::No).await.unwrap_err();
    assert_eq!(api_code(&err), (409, "cancelled"));

    // A wrong token.
    let url = a.base_url().to_string();
    let stranger = Client::new(&url, "not-the-token").unwrap();
    let err = stranger.status().await.unwrap_err();
    assert_eq!(api_code(&err), (401, "unauthorized"));
    stranger.healthz().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_record_carries_the_supervisors_reason() {
    let chain = Chain::new();
    let a = chain.client(MEMBER_A).await;
    let record_id = a
        .submit_record(&claim(json!({"amount": -5})), Wait::No)
        .await
        .unwrap()
        .record_id;
    // Without waiting, the record may not be applied yet: wait_verdict keeps looking.
    let verdict = {
        let a = a.clone();
        tokio::spawn(async move { a.wait_verdict(&record_id, Duration::from_secs(10)).await })
    };
    while a.record(&record_id).await.is_err() {
        tokio::time::sleep(BLOCK_INTERVAL).await;
    }
    chain.attest(record_id, false, "negative amount");
    let record = verdict.await.unwrap().unwrap();
    assert_eq!(record.status, RecordStatus::Rejected);
    assert_eq!(record.reason.as_deref(), Some("negative amount"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_not_finalized_in_time_is_a_timeout_and_its_receipt_is_pending() {
    let chain = Chain::new();
    let a = chain.client(MEMBER_A).await;
    chain.producing.store(false, Ordering::SeqCst);
    let err = a
        .submit_record(
            &claim(json!({"amount": 1})),
            Wait::Finalized(Duration::from_secs(1)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::WaitTimeout { .. }), "{err}");
    assert!(err.to_string().contains("/v1/receipts/"), "{err}");
    let pending = a
        .records(&RecordFilter::default())
        .await
        .unwrap()
        .records
        .len();
    assert_eq!(pending, 0);
    let tx_id = {
        let mempool = chain.ledger.mempool();
        let txs = mempool.select(1, 10, usize::MAX, u64::MAX, |_| false);
        assert_eq!(txs.len(), 1);
        custodia_protocol::hash::to_hex(&txs[0].id())
    };
    assert!(matches!(
        a.receipt(&tx_id).await.unwrap(),
        TxStatus::Pending { .. }
    ));
    let err = a
        .wait_receipt(&tx_id, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::WaitTimeout { .. }), "{err}");
    chain.producing.store(true, Ordering::SeqCst);
    let applied = a
        .wait_receipt(&tx_id, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(matches!(applied, TxStatus::Applied(r) if r.is_ok()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_signed_txs_go_in_one_by_one_or_as_a_batch() {
    let chain = Chain::new();
    let a = chain.client(MEMBER_A).await;
    let keys = &chain.keys;
    let fields = [("amount", json!(7))];
    let record = |valid_until| {
        submit_record(
            &chain.ledger.chain(),
            &keys[MEMBER_A],
            &keys[SUPERVISOR],
            &fields,
            valid_until,
        )
        .1
    };
    let one = record(50);
    let accepted = a.submit_tx(one.encode().to_vec()).await.unwrap();
    assert_eq!(accepted.tx_id, custodia_protocol::hash::to_hex(&one.id()));
    let err = a.submit_tx(one.encode().to_vec()).await.unwrap_err();
    assert_eq!(api_code(&err), (409, "duplicate_tx"));
    let err = a.submit_tx(vec![1, 2, 3]).await.unwrap_err();
    assert_eq!(err.status(), Some(400));

    let batch = vec![record(50), one.clone(), record(50)];
    let answer = a.submit_txs(batch.encode().to_vec()).await.unwrap();
    assert_eq!(answer.accepted.len(), 2);
    assert_eq!(answer.rejected.len(), 1);
    assert_eq!(answer.rejected[0].index, 1);
    assert_eq!(answer.rejected[0].code, "duplicate_tx");
    let err = a.submit_txs(vec![0xff; 8]).await.unwrap_err();
    assert_eq!(api_code(&err), (400, "malformed_batch"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_opens_and_needs_the_token() {
    let chain = Chain::new();
    let a = chain.client(MEMBER_A).await;
    let mut events = a.events().await.unwrap();
    // The test's blocks bypass the executor's feed, so the stream stays quiet (keep-alives
    // only): reading it neither fails nor yields an event.
    let next = tokio::time::timeout(Duration::from_millis(300), events.next()).await;
    assert!(next.is_err(), "unexpected event: {next:?}");

    let stranger = Client::new(a.base_url(), "wrong").unwrap();
    let err = stranger.events().await.err().expect("refused");
    assert_eq!(api_code(&err), (401, "unauthorized"));
}

#[tokio::test]
async fn an_unreachable_node_says_to_check_the_node_flag() {
    // Port 1 on loopback: nothing listens there.
    let client = Client::new("http://127.0.0.1:1", TOKEN).unwrap();
    let err = client.status().await.unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("is the node running?") && message.contains("CUSTODIA_NODE"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_dir_written_by_the_node_config_leads_to_its_api() {
    use custodia_node::config::{ApprovalPolicy, MempoolConfig, NodeConfig};
    let chain = Chain::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let ctx = ApiContext {
        ledger: chain.ledger.clone(),
        org: "member-a".into(),
        keys: Arc::new(custodia_node::Keyring::in_memory(
            chain.keys[MEMBER_A].clone(),
        )),
        token: TOKEN.into(),
        peers: Arc::new(|| 0),
        metrics: Arc::new(String::new),
    };
    tokio::spawn(serve(listener, ctx, Default::default()));
    let dir = tempfile::tempdir().unwrap();
    let config = NodeConfig {
        org: "member-a".into(),
        genesis: "genesis.toml".into(),
        key: "org.key".into(),
        data_dir: "data".into(),
        api_token_file: "api.token".into(),
        p2p_listen: "127.0.0.1:7001".parse().unwrap(),
        api_listen: addr,
        allow_private_ips: true,
        api_tls_cert: None,
        api_tls_key: None,
        api_insecure_plaintext: false,
        approval: ApprovalPolicy::Manual,
        mempool: MempoolConfig::default(),
        api: Default::default(),
        bootstrap_peers: Vec::new(),
    };
    std::fs::write(dir.path().join("config.toml"), config.to_toml()).unwrap();
    std::fs::write(dir.path().join("api.token"), format!("{TOKEN}\n")).unwrap();
    let client = Client::from_org_dir(dir.path()).unwrap();
    assert_eq!(client.status().await.unwrap().org, "member-a");
}
