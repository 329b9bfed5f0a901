//! The scenarios: what the load tool's workers call, and what each counts as one operation.
//!
//! Every call has a deadline (the `grpc-timeout` header tells the server, and the worker stops
//! waiting when it passes), and every worker stops starting calls at the end of the measured
//! window, so a run ends by itself whatever the server does.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use shortener_proto::link_service_client::LinkServiceClient;
use shortener_proto::{CreateLinkRequest, GetLinkRequest, ListLinksRequest, SyncRequest};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_stream::StreamExt;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Status};

use super::stats::Tally;

pub type Client = LinkServiceClient<Channel>;

/// What a run loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// Unary CreateLink calls. One op: one call.
    Create,
    /// Unary GetLink calls over codes created before the run. One op: one call.
    Get,
    /// BatchCreateLinks streams of --batch URLs each. One op: one link created.
    Batch,
    /// Long-lived SyncClicks streams, --window messages in flight on each. One op: one answer.
    Sync,
    /// ListLinks calls over a store of --links links. One op: one link received.
    List,
    /// Creates --links links (1,000,000 by default) in batches, then reads the server's peak
    /// memory. One op: one link created.
    Fill,
}

impl Scenario {
    /// The RPC it calls.
    pub fn rpc(self) -> &'static str {
        match self {
            Scenario::Create => "CreateLink",
            Scenario::Get => "GetLink",
            Scenario::Batch | Scenario::Fill => "BatchCreateLinks",
            Scenario::Sync => "SyncClicks",
            Scenario::List => "ListLinks",
        }
    }

    /// What one operation is, for CPU per op.
    pub fn op(self) -> &'static str {
        match self {
            Scenario::Create | Scenario::Get => "call",
            Scenario::Batch | Scenario::Fill => "link created",
            Scenario::Sync => "click message answered",
            Scenario::List => "link received",
        }
    }

    /// Operations, in the plural.
    pub fn ops(self) -> &'static str {
        match self {
            Scenario::Create | Scenario::Get => "calls",
            Scenario::Batch | Scenario::Fill => "links created",
            Scenario::Sync => "click messages answered",
            Scenario::List => "links received",
        }
    }

    /// What one latency sample is.
    pub fn sample(self) -> &'static str {
        match self {
            Scenario::Create | Scenario::Get => "calls",
            Scenario::Batch | Scenario::Fill => "batch calls",
            Scenario::Sync => "messages (sent to answered)",
            Scenario::List => "list calls (whole stream)",
        }
    }

    /// The unit of the latency samples' rate.
    pub fn rate_unit(self) -> &'static str {
        match self {
            Scenario::Create | Scenario::Get => "calls/s",
            Scenario::Batch | Scenario::Fill => "batch calls/s",
            Scenario::Sync => "messages/s",
            Scenario::List => "list calls/s",
        }
    }

    /// Calls in flight unless `--concurrency` says otherwise.
    pub fn default_concurrency(self) -> usize {
        match self {
            Scenario::Create | Scenario::Get => 64,
            Scenario::Batch | Scenario::Sync | Scenario::Fill => 4,
            Scenario::List => 2,
        }
    }

    /// The links `--links` means unless given: the store ListLinks streams, or the links fill
    /// creates.
    pub fn default_links(self) -> usize {
        match self {
            Scenario::Fill => 1_000_000,
            _ => 10_000,
        }
    }
}

/// Everything a run's workers need to know, settled before it starts.
#[derive(Debug, Clone)]
pub struct Plan {
    pub scenario: Scenario,
    pub concurrency: usize,
    pub connections: usize,
    pub warmup: Duration,
    pub secs: Duration,
    /// The deadline of every call (for sync: of every answer).
    pub timeout: Duration,
    /// URLs per BatchCreateLinks call (batch, fill, and filling the store for list).
    pub batch: usize,
    /// SyncClicks messages in flight on one stream.
    pub window: usize,
    /// The store ListLinks streams, or the links fill creates.
    pub links: usize,
    /// Links created for get and sync to use.
    pub codes: usize,
    /// `Bearer KEY`, sent as `authorization` on every call.
    pub key: Option<MetadataValue<Ascii>>,
    /// Calls a second (for sync: messages a second) over all workers, or `None` for as fast as
    /// answers come back.
    pub rate: Option<f64>,
}

/// A worker's pace under `--rate`: its share of the rate, its first call offset so that the
/// workers do not all start at once. The timer wakes at most once a millisecond, so calls go out
/// in small bursts that keep the rate on average.
#[derive(Debug)]
struct Pace {
    period: Option<Duration>,
    next: Instant,
}

impl Pace {
    fn new(plan: &Plan, worker: usize) -> Pace {
        let period = plan
            .rate
            .map(|rate| Duration::from_secs_f64(plan.concurrency as f64 / rate));
        let offset = period.map_or(Duration::ZERO, |period| {
            period.mul_f64(worker as f64 / plan.concurrency as f64)
        });
        Pace {
            period,
            next: Instant::now() + offset,
        }
    }

    /// The instant the next call may go, which it books.
    fn book(&mut self) -> Option<Instant> {
        let period = self.period?;
        let slot = self.next.max(Instant::now());
        self.next = slot + period;
        Some(slot)
    }

    async fn wait(&mut self) {
        if let Some(slot) = self.book()
            && slot > Instant::now()
        {
            tokio::time::sleep_until(slot.into()).await;
        }
    }
}

/// The URLs the tool sends: `n` makes each one different. The bare server's links have the
/// same shape (`quiz/bare/src/main.rs`), so both servers move as many bytes.
pub fn url(n: u64) -> String {
    format!("https://example.com/articles/{n:010}")
}

/// A worker's own URL numbers: worker `w` counts from `w * 10^8`.
struct Urls(u64);

impl Urls {
    fn new(worker: usize) -> Urls {
        Urls(worker as u64 * 100_000_000)
    }

    fn next(&mut self) -> String {
        self.0 += 1;
        url(self.0)
    }
}

impl Plan {
    /// A request carrying the deadline and the key.
    fn request<T>(&self, message: T) -> Request<T> {
        self.request_within(message, self.timeout)
    }

    /// A request carrying the key and the deadline `deadline` from now.
    fn request_within<T>(&self, message: T, deadline: Duration) -> Request<T> {
        let mut request = Request::new(message);
        request.set_timeout(deadline);
        if let Some(key) = &self.key {
            request.metadata_mut().insert("authorization", key.clone());
        }
        request
    }

    fn deadline_passed(&self, rpc: &str) -> Status {
        Status::deadline_exceeded(format!(
            "{rpc} gave no answer within {:.1} s (the load tool's deadline)",
            self.timeout.as_secs_f64()
        ))
    }
}

/// Why no connection could be made.
#[derive(Debug)]
pub enum NoConnection {
    /// The connection failed: tonic's error, with its causes.
    Refused(String),
    /// Nothing answered in time.
    Silent(Duration),
}

impl std::fmt::Display for NoConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoConnection::Refused(error) => write!(f, "{error}"),
            NoConnection::Silent(limit) => {
                write!(f, "no connection within {:.1} s", limit.as_secs_f64())
            }
        }
    }
}

/// An error and its causes on one line: tonic's "transport error" says little alone.
pub fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `plan.connections` HTTP/2 connections to `addr` (each `Endpoint::connect` opens its own).
pub async fn connect(addr: SocketAddr, plan: &Plan) -> Result<Vec<Client>, NoConnection> {
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|error| NoConnection::Refused(with_causes(&error)))?
        .connect_timeout(plan.timeout);
    let mut clients = Vec::with_capacity(plan.connections);
    for _ in 0..plan.connections {
        match tokio::time::timeout(plan.timeout, endpoint.connect()).await {
            Ok(Ok(channel)) => clients.push(LinkServiceClient::new(channel)),
            Ok(Err(error)) => return Err(NoConnection::Refused(with_causes(&error))),
            Err(_) => return Err(NoConnection::Silent(plan.timeout)),
        }
    }
    Ok(clients)
}

/// `plan.connections` HTTP/2 connections spread over `addrs` (replicas of one server), one
/// each in turn: the workers take the connections in turn too, so the calls spread evenly.
/// Fails with the address that could not be reached.
pub async fn connect_all(
    addrs: &[SocketAddr],
    plan: &Plan,
) -> Result<Vec<Client>, (SocketAddr, NoConnection)> {
    let mut per_addr = Vec::with_capacity(addrs.len());
    for (index, &addr) in addrs.iter().enumerate() {
        let share =
            plan.connections / addrs.len() + usize::from(index < plan.connections % addrs.len());
        let one = Plan {
            connections: share,
            ..plan.clone()
        };
        per_addr.push(connect(addr, &one).await.map_err(|error| (addr, error))?);
    }
    // Interleaved, so that connection n is on replica n mod N.
    let mut clients = Vec::with_capacity(plan.connections);
    let mut iters: Vec<_> = per_addr.into_iter().map(Vec::into_iter).collect();
    while clients.len() < plan.connections {
        let before = clients.len();
        for iter in &mut iters {
            clients.extend(iter.next());
        }
        if clients.len() == before {
            break;
        }
    }
    Ok(clients)
}

/// The measured window: calls that end inside it count.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: Instant,
    pub end: Instant,
}

impl Window {
    fn holds(&self, at: Instant) -> bool {
        at >= self.start && at < self.end
    }

    /// Whether a call that ended at `at` counts in the status codes: one that ended in the
    /// window, or one that failed after it. A call still in flight at the end is waited for
    /// (up to its deadline) and counted if it failed, so that a server that answers nothing
    /// shows as the deadlines it let pass, not as an empty window.
    fn counts_status(&self, at: Instant, ok: bool) -> bool {
        at >= self.start && (at < self.end || !ok)
    }
}

/// What the workers share.
#[derive(Clone)]
struct Shared {
    plan: Arc<Plan>,
    window: Window,
    codes: Arc<[String]>,
}

/// Runs `plan.concurrency` workers over `clients` until the end of `window`, and adds up what
/// they counted inside it.
pub async fn drive(
    clients: &[Client],
    plan: &Arc<Plan>,
    window: Window,
    codes: Arc<[String]>,
) -> Tally {
    let shared = Shared {
        plan: Arc::clone(plan),
        window,
        codes,
    };
    // A JoinSet aborts its tasks when dropped: a run that is stopped takes its workers along.
    let mut workers = JoinSet::new();
    for worker in 0..plan.concurrency {
        let client = clients[worker % clients.len()].clone();
        let shared = shared.clone();
        workers.spawn(async move {
            match shared.plan.scenario {
                Scenario::Create | Scenario::Get => unary(client, shared, worker).await,
                Scenario::Batch => batch(client, shared, worker).await,
                Scenario::Sync => sync(client, shared, worker).await,
                Scenario::List => list(client, shared, worker).await,
                // fill is not a timed run: `fill()` drives it.
                Scenario::Fill => Tally::default(),
            }
        });
    }
    add_up(workers).await
}

/// What every worker counted.
async fn add_up(mut workers: JoinSet<Tally>) -> Tally {
    let mut total = Tally::default();
    while let Some(done) = workers.join_next().await {
        if let Ok(tally) = done {
            total.merge(&tally);
        }
    }
    total
}

/// After a failed call: a dead server fails calls without waiting, and a worker that never
/// waits never lets the runtime stop it.
async fn after(result: &Result<impl Sized, Status>) {
    if result.is_err() {
        tokio::task::yield_now().await;
    }
}

fn code_of<T>(result: &Result<T, Status>) -> (Code, String) {
    match result {
        Ok(_) => (Code::Ok, String::new()),
        Err(status) => (status.code(), status.message().to_string()),
    }
}

async fn unary(mut client: Client, shared: Shared, worker: usize) -> Tally {
    let plan = &shared.plan;
    let mut tally = Tally::default();
    let mut urls = Urls::new(worker);
    let mut next_code = worker;
    let mut pace = Pace::new(plan, worker);
    loop {
        pace.wait().await;
        let started = Instant::now();
        if started >= shared.window.end {
            return tally;
        }
        let result = match plan.scenario {
            Scenario::Get => {
                next_code = (next_code + 1) % shared.codes.len().max(1);
                let short_code = shared.codes.get(next_code).cloned().unwrap_or_default();
                let call = client.get_link(plan.request(GetLinkRequest { short_code }));
                match tokio::time::timeout(plan.timeout, call).await {
                    Ok(result) => result.map(drop),
                    Err(_) => Err(plan.deadline_passed("GetLink")),
                }
            }
            _ => {
                let call = client.create_link(plan.request(CreateLinkRequest { url: urls.next() }));
                match tokio::time::timeout(plan.timeout, call).await {
                    Ok(result) => result.map(drop),
                    Err(_) => Err(plan.deadline_passed("CreateLink")),
                }
            }
        };
        let ended = Instant::now();
        let (code, message) = code_of(&result);
        if shared.window.counts_status(ended, result.is_ok()) {
            tally.ended(code, &message);
        }
        if result.is_ok() && shared.window.holds(ended) {
            tally.latencies.record(ended - started);
            tally.ops += 1;
        }
        after(&result).await;
    }
}

/// One BatchCreateLinks call of `size` URLs: the links created, or how it failed.
async fn one_batch(
    client: &mut Client,
    plan: &Plan,
    urls: &mut Urls,
    size: usize,
) -> Result<u64, Status> {
    let requests: Vec<CreateLinkRequest> = (0..size)
        .map(|_| CreateLinkRequest { url: urls.next() })
        .collect();
    let call = client.batch_create_links(plan.request(tokio_stream::iter(requests)));
    match tokio::time::timeout(plan.timeout, call).await {
        Ok(result) => {
            let created = result?.into_inner().created_count;
            Ok(u64::try_from(created).unwrap_or(0))
        }
        Err(_) => Err(plan.deadline_passed("BatchCreateLinks")),
    }
}

async fn batch(mut client: Client, shared: Shared, worker: usize) -> Tally {
    let plan = &shared.plan;
    let mut tally = Tally::default();
    let mut urls = Urls::new(worker);
    let mut pace = Pace::new(plan, worker);
    loop {
        pace.wait().await;
        let started = Instant::now();
        if started >= shared.window.end {
            return tally;
        }
        let result = one_batch(&mut client, plan, &mut urls, plan.batch).await;
        let ended = Instant::now();
        let (code, message) = code_of(&result);
        if shared.window.counts_status(ended, result.is_ok()) {
            tally.ended(code, &message);
        }
        if let Ok(created) = result
            && shared.window.holds(ended)
        {
            tally.latencies.record(ended - started);
            tally.ops += created;
        }
        after(&result).await;
    }
}

async fn list(mut client: Client, shared: Shared, worker: usize) -> Tally {
    let plan = &shared.plan;
    let mut tally = Tally::default();
    let mut pace = Pace::new(plan, worker);
    loop {
        pace.wait().await;
        let started = Instant::now();
        if started >= shared.window.end {
            return tally;
        }
        // Links count one by one as they arrive, so a stream cut by the window's edge counts
        // only the links inside it.
        let mut received_inside = 0;
        let call = async {
            let mut stream = client
                .list_links(plan.request(ListLinksRequest::default()))
                .await?
                .into_inner();
            while stream.message().await?.is_some() {
                if shared.window.holds(Instant::now()) {
                    received_inside += 1;
                }
            }
            Ok::<(), Status>(())
        };
        let result = match tokio::time::timeout(plan.timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(plan.deadline_passed("ListLinks")),
        };
        let ended = Instant::now();
        tally.ops += received_inside;
        let (code, message) = code_of(&result);
        if shared.window.counts_status(ended, result.is_ok()) {
            tally.ended(code, &message);
        }
        if result.is_ok() && shared.window.holds(ended) {
            tally.latencies.record(ended - started);
        }
        after(&result).await;
    }
}

async fn sync(mut client: Client, shared: Shared, worker: usize) -> Tally {
    let mut tally = Tally::default();
    let mut first_code = worker;
    let pace = Arc::new(Mutex::new(Pace::new(&shared.plan, worker)));
    // A stream that breaks is replaced, until the window ends.
    while Instant::now() < shared.window.end {
        one_sync_stream(&mut client, &shared, first_code, &pace, &mut tally).await;
        first_code += 1;
        // A stream ends early only when it broke: let the runtime in before the next.
        tokio::task::yield_now().await;
    }
    tally
}

/// One SyncClicks stream, open until the window ends: requests go out as long as fewer than
/// `plan.window` wait for their answer; each answer's latency is from its request's sending.
async fn one_sync_stream(
    client: &mut Client,
    shared: &Shared,
    first_code: usize,
    pace: &Arc<Mutex<Pace>>,
    tally: &mut Tally,
) {
    let plan = &shared.plan;
    let window = Arc::new(Semaphore::new(plan.window));
    let sent: Arc<Mutex<VecDeque<Instant>>> = Arc::default();
    let requests = {
        let (window, sent, codes, pace) = (
            Arc::clone(&window),
            Arc::clone(&sent),
            Arc::clone(&shared.codes),
            Arc::clone(pace),
        );
        let end = shared.window.end;
        tokio_stream::iter(first_code..)
            .then(move |n| {
                let (window, sent, codes) =
                    (Arc::clone(&window), Arc::clone(&sent), Arc::clone(&codes));
                let slot = pace
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .book();
                async move {
                    if let Some(slot) = slot
                        && slot > Instant::now()
                    {
                        tokio::time::sleep_until(slot.into()).await;
                    }
                    window.acquire().await.ok()?.forget();
                    let now = Instant::now();
                    if now >= end {
                        return None; // the end of the request stream: the client's half-close
                    }
                    sent.lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .push_back(now);
                    let short_code = codes
                        .get(n % codes.len().max(1))
                        .cloned()
                        .unwrap_or_default();
                    Some(SyncRequest {
                        short_code,
                        clicks: 1,
                    })
                }
            })
            .map_while(|request| request)
    };
    // The stream lives until the window ends: its deadline (which the server may keep, as the
    // course's does) is that, and one call's deadline more for the last answers.
    let life = shared.window.end.saturating_duration_since(Instant::now()) + plan.timeout;
    let opened = match tokio::time::timeout(
        plan.timeout,
        client.sync_clicks(plan.request_within(requests, life)),
    )
    .await
    {
        Ok(Ok(response)) => Ok(response.into_inner()),
        Ok(Err(status)) => Err(status),
        Err(_) => Err(plan.deadline_passed("SyncClicks")),
    };
    let mut answers = match opened {
        Ok(answers) => answers,
        Err(status) => {
            if Instant::now() >= shared.window.start {
                tally.ended(status.code(), status.message());
            }
            return;
        }
    };
    loop {
        let status = match tokio::time::timeout(plan.timeout, answers.message()).await {
            Ok(Ok(Some(_answer))) => {
                let now = Instant::now();
                let sent_at = sent
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .pop_front();
                window.add_permits(1);
                if let Some(sent_at) = sent_at
                    && shared.window.holds(now)
                {
                    tally.latencies.record(now - sent_at);
                    tally.ops += 1;
                }
                continue;
            }
            Ok(Ok(None)) => Status::ok(""),
            Ok(Err(status)) => status,
            Err(_) => plan.deadline_passed("SyncClicks (an answer)"),
        };
        // A stream ends once, at the window's end or when it breaks: count every ending after
        // the warm-up.
        if Instant::now() >= shared.window.start {
            tally.ended(status.code(), status.message());
        }
        return;
    }
}

/// Creates `total` links in BatchCreateLinks calls of `plan.batch`, `plan.concurrency` at a
/// time. It stops at the first call that fails: a store filled in part measures nothing.
pub async fn fill(clients: &[Client], plan: &Arc<Plan>, total: usize) -> Tally {
    let batches = total.div_ceil(plan.batch.max(1));
    let next = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    let mut workers = JoinSet::new();
    for worker in 0..plan.concurrency {
        let mut client = clients[worker % clients.len()].clone();
        let (plan, next, failed) = (Arc::clone(plan), Arc::clone(&next), Arc::clone(&failed));
        workers.spawn(async move {
            let mut tally = Tally::default();
            let mut urls = Urls::new(worker);
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed) as usize;
                if index >= batches || failed.load(Ordering::Relaxed) {
                    return tally;
                }
                let size = plan.batch.min(total - index * plan.batch);
                let started = Instant::now();
                let result = one_batch(&mut client, &plan, &mut urls, size).await;
                let (code, message) = code_of(&result);
                tally.ended(code, &message);
                match result {
                    Ok(created) => {
                        tally.latencies.record(started.elapsed());
                        tally.ops += created;
                    }
                    Err(_) => {
                        failed.store(true, Ordering::Relaxed);
                        return tally;
                    }
                }
            }
        });
    }
    add_up(workers).await
}

/// Creates `plan.codes` links with CreateLink (every lesson's server has it), for get and sync
/// to use: their short codes, or the status of the call that failed.
pub async fn create_codes(clients: &[Client], plan: &Plan) -> Result<Vec<String>, Status> {
    let mut client = clients[0].clone();
    let mut urls = Urls::new(999);
    let mut codes = Vec::with_capacity(plan.codes);
    for _ in 0..plan.codes {
        let call = client.create_link(plan.request(CreateLinkRequest { url: urls.next() }));
        let response = match tokio::time::timeout(plan.timeout, call).await {
            Ok(result) => result?.into_inner(),
            Err(_) => return Err(plan.deadline_passed("CreateLink")),
        };
        let link = response
            .link
            .ok_or_else(|| Status::internal("CreateLink answered with no link"))?;
        codes.push(link.short_code);
    }
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_differ_between_workers_and_calls() {
        let (mut a, mut b) = (Urls::new(0), Urls::new(1));
        let (a1, a2, b1) = (a.next(), a.next(), b.next());
        assert_ne!(a1, a2);
        assert_ne!(a1, b1);
        assert_eq!(a1, "https://example.com/articles/0000000001");
        assert_eq!(a1.len(), b1.len(), "every URL of a run is as long");
    }
}
