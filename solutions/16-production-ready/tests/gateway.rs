//! Lesson 15's tests of the REST gateway, kept with the finished shortener. Each test starts the
//! gRPC server and the gateway in front of it on free loopback ports, and talks plain HTTP/1.1
//! to the gateway, as `curl` or a browser would.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use solution_16::client::BearerKey;
use solution_16::gateway::{self, Clicks, Gateway, http_status};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::Code;

/// A turn of the test that should take milliseconds; past this, something hangs.
const LIMIT: Duration = Duration::from_secs(5);

/// The gRPC server, the gateway in front of it, and a way to stop the gateway.
struct Setup {
    grpc: JoinHandle<()>,
    grpc_addr: SocketAddr,
    http: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    gateway: JoinHandle<std::io::Result<i64>>,
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.grpc.abort();
        self.gateway.abort();
    }
}

async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port on 127.0.0.1");
    let addr = listener.local_addr().expect("the listener's address");
    (listener, addr)
}

/// Starts the gateway for the gRPC server at `server`, flushing clicks every `every`.
async fn start_gateway(
    server: &str,
    every: Duration,
) -> (
    SocketAddr,
    oneshot::Sender<()>,
    JoinHandle<std::io::Result<i64>>,
) {
    let (http, addr) = listener().await;
    let client = gateway::connect(server, BearerKey::default()).expect("a valid server URL");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(gateway::serve_with(http, client, every, async move {
        let _ = stopped.await;
    }));
    (addr, stop, task)
}

async fn start_with(every: Duration) -> Setup {
    let (grpc, grpc_addr) = listener().await;
    let grpc = tokio::spawn(async move {
        let _ = solution_16::serve(
            grpc,
            solution_16::LinkServer::default(),
            solution_16::Settings::default(),
            std::future::pending(),
        )
        .await;
    });
    let (http, stop, gateway) = start_gateway(&format!("http://{grpc_addr}"), every).await;
    Setup {
        grpc,
        grpc_addr,
        http,
        stop: Some(stop),
        gateway,
    }
}

async fn start() -> Setup {
    start_with(gateway::FLUSH_EVERY).await
}

/// An HTTP answer: the status, the headers (names in lower case) and the body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("expected a JSON body, got {:?}: {e}", self.body))
    }
}

/// One HTTP/1.1 request on a new connection, read to its end.
async fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> Answer {
    let exchange = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .expect("connect to the gateway");
        let body = body.unwrap_or("");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .await
            .expect("send the request");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read the answer");
        String::from_utf8(raw).expect("an answer in UTF-8")
    };
    let raw = tokio::time::timeout(LIMIT, exchange)
        .await
        .unwrap_or_else(|_| {
            panic!("{method} {path}: no answer within {LIMIT:?}: is a handler waiting forever?")
        });
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or_else(|| {
        panic!("{method} {path}: the gateway closed the connection without an answer ({raw:?}): did a handler panic, at a todo!()?")
    });
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("an HTTP status line");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

async fn create(addr: SocketAddr, url: &str) -> serde_json::Value {
    let answer = http(
        addr,
        "POST",
        "/v1/links",
        Some(&format!("{{\"url\":\"{url}\"}}")),
    )
    .await;
    assert_eq!(
        answer.status, 201,
        "POST /v1/links must answer 201 Created; body: {}",
        answer.body
    );
    answer.json()
}

async fn clicks_of(addr: SocketAddr, code: &str) -> String {
    let answer = http(addr, "GET", &format!("/v1/links/{code}"), None).await;
    assert_eq!(answer.status, 200, "GET /v1/links/{code}: {}", answer.body);
    answer.json()["clicks"]
        .as_str()
        .expect("clicks as a string")
        .to_string()
}

/// Waits up to `within` for the link's clicks to read `expected`.
async fn wait_for_clicks(
    addr: SocketAddr,
    code: &str,
    expected: &str,
    within: Duration,
) -> Result<Duration, String> {
    let started = Instant::now();
    loop {
        let clicks = clicks_of(addr, code).await;
        if clicks == expected {
            return Ok(started.elapsed());
        }
        let counted = |text: &str| text.parse::<i64>().unwrap_or(0);
        assert!(
            counted(&clicks) <= counted(expected),
            "clicks is {clicks}, more than the {expected} expected: a click was counted or sent \
             twice. Count a click once, and put back only the codes the server did not answer for"
        );
        if started.elapsed() > within {
            return Err(clicks);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn post_creates_a_link_with_201_a_location_and_proto3_json() {
    let setup = start().await;
    let answer = http(
        setup.http,
        "POST",
        "/v1/links",
        Some(r#"{"url":"https://example.com/a"}"#),
    )
    .await;
    assert_eq!(
        answer.status, 201,
        "POST /v1/links must answer 201 Created; body: {}",
        answer.body
    );
    let link = answer.json();
    let code = link["shortCode"]
        .as_str()
        .expect("the field `shortCode` (lowerCamelCase), a string");
    assert_eq!(
        answer.header("location"),
        Some(format!("/v1/links/{code}").as_str()),
        "the Location header must name the new link"
    );
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "JSON answers say so"
    );
    assert_eq!(link["url"], "https://example.com/a", "the URL as sent");
    assert_eq!(link["id"], "1", "an int64 is a string in proto3 JSON");
    assert_eq!(
        link["clicks"], "0",
        "fields at their default are written too (`\"clicks\": \"0\"`)"
    );
    assert!(
        link.get("short_code").is_none(),
        "names are lowerCamelCase, not snake_case"
    );
}

#[tokio::test]
async fn following_a_short_link_redirects_with_302_and_counts_one_click_within_a_second() {
    let setup = start().await;
    let link = create(setup.http, "https://example.com/b").await;
    let code = link["shortCode"].as_str().expect("shortCode");
    let answer = http(setup.http, "GET", &format!("/{code}"), None).await;
    assert_eq!(answer.status, 302, "GET /{{code}} must answer 302 Found");
    assert_eq!(
        answer.header("location"),
        Some("https://example.com/b"),
        "302 to the link's URL"
    );
    if let Err(clicks) = wait_for_clicks(setup.http, code, "1", Duration::from_secs(1)).await {
        panic!(
            "one click must show in GET /v1/links/{code} within 1 s; clicks is still {clicks}: are counted clicks flushed over SyncClicks?"
        );
    }
}

#[tokio::test]
async fn an_unknown_code_counts_no_click() {
    // The router on its own, with a count the test can read (no flusher runs).
    let (grpc, grpc_addr) = listener().await;
    let server = tokio::spawn(async move {
        let _ = solution_16::serve(
            grpc,
            solution_16::LinkServer::default(),
            solution_16::Settings::default(),
            std::future::pending(),
        )
        .await;
    });
    let client = gateway::connect(&format!("http://{grpc_addr}"), BearerKey::default())
        .expect("a valid server URL");
    let clicks = Clicks::default();
    let app = gateway::router(Gateway::new(client, clicks.clone()));
    let (http_listener, http_addr) = listener().await;
    let serving = tokio::spawn(async move {
        let _ = axum::serve(http_listener, app).await;
    });
    let link = create(http_addr, "https://example.com/g").await;
    let code = link["shortCode"].as_str().expect("shortCode");
    let answer = http(http_addr, "GET", "/zz0zzz", None).await;
    assert_eq!(answer.status, 404, "GET of an unknown code: 404");
    assert_eq!(
        clicks.pending(),
        0,
        "a click on an unknown code must not be counted: count only once GetLink found the link"
    );
    assert_eq!(
        http(http_addr, "GET", &format!("/{code}"), None)
            .await
            .status,
        302
    );
    assert_eq!(
        clicks.pending(),
        1,
        "a click on a known code is counted once"
    );
    serving.abort();
    server.abort();
}

#[tokio::test]
async fn get_link_answers_the_link_and_an_unknown_code_404_with_a_json_error() {
    let setup = start().await;
    let link = create(setup.http, "https://example.com/c").await;
    let code = link["shortCode"].as_str().expect("shortCode");
    let answer = http(setup.http, "GET", &format!("/v1/links/{code}"), None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.json(),
        link,
        "GET /v1/links/{{code}} answers the same link as POST did"
    );
    for path in ["/v1/links/zzzzzz", "/zzzzzz"] {
        let answer = http(setup.http, "GET", path, None).await;
        assert_eq!(answer.status, 404, "GET {path}: NOT_FOUND maps to 404");
        let error = answer.json();
        assert_eq!(
            error["code"], 5,
            "the error body carries the gRPC code (NOT_FOUND = 5): {error}"
        );
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "and a message: {error}"
        );
    }
}

#[tokio::test]
async fn bad_json_and_bad_urls_get_400_with_a_json_error() {
    let setup = start().await;
    for body in [
        r#"{"url":"#,
        "not json",
        r#"{"url": 5}"#,
        r#"{"url":"ftp://example.com"}"#,
        r#"{"url":""}"#,
    ] {
        let answer = http(setup.http, "POST", "/v1/links", Some(body)).await;
        assert_eq!(
            answer.status, 400,
            "POST /v1/links with {body} must answer 400; got {}: {}",
            answer.status, answer.body
        );
        let error = answer.json();
        assert_eq!(
            error["code"], 3,
            "INVALID_ARGUMENT = 3 in the body: {error}"
        );
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "and a message: {error}"
        );
    }
}

#[tokio::test]
async fn delete_answers_204_and_the_link_is_gone() {
    let setup = start().await;
    let link = create(setup.http, "https://example.com/d").await;
    let code = link["shortCode"].as_str().expect("shortCode");
    let answer = http(setup.http, "DELETE", &format!("/v1/links/{code}"), None).await;
    assert_eq!(answer.status, 204, "DELETE must answer 204 No Content");
    assert!(answer.body.is_empty(), "204 has no body");
    let answer = http(setup.http, "GET", &format!("/v1/links/{code}"), None).await;
    assert_eq!(answer.status, 404, "after DELETE the link is gone");
}

#[tokio::test]
async fn list_answers_every_link_in_order() {
    let setup = start().await;
    create(setup.http, "https://example.com/1").await;
    create(setup.http, "https://example.com/2").await;
    let answer = http(setup.http, "GET", "/v1/links", None).await;
    assert_eq!(answer.status, 200);
    let list = answer.json();
    let urls: Vec<&str> = list["links"]
        .as_array()
        .expect("{\"links\": [...]}")
        .iter()
        .map(|link| link["url"].as_str().expect("url"))
        .collect();
    assert_eq!(urls, ["https://example.com/1", "https://example.com/2"]);
}

#[tokio::test]
async fn the_status_table_is_grpc_gateways() {
    let table = [
        (Code::Ok, 200),
        (Code::Cancelled, 499),
        (Code::Unknown, 500),
        (Code::InvalidArgument, 400),
        (Code::DeadlineExceeded, 504),
        (Code::NotFound, 404),
        (Code::AlreadyExists, 409),
        (Code::PermissionDenied, 403),
        (Code::Unauthenticated, 401),
        (Code::ResourceExhausted, 429),
        (Code::FailedPrecondition, 400),
        (Code::Aborted, 409),
        (Code::OutOfRange, 400),
        (Code::Unimplemented, 501),
        (Code::Internal, 500),
        (Code::Unavailable, 503),
        (Code::DataLoss, 500),
    ];
    for (code, expected) in table {
        assert_eq!(
            http_status(code).as_u16(),
            expected,
            "{code:?} maps to {expected}, as in grpc-gateway"
        );
    }
}

#[tokio::test]
async fn a_server_that_is_down_is_503() {
    let (unused, addr) = listener().await;
    drop(unused);
    let (http_addr, _stop, _task) =
        start_gateway(&format!("http://{addr}"), gateway::FLUSH_EVERY).await;
    let answer = http(http_addr, "GET", "/v1/links/abc123", None).await;
    assert_eq!(
        answer.status, 503,
        "UNAVAILABLE maps to 503: {}",
        answer.body
    );
}

#[tokio::test]
async fn the_gateway_sends_the_api_key_and_a_missing_key_is_401() {
    let (grpc, grpc_addr) = listener().await;
    let settings = solution_16::Settings {
        api_key: solution_16::ApiKey::new(Some("gateway-test-key".to_string())),
        log: solution_16::CallLog::new(|_| {}),
        ..solution_16::Settings::default()
    };
    let server = tokio::spawn(solution_16::serve(
        grpc,
        solution_16::LinkServer::default(),
        settings,
        std::future::pending(),
    ));
    let url = format!("http://{grpc_addr}");
    let (http_listener, http_addr) = listener().await;
    let key = BearerKey::new(Some("gateway-test-key")).expect("a key that can be a header");
    let client = gateway::connect(&url, key).expect("a valid server URL");
    let with_key = tokio::spawn(gateway::serve(
        http_listener,
        client,
        std::future::pending(),
    ));
    let answer = http(http_addr, "GET", "/v1/links", None).await;
    assert_eq!(
        answer.status, 200,
        "with the key, the server answers: {}",
        answer.body
    );
    let (without, _stop, _task) = start_gateway(&url, gateway::FLUSH_EVERY).await;
    let answer = http(without, "GET", "/v1/links", None).await;
    assert_eq!(
        answer.status, 401,
        "without the key, UNAUTHENTICATED maps to 401: {}",
        answer.body
    );
    server.abort();
    with_key.abort();
}

#[tokio::test]
async fn the_web_page_has_a_form() {
    let setup = start().await;
    let answer = http(setup.http, "GET", "/", None).await;
    assert_eq!(answer.status, 200);
    assert!(
        answer
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "the page is HTML"
    );
    assert!(
        answer.body.contains("<form"),
        "the page has a form to shorten a URL"
    );
}

#[tokio::test]
async fn shutdown_sends_the_clicks_still_counted() {
    // Flushing once an hour: only the flush at shutdown can send the click.
    let mut setup = start_with(Duration::from_secs(3600)).await;
    let link = create(setup.http, "https://example.com/e").await;
    let code = link["shortCode"].as_str().expect("shortCode").to_string();
    let answer = http(setup.http, "GET", &format!("/{code}"), None).await;
    assert_eq!(answer.status, 302);
    assert_eq!(
        clicks_of(setup.http, &code).await,
        "0",
        "no flush before shutdown with an hour's interval"
    );
    let stop = setup.stop.take().expect("the stop switch");
    let _ = stop.send(());
    let unsent = tokio::time::timeout(LIMIT, &mut setup.gateway)
        .await
        .expect("the gateway stops within 5 s")
        .expect("the gateway task")
        .expect("the gateway served");
    assert_eq!(unsent, 0, "every click is sent before the gateway exits");
    // Another gateway in front of the same server sees the click.
    let (other, _stop, _task) =
        start_gateway(&format!("http://{}", setup.grpc_addr), gateway::FLUSH_EVERY).await;
    assert_eq!(
        clicks_of(other, &code).await,
        "1",
        "the click counted before SIGTERM reached the server"
    );
}

/// A relay whose connections a test can cut while it goes on accepting new ones, as when the
/// network between the gateway and the server drops for a moment.
struct Relay {
    addr: SocketAddr,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accepting: JoinHandle<()>,
}

impl Relay {
    async fn start(target: SocketAddr) -> Relay {
        let (listener, addr) = listener().await;
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let list = connections.clone();
        let accepting = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                list.lock().expect("the list of connections").push(task);
            }
        });
        Relay {
            addr,
            connections,
            accepting,
        }
    }

    fn cut(&self) {
        for task in self
            .connections
            .lock()
            .expect("the list of connections")
            .drain(..)
        {
            task.abort();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
        self.accepting.abort();
    }
}

#[tokio::test]
async fn clicks_survive_a_broken_sync_stream() {
    let setup = start().await;
    let relay = Relay::start(setup.grpc_addr).await;
    let (via_relay, _stop, _task) =
        start_gateway(&format!("http://{}", relay.addr), gateway::FLUSH_EVERY).await;
    let link = create(setup.http, "https://example.com/f").await;
    let code = link["shortCode"].as_str().expect("shortCode").to_string();
    assert_eq!(
        http(via_relay, "GET", &format!("/{code}"), None)
            .await
            .status,
        302
    );
    if let Err(clicks) = wait_for_clicks(setup.http, &code, "1", Duration::from_secs(1)).await {
        panic!("the first click must arrive within 1 s; clicks is {clicks}");
    }
    // The SyncClicks stream breaks; the next clicks must open a new one and arrive all the same.
    relay.cut();
    for _ in 0..3 {
        let answer = http(via_relay, "GET", &format!("/{code}"), None).await;
        assert_eq!(
            answer.status, 302,
            "the gateway reconnects for GetLink: {}",
            answer.body
        );
    }
    if let Err(clicks) = wait_for_clicks(setup.http, &code, "4", Duration::from_secs(3)).await {
        panic!(
            "after the stream broke, the 3 new clicks must still arrive (4 in all); clicks is {clicks}: does the flusher open a new stream and keep the clicks it could not send?"
        );
    }
}

#[tokio::test]
async fn a_server_that_is_down_is_retried_on_the_tick_not_in_a_loop() {
    // A "server" that takes each connection and hangs up at once: every flush fails.
    let (dead, addr) = listener().await;
    let dialled = Arc::new(AtomicUsize::new(0));
    let count = dialled.clone();
    let accepting = tokio::spawn(async move {
        while let Ok((connection, _)) = dead.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            drop(connection);
        }
    });
    let client = gateway::connect(&format!("http://{addr}"), BearerKey::default())
        .expect("a valid server URL");
    let clicks = Clicks::default();
    // Enough clicks to wake the flusher at once, and again each time they are put back.
    clicks.add("abc123", gateway::FLUSH_AT * 3);
    let every = Duration::from_millis(100);
    let run = Duration::from_secs(1);
    let flusher = tokio::spawn(gateway::sync_clicks(
        client.links,
        clicks.clone(),
        every,
        tokio::time::sleep(run),
    ));
    let unsent = tokio::time::timeout(LIMIT, flusher)
        .await
        .expect("the flusher stops when its shutdown future completes")
        .expect("the flusher task");
    accepting.abort();
    assert_eq!(
        unsent,
        gateway::FLUSH_AT * 3,
        "nothing could be sent, and nothing may be lost"
    );
    let dialled = dialled.load(Ordering::SeqCst);
    // One try a tick is 10 in a second, and a few more at shutdown.
    assert!(
        dialled <= 25,
        "the flusher dialled the dead server {dialled} times in {run:?} with a tick of {every:?}: \
         after a failed flush, wait for the next tick instead of waking on the clicks put back"
    );
}

#[tokio::test]
async fn shutdown_closes_the_sync_stream_instead_of_resetting_it() {
    let calls: Arc<Mutex<Vec<(String, Code)>>> = Arc::default();
    let seen = calls.clone();
    let settings = solution_16::Settings {
        log: solution_16::CallLog::new(move |call| {
            seen.lock()
                .expect("the list of calls")
                .push((call.method.clone(), call.code));
        }),
        ..solution_16::Settings::default()
    };
    let (grpc, grpc_addr) = listener().await;
    let server = tokio::spawn(solution_16::serve(
        grpc,
        solution_16::LinkServer::default(),
        settings,
        std::future::pending(),
    ));
    let (http_addr, stop, gateway) =
        start_gateway(&format!("http://{grpc_addr}"), gateway::FLUSH_EVERY).await;
    let link = create(http_addr, "https://example.com/h").await;
    let code = link["shortCode"].as_str().expect("shortCode").to_string();
    assert_eq!(
        http(http_addr, "GET", &format!("/{code}"), None)
            .await
            .status,
        302
    );
    if let Err(clicks) = wait_for_clicks(http_addr, &code, "1", Duration::from_secs(1)).await {
        panic!("the click must arrive within 1 s; clicks is {clicks}");
    }
    let _ = stop.send(());
    tokio::time::timeout(LIMIT, gateway)
        .await
        .expect("the gateway stops within 5 s")
        .expect("the gateway task")
        .expect("the gateway served");
    // The server logs a call when its response ends: give it a moment after the gateway left.
    let started = Instant::now();
    let sync = loop {
        let found = calls
            .lock()
            .expect("the list of calls")
            .iter()
            .find(|(method, _)| method.ends_with("/SyncClicks"))
            .map(|(_, code)| *code);
        match found {
            Some(code) => break code,
            None if started.elapsed() < LIMIT => {
                tokio::time::sleep(Duration::from_millis(10)).await
            }
            None => panic!("the server never logged the end of the SyncClicks call"),
        }
    };
    server.abort();
    assert_eq!(
        sync,
        Code::Ok,
        "the SyncClicks call must end with OK: at shutdown, `close` the stream (end the requests, \
         read the last answers) instead of dropping it, which resets it (CANCELLED)"
    );
}

/// How a server that never answers stays silent.
#[derive(Debug, Clone, Copy)]
enum Silence {
    /// It reads what comes and never writes a byte: not even HTTP/2's SETTINGS.
    Total,
    /// It answers each call's headers and then sends nothing more.
    AfterHeaders,
}

/// A gateway client whose one connection is an in-memory pipe to a server that stays silent.
/// No socket: with paused time, a wait for it costs no real time.
fn silent_server(silence: Silence) -> (gateway::GrpcClient, JoinHandle<()>) {
    let (client_io, mut server_io) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move {
        match silence {
            Silence::Total => {
                let mut sink = [0u8; 1024];
                while matches!(server_io.read(&mut sink).await, Ok(read) if read > 0) {}
            }
            Silence::AfterHeaders => {
                let Ok(mut connection) = h2::server::handshake(server_io).await else {
                    return;
                };
                // Keep every call open: dropping one would reset it, and that is an answer.
                let mut calls = Vec::new();
                while let Some(Ok((request, mut respond))) = connection.accept().await {
                    let headers = http::Response::builder()
                        .header("content-type", "application/grpc")
                        .body(())
                        .expect("a valid response head");
                    if let Ok(sending) = respond.send_response(headers, false) {
                        calls.push((request, sending));
                    }
                }
            }
        }
    });
    let mut client_io = Some(client_io);
    let channel = tonic::transport::Endpoint::from_static("http://silent.invalid")
        .connect_with_connector_lazy(tower::service_fn(move |_: http::Uri| {
            let io = client_io.take();
            async move {
                io.map(hyper_util::rt::TokioIo::new)
                    .ok_or_else(|| std::io::Error::other("the in-memory pipe is used already"))
            }
        }));
    let client = solution_16::pb::link_service_client::LinkServiceClient::with_interceptor(
        channel,
        BearerKey::default(),
    );
    (client, server)
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_does_not_hold_the_flusher() {
    for silence in [Silence::Total, Silence::AfterHeaders] {
        let (client, server) = silent_server(silence);
        let clicks = Clicks::default();
        clicks.add("abc123", 3);
        let flusher = gateway::sync_clicks(
            client,
            clicks.clone(),
            gateway::FLUSH_EVERY,
            tokio::time::sleep(Duration::from_secs(1)),
        );
        // Time is paused: when every task waits, the clock jumps to the next timer, so minutes
        // of silence pass in no time. A flusher that gives up after CALL_TIMEOUT at each try
        // is done long before this limit.
        let limit = Duration::from_secs(600);
        let unsent = tokio::time::timeout(limit, flusher)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "a server that never answers ({silence:?}) held the flusher past its shutdown \
                     for {limit:?}: the given `open` and `flush` bound each wait by CALL_TIMEOUT"
                )
            });
        server.abort();
        assert_eq!(
            unsent, 3,
            "a silent server ({silence:?}) confirmed nothing: the 3 clicks are unsent, not lost"
        );
    }
}
