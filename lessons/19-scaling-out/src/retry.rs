//! NEW(lesson 19): retries: which failures are tried again, how often, how far apart, and when to
//! stop.
//!
//! tonic retries nothing. Its `Request` is not `Clone` (a request's body is a stream), so
//! tower's `Retry` middleware, which must clone a request before sending it, cannot wrap a
//! tonic client either (hyperium/tonic#733). A retry therefore happens where the message still
//! exists: in the function that builds the request, which builds a new one for every attempt.
//!
//! The rules, after gRPC's own retry design (gRFC A6):
//! - only UNAVAILABLE is tried again, and only for a call that is safe to repeat;
//! - at most [`RetryPolicy::max_attempts`] attempts, with [`Backoff`] between them;
//! - every attempt within the call's one deadline: each is sent with the time that is left,
//!   and no retry starts that could not finish in time;
//! - a [`RetryBudget`] shared by every call of a client: when most calls fail, retrying them
//!   all would double or triple the load on servers that are already failing, so retries stop
//!   until calls succeed again.
//!
//! A call drives its attempts with a [`Call`]:
//!
//! ```text
//! let mut call = retry.begin(timeout);
//! loop {
//!     let request = call.request(GetLinkRequest { short_code: code.clone() })?;
//!     match call.within_deadline(client.get_link(request)).await {
//!         Ok(response) => return Ok(call.succeeded(response)),
//!         Err(status) => call.failed(status).await?, // waits, or gives up with the status
//!     }
//! }
//! ```

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::time::Instant;
use tonic::{Code, Request, Status};

use crate::backoff::Backoff;

/// How many attempts a call may make, and how long to wait between them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (1 means no retry).
    pub max_attempts: u32,
    /// The wait before each retry.
    pub backoff: Backoff,
}

impl Default for RetryPolicy {
    /// Four attempts (gRFC A6 caps a policy at five), waits under 50 ms, 100 ms and 200 ms:
    /// enough to move past a replica that just died, short beside a 5-second deadline.
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            backoff: Backoff {
                initial: Duration::from_millis(50),
                multiplier: 2.0,
                max: Duration::from_secs(1),
            },
        }
    }
}

/// gRFC A6's retry throttle, shared by every call of one client: a failed attempt takes a
/// token, a successful call gives back `token_ratio` of one, and calls are retried only while
/// more than half of `max_tokens` are left. When everything fails, a few retries drain it and
/// each call after that makes one attempt and fails fast; as calls succeed again, it refills.
///
/// Tokens are counted in thousandths, so a ratio's digits past the third are ignored, as A6
/// says.
#[derive(Debug)]
pub struct RetryBudget {
    milli_tokens: AtomicU32,
    max_milli_tokens: u32,
    milli_ratio: u32,
}

/// A budget that gRFC A6 would refuse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BudgetError {
    #[error("max_tokens must be between 1 and 1000, not {0}")]
    MaxTokens(u32),
    #[error("token_ratio must be at least 0.001 and at most max_tokens, not {0}")]
    TokenRatio(f64),
}

impl RetryBudget {
    /// A full budget of `max_tokens` (1 to 1000) that a success refills by `token_ratio`.
    pub fn new(max_tokens: u32, token_ratio: f64) -> Result<RetryBudget, BudgetError> {
        if !(1..=1000).contains(&max_tokens) {
            return Err(BudgetError::MaxTokens(max_tokens));
        }
        let max_milli_tokens = max_tokens * 1000;
        let milli_ratio = (token_ratio * 1000.0).trunc();
        if !(1.0..=f64::from(max_milli_tokens)).contains(&milli_ratio) {
            return Err(BudgetError::TokenRatio(token_ratio));
        }
        Ok(RetryBudget {
            milli_tokens: AtomicU32::new(max_milli_tokens),
            max_milli_tokens,
            // In range: checked just above.
            milli_ratio: milli_ratio as u32,
        })
    }

    /// A call succeeded: give back `token_ratio` of a token.
    pub fn record_success(&self) {
        let _ = self
            .milli_tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |tokens| {
                Some((tokens + self.milli_ratio).min(self.max_milli_tokens))
            });
    }

    /// An attempt failed in a way that could be retried: take a token.
    pub fn record_failure(&self) {
        let _ = self
            .milli_tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |tokens| {
                Some(tokens.saturating_sub(1000))
            });
    }

    /// Whether a failed call may be tried again: more than half the tokens are left.
    pub fn allows_retry(&self) -> bool {
        self.milli_tokens.load(Ordering::Relaxed) > self.max_milli_tokens / 2
    }

    /// The tokens left.
    pub fn tokens(&self) -> f64 {
        f64::from(self.milli_tokens.load(Ordering::Relaxed)) / 1000.0
    }
}

impl Default for RetryBudget {
    /// 100 tokens, refilled by 0.1 a success: up to 50 failures at once are retried (a replica
    /// that dies with its share of a busy gateway's calls in flight), and retries stop while
    /// more than about one attempt in eleven fails.
    fn default() -> RetryBudget {
        RetryBudget::new(100, 0.1).expect("the default budget is within gRFC A6's bounds")
    }
}

/// What the retries of one client have done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetryStats {
    /// Attempts sent, first attempts included.
    pub attempts: u64,
    /// Attempts that were retries.
    pub retries: u64,
    /// Retries not made because the budget was spent.
    pub throttled: u64,
}

/// The retry machinery of one client: its policy, its budget, its random source and its
/// counts. Clients that share it share the budget.
#[derive(Debug)]
pub struct Retry {
    policy: RetryPolicy,
    budget: RetryBudget,
    #[allow(dead_code)] // TODO(lesson 19): read by `delay`, which `Call::failed` calls.
    rng: Mutex<StdRng>,
    attempts: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
}

impl Retry {
    pub fn new(policy: RetryPolicy, budget: RetryBudget) -> Retry {
        Retry::with_rng(policy, budget, StdRng::from_os_rng())
    }

    /// [`Retry::new`] with the random source of the jitter given: a seeded one makes the
    /// waits repeatable in a test.
    pub fn with_rng(policy: RetryPolicy, budget: RetryBudget, rng: StdRng) -> Retry {
        Retry {
            policy,
            budget,
            rng: Mutex::new(rng),
            attempts: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        }
    }

    /// A call that is safe to repeat, which must end within `timeout` from now.
    pub fn begin(&self, timeout: Duration) -> Call<'_> {
        self.begin_with(timeout, self.policy.max_attempts)
    }

    /// A call that must not be repeated (a create without an idempotency key): one attempt,
    /// whatever the policy says.
    pub fn begin_once(&self, timeout: Duration) -> Call<'_> {
        self.begin_with(timeout, 1)
    }

    fn begin_with(&self, timeout: Duration, max_attempts: u32) -> Call<'_> {
        Call {
            retry: self,
            timeout,
            deadline: Instant::now() + timeout,
            attempts: 0,
            max_attempts: max_attempts.max(1),
        }
    }

    pub fn budget(&self) -> &RetryBudget {
        &self.budget
    }

    pub fn stats(&self) -> RetryStats {
        RetryStats {
            attempts: self.attempts.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
        }
    }

    #[allow(dead_code)] // TODO(lesson 19): `Call::failed` waits this long (Exercise 3).
    fn delay(&self, retry: u32) -> Duration {
        // A poisoned lock only means another thread panicked mid-draw: the generator is fine.
        let mut rng = self
            .rng
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.policy.backoff.delay(retry, &mut *rng)
    }
}

/// Whether a failed attempt is worth another: UNAVAILABLE, gRPC's code for "the server could
/// not be reached or could not take the call; trying again may work". tonic gives it when it
/// cannot connect (its status holds a `tonic::ConnectError`), when a keepalive PING goes
/// unanswered, and (through [`classify`]) when the connection breaks under a call.
pub fn is_retryable(status: &Status) -> bool {
    status.code() == Code::Unavailable
}

/// The status a caller should see for a failed attempt. gRPC's status codes say a connection
/// that breaks under a call is UNAVAILABLE (grpc/grpc doc/statuscodes.md); tonic 0.14 has no
/// name for the error hyper gives then, and says UNKNOWN "transport error" (or "h2 protocol
/// error: error reading a body from connection", mid-stream). A status the server sent never
/// holds an error of this process, so an UNKNOWN with a `hyper::Error` among its causes is a
/// broken connection, and becomes UNAVAILABLE here.
pub fn classify(status: Status) -> Status {
    if status.code() != Code::Unknown {
        return status;
    }
    let mut cause = std::error::Error::source(&status);
    while let Some(error) = cause {
        if error.is::<hyper::Error>() {
            return Status::unavailable(format!("the connection broke: {}", causes(error)));
        }
        cause = error.source();
    }
    status
}

/// `error` and its causes, joined by ": ", each said once.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        let said = error.to_string();
        if !text.ends_with(&said) {
            text = format!("{text}: {said}");
        }
        cause = error.source();
    }
    text
}

/// One call's attempts, from [`Retry::begin`]: see the module's example.
#[derive(Debug)]
pub struct Call<'a> {
    retry: &'a Retry,
    timeout: Duration,
    deadline: Instant,
    attempts: u32,
    #[allow(dead_code)] // TODO(lesson 19): `Call::failed` stops at it (Exercise 3).
    max_attempts: u32,
}

impl Call<'_> {
    /// Attempts made so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Starts an attempt: `message` in a request whose `grpc-timeout` is the time left, so
    /// that the server gives up when the caller does. DEADLINE_EXCEEDED once there is none.
    pub fn request<T>(&mut self, message: T) -> Result<Request<T>, Status> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.expired());
        }
        self.attempts += 1;
        self.retry.attempts.fetch_add(1, Ordering::Relaxed);
        let mut request = Request::new(message);
        request.set_timeout(left);
        Ok(request)
    }

    /// Runs `attempt` until the call's deadline, its failure [`classify`]'d. Past the
    /// deadline, the answer is DEADLINE_EXCEEDED, whoever noticed first: this clock, or
    /// tonic's, which says CANCELLED "Timeout expired".
    pub async fn within_deadline<T>(
        &self,
        attempt: impl Future<Output = Result<T, Status>>,
    ) -> Result<T, Status> {
        match tokio::time::timeout_at(self.deadline, attempt).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(status)) if status.code() == Code::Cancelled && self.is_past_deadline() => {
                Err(self.expired())
            }
            Ok(Err(status)) => Err(classify(status)),
            Err(_elapsed) => Err(self.expired()),
        }
    }

    /// The call succeeded: the budget gets a little back. Returns `answer`.
    pub fn succeeded<T>(&self, answer: T) -> T {
        self.retry.budget.record_success();
        answer
    }

    /// The attempt failed with `status`. `Ok(())` once it is time for the next attempt (after
    /// the backoff); `Err(status)` when the call ends here: a status not worth a retry, the
    /// last attempt, the budget spent, or no time left for another attempt.
    pub async fn failed(&mut self, status: Status) -> Result<(), Status> {
        // TODO(lesson 19), Exercise 3: decide whether there is another attempt. A status that
        // is not retryable goes back at once and leaves the budget alone; a retryable one takes
        // a token; then the last attempt, a spent budget (count it in `throttled`), or a
        // backoff that would end past the deadline give the status back; else sleep the
        // backoff (`self.retry.delay`), count the retry, and return `Ok(())`.
        Err(status)
    }

    /// The attempt failed after part of its answer reached the caller (a list's first links):
    /// the call is committed to it and ends with `status`. A retry would repeat what the
    /// caller already has.
    pub fn failed_committed(&self, status: Status) -> Status {
        if is_retryable(&status) {
            self.retry.budget.record_failure();
        }
        status
    }

    fn is_past_deadline(&self) -> bool {
        Instant::now() >= self.deadline
    }

    fn expired(&self) -> Status {
        Status::deadline_exceeded(format!(
            "no answer within the call's deadline of {:?} ({} attempts)",
            self.timeout, self.attempts
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_outside_the_bounds_of_grfc_a6_is_refused() {
        assert_eq!(
            RetryBudget::new(0, 0.1).unwrap_err(),
            BudgetError::MaxTokens(0)
        );
        assert_eq!(
            RetryBudget::new(1001, 0.1).unwrap_err(),
            BudgetError::MaxTokens(1001)
        );
        assert!(RetryBudget::new(10, 0.0005).is_err(), "a ratio under 0.001");
        assert!(
            RetryBudget::new(10, f64::NAN).is_err(),
            "a ratio that is NaN"
        );
        assert!(RetryBudget::new(10, -1.0).is_err(), "a negative ratio");
    }

    #[test]
    fn the_budget_allows_retries_while_more_than_half_is_left() {
        let budget = RetryBudget::new(10, 0.5).expect("a valid budget");
        for _ in 0..4 {
            budget.record_failure();
        }
        assert!(
            budget.allows_retry(),
            "6 tokens of 10 left: retries allowed"
        );
        budget.record_failure();
        assert!(!budget.allows_retry(), "5 of 10 is not more than half");
        budget.record_success();
        assert!(budget.allows_retry(), "5.5 of 10: retries again");
        for _ in 0..100 {
            budget.record_success();
        }
        assert_eq!(budget.tokens(), 10.0, "never more than max_tokens");
        for _ in 0..100 {
            budget.record_failure();
        }
        assert_eq!(budget.tokens(), 0.0, "never fewer than none");
    }

    #[test]
    fn a_ratio_counts_to_the_thousandth() {
        let budget = RetryBudget::new(10, 0.5466).expect("a valid budget");
        budget.record_failure();
        budget.record_success();
        assert_eq!(budget.tokens(), 9.546, "digits past the third are ignored");
    }

    /// A budget no test here comes near spending.
    fn ample() -> RetryBudget {
        RetryBudget::new(1000, 1.0).expect("a valid budget")
    }

    fn retry(max_attempts: u32, initial: Duration, seed: u64) -> Retry {
        let policy = RetryPolicy {
            max_attempts,
            backoff: Backoff {
                initial,
                multiplier: 2.0,
                max: Duration::from_secs(10),
            },
        };
        Retry::with_rng(policy, ample(), StdRng::seed_from_u64(seed))
    }

    /// One attempt as the test saw it: when it started, and the `grpc-timeout` it was sent
    /// with.
    struct Sent {
        at: Instant,
        grpc_timeout: Duration,
    }

    /// A call whose every attempt fails with UNAVAILABLE at once. Returns how it ended, and
    /// its attempts.
    async fn always_unavailable(retry: &Retry, timeout: Duration) -> (Status, Vec<Sent>) {
        let mut call = retry.begin(timeout);
        let mut sent = Vec::new();
        loop {
            let request = match call.request(()) {
                Ok(request) => request,
                Err(status) => return (status, sent),
            };
            sent.push(Sent {
                at: Instant::now(),
                grpc_timeout: grpc_timeout(&request),
            });
            let attempt = async { Err::<(), _>(Status::unavailable("the replica is down")) };
            let failure = call
                .within_deadline(attempt)
                .await
                .expect_err("every attempt fails");
            if let Err(status) = call.failed(failure).await {
                return (status, sent);
            }
        }
    }

    /// The `grpc-timeout` of `request`, read back.
    fn grpc_timeout<T>(request: &Request<T>) -> Duration {
        let value = request
            .metadata()
            .get("grpc-timeout")
            .expect("every attempt carries a grpc-timeout")
            .to_str()
            .expect("ASCII");
        let (amount, unit) = value.split_at(value.len() - 1);
        let amount: u64 = amount.parse().expect("a number, then a unit");
        match unit {
            "H" => Duration::from_secs(amount * 3600),
            "M" => Duration::from_secs(amount * 60),
            "S" => Duration::from_secs(amount),
            "m" => Duration::from_millis(amount),
            "u" => Duration::from_micros(amount),
            "n" => Duration::from_nanos(amount),
            other => panic!("{other} is not a grpc-timeout unit"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_wait_a_growing_jittered_backoff() {
        let retry = retry(5, Duration::from_millis(100), 19);
        let ceilings = [100, 200, 400, 800].map(Duration::from_millis);
        // waits[n]: the waits before retry n+1, over 30 calls.
        let mut waits = vec![Vec::new(); 4];
        for _ in 0..30 {
            let (status, sent) = always_unavailable(&retry, Duration::from_secs(60)).await;
            assert_eq!(status.code(), Code::Unavailable, "{status:?}");
            assert_eq!(sent.len(), 5, "max_attempts attempts");
            for (n, pair) in sent.windows(2).enumerate() {
                let wait = pair[1].at - pair[0].at;
                assert!(
                    wait <= ceilings[n],
                    "the wait before retry {} was {wait:?}, over its ceiling {:?}",
                    n + 1,
                    ceilings[n]
                );
                waits[n].push(wait);
            }
        }
        let mean = |waits: &[Duration]| waits.iter().sum::<Duration>() / waits.len() as u32;
        assert!(
            mean(&waits[3]) > mean(&waits[0]) * 3,
            "the backoff grows: the waits before retry 1 average {:?}, before retry 4 {:?} \
             (expected about 50 ms and 400 ms)",
            mean(&waits[0]),
            mean(&waits[3])
        );
        for (n, waits) in waits.iter().enumerate() {
            let mut distinct = waits.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert!(
                distinct.len() > 25,
                "the waits before retry {} are jittered, not one value: {waits:?}",
                n + 1
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn every_attempt_is_sent_with_the_time_left_and_ends_by_the_deadline() {
        let retry = retry(100, Duration::from_millis(200), 7);
        let start = Instant::now();
        let deadline = start + Duration::from_secs(1);
        let (status, sent) = always_unavailable(&retry, Duration::from_secs(1)).await;

        assert!(
            Instant::now() <= deadline,
            "the call ended {:?} after its 1 s deadline: a retry must not start (or wait) \
             past it",
            Instant::now() - deadline
        );
        assert!(sent.len() > 1, "some retries fit in a second");
        assert!(
            sent.len() < 100,
            "not all of the 100 attempts the policy allows"
        );
        for attempt in &sent {
            let left = deadline - attempt.at;
            // grpc-timeout has at most 8 digits: tonic may round the time left down a little.
            assert!(
                attempt.grpc_timeout <= left
                    && left - attempt.grpc_timeout < Duration::from_millis(1),
                "each attempt tells the server the time left of the call's one deadline ({left:?}), \
                 no more (nor the whole timeout again); it said {:?}",
                attempt.grpc_timeout
            );
        }
        assert_eq!(
            status.code(),
            Code::Unavailable,
            "a call that stops because no retry could end in time says what failed: {status:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_that_outlives_the_deadline_is_deadline_exceeded() {
        let retry = retry(4, Duration::from_millis(10), 1);
        let mut call = retry.begin(Duration::from_secs(1));
        let start = Instant::now();
        let _request = call.request(()).expect("time left for a first attempt");
        let status = call
            .within_deadline(std::future::pending::<Result<(), Status>>())
            .await
            .expect_err("an attempt that never ends");
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
        assert_eq!(Instant::now() - start, Duration::from_secs(1));
        let status = call
            .failed(status)
            .await
            .expect_err("no retry after the deadline");
        assert_eq!(status.code(), Code::DeadlineExceeded);
    }
}
