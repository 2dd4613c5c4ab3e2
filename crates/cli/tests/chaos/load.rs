//! Part of `tests/chaos.rs`: the client load (records, batches, requests and approvals) and what it saw.

use super::*;

/// What a tracked tx does.
#[derive(Debug, Clone)]
pub(super) enum What {
    /// A record submitted through the provider's API.
    Record { record: RecordId, provider: String },
    /// A signed record in a batch to some node.
    Signed,
    /// A request created through the requester's API.
    Request { request: RequestId },
    /// An approval through the approver's API.
    Approve,
}

/// A tx the load submitted whose receipt it has not seen yet.
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) tx_id: String,
    pub(super) what: What,
    pub(super) node: &'static str,
    /// When it was submitted.
    pub(super) at: Instant,
    /// When it was submitted or last moved to the back of the queue.
    pub(super) since: Instant,
}

/// A request created on the chain and not yet seen approved.
pub(super) struct Open {
    pub(super) id: RequestId,
    pub(super) requester: &'static str,
    /// When it was seen created.
    pub(super) created: Instant,
    /// One request in two waits for the supervisor's approval and then holds back the
    /// provider's until the supervisor's node is down (or [`HOLD_LIMIT`] passed), so that it is
    /// approved while the supervisor cannot deliver it and is delivered after its restart.
    pub(super) held: bool,
    /// Held, approved by the supervisor, and its provider's approval held back.
    pub(super) ready: bool,
    pub(super) checked: Instant,
    /// When each approver's approval was last submitted.
    pub(super) sent: BTreeMap<String, Instant>,
}

#[derive(Debug, Default)]
pub(super) struct Stats {
    pub(super) api_records: u64,
    pub(super) signed_records: u64,
    pub(super) requests: u64,
    pub(super) approvals: u64,
    /// Submissions the node refused or could not take (down, restarting).
    pub(super) refused: u64,
    pub(super) approved_seen: u64,
    pub(super) anomalies: Vec<String>,
}

/// The client under load: submits, follows receipts and drives the workflows.
pub(super) struct Load {
    pub(super) api: Api,
    pub(super) rng: Rng,
    pub(super) started: Instant,
    pub(super) chain: Digest,
    pub(super) supervisor_keys: OrgKeys,
    pub(super) member_keys: Vec<(&'static str, OrgKeys)>,
    pub(super) pending: Vec<Pending>,
    /// Every receipt seen, by tx id: the first one seen.
    pub(super) seen: BTreeMap<String, Receipt>,
    /// Records applied and not yet asked for.
    pub(super) candidates: VecDeque<(RecordId, String)>,
    pub(super) open: Vec<Open>,
    pub(super) stats: Stats,
    pub(super) tick: u64,
    pub(super) shared: Shared,
}

/// What the load and the main thread share.
#[derive(Clone, Default)]
pub(super) struct Shared {
    /// Set by the main thread: the load stops.
    pub(super) stop: Arc<AtomicBool>,
    /// Set by the main thread while the supervisor's node is down.
    pub(super) supervisor_down: Arc<AtomicBool>,
    /// Requests the load saw created on the chain, and saw approved.
    pub(super) created: Arc<AtomicU64>,
    pub(super) approved: Arc<AtomicU64>,
    /// Held requests the supervisor approved whose provider waits for the supervisor to go
    /// down (see [`Open::held`]).
    pub(super) ready: Arc<AtomicU64>,
}

impl Load {
    pub(super) fn live_order(&mut self) -> Vec<&'static str> {
        let start = self.rng.below(ORGS.len() as u64) as usize;
        (0..ORGS.len())
            .map(|i| ORGS[(start + i) % ORGS.len()])
            .collect()
    }

    /// Starts the load on its own thread; it runs until `shared.stop` is set and returns what
    /// it saw.
    pub(super) fn spawn(
        dirs: &[(&'static str, PathBuf)],
        genesis: &Genesis,
        seed: u64,
        started: Instant,
        shared: &Shared,
    ) -> std::thread::JoinHandle<Load> {
        let dirs = dirs.to_vec();
        let chain = genesis.digest();
        let shared = shared.clone();
        std::thread::spawn(move || {
            let mut load = Load {
                api: Api::new(&dirs),
                rng: Rng(seed ^ 0x10ad),
                started,
                chain,
                supervisor_keys: read_keys(&dirs[0].1),
                member_keys: dirs[1..].iter().map(|(o, d)| (*o, read_keys(d))).collect(),
                pending: Vec::new(),
                seen: BTreeMap::new(),
                candidates: VecDeque::new(),
                open: Vec::new(),
                stats: Stats::default(),
                tick: 0,
                shared,
            };
            load.run();
            load
        })
    }

    pub(super) fn run(&mut self) {
        while !self.shared.stop.load(Ordering::Relaxed) {
            self.tick += 1;
            self.submit_record();
            if self.tick.is_multiple_of(5) {
                self.submit_signed_batch();
            }
            self.poll_pending(40);
            if self.tick.is_multiple_of(8) {
                self.create_request();
            }
            if self.tick.is_multiple_of(3) {
                self.advance_requests();
            }
            if self.tick.is_multiple_of(40) {
                eprintln!(
                    "chaos: [{:.1}s] load: {} receipts seen, {} pending, {} requests open; {:?}",
                    self.elapsed(),
                    self.seen.len(),
                    self.pending.len(),
                    self.open.len(),
                    self.stats
                );
            }
            std::thread::sleep(TICK);
        }
    }

    pub(super) fn track(&mut self, tx_id: String, what: What, node: &'static str) {
        self.pending.push(Pending {
            tx_id,
            what,
            node,
            at: Instant::now(),
            since: Instant::now(),
        });
    }

    pub(super) fn submit_record(&mut self) {
        let provider = self.rng.pick(&MEMBERS);
        let n = self.stats.api_records + self.stats.refused;
        let record = NewRecord {
            kind: "claim".into(),
            tags: vec!["chaos".into()],
            fields: Fields(vec![
                ("claim_no".into(), format!("CHAOS-{provider}-{n}").into()),
                ("amount".into(), (1000 + n).into()),
                ("insured_name".into(), format!("Insured {n}").into()),
            ]),
        };
        match self
            .api
            .on(self.api.client(provider).submit_record(&record, Wait::No))
        {
            Ok(tx) => {
                self.stats.api_records += 1;
                let what = What::Record {
                    record: tx.record_id,
                    provider: provider.to_string(),
                };
                self.track(tx.tx_id, what, provider);
            }
            Err(_) => self.stats.refused += 1,
        }
    }

    /// [`BATCH`] records signed here by one member, sent as one batch to a node of any
    /// organisation.
    pub(super) fn submit_signed_batch(&mut self) {
        let which = self.rng.below(self.member_keys.len() as u64) as usize;
        for node in self.live_order() {
            let (provider, keys) = &self.member_keys[which];
            let Some(height) = self.api.height(node) else {
                continue;
            };
            let txs: Vec<Tx> = (0..BATCH)
                .map(|i| {
                    let fields = [
                        (
                            "claim_no",
                            serde_json::json!(format!("SIGNED-{provider}-{i}")),
                        ),
                        ("amount", serde_json::json!(i)),
                    ];
                    submit_record(
                        &self.chain,
                        keys,
                        &self.supervisor_keys,
                        &fields,
                        height + 300,
                    )
                    .1
                })
                .collect();
            let batch = txs.encode().to_vec();
            match self.api.on(self.api.client(node).submit_txs(batch)) {
                Ok(accepted) => {
                    self.stats.signed_records += accepted.accepted.len() as u64;
                    self.stats.refused += accepted.rejected.len() as u64;
                    for tx_id in accepted.accepted {
                        self.track(tx_id, What::Signed, node);
                    }
                }
                Err(_) => self.stats.refused += BATCH,
            }
            return;
        }
    }

    /// Looks up the receipts of the oldest `limit` pending txs on a node that answers.
    pub(super) fn poll_pending(&mut self, limit: usize) {
        let mut done = Vec::new();
        for (i, pending) in self.pending.iter().enumerate().take(limit) {
            let mut nodes = vec![pending.node];
            nodes.extend(ORGS.iter().filter(|o| **o != pending.node));
            for node in nodes {
                match self.api.on(self.api.client(node).receipt(&pending.tx_id)) {
                    Ok(TxStatus::Applied(receipt)) => {
                        done.push((i, receipt));
                        break;
                    }
                    // Pending there, or unknown to it (not gossiped yet, or lost with a killed
                    // node's mempool): ask again later.
                    Ok(TxStatus::Pending { .. }) => break,
                    Err(err) if err.code() == Some("unknown_tx") => break,
                    // Down: ask another node.
                    Err(_) => continue,
                }
            }
        }
        for (i, receipt) in done.into_iter().rev() {
            let pending = self.pending.remove(i);
            self.saw(pending, receipt);
        }
        // Txs pending for long are probably lost with a killed node's mempool: to the back, so
        // they do not hold up the others (the end phase settles them).
        if let Some(front) = self.pending.first()
            && front.since.elapsed() > Duration::from_secs(20)
        {
            let stale = self.pending.remove(0);
            self.pending.push(Pending {
                since: Instant::now(),
                ..stale
            });
        }
    }

    pub(super) fn saw(&mut self, pending: Pending, receipt: Receipt) {
        assert_eq!(receipt.tx_id, pending.tx_id, "a receipt of another tx");
        if receipt.is_ok() {
            match &pending.what {
                What::Record { record, provider } => {
                    self.candidates.push_back((*record, provider.clone()));
                }
                What::Request { request } => {
                    let requester = pending.node;
                    self.shared.created.fetch_add(1, Ordering::Relaxed);
                    self.open.push(Open {
                        id: *request,
                        requester,
                        created: Instant::now(),
                        held: request.0[0] % 2 == 0,
                        ready: false,
                        checked: Instant::now(),
                        sent: BTreeMap::new(),
                    });
                }
                What::Signed | What::Approve => {}
            }
        } else if !matches!(pending.what, What::Approve) {
            // An approval may fail when the same approver's earlier one, resubmitted after it
            // seemed lost, applied first; no other tx of the load should fail.
            self.stats.anomalies.push(format!(
                "{:?} tx {} failed: {} {}",
                pending.what, receipt.tx_id, receipt.code, receipt.message
            ));
        }
        self.seen.entry(receipt.tx_id.clone()).or_insert(receipt);
    }

    /// A member asks for some fields of an accepted record of another member.
    pub(super) fn create_request(&mut self) {
        let Some((record, provider)) = self.candidates.pop_front() else {
            return;
        };
        let status = self
            .live_order()
            .into_iter()
            .find_map(|node| self.api.on(self.api.client(node).record(&record)).ok())
            .map(|view| view.status);
        match status {
            Some(RecordStatus::Accepted) => {}
            Some(RecordStatus::Rejected) => {
                self.stats
                    .anomalies
                    .push(format!("record {record} of {provider} was rejected"));
                return;
            }
            // Not attested yet, not applied on the node asked, or no node answered.
            _ => {
                self.candidates.push_back((record, provider));
                return;
            }
        }
        let others: Vec<&'static str> =
            MEMBERS.iter().copied().filter(|m| *m != provider).collect();
        let first = self.rng.below(2) as usize;
        let count = 1 + self.rng.below(FIELDS.len() as u64) as usize;
        let skip = self.rng.below(FIELDS.len() as u64) as usize;
        let fields: Vec<String> = FIELDS
            .iter()
            .cycle()
            .skip(skip)
            .take(count)
            .map(|f| f.to_string())
            .collect();
        let request = NewRequest {
            record_ids: vec![record],
            fields,
            purpose: format!("chaos check {}", self.stats.requests),
            ttl: None,
        };
        for requester in [others[first], others[1 - first]] {
            if let Ok(tx) = self.api.on(self
                .api
                .client(requester)
                .create_request(&request, Wait::No))
            {
                self.stats.requests += 1;
                let what = What::Request {
                    request: tx.request_id,
                };
                self.track(tx.tx_id, what, requester);
                return;
            }
            self.stats.refused += 1;
        }
        self.candidates.push_back((record, provider));
    }

    /// Each open request, at most once a second: the approvers still pending approve, each
    /// at a random later check, and again if their approval was not applied within 12 s.
    pub(super) fn advance_requests(&mut self) {
        let mut closed = Vec::new();
        for i in 0..self.open.len() {
            if self.open[i].checked.elapsed() < Duration::from_secs(1) {
                continue;
            }
            self.open[i].checked = Instant::now();
            let (id, requester) = (self.open[i].id, self.open[i].requester);
            let mut nodes = vec![requester];
            nodes.extend(self.live_order().into_iter().filter(|o| *o != requester));
            let Some(detail) = nodes.into_iter().find_map(|n| self.api.request(n, &id)) else {
                continue;
            };
            match detail.request.status {
                RequestStatus::Pending => {}
                RequestStatus::Approved | RequestStatus::Delivered => {
                    self.stats.approved_seen += 1;
                    self.shared.approved.fetch_add(1, Ordering::Relaxed);
                    closed.push(i);
                    continue;
                }
                other => {
                    self.stats
                        .anomalies
                        .push(format!("request {id} is {other}: {detail:?}"));
                    closed.push(i);
                    continue;
                }
            }
            let supervisor_approved = detail
                .decisions
                .iter()
                .any(|d| d.org == SUPERVISOR && d.decision == DecisionState::Approved);
            let hold = self.open[i].held
                && !(supervisor_approved
                    && (self.shared.supervisor_down.load(Ordering::Relaxed)
                        || self.open[i].created.elapsed() > HOLD_LIMIT));
            self.open[i].ready = hold && supervisor_approved;
            for decision in &detail.decisions {
                if (hold && decision.org != SUPERVISOR)
                    || decision.decision != DecisionState::Pending
                    || self.open[i]
                        .sent
                        .get(&decision.org)
                        .is_some_and(|at| at.elapsed() < Duration::from_secs(12))
                    || self.rng.below(2) == 0
                {
                    continue;
                }
                let Some(approver) = ORGS.iter().copied().find(|o| *o == decision.org) else {
                    continue;
                };
                let reason = format!("approved under chaos by {approver}");
                match self.api.on(self
                    .api
                    .client(approver)
                    .approve(&id, Some(&reason), Wait::No))
                {
                    Ok(tx) => {
                        self.stats.approvals += 1;
                        self.open[i]
                            .sent
                            .insert(decision.org.clone(), Instant::now());
                        self.track(tx.tx_id, What::Approve, approver);
                    }
                    Err(_) => self.stats.refused += 1,
                }
            }
        }
        for i in closed.into_iter().rev() {
            self.open.remove(i);
        }
        let ready = self.open.iter().filter(|o| o.ready).count();
        self.shared.ready.store(ready as u64, Ordering::Relaxed);
    }

    pub(super) fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}
