//! Part of `tests/chaos.rs`: what is checked at the end (one chain, the seen receipts, one verdict and one delivery each).

use super::*;

/// Blocks 1 to the lowest height of the four nodes, once every node applied the block of each
/// receipt in `seen`; every node must hold them identically (digest, parent, timestamp, state
/// commitment and every receipt). Failed before, now and then: a receipt seen at a node ahead
/// (height 113) was looked for in the blocks up to the slowest node's height (110).
pub(super) fn agreed_chain(
    api: &Api,
    seen: &BTreeMap<String, Receipt>,
    started: Instant,
) -> Vec<BlockView> {
    let needed = seen.values().map(|r| r.height).max().unwrap_or(0);
    wait_until(
        SETTLE_LIMIT,
        || format!("not every node applied block {needed}: {:?}", api.heights()),
        || api.heights().iter().all(|(_, h)| *h >= needed),
    );
    let heights = api.heights();
    let top = heights.iter().map(|(_, h)| *h).min().expect("four nodes");
    eprintln!(
        "chaos: [{:.1}s] settled; heights {heights:?}; comparing blocks 1..={top}",
        secs(started)
    );
    let blocks_of = |org: &str| -> Vec<BlockView> {
        (1..=top)
            .map(|h| {
                let mut block = api
                    .on(api.client(org).block(h))
                    .unwrap_or_else(|err| panic!("block {h} of {org}'s node: {err}"));
                // How far the serving node holds certificates is its own, not the block's.
                block.certified_height = 0;
                block
            })
            .collect()
    };
    let chain = blocks_of(SUPERVISOR);
    for org in &ORGS[1..] {
        for (mine, theirs) in blocks_of(org).iter().zip(&chain) {
            assert_eq!(
                mine, theirs,
                "{org} and the supervisor disagree on block {} (state commitment {} vs {})",
                theirs.height, mine.state_commitment, theirs.state_commitment
            );
        }
    }
    let last = chain.last().expect("a block");
    eprintln!(
        "chaos: the four nodes agree on blocks 1..={top}: digest {}, state commitment {}",
        last.digest, last.state_commitment
    );
    chain
}

/// Every receipt the client saw is in `chain` (its first inclusion, at the height and
/// position and with the code seen), and every node answers it alike.
pub(super) fn check_seen_receipts(
    api: &Api,
    chain: &[BlockView],
    seen: &BTreeMap<String, Receipt>,
) {
    let mut first: BTreeMap<&str, &Receipt> = BTreeMap::new();
    for receipt in chain.iter().flat_map(|b| &b.txs) {
        first.entry(&receipt.tx_id).or_insert(receipt);
    }
    for (tx_id, receipt) in seen {
        let included = first.get(tx_id.as_str()).copied();
        assert_eq!(
            included,
            Some(receipt),
            "tx {tx_id}: the client saw the receipt {receipt:?}; the chain up to {} has \
             {included:?}",
            chain.len()
        );
        for org in ORGS {
            let now = api.on(api.client(org).receipt(tx_id));
            assert!(
                matches!(&now, Ok(TxStatus::Applied(r)) if r == receipt),
                "tx {tx_id}: the client saw {receipt:?}; {org}'s node answers {now:?}"
            );
        }
    }
}

/// The successful txs of `body` in `chain`, and its failed ones other than a second copy of a
/// successful one (refused `duplicate_tx`, harmless by DESIGN §7.4): a failed duty tx is a
/// second tx for one duty, which the exactly-once scheme of DESIGN §7.6 rules out.
pub(super) fn duty_txs<'a>(
    chain: &'a [BlockView],
    body: &str,
) -> (BTreeSet<&'a str>, Vec<&'a Receipt>) {
    let receipts: Vec<&Receipt> = chain
        .iter()
        .flat_map(|b| &b.txs)
        .filter(|r| r.body == body)
        .collect();
    let ok: BTreeSet<&str> = receipts
        .iter()
        .filter(|r| r.is_ok())
        .map(|r| r.tx_id.as_str())
        .collect();
    let copy = |r: &Receipt| r.code == "duplicate_tx" && ok.contains(r.tx_id.as_str());
    let odd = receipts
        .iter()
        .copied()
        .filter(|r| !(r.is_ok() || copy(r)))
        .collect();
    (ok, odd)
}

/// Every record on the chain is accepted, with exactly one verdict; returns how many.
pub(super) fn check_verdicts(api: &Api, chain: &[BlockView]) -> usize {
    let records = api.all_records(SUPERVISOR);
    let (verdicts, odd) = duty_txs(chain, "attest_record");
    assert!(odd.is_empty(), "failed attest_record txs: {odd:?}");
    assert_eq!(
        verdicts.len(),
        records.len(),
        "{} records on the chain, {} successful verdicts",
        records.len(),
        verdicts.len()
    );
    let unaccepted: Vec<&RecordView> = records
        .iter()
        .filter(|r| r.status != RecordStatus::Accepted)
        .collect();
    assert!(
        unaccepted.is_empty(),
        "records not accepted: {unaccepted:?}"
    );
    records.len()
}

/// Every request on the chain (each was approved) was delivered exactly once, alike on every
/// node, and its requester opens and verifies the delivery; returns how many.
pub(super) fn check_deliveries(api: &Api, chain: &[BlockView]) -> usize {
    let top = chain.len() as u64;
    let requests = api.all_requests(SUPERVISOR, None);
    assert!(
        requests.len() as u64 >= MIN_REQUESTS,
        "only {} requests on the chain",
        requests.len()
    );
    let (deliveries, odd) = duty_txs(chain, "deliver");
    assert!(odd.is_empty(), "failed deliver txs: {odd:?}");
    let undelivered: Vec<&RequestView> = requests
        .iter()
        .filter(|r| r.status != RequestStatus::Delivered)
        .collect();
    assert!(
        undelivered.is_empty(),
        "requests not delivered (every request was approved): {undelivered:?}"
    );
    assert_eq!(
        deliveries.len(),
        requests.len(),
        "{} delivered requests, {} successful deliver txs",
        requests.len(),
        deliveries.len()
    );
    for view in &requests {
        let id = view.request_id;
        for org in ORGS {
            let detail = api
                .request(org, &id)
                .unwrap_or_else(|| panic!("{org}'s node does not show request {id}"));
            let delivery = detail
                .delivery
                .as_ref()
                .unwrap_or_else(|| panic!("{org}: request {id} has no delivery: {detail:?}"));
            assert!(
                deliveries.contains(delivery.tx_id.as_str()) && delivery.height <= top,
                "{org}: the delivery of {id} is no deliver tx of blocks 1..={top}: {delivery:?}"
            );
            let filter = AuditFilter {
                request: Some(id),
                to_height: Some(top),
                ..AuditFilter::default()
            };
            let trail = api
                .on(api.client(org).audit_all(&filter))
                .unwrap_or_else(|err| panic!("{org}: audit of {id}: {err}"));
            let delivered: Vec<_> = trail
                .iter()
                .filter(|e| e.kind == "request_delivered")
                .collect();
            assert!(
                delivered.len() == 1
                    && delivered[0].tx_id.as_deref() == Some(delivery.tx_id.as_str()),
                "{org}: request {id} must have exactly one request_delivered entry, that of {}: \
                 {trail:?}",
                delivery.tx_id
            );
        }
        let requester = view.requester.as_str();
        let fetched = api
            .on(api.client(requester).fetch(&id, Wait::No))
            .unwrap_or_else(|err| panic!("{requester} cannot open request {id}: {err}"));
        let opened = fetched.records.first();
        assert!(
            fetched.records.len() == 1
                && opened.is_some_and(|r| {
                    r.verified
                        && r.fields.keys().collect::<BTreeSet<_>>()
                            == view.fields.iter().collect::<BTreeSet<_>>()
                }),
            "{requester}: request {id} for {:?} opened as {fetched:?}",
            view.fields
        );
    }
    requests.len()
}
