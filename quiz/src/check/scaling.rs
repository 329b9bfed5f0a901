//! The black-box checks of lesson 19 (scaling out): three replicas of the learner's server on
//! one throwaway PostgreSQL database, seen from outside. A link created on one replica is read
//! on the others and a link deleted on one is gone on all; ids and codes stay unique when the
//! three create at once; clicks sent to the three at once add up exactly (a read-modify-write
//! of the count loses some); a CreateLink replayed with its `idempotency-key`, on another
//! replica, returns the first link, and the key reused for another URL is FAILED_PRECONDITION;
//! and the learner's client binary, given the three addresses, carries on while one replica is
//! killed under its load, with no acknowledged create lost and none made twice.
//!
//! PostgreSQL comes from `shortener_proto::postgres::TestPostgres` (initdb and postgres on a
//! free loopback port, in a temporary folder). Where none is installed, the checks are skipped
//! with a note, unless `COURSE_REQUIRE_TOOLS` is set (as in CI), where that is a failure.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use shortener_proto::link_service_client::LinkServiceClient;
use shortener_proto::postgres::TestPostgres;
use shortener_proto::{
    CreateLinkRequest, DeleteLinkRequest, GetLinkRequest, Link, ListLinksRequest, SyncRequest,
};
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

use super::rpc::{self, shown};
use super::server::{self, RunningServer};
use super::{Failure, Limits, Reporter};

/// How many replicas of the learner's server the checks run.
const REPLICAS: usize = 3;

/// The metadata key of an idempotency key.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Where the lesson's pieces live, for the hints.
const STORE: &str = "the PostgreSQL store (`PgStore`, src/postgres.rs)";
const CREATE: &str = "`create_link` in src/server.rs, which reads the `idempotency-key` metadata, \
                      and `create_with_key` in the store";
const CLIENT: &str = "the client: src/balance.rs (which replica gets a call), src/retry.rs (which \
                      failures are retried) and src/client.rs (what each command retries)";

/// SyncClicks streams per replica, and the messages (each +1 click) on each.
const STREAMS_PER_REPLICA: usize = 2;
const CLICKS_PER_STREAM: usize = 250;

/// Client runs in all, by how many workers at once, and after how many the replica dies.
const CLIENT_RUNS: usize = 160;
const CLIENT_WORKERS: usize = 4;
const KILL_AFTER: usize = 40;

type Client = LinkServiceClient<Channel>;

/// The three replicas, each with a client of the checker's own.
struct Replicas {
    servers: Vec<RunningServer>,
    clients: Vec<Client>,
}

impl Replicas {
    /// `result`, with the panics the replicas' logs show added to a failure's `got`: a handler
    /// that panics (a `todo!()` still there) shows to a client as CANCELLED "h2 protocol
    /// error", which says nothing of where to look.
    fn with_panics(&self, result: Result<(), Failure>) -> Result<(), Failure> {
        result.map_err(|mut failure| {
            for (index, server) in self.servers.iter().enumerate() {
                let log = server.log.text();
                let mut lines = log.lines();
                while let Some(line) = lines.next() {
                    if line.contains("panicked at") {
                        let message = lines.next().unwrap_or_default();
                        failure.got.push_str(&format!(
                            "\nreplica {index}'s log: {} {}",
                            line.trim(),
                            message.trim()
                        ));
                        break;
                    }
                }
            }
            failure
        })
    }

    fn addrs(&self) -> Vec<SocketAddr> {
        self.servers.iter().map(|server| server.addr).collect()
    }

    async fn stop(self) {
        for server in self.servers {
            server.stop().await;
        }
    }
}

/// Runs the checks against three replicas of `binary`; `client` is the learner's client binary.
pub async fn run(binary: &Path, client: Option<&Path>, limits: Limits, reporter: &mut Reporter) {
    const STARTS: &str = "a throwaway PostgreSQL starts, for three replicas of your server";
    let postgres = match TestPostgres::start().await {
        Ok(Some(postgres)) => postgres,
        Ok(None) => {
            reporter.note(
                "(skipped lesson 19's replica checks: no PostgreSQL is installed here; `apt \
                 install postgresql` to run them. COURSE_REQUIRE_TOOLS=1 makes this a failure.)",
            );
            return;
        }
        Err(error) => {
            reporter.record(
                STARTS,
                Err(Failure::new(
                    "initdb and postgres to start a database server on a free port",
                    error.to_string(),
                    "The checker runs PostgreSQL itself, from PATH or /usr/lib/postgresql/*/bin \
                     (`apt install postgresql`). Nothing in your crate causes this.",
                )),
            );
            return;
        }
    };
    let url = match postgres.create_database("shortener").await {
        Ok(url) => url,
        Err(error) => {
            reporter.record(
                STARTS,
                Err(Failure::new(
                    "createdb to make the database the replicas share",
                    error.to_string(),
                    "",
                )),
            );
            stop_postgres(postgres).await;
            return;
        }
    };
    reporter.record(STARTS, Ok(()));

    match start_replicas(binary, &url, limits).await {
        Err(failure) => reporter.record(
            "three replicas start on one PostgreSQL database",
            Err(failure),
        ),
        Ok(mut replicas) => {
            reporter.record("three replicas start on one PostgreSQL database", Ok(()));
            let limit = limits.call;
            reporter.record(
                "a link created on one replica is read on the others, and deleted for all",
                replicas.with_panics(one_database(&replicas.clients, limit).await),
            );
            reporter.record(
                "ids and short codes stay unique when three replicas create at once",
                replicas.with_panics(unique(&replicas.clients, limit).await),
            );
            reporter.record(
                "clicks sent to three replicas at once add up exactly",
                replicas.with_panics(clicks(&replicas.clients, limit).await),
            );
            reporter.record(
                "a CreateLink replayed with its idempotency-key, on another replica, returns \
                 the first link",
                replicas.with_panics(replay(&replicas.clients, limit).await),
            );
            match client {
                Some(client) => {
                    let result = killed(client, &mut replicas, limits).await;
                    reporter.record(
                        "your client carries on when a replica is killed under its load",
                        replicas.with_panics(result),
                    );
                }
                None => reporter.note("(no client binary: the replica-killing check is skipped)"),
            }
            replicas.stop().await;
        }
    }
    stop_postgres(postgres).await;
}

/// Dropping a `TestPostgres` blocks until the server stopped: not on the runtime's thread.
async fn stop_postgres(postgres: TestPostgres) {
    let _ = tokio::task::spawn_blocking(move || drop(postgres)).await;
}

/// Starts the replicas at once, as a deployment does, each with `--database-url URL`.
async fn start_replicas(binary: &Path, url: &str, limits: Limits) -> Result<Replicas, Failure> {
    let starts = (0..REPLICAS).map(|_| {
        let (binary, url) = (binary.to_path_buf(), url.to_string());
        async move {
            let args = ["--database-url", url.as_str()];
            server::start_with_args(&binary, &args, limits.server_start).await
        }
    });
    let mut servers = Vec::new();
    let mut failed = None;
    for (index, started) in futures_join(starts).await.into_iter().enumerate() {
        match started {
            Ok(server) => servers.push(server),
            Err(failure) => {
                failed.get_or_insert((index, failure.described()));
            }
        }
    }
    if let Some((index, described)) = failed {
        for server in servers {
            server.stop().await;
        }
        return Err(Failure::new(
            "three servers started at once with `--addr 127.0.0.1:0 --database-url \
             postgres://...` (one fresh database) each print `LinkService listening on ...`",
            format!("replica {index}: {described}"),
            format!(
                "The server must take --database-url (or DATABASE_URL) and open {STORE} for a \
                 `postgres://` URL. Three replicas run the migrations at once on a fresh \
                 database: sqlx's migrator takes an advisory lock, so the second and third wait \
                 for the first."
            ),
        ));
    }
    let mut clients = Vec::new();
    for server in &servers {
        match rpc::channel(server.addr, limits.call).await {
            Ok(channel) => clients.push(LinkServiceClient::new(channel)),
            Err(_) => {
                let addr = server.addr;
                for server in servers {
                    server.stop().await;
                }
                return Err(Failure::new(
                    format!("an HTTP/2 connection to the replica at {addr}"),
                    "none",
                    "The server printed its address but does not accept gRPC there.",
                ));
            }
        }
    }
    Ok(Replicas { servers, clients })
}

/// Awaits every future, all at once, in order.
async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    for (index, future) in futures.enumerate() {
        tasks.spawn(async move { (index, future.await) });
    }
    let mut outputs: Vec<(usize, F::Output)> = Vec::new();
    while let Some(Ok(output)) = tasks.join_next().await {
        outputs.push(output);
    }
    outputs.sort_by_key(|(index, _)| *index);
    outputs.into_iter().map(|(_, output)| output).collect()
}

/// `call` within `limit`, or DEADLINE_EXCEEDED.
async fn within<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, Status>>,
) -> Result<T, Status> {
    tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
        Err(Status::deadline_exceeded(
            "no answer within the check's limit",
        ))
    })
}

async fn create(
    client: &Client,
    url: &str,
    key: Option<&str>,
    limit: Duration,
) -> Result<Link, Status> {
    let mut request = Request::new(CreateLinkRequest {
        url: url.to_string(),
    });
    if let Some(key) = key {
        let value = AsciiMetadataValue::try_from(key)
            .map_err(|_| Status::internal("the checker's key is no header value"))?;
        request.metadata_mut().insert(IDEMPOTENCY_KEY, value);
    }
    let mut client = client.clone();
    let answer = within(limit, client.create_link(request)).await?;
    answer
        .into_inner()
        .link
        .ok_or_else(|| Status::internal("CreateLink answered OK without a link"))
}

async fn get(client: &Client, code: &str, limit: Duration) -> Result<Link, Status> {
    let mut client = client.clone();
    let request = GetLinkRequest {
        short_code: code.to_string(),
    };
    let answer = within(limit, client.get_link(request)).await?;
    answer
        .into_inner()
        .link
        .ok_or_else(|| Status::internal("GetLink answered OK without a link"))
}

/// Every link ListLinks streams.
async fn list(client: &Client, limit: Duration) -> Result<Vec<Link>, Status> {
    let mut client = client.clone();
    let listing = async {
        let mut stream = client
            .list_links(ListLinksRequest::default())
            .await?
            .into_inner();
        let mut links = Vec::new();
        while let Some(link) = stream.message().await? {
            links.push(link);
        }
        Ok(links)
    };
    within(limit * 4, listing).await
}

/// Create on replica 0, read on 1 and 2; delete on 1, gone on 0 and 2; the code stays retired.
async fn one_database(clients: &[Client], limit: Duration) -> Result<(), Failure> {
    let expected = "CreateLink on replica 0, then GetLink of its code on replicas 1 and 2: the \
                    same link; DeleteLink on replica 1, then GetLink on 0 and 2: NOT_FOUND";
    let hint = format!(
        "Every replica must keep nothing of its own: links, ids and retired codes all live in \
         {STORE}. A cache in one replica's memory is stale as soon as another replica writes."
    );
    let fail = |got: String| Failure::new(expected, got, hint.clone());
    let url = "https://example.com/scaling/one-database";
    let created = create(&clients[0], url, None, limit)
        .await
        .map_err(|status| fail(format!("CreateLink on replica 0: {}", shown(&status))))?;
    for (index, client) in clients.iter().enumerate().skip(1) {
        let got = get(client, &created.short_code, limit)
            .await
            .map_err(|status| {
                fail(format!(
                    "GetLink {} on replica {index}: {}",
                    created.short_code,
                    shown(&status)
                ))
            })?;
        if got.id != created.id || got.url != created.url {
            return Err(fail(format!(
                "replica {index} answered {got:?} for the link replica 0 created as {created:?}"
            )));
        }
    }
    let mut deleter = clients[1].clone();
    let request = DeleteLinkRequest {
        short_code: created.short_code.clone(),
    };
    within(limit, deleter.delete_link(request))
        .await
        .map_err(|status| fail(format!("DeleteLink on replica 1: {}", shown(&status))))?;
    for index in [0, 2] {
        match get(&clients[index], &created.short_code, limit).await {
            Err(status) if status.code() == Code::NotFound => {}
            Err(status) => {
                return Err(fail(format!(
                    "GetLink of the deleted code on replica {index}: {}",
                    shown(&status)
                )));
            }
            Ok(link) => {
                return Err(fail(format!(
                    "replica {index} still has the link replica 1 deleted: {link:?}"
                )));
            }
        }
    }
    Ok(())
}

/// 3 × 20 CreateLinks at once, spread over the replicas: distinct ids, distinct codes, and
/// ListLinks on any replica streams all of them.
async fn unique(clients: &[Client], limit: Duration) -> Result<(), Failure> {
    const EACH: usize = 20;
    let expected = format!(
        "{} CreateLinks sent at once, {EACH} to each replica: {} different ids and {} different \
         short codes, and ListLinks on replica 2 streams every one of them",
        EACH * REPLICAS,
        EACH * REPLICAS,
        EACH * REPLICAS
    );
    let hint = format!(
        "Ids must come from the database (a sequence: `BIGSERIAL` or `GENERATED ... AS \
         IDENTITY`), never from a counter in one replica's memory. Codes are drawn at random in \
         each replica, so two can draw the same one: a UNIQUE constraint must refuse the \
         second, and that replica must draw again (a unique violation, SQLSTATE 23505). See \
         {STORE}."
    );
    let fail = |got: String| Failure::new(expected.clone(), got, hint.clone());
    let mut calls = Vec::new();
    for n in 0..EACH * REPLICAS {
        let client = clients[n % REPLICAS].clone();
        calls.push(async move {
            let url = format!("https://example.com/scaling/unique/{n:03}");
            create(&client, &url, None, limit * 2).await
        });
    }
    let mut links = Vec::new();
    for (n, created) in futures_join(calls.into_iter())
        .await
        .into_iter()
        .enumerate()
    {
        links.push(created.map_err(|status| {
            fail(format!(
                "CreateLink {n} on replica {}: {}",
                n % REPLICAS,
                shown(&status)
            ))
        })?);
    }
    let mut ids = BTreeMap::new();
    let mut codes = BTreeMap::new();
    for link in &links {
        if let Some(first) = ids.insert(link.id, link.url.clone()) {
            return Err(fail(format!(
                "two links got the id {}: {first} and {}",
                link.id, link.url
            )));
        }
        if let Some(first) = codes.insert(link.short_code.clone(), link.url.clone()) {
            return Err(fail(format!(
                "two links got the code {}: {first} and {}",
                link.short_code, link.url
            )));
        }
    }
    let listed = list(&clients[2], limit)
        .await
        .map_err(|status| fail(format!("ListLinks on replica 2: {}", shown(&status))))?;
    let missing: Vec<&Link> = links
        .iter()
        .filter(|link| !listed.iter().any(|other| other.id == link.id))
        .collect();
    if !missing.is_empty() {
        return Err(fail(format!(
            "ListLinks on replica 2 misses {} of them, such as {:?}",
            missing.len(),
            missing[0]
        )));
    }
    Ok(())
}

/// Two SyncClicks streams on each replica, 250 clicks of +1 on each, all at once, on one link:
/// the total must be exact.
async fn clicks(clients: &[Client], limit: Duration) -> Result<(), Failure> {
    let total = REPLICAS * STREAMS_PER_REPLICA * CLICKS_PER_STREAM;
    let expected = format!(
        "{} SyncClicks streams at once ({STREAMS_PER_REPLICA} on each replica), each adding 1 \
         click {CLICKS_PER_STREAM} times to one link: every click acknowledged, and GetLink on \
         every replica then says {total} clicks",
        REPLICAS * STREAMS_PER_REPLICA
    );
    let hint = format!(
        "A count read, increased in Rust and written back loses updates when two replicas do it \
         at once: both read 10, both write 11. Add in the database, in one statement: `UPDATE \
         links SET clicks = clicks + $1 WHERE ... RETURNING clicks` ({STORE})."
    );
    let fail = |got: String| Failure::new(expected.clone(), got, hint.clone());
    let link = create(
        &clients[0],
        "https://example.com/scaling/clicks",
        None,
        limit,
    )
    .await
    .map_err(|status| fail(format!("CreateLink: {}", shown(&status))))?;
    let mut streams = Vec::new();
    for client in clients {
        for _ in 0..STREAMS_PER_REPLICA {
            let mut client = client.clone();
            let code = link.short_code.clone();
            streams.push(async move {
                let requests = (0..CLICKS_PER_STREAM).map(move |_| SyncRequest {
                    short_code: code.clone(),
                    clicks: 1,
                });
                let syncing = async {
                    let mut answers = client
                        .sync_clicks(tokio_stream::iter(requests))
                        .await?
                        .into_inner();
                    let mut acknowledged = 0;
                    while let Some(answer) = answers.message().await? {
                        acknowledged += usize::from(answer.acknowledged);
                    }
                    Ok(acknowledged)
                };
                within(limit * 4, syncing).await
            });
        }
    }
    let mut acknowledged = 0;
    for (n, synced) in futures_join(streams.into_iter())
        .await
        .into_iter()
        .enumerate()
    {
        acknowledged += synced.map_err(|status| {
            fail(format!(
                "SyncClicks stream {n} (replica {}): {}",
                n / STREAMS_PER_REPLICA,
                shown(&status)
            ))
        })?;
    }
    if acknowledged != total {
        return Err(fail(format!(
            "{acknowledged} of the {total} clicks were acknowledged"
        )));
    }
    for (index, client) in clients.iter().enumerate() {
        let got = get(client, &link.short_code, limit)
            .await
            .map_err(|status| fail(format!("GetLink on replica {index}: {}", shown(&status))))?;
        if got.clicks != total as i64 {
            let what = if got.clicks < total as i64 {
                "clicks were lost: a lost update"
            } else {
                "clicks were counted twice"
            };
            return Err(fail(format!(
                "replica {index} says {} clicks; {} were acknowledged ({what})",
                got.clicks, total
            )));
        }
    }
    Ok(())
}

/// A keyed CreateLink, replayed on another replica; the key with another URL; a key too long.
async fn replay(clients: &[Client], limit: Duration) -> Result<(), Failure> {
    let expected = "CreateLink with `idempotency-key: K` on replica 0, the same call on replica \
                    1: the same link (one link made); K with another URL on replica 2: \
                    FAILED_PRECONDITION; a key of 256 characters: INVALID_ARGUMENT";
    let hint = format!(
        "{CREATE}: the key is stored with the link under a UNIQUE constraint, so that two \
         replicas racing on one key make one link; a repeated key is answered with the stored \
         link when the URL is the same, FAILED_PRECONDITION when it is not. A key is 1 to 255 \
         visible ASCII characters; anything else is INVALID_ARGUMENT."
    );
    let fail = |got: String| Failure::new(expected, got, hint.clone());
    let key = format!("check-19-{:016x}", rand::random::<u64>());
    let url = format!("https://example.com/scaling/{key}");
    let first = create(&clients[0], &url, Some(&key), limit)
        .await
        .map_err(|status| fail(format!("the first CreateLink: {}", shown(&status))))?;
    let again = create(&clients[1], &url, Some(&key), limit)
        .await
        .map_err(|status| fail(format!("the replay on replica 1: {}", shown(&status))))?;
    if again.id != first.id || again.short_code != first.short_code {
        return Err(fail(format!(
            "the first call made {} (id {}), the replay {} (id {}): a second link",
            first.short_code, first.id, again.short_code, again.id
        )));
    }
    let other = format!("{url}/other");
    match create(&clients[2], &other, Some(&key), limit).await {
        Err(status) if status.code() == Code::FailedPrecondition => {}
        Err(status) => {
            return Err(fail(format!(
                "the key reused for another URL: {}",
                shown(&status)
            )));
        }
        Ok(link) => {
            let what = if link.id == first.id {
                "the first link, for a URL it does not have"
            } else {
                "a new link under a key already used"
            };
            return Err(fail(format!(
                "the key reused for another URL answered OK with {what}: {link:?}"
            )));
        }
    }
    let long = "k".repeat(256);
    match create(
        &clients[0],
        "https://example.com/scaling/long-key",
        Some(&long),
        limit,
    )
    .await
    {
        Err(status) if status.code() == Code::InvalidArgument => Ok(()),
        Err(status) => Err(fail(format!("a key of 256 characters: {}", shown(&status)))),
        Ok(link) => Err(fail(format!(
            "a key of 256 characters was taken, and made {link:?}"
        ))),
    }
}

/// One run of the learner's client binary, given every replica's address.
async fn run_client(
    path: &Path,
    addrs: &[SocketAddr],
    args: &[String],
    limit: Duration,
) -> Result<Output, String> {
    let mut command = tokio::process::Command::new(path);
    for addr in addrs {
        command.arg("--addr").arg(addr.to_string());
    }
    let run = command
        .args(args)
        .env_remove("SHORTENER_ADDR")
        .env_remove("SHORTENER_API_KEY")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(limit, run).await {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(error)) => Err(format!("cannot run {}: {error}", path.display())),
        Err(_) => Err(format!("no end within {} s", limit.as_secs())),
    }
}

/// What one run printed, for a failure.
fn shown_run(args: &[String], output: &Output) -> String {
    format!(
        "`client --addr A --addr B --addr C {}` exited {:?}\n  stdout: {}\n  stderr: {}",
        args.join(" "),
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).trim_end(),
        String::from_utf8_lossy(&output.stderr).trim_end()
    )
}

/// The learner's client, given the three addresses, creating and reading from four workers at
/// once while replica 0 is killed (SIGKILL, no drain): every run must succeed, every link a
/// create printed must be there, and no URL may have two links.
async fn killed(client: &Path, replicas: &mut Replicas, limits: Limits) -> Result<(), Failure> {
    let expected = format!(
        "{CLIENT_RUNS} runs of your client (`get` and `create`, {CLIENT_WORKERS} at once), each \
         given the three replicas' addresses, while replica 0 is killed after {KILL_AFTER} runs: \
         every run exits 0, every link a `create` printed is stored, and no URL has two links"
    );
    let hint = format!(
        "Look at {CLIENT}. A call sent to the dead replica fails with UNAVAILABLE (it refused the \
         connection) or UNKNOWN (the connection broke under the call): GetLink is safe to \
         retry, CreateLink only with the same idempotency-key on every attempt. Two links for \
         one URL mean a retried create carried a new key, or none."
    );
    let fail = |got: String| Failure::new(expected.clone(), got, hint.clone());
    let limit = limits.call;
    let seed = create(
        &replicas.clients[1],
        "https://example.com/scaling/read-under-load",
        None,
        limit,
    )
    .await
    .map_err(|status| {
        fail(format!(
            "CreateLink of the link to read: {}",
            shown(&status)
        ))
    })?;
    let addrs = replicas.addrs();
    let done = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..CLIENT_WORKERS {
        let (client, addrs, done, code) = (
            client.to_path_buf(),
            addrs.clone(),
            done.clone(),
            seed.short_code.clone(),
        );
        let run_limit = limits.client_run;
        workers.spawn(async move {
            let mut created = Vec::new();
            for n in 0.. {
                if done.fetch_add(1, Ordering::SeqCst) >= CLIENT_RUNS {
                    break;
                }
                let args = if n % 2 == 0 {
                    vec!["get".to_string(), code.clone()]
                } else {
                    let url = format!("https://example.com/scaling/load/{worker}/{n}");
                    vec!["create".to_string(), url]
                };
                let output = run_client(&client, &addrs, &args, run_limit).await?;
                if !output.status.success() {
                    return Err(shown_run(&args, &output));
                }
                if args[0] == "create" {
                    let stdout = String::from_utf8_lossy(&output.stdout);
                    let code = stdout
                        .lines()
                        .find_map(|line| line.strip_prefix("created "))
                        .and_then(|rest| rest.split(" -> ").next())
                        .map(str::to_string)
                        .ok_or_else(|| {
                            format!(
                                "{}\n(a create prints `created CODE -> URL`)",
                                shown_run(&args, &output)
                            )
                        })?;
                    created.push((code, args[1].clone()));
                }
            }
            Ok::<_, String>(created)
        });
    }
    // Kill replica 0 once the load has run a while.
    let waited = tokio::time::timeout(limits.client_run * 4, async {
        while done.load(Ordering::SeqCst) < KILL_AFTER && !workers.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    if waited.is_err() {
        return Err(fail(format!(
            "{} runs in {} s before the kill; the runs are too slow to go on",
            done.load(Ordering::SeqCst),
            limits.client_run.as_secs() * 4
        )));
    }
    replicas.servers[0].signal(libc::SIGKILL);

    let mut created = Vec::new();
    let mut failures = Vec::new();
    let all = tokio::time::timeout(limits.client_run * 8, async {
        while let Some(joined) = workers.join_next().await {
            match joined {
                Ok(Ok(links)) => created.extend(links),
                Ok(Err(failure)) => failures.push(failure),
                Err(error) => failures.push(format!("a worker of the checker failed: {error}")),
            }
        }
    })
    .await;
    if all.is_err() {
        return Err(fail(format!(
            "the runs did not end within {} s",
            limits.client_run.as_secs() * 8
        )));
    }
    if let Some(failure) = failures.first() {
        return Err(fail(format!(
            "{} of the workers stopped at a failed run; the first:\n{failure}",
            failures.len()
        )));
    }

    // Read back on a replica still alive.
    let survivor = &replicas.clients[2];
    for (code, url) in &created {
        match get(survivor, code, limit).await {
            Ok(link) if link.url == *url => {}
            Ok(link) => {
                return Err(fail(format!(
                    "`create {url}` printed {code}, but the link stored as {code} is {}",
                    link.url
                )));
            }
            Err(status) => {
                return Err(fail(format!(
                    "`create {url}` printed {code}, but GetLink {code} on replica 2 says {}: an \
                     acknowledged create was lost",
                    shown(&status)
                )));
            }
        }
    }
    let listed = list(survivor, limit)
        .await
        .map_err(|status| fail(format!("ListLinks on replica 2: {}", shown(&status))))?;
    let mut per_url: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for link in &listed {
        if link.url.starts_with("https://example.com/scaling/load/") {
            per_url.entry(&link.url).or_default().push(&link.short_code);
        }
    }
    if let Some((url, codes)) = per_url.iter().find(|(_, codes)| codes.len() > 1) {
        return Err(fail(format!(
            "{url} has {} links ({}): one `create`, made twice by a retry",
            codes.len(),
            codes.join(", ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn futures_join_keeps_the_order_of_the_futures() {
        let futures = [30_u64, 0, 10].into_iter().map(|wait| async move {
            tokio::time::sleep(Duration::from_millis(wait)).await;
            wait
        });
        assert_eq!(futures_join(futures).await, [30, 0, 10]);
    }
}
