//! The node's own Prometheus metrics, registered in the runtime's registry beside commonware's
//! (`/metrics` serves them all).

use crate::vote_gate::VoteGate;
use commonware_runtime::{
    Metrics,
    telemetry::metrics::{
        Counter, CounterFamily, Gauge, GaugeExt as _, Histogram, MetricsExt as _,
    },
};

/// Finalization latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0,
];

/// Metrics the executor and the API update.
#[derive(Clone)]
pub struct NodeMetrics {
    /// Height of the last applied block.
    pub applied_height: Gauge,
    /// Highest finalized height marshal reported.
    pub finalized_height: Gauge,
    /// Txs in applied blocks (succeeded or failed).
    pub finalized_txs: Counter,
    /// Failed receipts, by code.
    pub failed_receipts: CounterFamily<Vec<(String, String)>>,
    /// Txs in the mempool.
    pub mempool_txs: Gauge,
    /// Encoded bytes of the txs in the mempool.
    pub mempool_bytes: Gauge,
    /// The mempool's bound on txs.
    pub mempool_max_txs: Gauge,
    /// The mempool's bound on bytes.
    pub mempool_max_bytes: Gauge,
    /// Txs the mempool refused, by code (`mempool_full`, a rule's code, ...).
    pub admission_refused: CounterFamily<Vec<(String, String)>>,
    /// Seconds from a block's timestamp to its application here.
    pub finalization_latency: Histogram,
    /// Failed attempts to apply a finalized block (a gap or a SQLite error is retried).
    pub apply_errors: Counter,
    /// 1 once the executor halted on a block it cannot apply (the node then stops).
    pub executor_halted: Gauge,
    /// 1 while the node signs no vote because it lost its consensus journal (DESIGN §3.6).
    pub vote_gate_closed: Gauge,
    /// Peers connected over p2p (set when the metrics are read).
    pub peers_connected: Gauge,
    /// Validators that must vote for a block to be finalized (2f+1 of n).
    pub quorum: Gauge,
    /// The consensus epoch whose engine runs (DESIGN §3.2).
    pub epoch: Gauge,
    /// The role workers' duty txs waiting for a block.
    pub worker_in_flight: Gauge,
    /// The role workers' duties found but not yet started (at most 16,384 are in flight).
    pub worker_backlog: Gauge,
    /// The supervisor's deliveries waiting for their requester's reinstatement.
    pub worker_waiting_reinstatement: Gauge,
    /// Txs of a peer's gossip examined by admission, by peer.
    pub gossip_txs: CounterFamily<Vec<(String, String)>>,
    /// A peer's gossip messages dropped unexamined (over its budget, or once it was blocked).
    pub gossip_dropped: CounterFamily<Vec<(String, String)>>,
    /// Peers blocked for gossip no honest node sends, by peer and fault.
    pub gossip_blocked: CounterFamily<Vec<(String, String)>>,
}

impl NodeMetrics {
    /// Registers the metrics under `context`.
    pub fn register(context: &impl Metrics) -> Self {
        Self {
            applied_height: context.gauge("applied_height", "Height of the last applied block"),
            finalized_height: context.gauge(
                "finalized_height",
                "Highest finalized height known to marshal",
            ),
            finalized_txs: context.counter(
                "finalized_txs",
                "Transactions in applied blocks, succeeded or failed",
            ),
            failed_receipts: context.family("failed_receipts", "Failed receipts by code"),
            mempool_txs: context.gauge("mempool_txs", "Transactions waiting in the mempool"),
            mempool_bytes: context.gauge(
                "mempool_bytes",
                "Encoded bytes of the transactions in the mempool",
            ),
            mempool_max_txs: context
                .gauge("mempool_max_txs", "The mempool's bound on transactions"),
            mempool_max_bytes: context.gauge("mempool_max_bytes", "The mempool's bound on bytes"),
            admission_refused: context.family(
                "admission_refused",
                "Transactions the mempool refused, by code",
            ),
            finalization_latency: context.histogram(
                "finalization_latency_seconds",
                "Seconds from a block's proposal timestamp to its application on this node",
                LATENCY_BUCKETS,
            ),
            apply_errors: context.counter(
                "apply_errors",
                "Failed attempts to apply a finalized block (a gap or a SQLite error is retried)",
            ),
            executor_halted: context.gauge(
                "executor_halted",
                "1 once the executor halted on a block it cannot apply (the node then stops)",
            ),
            vote_gate_closed: context.gauge(
                "vote_gate_closed",
                "1 while the node signs no vote because it lost its consensus journal",
            ),
            peers_connected: context.gauge("peers_connected", "Peers connected over p2p"),
            quorum: context.gauge(
                "quorum",
                "Validators that must vote for a block to be finalized (2f+1 of n)",
            ),
            epoch: context.gauge("epoch", "The consensus epoch whose engine runs"),
            worker_in_flight: context.gauge(
                "worker_in_flight",
                "The role workers' duty transactions waiting for a block",
            ),
            worker_backlog: context.gauge(
                "worker_backlog",
                "The role workers' duties found but not yet started",
            ),
            worker_waiting_reinstatement: context.gauge(
                "worker_waiting_reinstatement",
                "The supervisor's deliveries waiting for their requester's reinstatement",
            ),
            gossip_txs: context.family(
                "gossip_txs",
                "Transactions of a peer's gossip examined by admission, by peer",
            ),
            gossip_dropped: context.family(
                "gossip_dropped",
                "A peer's gossip messages dropped unexamined (over its budget, or blocked)",
            ),
            gossip_blocked: context.family(
                "gossip_blocked",
                "Peers blocked for gossip no honest node sends, by peer and fault",
            ),
        }
    }

    /// Counts `txs` of `peer`'s gossip examined.
    pub fn gossip_txs(&self, peer: &str, txs: usize) {
        self.gossip_txs
            .get_or_create(&vec![("peer".to_string(), peer.to_string())])
            .inc_by(txs as u64);
    }

    /// Counts `messages` of `peer`'s gossip dropped unexamined.
    pub fn gossip_dropped(&self, peer: &str, messages: usize) {
        self.gossip_dropped
            .get_or_create(&vec![("peer".to_string(), peer.to_string())])
            .inc_by(messages as u64);
    }

    /// Counts a block of `peer` for `fault`.
    pub fn gossip_blocked(&self, peer: &str, fault: &str) {
        self.gossip_blocked
            .get_or_create(&vec![
                ("peer".to_string(), peer.to_string()),
                ("fault".to_string(), fault.to_string()),
            ])
            .inc();
    }

    /// Counts a tx the mempool refused with `code`.
    pub fn refused(&self, code: &str) {
        self.admission_refused
            .get_or_create(&vec![("code".to_string(), code.to_string())])
            .inc();
    }

    /// Sets the mempool gauges.
    pub fn set_mempool(&self, txs: usize, bytes: usize) {
        let _ = self.mempool_txs.try_set(txs);
        let _ = self.mempool_bytes.try_set(bytes);
    }

    /// Sets the mempool's bounds.
    pub fn set_mempool_limits(&self, max_txs: usize, max_bytes: usize) {
        let _ = self.mempool_max_txs.try_set(max_txs);
        let _ = self.mempool_max_bytes.try_set(max_bytes);
    }

    /// Sets the vote-gate gauge from `gate`.
    pub fn set_vote_gate(&self, gate: &VoteGate) {
        self.vote_gate_closed.set(i64::from(gate.is_closed()));
    }

    /// Sets the role workers' gauges.
    pub fn set_worker(&self, in_flight: usize, backlog: usize, waiting_reinstatement: usize) {
        let _ = self.worker_in_flight.try_set(in_flight);
        let _ = self.worker_backlog.try_set(backlog);
        let _ = self
            .worker_waiting_reinstatement
            .try_set(waiting_reinstatement);
    }

    /// Counts a failed receipt with `code`.
    pub fn failed_receipt(&self, code: &str) {
        self.failed_receipts
            .get_or_create(&vec![("code".to_string(), code.to_string())])
            .inc();
    }
}
