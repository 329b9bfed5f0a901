//! What a load run counts: latencies in a histogram that costs the same for every sample, the
//! operations done, and how the calls ended.

use std::time::Duration;

use serde::Serialize;
use tonic::Code;

/// Significant bits kept of each latency: 7, so a value is known within 1/128 (0.8%).
const SUB_BITS: u32 = 7;
const SUB: u64 = 1 << SUB_BITS;
/// Buckets for every `u64` of nanoseconds: 128 exact ones, then 128 per power of two.
const BUCKETS: usize = (SUB as usize) * (64 - SUB_BITS as usize + 1);

/// A log-linear histogram of latencies in nanoseconds, as HdrHistogram keeps them: recording is
/// one index computation and one increment, whatever the count, and percentiles are exact to
/// within 0.8%. The fastest, slowest and average are kept exactly.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS],
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }
}

fn index(value: u64) -> usize {
    if value < SUB {
        return value as usize;
    }
    let msb = 63 - value.leading_zeros();
    let shift = msb - SUB_BITS;
    let group = (msb - SUB_BITS + 1) as usize;
    group * SUB as usize + ((value >> shift) - SUB) as usize
}

/// The smallest and the largest value of bucket `index`.
fn bounds(index: usize) -> (u64, u64) {
    let (group, offset) = (index / SUB as usize, (index % SUB as usize) as u64);
    if group == 0 {
        return (offset, offset);
    }
    let shift = group as u32 - 1;
    let low = (SUB + offset) << shift;
    (low, low + ((1u64 << shift) - 1))
}

impl Histogram {
    pub fn record(&mut self, latency: Duration) {
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.counts[index(nanos)] += 1;
        self.count += 1;
        self.sum += u128::from(nanos);
        self.min = self.min.min(nanos);
        self.max = self.max.max(nanos);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn fastest(&self) -> Option<Duration> {
        (self.count > 0).then(|| Duration::from_nanos(self.min))
    }

    pub fn slowest(&self) -> Option<Duration> {
        (self.count > 0).then(|| Duration::from_nanos(self.max))
    }

    pub fn average(&self) -> Option<Duration> {
        (self.count > 0).then(|| {
            Duration::from_nanos(u64::try_from(self.sum / u128::from(self.count)).unwrap_or(0))
        })
    }

    /// The latency that `quantile` (0.5 for the median) of the samples do not exceed: the
    /// middle of its bucket, kept within the fastest and slowest samples.
    pub fn quantile(&self, quantile: f64) -> Option<Duration> {
        if self.count == 0 {
            return None;
        }
        let rank = ((quantile * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (index, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let (low, high) = bounds(index);
                let middle = low + (high - low) / 2;
                return Some(Duration::from_nanos(middle.clamp(self.min, self.max)));
            }
        }
        self.slowest()
    }

    /// ghz's response-time histogram: `buckets` equal steps from the fastest to the slowest
    /// sample, each with its upper bound and how many samples fell in it.
    pub fn steps(&self, buckets: usize) -> Vec<(Duration, u64)> {
        if self.count == 0 || buckets == 0 {
            return Vec::new();
        }
        let (min, max) = (self.min, self.max);
        let width = (max - min) as f64 / buckets as f64;
        let mut steps: Vec<(Duration, u64)> = (1..=buckets)
            .map(|step| {
                let bound = min as f64 + width * step as f64;
                (Duration::from_nanos(bound.round() as u64), 0)
            })
            .collect();
        for (index, &count) in self.counts.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let (low, high) = bounds(index);
            let value = (low + (high - low) / 2).clamp(min, max);
            let step = if width == 0.0 {
                0
            } else {
                (((value - min) as f64 / width).ceil() as usize).clamp(1, buckets) - 1
            };
            steps[step].1 += count;
        }
        steps
    }
}

/// gRPC's name of a status code, as ghz and the gRPC documentation write it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// What one worker, or a whole run, counted inside the measured window.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// One latency per call (unary, batch, list) or per message (sync).
    pub latencies: Histogram,
    /// Operations completed: calls, links created, links received, clicks answered.
    pub ops: u64,
    /// How calls (or streams) ended, by code, with the first message seen for each code.
    pub statuses: Vec<Seen>,
}

/// How many calls ended with one status code, and what the first of them said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seen {
    pub code: &'static str,
    pub count: u64,
    pub example: String,
}

impl Tally {
    /// A call (or stream) ended with `code`; `message` says why when it failed.
    pub fn ended(&mut self, code: Code, message: &str) {
        let name = code_name(code);
        match self.statuses.iter_mut().find(|seen| seen.code == name) {
            Some(seen) => seen.count += 1,
            None => self.statuses.push(Seen {
                code: name,
                count: 1,
                example: message.to_string(),
            }),
        }
    }

    pub fn merge(&mut self, other: &Tally) {
        self.latencies.merge(&other.latencies);
        self.ops += other.ops;
        for seen in &other.statuses {
            match self.statuses.iter_mut().find(|mine| mine.code == seen.code) {
                Some(mine) => mine.count += seen.count,
                None => self.statuses.push(seen.clone()),
            }
        }
        self.statuses
            .sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(b.code)));
    }

    /// Calls (or streams) that ended with a status other than OK.
    pub fn failed(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|seen| seen.code != "OK")
            .map(|seen| seen.count)
            .sum()
    }
}

/// The median, the smallest and the largest of `values`, or `None` when there are none.
pub fn spread(values: &[f64]) -> Option<Spread> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    let median = if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    };
    Some(Spread {
        median,
        min: sorted[0],
        max: sorted[sorted.len() - 1],
    })
}

/// A figure measured over several rounds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// (max - min) / median, as a percentage: how far apart the rounds were.
    pub fn width_percent(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.max - self.min) / self.median * 100.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_in_order() {
        let mut last = 0;
        for value in (0..5_000u64).chain([1 << 20, u64::MAX / 3, u64::MAX]) {
            let at = index(value);
            assert!(at < BUCKETS, "{value} falls outside the buckets");
            let (low, high) = bounds(at);
            assert!(
                low <= value && value <= high,
                "{value} is not in its bucket {low}..={high}"
            );
            if value < 5_000 {
                assert!(at >= last, "buckets go backwards at {value}");
                last = at;
            }
        }
    }

    #[test]
    fn percentiles_are_within_one_percent() {
        let mut histogram = Histogram::default();
        for micros in 1..=10_000u64 {
            histogram.record(Duration::from_micros(micros));
        }
        for (quantile, exact) in [(0.5, 5_000.0), (0.9, 9_000.0), (0.99, 9_900.0)] {
            let got = histogram.quantile(quantile).expect("samples").as_secs_f64() * 1e6;
            assert!(
                (got - exact).abs() / exact < 0.01,
                "p{} is {got} µs, expected {exact} µs within 1%",
                quantile * 100.0
            );
        }
        assert_eq!(histogram.fastest(), Some(Duration::from_micros(1)));
        assert_eq!(histogram.slowest(), Some(Duration::from_micros(10_000)));
        let average = histogram.average().expect("samples").as_secs_f64() * 1e6;
        assert!((average - 5_000.5).abs() < 0.01, "average {average}");
    }

    #[test]
    fn steps_count_every_sample_once() {
        let mut histogram = Histogram::default();
        for micros in [100, 100, 150, 900, 1_000] {
            histogram.record(Duration::from_micros(micros));
        }
        let steps = histogram.steps(10);
        assert_eq!(steps.len(), 10);
        assert_eq!(steps.iter().map(|(_, count)| count).sum::<u64>(), 5);
        assert_eq!(
            steps[0].1, 3,
            "100, 100 and 150 µs are in the first step: {steps:?}"
        );
        assert_eq!(steps[9].0, Duration::from_micros(1_000));
    }

    #[test]
    fn tallies_merge_codes_and_keep_the_first_message() {
        let mut a = Tally::default();
        a.ended(Code::Ok, "");
        a.ended(Code::Unavailable, "connection refused");
        let mut b = Tally::default();
        b.ended(Code::Unavailable, "later");
        b.ended(Code::Ok, "");
        b.ended(Code::Ok, "");
        a.merge(&b);
        assert_eq!(a.statuses[0].code, "OK");
        assert_eq!(a.statuses[0].count, 3);
        assert_eq!(a.statuses[1].count, 2);
        assert_eq!(a.statuses[1].example, "connection refused");
        assert_eq!(a.failed(), 2);
    }

    #[test]
    fn spread_gives_the_median_and_the_range() {
        let spread = spread(&[3.0, 1.0, 2.0]).expect("values");
        assert_eq!((spread.median, spread.min, spread.max), (2.0, 1.0, 3.0));
        assert_eq!(super::spread(&[1.0, 2.0]).expect("values").median, 1.5);
        assert!(super::spread(&[]).is_none());
    }
}
