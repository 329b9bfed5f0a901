//! A call's deadline, as the client sent it: the `grpc-timeout` header.
//!
//! tonic's server reads that header too, but it only bounds the handler's future: once the
//! handler has returned a response stream, the stream runs on with no deadline. Work that
//! outlives the handler (the tasks of ListLinks and SyncClicks) must carry the deadline itself.

use std::time::Duration;

use tokio::time::Instant;
use tonic::metadata::MetadataMap;

/// The header a client sends its deadline in: how long it will wait, from when it sent the call.
pub const GRPC_TIMEOUT: &str = "grpc-timeout";

/// How long the client will wait for this call, read from its `grpc-timeout` header; `None` when
/// it sent none or one that does not follow the gRPC spec (then the call has no deadline).
///
/// The spec (gRPC over HTTP/2): one to eight ASCII digits, then one unit: `H` hours, `M` minutes,
/// `S` seconds, `m` milliseconds, `u` microseconds, `n` nanoseconds. `250m` is 250 ms.
pub fn time_left(metadata: &MetadataMap) -> Option<Duration> {
    parse_timeout(metadata.get(GRPC_TIMEOUT)?.to_str().ok()?)
}

/// NEW(lesson 17): a `grpc-timeout` value (`250m`) as a duration; `None` when it does not follow
/// the spec. For a caller that holds the header itself, not the metadata.
pub fn parse_timeout(value: &str) -> Option<Duration> {
    let unit_at = value.len().checked_sub(1)?;
    if !value.is_char_boundary(unit_at) {
        return None;
    }
    let (digits, unit) = value.split_at(unit_at);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    match unit {
        "H" => Some(Duration::from_secs(amount * 60 * 60)),
        "M" => Some(Duration::from_secs(amount * 60)),
        "S" => Some(Duration::from_secs(amount)),
        "m" => Some(Duration::from_millis(amount)),
        "u" => Some(Duration::from_micros(amount)),
        "n" => Some(Duration::from_nanos(amount)),
        _ => None,
    }
}

/// The instant the call's deadline passes, if it has one: now plus what [`time_left`] reads.
/// Read it as soon as the call arrives: the time spent before this is time the client already
/// waited.
pub fn deadline(metadata: &MetadataMap) -> Option<Instant> {
    time_left(metadata).map(|left| Instant::now() + left)
}

/// Waits until `deadline`, or forever when there is none: the branch of a `select!` that ends
/// work when its call runs out of time.
pub async fn expired(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
