//! Waiting for and asserting what the simulated nodes applied: receipts, agreement, statuses and
//! deliveries.

use super::*;

/// Waits (in simulated time) until `done` holds, checking every 100 ms; panics after `limit`.
pub async fn wait_until(
    context: &deterministic::Context,
    limit: Duration,
    what: &str,
    mut done: impl FnMut() -> bool,
) {
    let start = context.current();
    while !done() {
        if context.current().duration_since(start).unwrap_or_default() > limit {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        context.sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until every node applied every tx of `ids`; panics after `limit` naming `what`.
pub async fn wait_applied_everywhere(
    context: &deterministic::Context,
    nodes: &[SimNode],
    ids: &[Digest],
    limit: Duration,
    what: &str,
) {
    wait_until(context, limit, what, || {
        nodes.iter().all(|n| has_receipts(&n.ledger, ids))
    })
    .await;
}

/// Whether every tx id has a receipt in `ledger`'s state.
pub fn has_receipts(ledger: &Ledger, ids: &[Digest]) -> bool {
    let state = ledger.state();
    let queries = state.queries();
    ids.iter()
        .all(|id| matches!(queries.receipt(id), Ok(Some(_))))
}

/// Submits `count` records through `ledger` (providers taken in turn, claim numbers from
/// `first`) and returns their ids.
pub fn submit_records(
    consortium: &Consortium,
    ledger: &Ledger,
    count: u64,
    first: u64,
) -> Vec<Digest> {
    (first..first + count)
        .map(|n| {
            let provider = 1 + (n % 3) as usize;
            let tx = consortium.record_tx(provider, ledger.head().height, n);
            ledger.submit(tx).expect("node admits the tx")
        })
        .collect()
}

/// The receipts of `ids` in `ledger`'s state (`None` for a tx not applied).
pub fn receipts(ledger: &Ledger, ids: &[Digest]) -> Vec<Option<Receipt>> {
    let state = ledger.state();
    let queries = state.queries();
    ids.iter()
        .map(|id| queries.receipt(id).expect("read receipt"))
        .collect()
}

/// Asserts every tx of `ids` applied successfully on `ledger`.
pub fn assert_applied_ok(ledger: &Ledger, ids: &[Digest]) {
    for (id, receipt) in ids.iter().zip(receipts(ledger, ids)) {
        let receipt = receipt.unwrap_or_else(|| panic!("tx {id:?} has no receipt"));
        assert!(receipt.is_ok(), "{receipt:?}");
    }
}

/// Asserts every node applied the same blocks up to the lowest common height and reached the
/// same state commitment there; returns that height.
pub fn assert_agree(nodes: &[&Ledger]) -> u64 {
    let height = nodes.iter().map(|n| n.head().height).min().unwrap_or(0);
    let reference = nodes[0].state();
    let reference = reference.queries();
    for h in 1..=height {
        let block = reference.block(h).unwrap().expect("block applied");
        for (i, node) in nodes.iter().enumerate().skip(1) {
            let state = node.state();
            let other = state.queries().block(h).unwrap().expect("block applied");
            assert_eq!(
                (other.digest, other.state_commitment),
                (block.digest, block.state_commitment),
                "node {i} differs from node 0 at height {h}"
            );
        }
    }
    height
}

/// The honest load of the scenarios with one faulty validator: 3 records every 500 ms for
/// `load`, through the `nodes` in turn; returns their tx ids.
pub async fn honest_load(
    context: &deterministic::Context,
    consortium: &Consortium,
    nodes: &[SimNode],
    load: Duration,
) -> Vec<Digest> {
    let start = context.current();
    let mut honest = Vec::new();
    let mut n = 0;
    while context.current().duration_since(start).unwrap_or_default() < load {
        let node = &nodes[n as usize % nodes.len()];
        honest.extend(submit_records(consortium, &node.ledger, 3, n));
        n += 3;
        context.sleep(Duration::from_millis(500)).await;
    }
    honest
}

/// Asserts every tx of `honest` succeeded on every node within `bound` and the nodes agree
/// on at least one block.
pub async fn assert_honest_finalized(
    context: &deterministic::Context,
    nodes: &[SimNode],
    honest: &[Digest],
    bound: Duration,
) {
    wait_applied_everywhere(context, nodes, honest, bound, "the honest txs").await;
    for node in nodes {
        assert_applied_ok(&node.ledger, honest);
    }
    let ledgers: Vec<&Ledger> = nodes.iter().map(|n| &*n.ledger).collect();
    assert!(assert_agree(&ledgers) > 0);
}

/// Asserts no node of `nodes` stopped (`what` names the run), then stops them.
pub async fn assert_running_and_stop(nodes: Vec<SimNode>, what: &str) {
    for mut node in nodes {
        assert!(
            futures::FutureExt::now_or_never(&mut node.handle).is_none(),
            "an honest node stopped ({what})"
        );
        node.crash().await;
    }
}

/// The status of record `id` in `ledger`'s state.
pub fn record_status(ledger: &Ledger, id: &RecordId) -> Option<RecordStatus> {
    let state = ledger.state();
    state.queries().record(id).expect("read").map(|r| r.status)
}

/// The status of request `id` in `ledger`'s state.
pub fn request_status(ledger: &Ledger, id: &RequestId) -> Option<RequestStatus> {
    let state = ledger.state();
    state.queries().request(id).expect("read").map(|r| r.status)
}

/// What a requester's node holds of a delivered request: the fields asked for, the sealed
/// delivery, and the on-chain headers of its records.
pub struct Delivered {
    pub fields: Vec<String>,
    pub sealed: Vec<u8>,
    pub headers: Vec<custodia_protocol::record::RecordHeader>,
}

impl Delivered {
    /// The delivery of `request_id` as `ledger`'s state has it; panics if it is not delivered.
    pub fn of(ledger: &Ledger, request_id: &RequestId) -> Self {
        let state = ledger.state();
        let queries = state.queries();
        let request = queries.request(request_id).expect("read").expect("request");
        let delivery = queries
            .delivery(request_id)
            .expect("read")
            .expect("delivered");
        let headers = request
            .record_ids
            .iter()
            .map(|id| queries.record(id).expect("read").expect("record").header())
            .collect();
        Self {
            fields: request.fields,
            sealed: delivery.sealed,
            headers,
        }
    }

    /// Opens and verifies it as `consortium`'s organisation `requester` with `secret`; panics
    /// if it does not open or verify.
    pub fn open(
        &self,
        consortium: &Consortium,
        request_id: &RequestId,
        requester: usize,
        secret: &custodia_protocol::EncryptionSecret,
    ) -> Vec<custodia_protocol::delivery::VerifiedRecord> {
        custodia_protocol::delivery::open_delivery(
            &consortium.chain(),
            request_id,
            &consortium.keys[requester].identity_key(),
            secret,
            &self.sealed,
            &self.fields,
            &self.headers,
        )
        .expect("the delivery opens and verifies against the provider's commitment")
    }
}
