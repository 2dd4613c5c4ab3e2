//! Role workers (DESIGN §7): what a node does on its own for its organisation.
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
pub mod supervisor;

use crate::{AdmitError, Ledger, config::ApprovalPolicy, ledger::Executed};
use commonware_runtime::{Handle, Spawner};
use custodia_protocol::{Body, Digest, IdentityKey, OrgKeys, Role};
use custodia_state::{
    Code, EventKind, Queries, RecordFilter, RecordStatus, RequestFilter, RequestStatus, StateError,
};
use duty::Duty;
use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};
use tokio::sync::broadcast::error::RecvError;
use tracing::{debug, info, warn};

/// Reason of an automatic approval, as written on the chain.
const AUTO_APPROVAL_REASON: &str = "approved by the organisation's automatic policy";
/// Rows read per page when scanning the state for undone duties.
const SCAN_PAGE: u64 = 1024;

/// Starts the role workers of the organisation holding `keys` on a thread of their own (they
/// open and seal records).
pub fn start<E: Spawner>(
    context: E,
    ledger: Arc<Ledger>,
    keys: Arc<OrgKeys>,
    policy: ApprovalPolicy,
) -> Handle<()> {
    context
        .dedicated()
        .spawn(move |_| Worker::new(ledger, keys, policy).run())
}

/// A duty's tx awaiting finalization.
#[derive(Debug, Clone, Copy)]
struct Pending {
    /// The height the duty arose at (its windows count from there).
    anchor: u64,
    /// The tx submitted, if the mempool took it.
    tx_id: Option<Digest>,
    /// The last height it may be included at (0: submit again at the next block).
    valid_until: u64,
}

/// The duties in flight, by duty and by tx id (a block's receipts are matched by tx id).
#[derive(Default)]
struct InFlight {
    by_duty: BTreeMap<Duty, Pending>,
    by_tx: HashMap<Digest, Duty>,
}

impl InFlight {
    fn insert(&mut self, duty: Duty, pending: Pending) {
        self.remove(&duty);
        if let Some(tx_id) = pending.tx_id {
            self.by_tx.insert(tx_id, duty);
        }
        self.by_duty.insert(duty, pending);
    }

    fn remove(&mut self, duty: &Duty) {
        if let Some(Pending {
            tx_id: Some(tx_id), ..
        }) = self.by_duty.remove(duty)
        {
            self.by_tx.remove(&tx_id);
        }
    }

    fn duty_of(&self, tx_id: &Digest) -> Option<Duty> {
        self.by_tx.get(tx_id).copied()
    }

    /// The duties whose tx can no longer be included at `next` (or was never admitted), with
    /// their anchors.
    fn lapsed(&self, next: u64) -> Vec<(Duty, u64)> {
        self.by_duty
            .iter()
            .filter(|(_, pending)| pending.valid_until < next)
            .map(|(duty, pending)| (*duty, pending.anchor))
            .collect()
    }
}

struct Worker {
    ledger: Arc<Ledger>,
    keys: Arc<OrgKeys>,
    me: IdentityKey,
    supervisor: bool,
    auto_approve: bool,
    pending: InFlight,
}

impl Worker {
    fn new(ledger: Arc<Ledger>, keys: Arc<OrgKeys>, policy: ApprovalPolicy) -> Self {
        let me = keys.identity_key();
        let supervisor = ledger
            .genesis()
            .org(&me)
            .is_some_and(|org| org.role == Role::Supervisor);
        Self {
            ledger,
            keys,
            me,
            supervisor,
            auto_approve: policy == ApprovalPolicy::Auto,
            pending: InFlight::default(),
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
            Ok(duties) => {
                if !duties.is_empty() {
                    info!(duties = duties.len(), "role workers found undone duties");
                }
                self.perform(duties);
            }
            Err(err) => {
                warn!(%err, "role workers cannot scan the state; retrying at the next block")
            }
        }
    }

    fn undone(&self, queries: &Queries<'_>) -> Result<Vec<(Duty, u64)>, StateError> {
        let mut duties = Vec::new();
        if self.supervisor {
            for_each_page(
                |offset| {
                    queries.records(&RecordFilter {
                        status: Some(RecordStatus::Submitted),
                        offset,
                        limit: SCAN_PAGE,
                        ..Default::default()
                    })
                },
                |row| duties.push((Duty::Attest(row.record_id), row.submitted_height)),
            )?;
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
        if self.auto_approve {
            for_each_page(
                |offset| {
                    queries.requests(&RequestFilter {
                        status: Some(RequestStatus::Pending),
                        party: Some(self.me.clone()),
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
        for receipt in &executed.receipts {
            if let Some(duty) = self.pending.duty_of(&receipt.tx_id) {
                self.pending.remove(&duty);
                if receipt.is_ok() {
                    debug!(%duty, height = executed.height, "duty finalized");
                } else {
                    warn!(
                        %duty,
                        code = %receipt.code,
                        message = %receipt.message,
                        "the chain refused the duty's transaction; it is not retried until restart"
                    );
                }
            }
        }
        let mut new = Vec::new();
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
                    }
                }
                EventKind::RequestDelivered => {
                    if let Some(id) = request {
                        self.pending.remove(&Duty::Deliver(id));
                    }
                }
                EventKind::DecisionApproved | EventKind::DecisionRejected
                    if event.actor.as_ref() == Some(&self.me) =>
                {
                    if let Some(id) = request {
                        self.pending.remove(&Duty::Decide(id));
                    }
                }
                EventKind::RequestRejected
                | EventKind::RequestExpired
                | EventKind::RequestCancelled => {
                    if let Some(id) = request {
                        self.pending.remove(&Duty::Decide(id));
                        self.pending.remove(&Duty::Deliver(id));
                    }
                }
                _ => {}
            }
        }
        let next = executed.height + 1;
        new.extend(self.pending.lapsed(next));
        self.perform(new);
    }

    /// Builds, signs and submits the tx of each duty still undone in the state.
    fn perform(&mut self, duties: Vec<(Duty, u64)>) {
        if duties.is_empty() {
            return;
        }
        let chain = self.ledger.chain();
        let params = *self.ledger.params();
        let window = duty::window_blocks(&params);
        let next = self.ledger.head().height + 1;
        let built = self.ledger.query(|queries| {
            let mut built = Vec::with_capacity(duties.len());
            for (duty, anchor) in duties {
                let valid_until = duty::valid_until(anchor, next, window);
                let body = self.body(queries, &duty, valid_until)?;
                built.push((duty, anchor, valid_until, body));
            }
            Ok(built)
        });
        let built = match built {
            Ok(built) => built,
            Err(err) => {
                warn!(%err, "role workers cannot read the state; retrying at the next block");
                return;
            }
        };
        for (duty, anchor, valid_until, body) in built {
            let Some(body) = body else {
                // Done already, or no longer owed (cancelled, decided, not a party).
                self.pending.remove(&duty);
                continue;
            };
            let tx = duty::sign(&self.keys, chain, &duty, valid_until, body);
            let tx_id = tx.id();
            match self.ledger.submit(tx) {
                Ok(_) | Err(AdmitError::Duplicate(_)) => {
                    info!(%duty, valid_until, tx = %hex::encode(tx_id), "duty submitted");
                    self.pending.insert(
                        duty,
                        Pending {
                            anchor,
                            tx_id: Some(tx_id),
                            valid_until,
                        },
                    );
                }
                Err(AdmitError::Rejected(rejection)) if rejection.code == Code::DuplicateTx => {
                    // This window's tx is on the chain already (seen before a restart).
                    self.pending.remove(&duty);
                }
                Err(err @ (AdmitError::Full { .. } | AdmitError::Unavailable(_))) => {
                    warn!(%duty, %err, "duty not admitted; retrying at the next block");
                    self.pending.insert(
                        duty,
                        Pending {
                            anchor,
                            tx_id: None,
                            valid_until: 0,
                        },
                    );
                }
                Err(err) => {
                    warn!(%duty, %err, "duty refused by admission; dropped");
                    self.pending.remove(&duty);
                }
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
            Duty::Attest(record_id) => supervisor::attestation(
                &chain,
                &self.keys,
                self.ledger.params(),
                queries,
                record_id,
            ),
            Duty::Deliver(request_id) => {
                match supervisor::delivery(&chain, &self.keys, queries, request_id, valid_until) {
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
                        .any(|d| d.org == self.me && d.approved.is_none());
                Ok(awaiting_me.then(|| Body::Decide {
                    request_id: *request_id,
                    approve: true,
                    reason: AUTO_APPROVAL_REASON.into(),
                }))
            }
        }
    }
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
