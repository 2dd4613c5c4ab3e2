//! Percentiles and rates of the measured samples.

use serde::Serialize;
use std::time::Duration;

/// p50/p95/p99 of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl Percentiles {
    /// The percentiles of `samples` (nearest rank); `None` when there are none.
    pub fn of(samples: &[Duration]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted: Vec<Duration> = samples.to_vec();
        sorted.sort_unstable();
        let at = |p: f64| {
            let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
            millis(sorted[rank.clamp(1, sorted.len()) - 1])
        };
        Some(Self {
            p50: at(50.0),
            p95: at(95.0),
            p99: at(99.0),
        })
    }
}

/// A duration in milliseconds, to a tenth.
pub fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

/// The sustained rate of events at `times` (seconds since a common start, in any order): the
/// middle 80% of them divided by the time they took, which leaves out the ramp-up and the tail.
/// Returns `(events per second, the window in seconds)`; `None` with fewer than 10 events.
pub fn sustained_rate(times: &[f64]) -> Option<(f64, f64)> {
    if times.len() < 10 {
        return None;
    }
    let mut sorted = times.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let first = sorted.len() / 10;
    let last = sorted.len() - 1 - sorted.len() / 10;
    let window = sorted[last] - sorted[first];
    if window <= 0.0 {
        return None;
    }
    Some(((last - first) as f64 / window, window))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let p = Percentiles::of(&samples).unwrap();
        assert_eq!((p.p50, p.p95, p.p99), (50.0, 95.0, 99.0));
        let one = Percentiles::of(&[Duration::from_micros(1500)]).unwrap();
        assert_eq!((one.p50, one.p99), (1.5, 1.5));
        assert!(Percentiles::of(&[]).is_none());
    }

    #[test]
    fn the_sustained_rate_leaves_out_ramp_and_tail() {
        // 1000 events evenly over 10 s, plus a slow tail of 10 events over 100 s.
        let mut times: Vec<f64> = (0..1000).map(|i| i as f64 / 100.0).collect();
        times.extend((0..10).map(|i| 10.0 + 10.0 * i as f64));
        let (rate, window) = sustained_rate(&times).unwrap();
        assert!((rate - 100.0).abs() < 2.0, "rate {rate}");
        assert!(window > 7.0 && window < 9.0, "window {window}");
        assert!(sustained_rate(&[1.0; 5]).is_none());
        assert!(sustained_rate(&[1.0; 50]).is_none());
    }
}
