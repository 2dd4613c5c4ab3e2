//! Part of `tests/chaos.rs`: the end phase, once every node is up again.

use super::*;

/// Settles the txs the load left pending: each is applied by now (its receipt joins `seen`)
/// or unknown to every node (it was only in the mempool of a node killed before it passed it
/// on); returns how many were lost so.
pub(super) fn settle_pending(
    api: &Api,
    pending: &[Pending],
    seen: &mut BTreeMap<String, Receipt>,
    started: Instant,
) -> usize {
    let mut lost = Vec::new();
    for tx in pending {
        let deadline = Instant::now() + SETTLE_LIMIT;
        loop {
            let status: Vec<_> = ORGS
                .iter()
                .map(|org| (*org, api.on(api.client(org).receipt(&tx.tx_id))))
                .collect();
            let applied = status.iter().find_map(|(_, s)| match s {
                Ok(TxStatus::Applied(receipt)) => Some(receipt.clone()),
                _ => None,
            });
            if let Some(receipt) = applied {
                seen.entry(tx.tx_id.clone()).or_insert(receipt);
                break;
            }
            if status.iter().all(|(_, s)| is_unknown(s)) {
                lost.push(format!(
                    "{} ({:?}) submitted to {} at {:.1}s",
                    tx.tx_id,
                    tx.what,
                    tx.node,
                    tx.at.duration_since(started).as_secs_f64()
                ));
                break;
            }
            assert!(
                Instant::now() < deadline,
                "tx {} ({:?}) is neither applied nor gone after {SETTLE_LIMIT:?}: {status:?}",
                tx.tx_id,
                tx.what
            );
            std::thread::sleep(ms(250));
        }
    }
    eprintln!(
        "chaos: {} txs the client never saw a receipt of (taken by a node killed before it \
         passed them on): {lost:?}",
        lost.len()
    );
    lost.len()
}

/// Every request still pending: each approver still undecided approves now, waiting for the
/// receipt (which joins `seen`).
pub(super) fn approve_the_rest(api: &Api, seen: &mut BTreeMap<String, Receipt>) {
    let deadline = Instant::now() + SETTLE_LIMIT;
    loop {
        let pending = api.all_requests(SUPERVISOR, Some(RequestStatus::Pending));
        if pending.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "requests still pending after {SETTLE_LIMIT:?} of approvals: {pending:?}"
        );
        for view in pending {
            let Some(detail) = api.request(SUPERVISOR, &view.request_id) else {
                continue;
            };
            for decision in detail.decisions {
                if decision.decision != DecisionState::Pending {
                    continue;
                }
                let approve = api.client(&decision.org).approve(
                    &view.request_id,
                    Some("approved after the chaos"),
                    Wait::Finalized(Duration::from_secs(60)),
                );
                match api.on(approve) {
                    Ok(tx) => {
                        let receipt = tx.receipt.expect("a waited approval has its receipt");
                        seen.entry(receipt.tx_id.clone()).or_insert(receipt);
                    }
                    Err(err) => eprintln!(
                        "chaos: {} approving {} again later: {err}",
                        decision.org, view.request_id
                    ),
                }
            }
        }
        std::thread::sleep(ms(250));
    }
}

/// Waits until no node has a record without a verdict or an approved request undelivered.
pub(super) fn wait_for_verdicts_and_deliveries(api: &Api) {
    let undone = |org: &str| {
        let records = api
            .all_records(org)
            .iter()
            .filter(|r| r.status == RecordStatus::Submitted)
            .count();
        let requests = api.all_requests(org, Some(RequestStatus::Approved)).len();
        (records, requests)
    };
    wait_until(
        SETTLE_LIMIT,
        || {
            let undone: Vec<String> = ORGS
                .iter()
                .map(|org| {
                    let (records, requests) = undone(org);
                    format!(
                        "{org}: {records} records without a verdict, {requests} approved \
                         requests undelivered"
                    )
                })
                .collect();
            undone.join("; ")
        },
        || ORGS.iter().all(|org| undone(org) == (0, 0)),
    );
}
