//! Lesson 13's checks: a call's deadline read from `grpc-timeout` and carried by the work the
//! call starts; a batch that its client cancels stores nothing; message-size limits; a server
//! that shuts down gracefully on SIGTERM; a client that sends its deadline and reports one that
//! passed.
//!
//! `time_left` is called directly. The other tests start your server on a free port of
//! 127.0.0.1 and call it with a client generated from the course's contract
//! (`proto/shortener/link.proto` at the top of the repository), or with a raw HTTP/2 client (the
//! `h2` crate) where a test needs to do what a tonic client never does, such as reset a stream
//! half-way. The binary tests run your server and client binaries. Every wait has a time limit,
//! so a test that would hang fails instead, and says what it waited for. Please don't edit them:
//! `cargo quiz check 13` runs them as they are.

use std::future::Future;
use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use shortener_proto::link_service_client::LinkServiceClient;
use shortener_proto::testing::TestServer;
use shortener_proto::{CreateLinkRequest, ListLinksRequest, SyncRequest, SyncResponse};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;
use tonic::{Code, Request, Status, Streaming};

// The crate under test.
use lesson_13::{
    CallLog, CallRecord, LinkServer, MAX_BATCH_BYTES, MAX_REQUEST_BYTES, Settings, serve, time_left,
};

const SERVER_BINARY: &str = env!("CARGO_BIN_EXE_lesson-13-server");
const CLIENT_BINARY: &str = env!("CARGO_BIN_EXE_lesson-13-client");

type Client = LinkServiceClient<Channel>;

/// Awaits `future`, or fails the test after `secs` seconds with `what` (the rule it checks).
async fn within<T>(secs: u64, what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), future).await {
        Ok(value) => value,
        Err(_) => panic!("{what} (nothing happened within {secs} s)"),
    }
}

/// `time_left` of a call whose `grpc-timeout` header is `value`.
fn time_left_of(value: &str) -> Option<Duration> {
    let mut metadata = MetadataMap::new();
    metadata.insert("grpc-timeout", value.parse().expect("a valid header value"));
    time_left(&metadata)
}

#[test]
fn time_left_reads_grpc_timeout_in_every_unit() {
    let cases = [
        ("2H", Duration::from_secs(2 * 60 * 60)),
        ("3M", Duration::from_secs(3 * 60)),
        ("5S", Duration::from_secs(5)),
        ("250m", Duration::from_millis(250)),
        ("1500u", Duration::from_micros(1500)),
        ("100n", Duration::from_nanos(100)),
        ("99999999S", Duration::from_secs(99_999_999)),
        ("0m", Duration::ZERO),
    ];
    for (value, expected) in cases {
        assert_eq!(
            time_left_of(value),
            Some(expected),
            "grpc-timeout: {value} should read as {expected:?}"
        );
    }
    assert_eq!(
        time_left(&MetadataMap::new()),
        None,
        "a call without grpc-timeout has no deadline"
    );
}

#[test]
fn time_left_ignores_a_grpc_timeout_the_spec_does_not_allow() {
    // At most 8 digits, then exactly one of H M S m u n: anything else is no deadline at all.
    for value in [
        "",
        "S",
        "123456789S",
        "10s",
        "10",
        "-5S",
        "1.5S",
        "10 S",
        "10Sx",
        "+5S",
        "5é",
    ] {
        assert_eq!(
            time_left_of(value),
            None,
            "grpc-timeout: {value:?} breaks the spec's grammar, so the call has no deadline"
        );
    }
}

/// The lesson's server, open, until the test drops it.
async fn server() -> TestServer {
    server_with_max_batch(lesson_13::DEFAULT_MAX_BATCH).await
}

/// A server that takes batches of up to `max_batch` URLs.
async fn server_with_max_batch(max_batch: usize) -> TestServer {
    TestServer::start(move |listener| {
        let links = LinkServer::default().with_max_batch(max_batch);
        serve(listener, links, Settings::default(), std::future::pending())
    })
    .await
}

/// A URL of exactly `len` bytes.
fn url_of_len(len: usize, n: usize) -> String {
    let start = format!("https://example.com/{n}/");
    assert!(len >= start.len(), "a URL of {len} bytes is too short");
    format!("{start}{}", "a".repeat(len - start.len()))
}

/// Sends `urls` in one BatchCreateLinks call.
async fn batch(client: &mut Client, urls: Vec<String>) -> Result<i64, Status> {
    let requests = urls.into_iter().map(|url| CreateLinkRequest { url });
    let call = client.batch_create_links(tokio_stream::iter(requests));
    let response = within(30, "BatchCreateLinks should answer", call).await?;
    Ok(response.into_inner().created_count)
}

/// How many links the server has.
async fn count(client: &mut Client) -> usize {
    let list = async {
        let mut stream = client
            .list_links(ListLinksRequest::default())
            .await?
            .into_inner();
        let mut count = 0;
        while stream.message().await?.is_some() {
            count += 1;
        }
        Ok::<usize, Status>(count)
    };
    within(30, "ListLinks should stream every link and end", list)
        .await
        .expect("ListLinks should succeed")
}

#[tokio::test]
async fn a_list_stream_ends_with_deadline_exceeded_when_its_deadline_passes() {
    let server = server_with_max_batch(10_000).await;
    let mut client = server.client().await;
    // 6 MB of links: more than HTTP/2's flow control lets the server send before we read.
    for round in 0..3 {
        let urls = (0..1_000)
            .map(|n| url_of_len(2_000, round * 1_000 + n))
            .collect();
        batch(&mut client, urls).await.expect("store 1,000 links");
    }

    let mut request = Request::new(ListLinksRequest::default());
    request.set_timeout(Duration::from_millis(500));
    let mut stream = within(5, "ListLinks should answer", client.list_links(request))
        .await
        .expect("ListLinks should start")
        .into_inner();
    within(5, "the first link should arrive", stream.message())
        .await
        .expect("the first link")
        .expect("a link");
    // A slow reader: the deadline passes while the server still has links to send.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let mut received = 1;
    let end = within(20, "the list stream should end", async {
        loop {
            match stream.message().await {
                Ok(Some(_)) => received += 1,
                Ok(None) => return Ok(()),
                Err(status) => return Err(status),
            }
        }
    })
    .await;
    match end {
        Err(status) => assert_eq!(
            status.code(),
            Code::DeadlineExceeded,
            "the stream should end with DEADLINE_EXCEEDED once its deadline passed, got {status:?}"
        ),
        Ok(()) => panic!(
            "all {received} links arrived, 500 ms after a deadline of 500 ms: the ListLinks task \
             must stop at the call's deadline (tonic's timer stops when the handler returns)"
        ),
    }
}

/// Opens SyncClicks with `request`'s metadata: the sender of requests, and the answers.
async fn open_sync(
    client: &mut Client,
    timeout: Option<Duration>,
) -> (mpsc::Sender<SyncRequest>, Streaming<SyncResponse>) {
    let (tx, rx) = mpsc::channel(4);
    let mut request = Request::new(ReceiverStream::new(rx));
    if let Some(timeout) = timeout {
        request.set_timeout(timeout);
    }
    let answers = within(5, "SyncClicks should answer", client.sync_clicks(request))
        .await
        .expect("SyncClicks should start")
        .into_inner();
    (tx, answers)
}

#[tokio::test]
async fn an_idle_sync_stream_ends_with_deadline_exceeded_at_its_deadline() {
    let server = server().await;
    let mut client = server.client().await;
    let (tx, mut answers) = open_sync(&mut client, Some(Duration::from_millis(300))).await;
    // We keep our side open and send nothing: only the deadline can end this call.
    let end = within(
        5,
        "an idle SyncClicks stream should end when its deadline (300 ms) passes: the task must \
         wait for the deadline as well as for the next request",
        answers.message(),
    )
    .await;
    drop(tx);
    match end {
        Err(status) => assert_eq!(
            status.code(),
            Code::DeadlineExceeded,
            "the idle stream should end with DEADLINE_EXCEEDED, got {status:?}"
        ),
        Ok(answer) => panic!(
            "an idle stream past its deadline should end with DEADLINE_EXCEEDED, got {answer:?}"
        ),
    }
}

/// One gRPC message on the wire: no compression, a 4-byte length, the encoded message.
fn grpc_frame(message: &impl Message) -> Bytes {
    let body = message.encode_to_vec();
    let mut frame = Vec::with_capacity(5 + body.len());
    frame.push(0);
    frame.extend_from_slice(
        &u32::try_from(body.len())
            .expect("a small message")
            .to_be_bytes(),
    );
    frame.extend_from_slice(&body);
    Bytes::from(frame)
}

/// Starts BatchCreateLinks on a raw HTTP/2 connection and sends `urls` without ending the
/// stream. Returns the stream's sender and the response to come.
async fn raw_batch(
    addr: SocketAddr,
    urls: &[&str],
) -> (
    h2::SendStream<Bytes>,
    h2::client::ResponseFuture,
    tokio::task::JoinHandle<()>,
) {
    raw_batch_with(addr, urls, &[]).await
}

/// [`raw_batch`], with `headers` added to the request.
async fn raw_batch_with(
    addr: SocketAddr,
    urls: &[&str],
    headers: &[(&str, &str)],
) -> (
    h2::SendStream<Bytes>,
    h2::client::ResponseFuture,
    tokio::task::JoinHandle<()>,
) {
    let tcp = within(5, "connect", tokio::net::TcpStream::connect(addr))
        .await
        .expect("connect to the server");
    let (h2, connection) = within(5, "the HTTP/2 handshake", h2::client::handshake(tcp))
        .await
        .expect("an HTTP/2 connection");
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut h2 = within(5, "the connection to be ready", h2.ready())
        .await
        .expect("a ready connection");
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!(
            "http://{addr}/shortener.LinkService/BatchCreateLinks"
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(()).expect("a request");
    let (response, mut send) = h2
        .send_request(request, false)
        .expect("send the request's headers");
    for url in urls {
        let message = CreateLinkRequest {
            url: url.to_string(),
        };
        send.send_data(grpc_frame(&message), false)
            .expect("send a message");
    }
    // Let the server read the messages: it is now waiting for the next one, or the end.
    tokio::time::sleep(Duration::from_millis(300)).await;
    (send, response, driver)
}

#[tokio::test]
async fn the_layer_logs_a_call_cut_off_at_its_deadline_with_that_reason() {
    let records = std::sync::Arc::new(std::sync::Mutex::new(Vec::<CallRecord>::new()));
    let kept = records.clone();
    let settings = Settings {
        log: CallLog::new(move |record| kept.lock().expect("the records").push(record.clone())),
        ..Settings::default()
    };
    let server = TestServer::start(move |listener| {
        serve(
            listener,
            LinkServer::default(),
            settings,
            std::future::pending(),
        )
    })
    .await;
    // A raw HTTP/2 client sends the deadline and keeps its stream open, with no timer of its
    // own: only the server's timer can end this call.
    let (_send, response, driver) =
        raw_batch_with(server.addr(), &[], &[("grpc-timeout", "200m")]).await;
    let answer = within(5, "tonic's timer should answer at the deadline", response)
        .await
        .expect("an answer");
    assert_eq!(
        answer
            .headers()
            .get("grpc-status")
            .and_then(|v| v.to_str().ok()),
        Some("1"),
        "tonic answers a call its timer ended with CANCELLED (1): {answer:?}"
    );
    let logged = async {
        loop {
            if let Some(record) = records.lock().expect("the records").first().cloned() {
                return record;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let record = within(
        5,
        "the layer should log the call tonic's timer cut off",
        logged,
    )
    .await;
    assert_eq!(record.code, Code::Cancelled, "{record:?}");
    assert!(
        record
            .cut_off
            .is_some_and(|reason| reason.contains("deadline")),
        "the layer knows the call's deadline: a call cut off at it is logged with that reason, \
         not as a client that went away: {record:?}"
    );
    driver.abort();
}

const THREE: [&str; 3] = [
    "https://example.com/cancelled/1",
    "https://example.com/cancelled/2",
    "https://example.com/cancelled/3",
];

#[tokio::test]
async fn a_batch_its_client_cancels_half_way_stores_nothing() {
    let server = server().await;
    let (mut send, _response, driver) = raw_batch(server.addr(), &THREE).await;
    // RST_STREAM(CANCEL): what a client sends when it gives up on a call.
    send.send_reset(h2::Reason::CANCEL);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut client = server.client().await;
    assert_eq!(
        count(&mut client).await,
        0,
        "a batch whose client reset the stream (RST_STREAM CANCEL) after 3 URLs must store \
         nothing: tonic's `message()` gives `Ok(None)` for it, as for a batch that ended, so \
         look at the layer's flag before storing"
    );
    driver.abort();
}

#[tokio::test]
async fn a_batch_its_client_ends_is_stored() {
    let server = server().await;
    let (mut send, response, driver) = raw_batch(server.addr(), &THREE).await;
    // END_STREAM on an empty DATA frame: the batch is complete.
    send.send_data(Bytes::new(), true).expect("end the stream");
    let response = within(5, "BatchCreateLinks should answer", response)
        .await
        .expect("a response");
    assert_eq!(response.status(), http::StatusCode::OK);
    let mut body = response.into_body();
    while let Some(data) = within(5, "the response body", body.data()).await {
        data.expect("the response's data");
    }
    let trailers = within(5, "the trailers", body.trailers())
        .await
        .expect("the trailers")
        .expect("trailers with a status");
    assert_eq!(
        trailers.get("grpc-status").map(|v| v.as_bytes()),
        Some(&b"0"[..]),
        "a batch that ended cleanly should succeed: {trailers:?}"
    );
    let mut client = server.client().await;
    assert_eq!(
        count(&mut client).await,
        3,
        "a batch whose stream ended with END_STREAM must be stored: the flag must say \
         \"reset\" only for a body that ended with an error"
    );
    driver.abort();
}

#[tokio::test]
async fn a_batch_over_the_byte_limit_is_refused_and_stores_nothing() {
    let server = server().await;
    let mut client = server.client().await;
    // Fewer URLs than the limit of 10,000, but more bytes than MAX_BATCH_BYTES.
    let n = MAX_BATCH_BYTES / 2_000 + 1;
    let urls = (0..n).map(|i| url_of_len(2_000, i)).collect();
    match batch(&mut client, urls).await {
        Ok(created) => panic!(
            "a batch of {} bytes of URLs should be refused (the limit is {MAX_BATCH_BYTES}), but \
             it created {created} links",
            n * 2_000
        ),
        Err(status) => {
            assert_eq!(
                status.code(),
                Code::InvalidArgument,
                "a batch over the byte limit is INVALID_ARGUMENT: {status:?}"
            );
            assert!(
                status.message().contains(&MAX_BATCH_BYTES.to_string()),
                "the message should name the limit, {MAX_BATCH_BYTES} bytes: {:?}",
                status.message()
            );
        }
    }
    assert_eq!(
        count(&mut client).await,
        0,
        "a batch refused for its size stores nothing"
    );
}

#[tokio::test]
async fn the_largest_batch_allowed_decodes_with_a_default_client() {
    let server = server().await;
    // The tests' client has tonic's default limit: it decodes messages of up to 4 MiB.
    let mut client = server.client().await;
    let n = 10_000;
    let (short, long) = (MAX_BATCH_BYTES / n, MAX_BATCH_BYTES / n + 1);
    let longs = MAX_BATCH_BYTES % n;
    let urls: Vec<String> = (0..n)
        .map(|i| url_of_len(if i < longs { long } else { short }, i))
        .collect();
    assert_eq!(urls.iter().map(String::len).sum::<usize>(), MAX_BATCH_BYTES);
    match batch(&mut client, urls).await {
        Ok(created) => assert_eq!(created, 10_000, "all 10,000 links are created"),
        Err(status) => panic!(
            "10,000 URLs of {MAX_BATCH_BYTES} bytes in all are within both limits; their \
             response must fit a client's default 4 MiB: {status:?}"
        ),
    }
}

#[tokio::test]
async fn a_message_over_the_size_limit_gets_out_of_range_and_the_server_goes_on() {
    let server = server().await;
    let mut client = server.client().await;
    let url = url_of_len(MAX_REQUEST_BYTES + 1, 0);
    let call = client.create_link(CreateLinkRequest { url });
    match within(10, "CreateLink should answer", call).await {
        Ok(_) => panic!("a request over {MAX_REQUEST_BYTES} bytes must be refused"),
        Err(status) => assert_eq!(
            status.code(),
            Code::OutOfRange,
            "a request message over the server's decode limit ({MAX_REQUEST_BYTES} bytes) gets \
             tonic's OUT_OF_RANGE: is the limit set on the service? {status:?}"
        ),
    }
    let call = client.create_link(CreateLinkRequest {
        url: "https://example.com/after-a-big-one".into(),
    });
    within(5, "CreateLink should answer", call)
        .await
        .expect("after refusing a big message, the server keeps serving on the same connection");
}

/// The server binary, started with `args`: the process and its address.
async fn start_binary(args: &[&str]) -> (tokio::process::Child, SocketAddr) {
    let mut child = tokio::process::Command::new(SERVER_BINARY)
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .env_remove("SHORTENER_ADDR")
        .env_remove("SHORTENER_API_KEY")
        .env_remove("SHORTENER_GRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the server binary");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = within(
        20,
        "the server binary should print `LinkService listening on ADDR`",
        lines.next_line(),
    )
    .await
    .expect("read the server's output")
    .expect("the server printed a line");
    let addr = line
        .rsplit(' ')
        .next()
        .and_then(|word| word.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    // Keep reading stdout, so that the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}

async fn connect(addr: SocketAddr) -> Client {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("a URL")
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("connect to the server binary");
    LinkServiceClient::new(channel)
}

/// Sends SIGTERM to `child`, as `kill` or a container runtime does.
fn terminate(child: &tokio::process::Child) {
    let pid = child.id().expect("the server is running");
    let pid = libc::pid_t::try_from(pid).expect("a pid");
    // SAFETY: kill(2) with a child's pid and a signal number touches no memory of ours.
    let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(sent, 0, "kill(pid {pid}, SIGTERM) failed");
}

/// Waits for the server process to exit, and returns how.
async fn exit_of(child: &mut tokio::process::Child, secs: u64, what: &str) -> ExitStatus {
    within(secs, what, child.wait())
        .await
        .expect("wait for the server")
}

/// One SyncClicks round trip on an open stream.
async fn sync_once(
    tx: &mpsc::Sender<SyncRequest>,
    answers: &mut Streaming<SyncResponse>,
    what: &str,
) -> Result<Option<SyncResponse>, Status> {
    tx.send(SyncRequest {
        short_code: "nothing".into(),
        clicks: 1,
    })
    .await
    .expect("send a sync request");
    within(5, what, answers.message()).await
}

#[tokio::test]
async fn sigterm_lets_an_open_stream_finish_refuses_new_connections_and_exits_0() {
    let (mut child, addr) = start_binary(&[]).await;
    let mut client = connect(addr).await;
    let (tx, mut answers) = open_sync(&mut client, None).await;
    sync_once(&tx, &mut answers, "SyncClicks should answer")
        .await
        .expect("an answer")
        .expect("an answer, not the end");

    terminate(&child);
    // The listening socket closes: a new connection is refused.
    within(
        5,
        "after SIGTERM the server should stop accepting connections (close its listener)",
        async {
            while tokio::net::TcpStream::connect(addr).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        },
    )
    .await;
    assert!(
        child.try_wait().expect("the server's state").is_none(),
        "the server exited on SIGTERM with a stream still open: it should let the calls in \
         flight finish first (within the grace period)"
    );
    let answer = sync_once(
        &tx,
        &mut answers,
        "after SIGTERM, a stream that was open should still be answered",
    )
    .await;
    assert!(
        matches!(answer, Ok(Some(_))),
        "after SIGTERM, an open SyncClicks stream keeps being served, got {answer:?}"
    );

    // Our side closes: the call ends, and with it the last reason to stay.
    drop(tx);
    let end = within(
        5,
        "the stream should end once we close our side",
        answers.message(),
    )
    .await;
    assert!(matches!(end, Ok(None)), "the stream ends cleanly: {end:?}");
    let status = exit_of(
        &mut child,
        5,
        "the server should exit once its last call has ended, without waiting for the grace period",
    )
    .await;
    assert_eq!(
        status.code(),
        Some(0),
        "a graceful shutdown exits with 0: {status}"
    );
}

#[tokio::test]
async fn after_the_grace_period_the_server_exits_0_with_a_stream_still_open() {
    let (mut child, addr) = start_binary(&["--grace", "1"]).await;
    let mut client = connect(addr).await;
    let (tx, mut answers) = open_sync(&mut client, None).await;
    sync_once(&tx, &mut answers, "SyncClicks should answer")
        .await
        .expect("an answer")
        .expect("an answer, not the end");

    terminate(&child);
    let status = exit_of(
        &mut child,
        6,
        "with `--grace 1`, the server should exit 1 s after SIGTERM even with a stream open",
    )
    .await;
    assert_eq!(
        status.code(),
        Some(0),
        "a shutdown whose grace period ran out still exits with 0: {status}"
    );
    drop(tx);
}

#[tokio::test]
async fn the_client_sends_its_timeout_as_grpc_timeout_and_exits_7_when_it_passes() {
    // A server that takes the call and never answers: only a deadline ends it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    let addr = listener.local_addr().expect("the address");
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let silent = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept the client");
        let mut connection = h2::server::handshake(tcp).await.expect("HTTP/2");
        let mut held = Vec::new();
        while let Some(Ok((request, respond))) = connection.accept().await {
            let _ = seen_tx.send(request.headers().get("grpc-timeout").cloned());
            held.push((request, respond));
        }
    });

    let output = within(
        15,
        "the client should give up when its --timeout passes",
        tokio::process::Command::new(CLIENT_BINARY)
            .args([
                "--addr",
                &addr.to_string(),
                "--timeout",
                "1",
                "get",
                "abc123",
            ])
            .env_remove("SHORTENER_ADDR")
            .env_remove("SHORTENER_API_KEY")
            .output(),
    )
    .await
    .expect("run the client");
    silent.abort();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let timeout = seen.try_recv().ok().flatten();
    assert_eq!(
        timeout.as_ref().and_then(|value| value.to_str().ok()),
        Some("1000000u"),
        "`--timeout 1` should go to the server as `grpc-timeout: 1000000u` (what \
         `Request::set_timeout` writes for 1 s) on every call"
    );
    assert_eq!(
        output.status.code(),
        Some(7),
        "a call whose deadline passed exits with 7; stderr: {stderr}"
    );
    assert!(
        stderr.contains("--timeout"),
        "the error should say the time ran out and name --timeout: {stderr}"
    );
}
