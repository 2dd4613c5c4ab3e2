//! The node's own Prometheus metrics, registered in the runtime's registry beside commonware's
//! (`/metrics` serves them all).

use commonware_runtime::{
    Metrics,
    telemetry::metrics::{Counter, CounterFamily, Gauge, Histogram, MetricsExt as _},
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
    /// Seconds from a block's timestamp to its application here.
    pub finalization_latency: Histogram,
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
            finalization_latency: context.histogram(
                "finalization_latency_seconds",
                "Seconds from a block's proposal timestamp to its application on this node",
                LATENCY_BUCKETS,
            ),
        }
    }

    /// Counts a failed receipt with `code`.
    pub fn failed_receipt(&self, code: &str) {
        self.failed_receipts
            .get_or_create(&vec![("code".to_string(), code.to_string())])
            .inc();
    }
}
