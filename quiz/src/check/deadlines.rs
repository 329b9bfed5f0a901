//! The black-box checks of lesson 13 (deadlines and cancellation): an idle stream ends at its
//! call's deadline, a batch whose client resets the stream half-way stores nothing, a request
//! over the server's message limit is refused while the server goes on, and SIGTERM lets a
//! stream in flight finish, refuses new connections, and ends the process with 0.
//!
//! The first three run against the server the other checks use. The last starts a server of its
//! own: it is the one check that ends the process on purpose.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use shortener_proto::{CreateLinkRequest, SyncRequest, SyncResponse};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Request, Streaming};

use super::rpc::{self, Client, Context, shown};
use super::{Failure, Limits, Reporter};

/// Where the lesson's pieces live, for the hints.
const SYNC: &str = "the task of `sync_clicks` in src/server.rs (Exercise 2)";
const BATCH: &str = "`batch_create_links` in src/server.rs (Exercise 3)";
const LIMIT: &str = "`serve` in src/lib.rs (Exercise 3)";
const MAIN: &str = "`main` in src/bin/server.rs (Exercise 4)";

/// An idle SyncClicks stream with a deadline of 300 ms must end with DEADLINE_EXCEEDED.
async fn idle_stream_ends_at_its_deadline(cx: &Context) -> Result<(), Failure> {
    let expected = "the stream to end with DEADLINE_EXCEEDED soon after its deadline of 300 ms";
    let (tx, rx) = mpsc::channel::<SyncRequest>(1);
    let mut request = Request::new(ReceiverStream::new(rx));
    request.set_timeout(Duration::from_millis(300));
    let mut client = cx.client.clone();
    let answers = match tokio::time::timeout(cx.limit, client.sync_clicks(request)).await {
        Ok(Ok(response)) => response.into_inner(),
        Ok(Err(status)) => return Err(cx.unexpected("SyncClicks", expected, &status)),
        Err(_) => {
            return Err(Failure::new(
                expected,
                "SyncClicks did not even start",
                "`sync_clicks` must return its response stream at once, and answer in a task.",
            ));
        }
    };
    let mut answers = answers;
    let end = tokio::time::timeout(cx.limit, answers.message()).await;
    drop(tx);
    match end {
        Err(_) => Err(Failure::new(
            expected,
            format!(
                "the stream was still open {} s later (the checker sent nothing, and kept its \
                 side open)",
                cx.limit.as_secs()
            ),
            format!(
                "tonic's own timer stops when the handler returns its stream. {SYNC} must wait \
                 for the deadline as well as for the next request: a `select!` with a deadline \
                 branch, the deadline read from `grpc-timeout` by `time_left` (Exercise 1)."
            ),
        )),
        Ok(Err(status)) if status.code() == Code::DeadlineExceeded => Ok(()),
        Ok(Err(status)) => Err(Failure::new(
            expected,
            shown(&status),
            format!(
                "When the deadline passes, {SYNC} sends `Status::deadline_exceeded(...)` down the stream before it returns."
            ),
        )),
        Ok(Ok(answer)) => Err(Failure::new(
            expected,
            format!("{answer:?}"),
            format!(
                "An idle stream ended without a status, so the client thinks it is complete: \
                 {SYNC} must send DEADLINE_EXCEEDED before it returns."
            ),
        )),
    }
}

/// One gRPC message on the wire: no compression, a 4-byte length, the encoded message.
fn grpc_frame(message: &impl Message) -> Bytes {
    let body = message.encode_to_vec();
    let mut frame = Vec::with_capacity(5 + body.len());
    frame.push(0);
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    Bytes::from(frame)
}

/// The URLs of the cancelled batch: unique to this run, so they can be looked for.
fn cancelled_urls() -> Vec<String> {
    let run = rand::random::<u32>();
    (0..3)
        .map(|n| format!("https://example.com/quiz-check/cancelled-{run:08x}/{n}"))
        .collect()
}

/// Sends three URLs of BatchCreateLinks on a raw HTTP/2 connection, then RST_STREAM(CANCEL).
async fn send_and_reset(addr: SocketAddr, urls: &[String]) -> Result<(), String> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|error| format!("cannot connect: {error}"))?;
    let (h2, connection) = h2::client::handshake(tcp)
        .await
        .map_err(|error| format!("no HTTP/2 handshake: {error}"))?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let result = async {
        let mut h2 = h2.ready().await.map_err(|error| error.to_string())?;
        let request = http::Request::builder()
            .method("POST")
            .uri(format!(
                "http://{addr}/shortener.LinkService/BatchCreateLinks"
            ))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())
            .map_err(|error| error.to_string())?;
        let (_response, mut send) = h2
            .send_request(request, false)
            .map_err(|error| error.to_string())?;
        for url in urls {
            let message = CreateLinkRequest { url: url.clone() };
            send.send_data(grpc_frame(&message), false)
                .map_err(|error| error.to_string())?;
        }
        // Let the server read the three messages: it now waits for the next one, or the end.
        tokio::time::sleep(Duration::from_millis(300)).await;
        send.send_reset(h2::Reason::CANCEL);
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok::<(), String>(())
    }
    .await;
    driver.abort();
    result
}

/// A batch reset by its client after three URLs must store none of them.
async fn cancelled_batch_stores_nothing(cx: &Context, addr: SocketAddr) -> Result<(), Failure> {
    let expected = "none of the 3 URLs of a batch whose client sent RST_STREAM(CANCEL) before \
                    ending it, in ListLinks";
    let urls = cancelled_urls();
    let sent = tokio::time::timeout(cx.limit * 2, send_and_reset(addr, &urls)).await;
    match sent {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            return Err(Failure::new(
                expected,
                format!("the raw HTTP/2 client could not send the batch: {error}"),
                "The server must accept plain HTTP/2 (h2c) connections, as it does for tonic.",
            ));
        }
        Err(_) => {
            return Err(Failure::new(
                expected,
                "the raw HTTP/2 client could not send the batch in time",
                "The server accepted the connection but did not take the stream's frames: is it \
                 still serving? Its last output is in the other checks' reports.",
            ));
        }
    }
    let links = match tokio::time::timeout(cx.limit * 2, cx.list()).await {
        Ok(Ok(links)) => links,
        Ok(Err(status)) => return Err(cx.unexpected("ListLinks", expected, &status)),
        Err(_) => {
            return Err(Failure::new(
                expected,
                "ListLinks did not answer in time",
                "ListLinks must stream every link and end the stream: the worked example in \
                 src/server.rs does. Was it changed? `cargo quiz diff 13` shows how.",
            ));
        }
    };
    let stored: Vec<&str> = links
        .iter()
        .map(|link| link.url.as_str())
        .filter(|url| urls.iter().any(|sent| sent == url))
        .collect();
    if stored.is_empty() {
        return Ok(());
    }
    Err(Failure::new(
        expected,
        format!("{} of them stored: {}", stored.len(), stored.join(", ")),
        format!(
            "tonic turns the client's CANCEL into `Ok(None)` from `message()`, the same as the end \
             of a complete batch. {BATCH} must read the `StreamReset` flag from the request's \
             extensions (before `into_inner()`) and store nothing when it is raised."
        ),
    ))
}

/// A CreateLink over the server's decoding limit gets OUT_OF_RANGE, and the next call works.
async fn oversized_message_is_refused(cx: &Context) -> Result<(), Failure> {
    let expected = "OUT_OF_RANGE for a 100 KiB CreateLink (over the limit of 64 KiB), then an \
                    answer to the next call";
    let url = format!("https://example.com/{}", "a".repeat(100 * 1024));
    let mut client: Client = cx.client.clone();
    let call = client.create_link(CreateLinkRequest { url });
    match tokio::time::timeout(cx.limit, call).await {
        Ok(Err(status)) if status.code() == Code::OutOfRange => {}
        Ok(Err(status)) if status.code() == Code::InvalidArgument => {
            return Err(Failure::new(
                expected,
                shown(&status),
                format!(
                    "The request was decoded whole and refused by validation: the decoding limit \
                     is still tonic's 4 MiB. Set it to MAX_REQUEST_BYTES in {LIMIT}."
                ),
            ));
        }
        Ok(Err(status)) => return Err(cx.unexpected("CreateLink", expected, &status)),
        Ok(Ok(_)) => {
            return Err(Failure::new(
                expected,
                "OK: a 100 KiB URL was stored",
                format!("Set the decoding limit in {LIMIT}; lesson 11's URL rules refuse it too."),
            ));
        }
        Err(_) => {
            return Err(Failure::new(
                expected,
                "no answer in time",
                format!("A refused message is answered at once, from its length. See {LIMIT}."),
            ));
        }
    }
    cx.create("https://example.com/quiz-check/after-a-big-message")
        .await
        .map(drop)
}

/// The black-box checks that use the server the other checks run against.
pub async fn run(cx: &Context, addr: SocketAddr, report: &mut Reporter) {
    report.record(
        "an idle SyncClicks stream ends with DEADLINE_EXCEEDED at its deadline",
        idle_stream_ends_at_its_deadline(cx).await,
    );
    report.record(
        "a BatchCreateLinks stream its client resets half-way stores nothing",
        cancelled_batch_stores_nothing(cx, addr).await,
    );
    report.record(
        "a request over the message limit gets OUT_OF_RANGE and the server goes on",
        oversized_message_is_refused(cx).await,
    );
}

/// The last lines a server of the check's own printed on stdout.
#[derive(Debug, Clone, Default)]
struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn push(&self, line: String) {
        let mut lines = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if lines.len() == 20 {
            lines.remove(0);
        }
        lines.push(line);
    }

    fn text(&self) -> String {
        let lines = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if lines.is_empty() {
            "(the server printed nothing on stdout)".to_string()
        } else {
            lines.join("\n")
        }
    }
}

/// A server process of the check's own, with its stdout in a log.
struct Process {
    child: tokio::process::Child,
    addr: SocketAddr,
    log: Lines,
    /// Its database's folder (lesson 18 on), removed when the check is done with it.
    _database: Option<crate::scratch::ScratchDir>,
}

async fn start(binary: &Path, limits: Limits) -> Result<Process, String> {
    let database = crate::scratch::ScratchDir::for_database();
    let mut command = tokio::process::Command::new(binary);
    if let Some(database) = &database {
        command.env(
            crate::scratch::DATABASE_URL,
            database.database_url("shortener.db"),
        );
    }
    let mut child = command
        .args(["--addr", "127.0.0.1:0", "--grace", "10"])
        .env_remove("SHORTENER_ADDR")
        .env_remove("SHORTENER_API_KEY")
        .env_remove("SHORTENER_GRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| format!("cannot run it: {error}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let log = Lines::default();
    let first = tokio::time::timeout(limits.server_start, lines.next_line()).await;
    let line = match first {
        Ok(Ok(Some(line))) => line,
        _ => return Err("it printed no `listening on` line".into()),
    };
    let addr = super::server::listening_address(&line)
        .and_then(Result::ok)
        .ok_or_else(|| format!("no address in {line:?}"))?;
    log.push(line);
    let kept = log.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            kept.push(line);
        }
    });
    Ok(Process {
        child,
        addr,
        log,
        _database: database,
    })
}

/// One SyncClicks round trip on an open stream.
async fn round_trip(
    tx: &mpsc::Sender<SyncRequest>,
    answers: &mut Streaming<SyncResponse>,
    limit: Duration,
) -> Result<(), String> {
    let request = SyncRequest {
        short_code: "quizck".into(),
        clicks: 1,
    };
    tx.send(request)
        .await
        .map_err(|_| "the stream was closed".to_string())?;
    match tokio::time::timeout(limit, answers.message()).await {
        Ok(Ok(Some(_))) => Ok(()),
        Ok(Ok(None)) => Err("the stream ended".into()),
        Ok(Err(status)) => Err(shown(&status)),
        Err(_) => Err(format!("no answer within {} s", limit.as_secs())),
    }
}

/// SIGTERM: the open stream is served, new connections are refused, and the process exits 0
/// once the stream ends.
async fn graceful_sigterm(binary: &Path, limits: Limits) -> Result<(), Failure> {
    let expected = "after SIGTERM: the open SyncClicks stream still answered, a new connection \
                    refused, and exit code 0 once the stream ended";
    let mut process = start(binary, limits)
        .await
        .map_err(|got| Failure::new(expected, got, "The server must start as in lesson 12."))?;
    let client = rpc::connect(process.addr, limits.call).await?;
    let (tx, rx) = mpsc::channel::<SyncRequest>(4);
    let mut answers = match client.clone().sync_clicks(ReceiverStream::new(rx)).await {
        Ok(response) => response.into_inner(),
        Err(status) => {
            return Err(Failure::new(
                expected,
                shown(&status),
                "SyncClicks must work as in lesson 10 for this check to start.",
            ));
        }
    };
    round_trip(&tx, &mut answers, limits.call)
        .await
        .map_err(|got| {
            Failure::new(
                expected,
                format!("before SIGTERM: {got}"),
                "SyncClicks must answer each request as it arrives, as in lesson 10.",
            )
        })?;

    let pid = process.child.id().unwrap_or(0) as libc::pid_t;
    // SAFETY: kill(2) with a child's pid and a signal number has no memory effects.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let hint = |what: &str| {
        format!(
            "{what} {MAIN} must wait for SIGINT or SIGTERM (`tokio::signal::unix::signal`) and \
             complete the future given to `serve`, then wait for the serving future at \
             most `--grace` seconds. The server's output:\n{}",
            process.log.text()
        )
    };
    // The listener closes: wait until a new connection is refused.
    let refused = tokio::time::timeout(limits.call, async {
        while tokio::net::TcpStream::connect(process.addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    if let Ok(Some(status)) = process.child.try_wait() {
        return Err(Failure::new(
            expected,
            format!("the server exited ({status}) with the stream still open"),
            hint("The signal killed the process, or main returned at once."),
        ));
    }
    if refused.is_err() {
        return Err(Failure::new(
            expected,
            format!(
                "new connections were still accepted {} s after SIGTERM",
                limits.call.as_secs()
            ),
            hint("The listener stays open until the shutdown future completes."),
        ));
    }
    round_trip(&tx, &mut answers, limits.call)
        .await
        .map_err(|got| {
            Failure::new(
                expected,
                format!("after SIGTERM, the open stream: {got}"),
                hint("Calls in flight must be served until they end."),
            )
        })?;
    drop(tx);
    let _ = tokio::time::timeout(limits.call, answers.message()).await;
    match tokio::time::timeout(limits.call, process.child.wait()).await {
        Ok(Ok(status)) if status.code() == Some(0) => Ok(()),
        Ok(Ok(status)) => Err(Failure::new(
            expected,
            format!("the server exited with {status}"),
            hint("A shutdown that was asked for is not a failure: return `Ok(())` from main."),
        )),
        Ok(Err(error)) => Err(Failure::new(
            expected,
            error.to_string(),
            "The checker could not wait for the server process; run the check again.",
        )),
        Err(_) => Err(Failure::new(
            expected,
            format!(
                "the server was still running {} s after its last stream ended",
                limits.call.as_secs()
            ),
            hint("Once the calls in flight end, the serving future completes."),
        )),
    }
}

/// The check that starts and stops a server of its own.
pub async fn shutdown(binary: &Path, limits: Limits, report: &mut Reporter) {
    report.record(
        "SIGTERM lets an open stream finish, refuses new connections and exits 0",
        graceful_sigterm(binary, limits).await,
    );
}
