//! The bench's result: the JSON of DESIGN §8.6 (plus the details behind it) and a table for
//! people.

use super::{
    Args,
    limit::Limit,
    load::Refused,
    stats::{Percentiles, sustained_rate},
    watch::Seen,
};
use crate::cmd::output::key_values;
use serde::Serialize;
use std::{collections::BTreeMap, time::Instant};

/// What the report is computed from.
pub struct Inputs<'a> {
    pub args: &'a Args,
    pub limit: Limit,
    pub validators: usize,
    /// When the first batch was sent.
    pub load_start: Instant,
    /// From the first batch sent to the last bench tx applied.
    pub load_secs: f64,
    /// From the first batch sent to the supervisor's last verdict.
    pub attest_secs: f64,
    pub seen: &'a Seen,
    pub refused: Refused,
    /// Deliveries the requester opened and verified.
    pub verified: usize,
    /// Each node's resident memory (MiB).
    pub rss: Vec<(String, Option<f64>)>,
}

/// `custodia bench --json`.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Bench txs finalized and applied per second, sustained (middle 80% of the run).
    pub tx_per_s: f64,
    /// Submit → applied latency of the bench txs.
    pub latency_ms: Option<Percentiles>,
    /// Request → delivered latency of the share requests.
    pub share_latency_ms: Option<Percentiles>,
    /// `cores × one core's batch verify rate / validators`.
    pub limit_tx_per_s: f64,
    /// Validators of the network.
    pub validators: usize,
    /// The largest node's resident memory at the end, in MiB.
    pub rss_mib: Option<f64>,
    /// The details.
    pub details: Details,
}

/// What stands behind the headline numbers.
#[derive(Debug, Serialize)]
pub struct Details {
    /// Records submitted.
    pub txs: u64,
    /// Sealed bytes per record.
    pub payload_bytes: u64,
    /// Most bench txs in flight (`--in-flight`).
    pub in_flight: u64,
    /// Seconds over which `tx_per_s` was measured.
    pub sustained_window_s: f64,
    /// From the first batch sent to the last bench tx applied, in seconds.
    pub load_s: f64,
    /// From the first batch sent to the supervisor's last verdict, in seconds.
    pub attested_s: f64,
    /// Blocks applied per second in the sustained window.
    pub blocks_per_s: f64,
    /// Txs per block in the sustained window (the bench's and the supervisor's verdicts).
    pub txs_per_block: f64,
    /// All txs (bench records and verdicts) applied per second in the sustained window.
    pub chain_tx_per_s: f64,
    /// Bench txs whose receipt failed, by code (should be empty).
    pub failed: BTreeMap<String, u64>,
    /// Bench txs a node refused for good, by code (should be empty).
    pub refused: BTreeMap<String, u64>,
    /// Share requests timed.
    pub requests: u64,
    /// Deliveries opened and verified by the requester.
    pub verified_deliveries: usize,
    /// Signatures one core verifies per second, one by one.
    pub verify_single_per_s: f64,
    /// Signatures one core verifies per second in batches.
    pub verify_batch_per_s: f64,
    /// Cores of this machine.
    pub cores: usize,
    /// Each node's resident memory at the end, in MiB.
    pub rss_mib_by_node: BTreeMap<String, Option<f64>>,
}

impl Report {
    /// Computes the report.
    pub fn new(inputs: Inputs<'_>) -> Self {
        let seen = inputs.seen;
        let since = |at: Instant| {
            at.saturating_duration_since(inputs.load_start)
                .as_secs_f64()
        };
        let applied_at: Vec<f64> = seen.applied.iter().map(|(at, _)| since(*at)).collect();
        let (tx_per_s, window, from, to) = match sustained_rate(&applied_at) {
            Some((rate, window)) => {
                let mut sorted = applied_at.clone();
                sorted.sort_unstable_by(f64::total_cmp);
                let from = sorted[sorted.len() / 10];
                (rate, window, from, from + window)
            }
            // Too few blocks to leave out a ramp and a tail (a tiny load): the overall rate.
            None if inputs.load_secs > 0.0 => (
                applied_at.len() as f64 / inputs.load_secs,
                inputs.load_secs,
                0.0,
                inputs.load_secs,
            ),
            None => (0.0, 0.0, 0.0, 0.0),
        };
        let in_window: Vec<usize> = seen
            .blocks
            .iter()
            .filter(|(at, _)| (from..=to).contains(&since(*at)))
            .map(|(_, txs)| *txs)
            .collect();
        let window_txs: usize = in_window.iter().sum();
        let per_s = |count: f64| if window > 0.0 { count / window } else { 0.0 };
        let latencies: Vec<_> = seen.applied.iter().map(|(_, latency)| *latency).collect();
        let rss_max = inputs
            .rss
            .iter()
            .filter_map(|(_, rss)| *rss)
            .reduce(f64::max);
        Self {
            tx_per_s: round(tx_per_s),
            latency_ms: Percentiles::of(&latencies),
            share_latency_ms: Percentiles::of(&seen.delivered),
            limit_tx_per_s: round(inputs.limit.tx_per_s(inputs.validators)),
            validators: inputs.validators,
            rss_mib: rss_max.map(round),
            details: Details {
                txs: inputs.args.txs,
                payload_bytes: inputs.args.payload_bytes,
                in_flight: inputs.args.in_flight,
                sustained_window_s: round(window),
                load_s: round(inputs.load_secs),
                attested_s: round(inputs.attest_secs),
                blocks_per_s: round(per_s(in_window.len() as f64)),
                txs_per_block: if in_window.is_empty() {
                    0.0
                } else {
                    round(window_txs as f64 / in_window.len() as f64)
                },
                chain_tx_per_s: round(per_s(window_txs as f64)),
                failed: seen.failed.clone().into_iter().collect(),
                refused: inputs.refused.into_iter().collect(),
                requests: inputs.args.requests,
                verified_deliveries: inputs.verified,
                verify_single_per_s: round(inputs.limit.single_per_s),
                verify_batch_per_s: round(inputs.limit.batch_per_s),
                cores: inputs.limit.cores,
                rss_mib_by_node: inputs.rss.into_iter().collect(),
            },
        }
    }

    /// The report as aligned `key: value` lines.
    pub fn table(&self) -> String {
        let d = &self.details;
        let latency = |p: &Option<Percentiles>| match p {
            Some(p) => format!("p50 {} ms, p95 {} ms, p99 {} ms", p.p50, p.p95, p.p99),
            None => "-".into(),
        };
        let rss = d
            .rss_mib_by_node
            .iter()
            .map(|(org, rss)| match rss {
                Some(rss) => format!("{org} {rss:.0}"),
                None => format!("{org} ?"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let codes = |codes: &BTreeMap<String, u64>| {
            if codes.is_empty() {
                "none".to_string()
            } else {
                codes
                    .iter()
                    .map(|(code, n)| format!("{n} {code}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let mut out = format!(
            "custodia bench: {} validators, {} records of {} sealed bytes, at most {} in flight, \
             {} share requests\n\n",
            self.validators, d.txs, d.payload_bytes, d.in_flight, d.requests
        );
        out += &key_values(&[
            (
                "throughput",
                format!(
                    "{:.0} tx/s sustained over {:.1} s ({:.0} tx/s on the chain with the \
                     supervisor's verdicts)",
                    self.tx_per_s, d.sustained_window_s, d.chain_tx_per_s
                ),
            ),
            ("submit → applied", latency(&self.latency_ms)),
            (
                "blocks",
                format!(
                    "{:.1} blocks/s, {:.0} txs per block",
                    d.blocks_per_s, d.txs_per_block
                ),
            ),
            (
                "load",
                format!(
                    "all records applied after {:.1} s, all attested after {:.1} s",
                    d.load_s, d.attested_s
                ),
            ),
            ("request → delivered", latency(&self.share_latency_ms)),
            (
                "deliveries verified",
                format!("{} of {}", d.verified_deliveries, d.requests),
            ),
            (
                "failed / refused",
                format!("{} / {}", codes(&d.failed), codes(&d.refused)),
            ),
            (
                "limit",
                format!(
                    "{:.0} tx/s = {} cores × {:.0} verifies/s (batched; {:.0}/s one by one) / {} \
                     validators",
                    self.limit_tx_per_s,
                    d.cores,
                    d.verify_batch_per_s,
                    d.verify_single_per_s,
                    self.validators
                ),
            ),
            ("node RSS (MiB)", rss),
        ]);
        if d.sustained_window_s < 30.0 {
            out += &format!(
                "\nnote: measured over {:.1} s, under the 30 s a sustained rate needs: raise --txs\n",
                d.sustained_window_s
            );
        }
        out
    }
}

/// `value` to a tenth.
fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}
