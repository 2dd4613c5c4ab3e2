//! Role workers (DESIGN §7.6): what a node does on its own for its organisation.
//!
//! - The supervisor's node opens and checks every submitted record and records its verdict
//!   (`AttestRecord`), and builds, seals and delivers every approved request (`Deliver`).
//! - Any node with the `auto` approval policy approves the requests awaiting its decision.
//!
//! The worker follows the ledger's feed of executed blocks: events create duties
//! (`record_submitted`, `request_approved`, `request_created`) and end them; at start, and after
//! missing part of the feed, it scans the state for duties left undone. Each duty's tx is the same
//! bytes however often it is made within a validity window ([`duty`]), so a crash between
//! submitting and finalizing never puts a duty on the chain twice.

pub mod duty;
mod flight;
mod redo;
pub mod supervisor;

use crate::{AdmitError, Keyring, Ledger, config::ApprovalPolicy, ledger::Executed};
use commonware_runtime::{Handle, Spawner};
use custodia_protocol::{Body, Digest, OrgId, Role, tx::TxError};
use custodia_state::{Code, EventKind, Queries, RequestFilter, RequestStatus, StateError};
use duty::Duty;
use flight::{InFlight, Pending, parallel_map};
use redo::{Redo, waits_for_reinstatement};
use std::{
    collections::{HashSet, VecDeque},
    sync::Arc,
};
use tokio::sync::broadcast::error::RecvError;
use tracing::{debug, info, warn};

/// Reason of an automatic approval, as written on the chain.
const AUTO_APPROVAL_REASON: &str = "approved by the organisation's automatic policy";
/// Rows read per page when scanning the state for undone duties.
const SCAN_PAGE: u64 = 1024;
/// Duties read, opened, signed and submitted together (bounds the records held in memory).
const PERFORM_CHUNK: usize = 1024;
/// Most duty txs waiting for a block at once (a few blocks' worth under load).
const MAX_IN_FLIGHT: usize = 16_384;

/// Starts the role workers of the organisation holding `keys` on a thread of their own (they
/// open and seal records).
pub fn start<E: Spawner>(
    context: E,
    ledger: Arc<Ledger>,
    keys: Arc<Keyring>,
    policy: ApprovalPolicy,
) -> Handle<()> {
    context
        .dedicated()
        .spawn(move |_| Worker::new(ledger, keys, policy).run())
}

struct Worker {
    ledger: Arc<Ledger>,
    keys: Arc<Keyring>,
    /// This organisation's stable id, once the state knows it.
    org: Option<OrgId>,
    supervisor: bool,
    auto_approve: bool,
    pending: InFlight,
    /// Duties found but not yet made: at most [`MAX_IN_FLIGHT`] duty txs wait for a block at
    /// once, so a backlog of records does not flood the mempool (and memory) with verdicts
    /// the chain takes minutes to include, and the worker keeps up with the feed.
    backlog: VecDeque<(Duty, u64)>,
    in_backlog: HashSet<Duty>,
    /// Duties whose tx failed on the chain, and deliveries waiting for a reinstatement.
    redo: Redo,
}

impl Worker {
    fn new(ledger: Arc<Ledger>, keys: Arc<Keyring>, policy: ApprovalPolicy) -> Self {
        let (org, supervisor) = whoami(&ledger, &keys);
        Self {
            ledger,
            keys,
            org,
            supervisor,
            auto_approve: policy == ApprovalPolicy::Auto,
            pending: InFlight::default(),
            backlog: VecDeque::new(),
            in_backlog: HashSet::new(),
            redo: Redo::default(),
        }
    }

    /// Looks this organisation up again while the state does not know it: a node of an
    /// organisation admitted after the genesis starts before its admission is applied
    /// (DESIGN §7.6). Once found, the duties it already has are looked for.
    fn find_myself(&mut self) {
        if self.org.is_some() {
            return;
        }
        let (org, supervisor) = whoami(&self.ledger, &self.keys);
        if org.is_some() {
            info!(
                ?org,
                "this organisation is on the chain now: its role workers take up its duties"
            );
            self.org = org;
            self.supervisor = supervisor;
            self.scan();
        }
    }

    async fn run(mut self) {
        // Subscribe before scanning, so no block falls between the scan and the feed.
        let mut feed = self.ledger.subscribe();
        self.scan();
        loop {
            match feed.recv().await {
                Ok(executed) => self.on_block(&executed),
                Err(RecvError::Lagged(missed)) => {
                    warn!(
                        missed,
                        "role workers fell behind the executed blocks; rescanning"
                    );
                    self.scan();
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    /// Finds every duty left undone in the state and performs it.
    fn scan(&mut self) {
        let found = self.ledger.query(|queries| self.undone(queries));
        match found {
            Ok(mut duties) => {
                // Duties whose tx waits for a block already need nothing (a lapsed one is
                // redone at the next block).
                let next = self.ledger.head().height + 1;
                duties.retain(|(duty, _)| {
                    !self.pending.awaits_block(duty, next) && !self.in_backlog.contains(duty)
                });
                if !duties.is_empty() {
                    info!(duties = duties.len(), "role workers found undone duties");
                }
                self.perform(duties);
                self.report();
            }
            Err(err) => {
                warn!(%err, "role workers cannot scan the state; retrying at the next block")
            }
        }
    }

    fn undone(&self, queries: &Queries<'_>) -> Result<Vec<(Duty, u64)>, StateError> {
        let mut duties = Vec::new();
        if self.supervisor {
            // One pass over an index, not pages: under load this backlog can be 100,000 long.
            duties.extend(
                queries
                    .records_awaiting_verdict()?
                    .into_iter()
                    .map(|(id, height)| (Duty::Attest(id), height)),
            );
            for_each_page(
                |offset| {
                    queries.requests(&RequestFilter {
                        status: Some(RequestStatus::Approved),
                        offset,
                        limit: SCAN_PAGE,
                        ..Default::default()
                    })
                },
                |row| duties.push((Duty::Deliver(row.request_id), row.status_height)),
            )?;
        }
        if self.auto_approve
            && let Some(org) = self.org
        {
            for_each_page(
                |offset| {
                    queries.requests(&RequestFilter {
                        status: Some(RequestStatus::Pending),
                        party: Some(org),
                        offset,
                        limit: SCAN_PAGE,
                    })
                },
                |row| duties.push((Duty::Decide(row.request_id), row.created_height)),
            )?;
        }
        Ok(duties)
    }

    /// Follows one executed block: ends the duties it completed, takes on the ones it created,
    /// and redoes the ones whose tx can no longer be included.
    fn on_block(&mut self, executed: &Executed) {
        self.find_myself();
        let mut new = Vec::new();
        for receipt in &executed.receipts {
            let Some(duty) = self.pending.duty_of(&receipt.tx_id) else {
                continue;
            };
            let Some(pending) = self.pending.get(&duty) else {
                continue;
            };
            self.pending.remove(&duty);
            if receipt.is_ok() {
                debug!(%duty, height = executed.height, "duty finalized");
                continue;
            }
            // A later window's tx, since this one is spent (DESIGN §7.6).
            self.redo.failed(duty, pending.valid_until);
            if waits_for_reinstatement(&receipt.code) {
                info!(
                    %duty,
                    message = %receipt.message,
                    "the requester is suspended; the delivery waits for its reinstatement"
                );
                self.redo.park(duty, pending.anchor);
            } else {
                warn!(
                    %duty,
                    code = %receipt.code,
                    message = %receipt.message,
                    "the chain refused the duty's transaction; making it again in the next window"
                );
                new.push((duty, pending.anchor));
            }
        }
        for event in &executed.events {
            let record = event.record_id;
            let request = event.request_id;
            match event.kind {
                EventKind::RecordSubmitted if self.supervisor => {
                    new.extend(record.map(|id| (Duty::Attest(id), event.height)));
                }
                EventKind::RequestApproved if self.supervisor => {
                    new.extend(request.map(|id| (Duty::Deliver(id), event.height)));
                }
                EventKind::RequestCreated if self.auto_approve => {
                    new.extend(request.map(|id| (Duty::Decide(id), event.height)));
                }
                EventKind::RecordAccepted | EventKind::RecordRejected => {
                    if let Some(id) = record {
                        self.pending.remove(&Duty::Attest(id));
                        self.redo.forget(&Duty::Attest(id));
                    }
                }
                EventKind::RequestDelivered => {
                    if let Some(id) = request {
                        self.pending.remove(&Duty::Deliver(id));
                        self.redo.forget(&Duty::Deliver(id));
                    }
                }
                EventKind::OrgReinstated if self.supervisor && self.redo.parked() > 0 => {
                    info!(
                        deliveries = self.redo.parked(),
                        "an organisation was reinstated; resuming the deliveries waiting"
                    );
                    new.extend(self.redo.reinstated());
                }
                EventKind::DecisionApproved | EventKind::DecisionRejected
                    if event.actor.is_some() && event.actor == self.org =>
                {
                    if let Some(id) = request {
                        self.pending.remove(&Duty::Decide(id));
                    }
                }
                EventKind::RequestRejected
                | EventKind::RequestExpired
                | EventKind::RequestCancelled => {
                    if let Some(id) = request {
                        for duty in [Duty::Decide(id), Duty::Deliver(id)] {
                            self.pending.remove(&duty);
                            self.redo.forget(&duty);
                        }
                    }
                }
                _ => {}
            }
        }
        let next = executed.height + 1;
        new.extend(self.pending.lapsed(next));
        self.perform(new);
        self.perform_backlog();
        self.report();
    }

    /// Shows the duties in flight and in the backlog in the node's metrics.
    fn report(&self) {
        if let Some(metrics) = self.ledger.metrics() {
            metrics.set_worker(self.pending.len(), self.backlog.len(), self.redo.parked());
        }
    }

    /// Builds, signs and submits the tx of each duty still undone in the state, a bounded
    /// number at a time (a rescan under load can find a hundred thousand records to open);
    /// duties beyond [`MAX_IN_FLIGHT`] wait in the backlog.
    fn perform(&mut self, duties: Vec<(Duty, u64)>) {
        let mut now = Vec::new();
        for (duty, anchor) in duties {
            // Redoing a duty in flight (a lapsed one) takes no more room.
            // Only verdicts come in bulk; deliveries and decisions are made at once.
            let bulk = matches!(duty, Duty::Attest(_));
            let room = self.pending.len() + now.len() < MAX_IN_FLIGHT;
            if !bulk || room || self.pending.contains(&duty) {
                now.push((duty, anchor));
            } else if self.in_backlog.insert(duty) {
                self.backlog.push_back((duty, anchor));
            }
        }
        let mut now = now.into_iter().peekable();
        while now.peek().is_some() {
            let chunk: Vec<(Duty, u64)> = now.by_ref().take(PERFORM_CHUNK).collect();
            self.perform_chunk(chunk);
        }
    }

    /// Makes duties of the backlog while there is room for them.
    fn perform_backlog(&mut self) {
        let room = MAX_IN_FLIGHT.saturating_sub(self.pending.len());
        let take = room.min(self.backlog.len());
        if take == 0 {
            return;
        }
        let duties: Vec<(Duty, u64)> = self.backlog.drain(..take).collect();
        for (duty, _) in &duties {
            self.in_backlog.remove(duty);
        }
        self.perform(duties);
    }

    fn perform_chunk(&mut self, duties: Vec<(Duty, u64)>) {
        let chain = self.ledger.chain();
        let params = *self.ledger.params();
        let window = duty::window_blocks(&params);
        let next = self.ledger.head().height + 1;
        // Read what each duty needs; opening records waits until the state is released.
        let read = self.ledger.query(|queries| {
            let mut read = Vec::with_capacity(duties.len());
            for (duty, anchor) in duties {
                let valid_until = duty::valid_until(anchor, self.redo.from(&duty, next), window);
                let work = match duty {
                    Duty::Attest(record_id) => supervisor::submitted(queries, &record_id)?
                        .map(|r| Work::Attest(Box::new(r))),
                    _ => self
                        .body(queries, &duty, valid_until)?
                        .map(|body| Work::Ready(Box::new(body))),
                };
                read.push((duty, anchor, valid_until, work));
            }
            Ok(read)
        });
        let read = match read {
            Ok(read) => read,
            Err(err) => {
                warn!(%err, "role workers cannot read the state; retrying at the next block");
                return;
            }
        };
        // Open, check and sign on every core: the supervisor opens every record submitted.
        let keys = self.keys.current();
        let keys = &*keys;
        let signed = parallel_map(read, |(duty, anchor, valid_until, work)| {
            let tx = work.and_then(|work| {
                let body = match work {
                    Work::Attest(record) => {
                        supervisor::attestation(&chain, keys, &params, &record)?
                    }
                    Work::Ready(body) => *body,
                };
                Some(duty::sign(keys, chain, &duty, valid_until, body))
            });
            (duty, anchor, valid_until, tx)
        });
        let mut owed = Vec::with_capacity(signed.len());
        let mut txs = Vec::with_capacity(signed.len());
        for (duty, anchor, valid_until, tx) in signed {
            match tx {
                // Done already, or no longer owed (cancelled, decided, not a party).
                None => self.pending.remove(&duty),
                Some(tx) => {
                    owed.push((duty, anchor, valid_until, tx.id()));
                    txs.push(tx);
                }
            }
        }
        let outcomes = self.ledger.submit_own(txs);
        let mut submitted = 0;
        for ((duty, anchor, valid_until, tx_id), outcome) in owed.into_iter().zip(outcomes) {
            submitted += usize::from(self.settle(duty, anchor, valid_until, tx_id, outcome));
        }
        if submitted > 0 {
            info!(submitted, next, "role workers submitted duty transactions");
        }
    }

    /// Follows up on the admission of a duty's tx; returns whether the tx is now pending.
    fn settle(
        &mut self,
        duty: Duty,
        anchor: u64,
        valid_until: u64,
        tx_id: Digest,
        admitted: Result<Digest, AdmitError>,
    ) -> bool {
        let retry = Pending {
            anchor,
            tx_id: None,
            valid_until: 0,
        };
        match admitted {
            Ok(_) | Err(AdmitError::Duplicate(_)) => {
                debug!(%duty, valid_until, tx = %hex::encode(tx_id), "duty submitted");
                let pending = Pending {
                    anchor,
                    tx_id: Some(tx_id),
                    valid_until,
                };
                self.pending.insert(duty, pending);
                true
            }
            Err(AdmitError::Rejected(rejection)) if rejection.code == Code::DuplicateTx => {
                // This window's tx is on the chain already (seen before a restart): the duty is
                // done if it succeeded, else made again in a later window.
                self.pending.remove(&duty);
                match self.ledger.query(|queries| Ok(queries.receipt(&tx_id)?)) {
                    Ok(Some(receipt)) if !receipt.is_ok() => {
                        self.redo.failed(duty, valid_until);
                        if waits_for_reinstatement(&receipt.code) {
                            self.redo.park(duty, anchor);
                        } else {
                            self.pending.insert(duty, retry);
                        }
                    }
                    Ok(_) => {}
                    Err(err) => {
                        warn!(%duty, %err, "cannot read the duty's receipt; retrying at the next block");
                        self.pending.insert(duty, retry);
                    }
                }
                false
            }
            Err(AdmitError::Rejected(rejection))
                if waits_for_reinstatement(rejection.code.as_str()) =>
            {
                info!(%duty, %rejection, "the requester is suspended; the delivery waits for its reinstatement");
                self.pending.remove(&duty);
                self.redo.park(duty, anchor);
                false
            }
            Err(
                err @ (AdmitError::Full { .. }
                | AdmitError::ShareFull { .. }
                | AdmitError::Unavailable(_)),
            ) => {
                warn!(%duty, %err, "duty not admitted; retrying at the next block");
                self.pending.insert(duty, retry);
                false
            }
            Err(AdmitError::Invalid(TxError::OutsideWindow {
                valid_until,
                height,
                ..
            })) if valid_until < height => {
                // The chain passed the window's end while the tx was being made: no tx of
                // this window can be included any more, so the next window's is made.
                debug!(%duty, valid_until, height, "duty window passed; retrying in the next");
                self.pending.insert(duty, retry);
                false
            }
            Err(err) => {
                warn!(%duty, %err, "duty refused by admission; dropped");
                self.pending.remove(&duty);
                false
            }
        }
    }

    /// The body of `duty`'s tx, or `None` when the state shows it is not owed.
    fn body(
        &self,
        queries: &Queries<'_>,
        duty: &Duty,
        valid_until: u64,
    ) -> Result<Option<Body>, StateError> {
        let chain = self.ledger.chain();
        match duty {
            Duty::Attest(record_id) => Ok(supervisor::submitted(queries, record_id)?.and_then(
                |record| {
                    supervisor::attestation(
                        &chain,
                        &self.keys.current(),
                        self.ledger.params(),
                        &record,
                    )
                },
            )),
            Duty::Deliver(request_id) => {
                let keys = self.keys.current();
                match supervisor::delivery(&chain, &keys, queries, request_id, valid_until) {
                    Ok(body) => Ok(body),
                    Err(supervisor::DeliverError::State(err)) => Err(err),
                    Err(err) => {
                        warn!(%duty, %err, "cannot deliver; the request stays approved");
                        Ok(None)
                    }
                }
            }
            Duty::Decide(request_id) => {
                let Some(request) = queries.request(request_id)? else {
                    return Ok(None);
                };
                let awaiting_me = request.status == RequestStatus::Pending
                    && queries
                        .decisions(request_id)?
                        .iter()
                        .any(|d| Some(d.org) == self.org && d.approved.is_none());
                Ok(awaiting_me.then(|| Body::Decide {
                    request_id: *request_id,
                    approve: true,
                    reason: AUTO_APPROVAL_REASON.into(),
                }))
            }
        }
    }
}

/// What a duty's tx is made from.
enum Work {
    /// A record to open and judge.
    Attest(Box<supervisor::Submitted>),
    /// The body, ready.
    Ready(Box<Body>),
}

/// Calls `each` on every row of a paged query.
fn for_each_page<T, E: Into<StateError>>(
    mut page: impl FnMut(u64) -> Result<Vec<T>, E>,
    mut each: impl FnMut(T),
) -> Result<(), StateError> {
    let mut offset = 0;
    loop {
        let rows = page(offset).map_err(Into::into)?;
        let count = rows.len() as u64;
        rows.into_iter().for_each(&mut each);
        if count < SCAN_PAGE {
            return Ok(());
        }
        offset += count;
    }
}

/// This organisation's id and whether it is the supervisor, as the state has them (`None`
/// while it is not an organisation of the chain). Roles and ids never change (DESIGN §4.4,
/// §4.5).
fn whoami(ledger: &Ledger, keys: &Keyring) -> (Option<OrgId>, bool) {
    let me = keys.current().identity_key();
    ledger
        .query(|queries| Ok(queries.orgs()?))
        .map(|orgs| {
            let mine = orgs.iter().find(|org| org.identity_key == me);
            (
                mine.map(|org| org.id),
                mine.is_some_and(|org| org.role == Role::Supervisor),
            )
        })
        .unwrap_or_else(|err| {
            warn!(%err, "cannot read the organisations; taking the genesis's roles");
            let position = ledger
                .genesis()
                .orgs
                .iter()
                .position(|o| o.identity_key == me);
            (
                position.map(|p| OrgId(p as u32)),
                ledger
                    .genesis()
                    .org(&me)
                    .is_some_and(|org| org.role == Role::Supervisor),
            )
        })
}

#[cfg(test)]
mod tests;
