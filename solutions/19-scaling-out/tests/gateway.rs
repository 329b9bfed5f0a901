//! The REST gateway's tests: lesson 15's, kept with the finished shortener, and lesson 16's
//! hardening (request log and ids, time limits, a bounded shutdown, the exit code). Each test
//! starts the gRPC server and the gateway in front of it on free loopback ports, and talks plain
//! HTTP/1.1 to the gateway, as `curl` or a browser would.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use solution_19::client::BearerKey;
use solution_19::gateway::{self, Clicks, Gateway, http_status};
use solution_19::pb;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::Code;
use tower::ServiceExt;

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
    let clients = gateway::connect(server, BearerKey::default()).expect("a valid server URL");
    let (stop, stopped) = oneshot::channel::<()>();
    let settings = gateway::Settings {
        flush_every: every,
        ..gateway::Settings::default()
    };
    let task = tokio::spawn(gateway::serve_with(http, clients, settings, async move {
        let _ = stopped.await;
    }));
    (addr, stop, task)
}

async fn start_with(every: Duration) -> Setup {
    let (grpc, grpc_addr) = listener().await;
    let grpc = tokio::spawn(async move {
        let _ = solution_19::serve(
            grpc,
            solution_19::LinkServer::default(),
            solution_19::Settings::default(),
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
    http_with(addr, method, path, body, &[]).await
}

/// [`http`], with more headers (`name: value` lines).
async fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[&str],
) -> Answer {
    let exchange = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .expect("connect to the gateway");
        let body = body.unwrap_or("");
        let headers: String = headers.iter().map(|line| format!("{line}\r\n")).collect();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-type: application/json\r\n{headers}content-length: {}\r\n\r\n{body}",
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
        let _ = solution_19::serve(
            grpc,
            solution_19::LinkServer::default(),
            solution_19::Settings::default(),
            std::future::pending(),
        )
        .await;
    });
    let clients = gateway::connect(&format!("http://{grpc_addr}"), BearerKey::default())
        .expect("a valid server URL");
    let clicks = Clicks::default();
    let app = gateway::router(Gateway::new(clients, clicks.clone()));
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
async fn a_head_request_redirects_and_counts_no_click() {
    // The router on its own, with a count the test can read (no flusher runs).
    let (grpc, grpc_addr) = listener().await;
    let server = tokio::spawn(async move {
        let _ = solution_19::serve(
            grpc,
            solution_19::LinkServer::default(),
            solution_19::Settings::default(),
            std::future::pending(),
        )
        .await;
    });
    let clients = gateway::connect(&format!("http://{grpc_addr}"), BearerKey::default())
        .expect("a valid server URL");
    let clicks = Clicks::default();
    let app = gateway::router(Gateway::new(clients, clicks.clone()));
    let (http_listener, http_addr) = listener().await;
    let serving = tokio::spawn(async move {
        let _ = axum::serve(http_listener, app).await;
    });
    let link = create(http_addr, "https://example.com/head").await;
    let code = link["shortCode"].as_str().expect("shortCode");
    let answer = http(http_addr, "HEAD", &format!("/{code}"), None).await;
    assert_eq!(
        (answer.status, answer.header("location")),
        (302, Some("https://example.com/head")),
        "HEAD /{{code}} answers as GET does, without a body"
    );
    assert_eq!(
        clicks.pending(),
        0,
        "a HEAD (a link checker, a chat app's preview) sends nobody to the link: count clicks \
         for GET only (axum routes HEAD to the GET handler; look at the request's `Method`)"
    );
    assert_eq!(
        http(http_addr, "GET", &format!("/{code}"), None)
            .await
            .status,
        302
    );
    assert_eq!(clicks.pending(), 1, "a GET counts one click");
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
async fn a_bad_url_answers_400_with_the_servers_error_details() {
    let setup = start().await;
    let answer = http(
        setup.http,
        "POST",
        "/v1/links",
        Some(r#"{"url":"ftp://example.com/x"}"#),
    )
    .await;
    assert_eq!(answer.status, 400, "a bad URL: {}", answer.body);
    let error = answer.json();
    let detail = &error["details"][0];
    assert_eq!(
        detail["@type"], "type.googleapis.com/google.rpc.BadRequest",
        "the server's BadRequest detail (lesson 11) must reach the caller, as proto3 JSON \
         writes an Any, under `details`: {error}"
    );
    assert_eq!(
        detail["fieldViolations"][0]["field"], "url",
        "the violation names the field: {error}"
    );
    assert!(
        detail["fieldViolations"][0]["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "and says what is wrong with it: {error}"
    );
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
async fn the_gateway_lends_no_key_a_v1_call_carries_the_callers_own() {
    let (grpc, grpc_addr) = listener().await;
    let settings = solution_19::Settings {
        api_key: solution_19::ApiKey::new(Some("gateway-test-key".to_string())),
        log: solution_19::CallLog::new(|_| {}),
        ..solution_19::Settings::default()
    };
    let server = tokio::spawn(solution_19::serve(
        grpc,
        solution_19::LinkServer::default(),
        settings,
        std::future::pending(),
    ));
    let (http_listener, http_addr) = listener().await;
    let key = BearerKey::new(Some("gateway-test-key")).expect("a key that can be a header");
    let clients =
        gateway::connect(&format!("http://{grpc_addr}"), key).expect("a valid server URL");
    let gateway = tokio::spawn(gateway::serve(
        http_listener,
        clients,
        std::future::pending(),
    ));
    let with_key = ["authorization: Bearer gateway-test-key"];
    let answer = http_with(
        http_addr,
        "POST",
        "/v1/links",
        Some(r#"{"url":"https://example.com/k"}"#),
        &with_key,
    )
    .await;
    assert_eq!(
        answer.status, 201,
        "a caller who sends the key may create: {}",
        answer.body
    );
    let code = answer.json()["shortCode"]
        .as_str()
        .expect("shortCode")
        .to_string();
    for (method, path) in [
        ("GET", "/v1/links".to_string()),
        ("GET", format!("/v1/links/{code}")),
        ("DELETE", format!("/v1/links/{code}")),
    ] {
        let answer = http(http_addr, method, &path, None).await;
        assert_eq!(
            (answer.status, answer.json()["code"].clone()),
            (401, serde_json::json!(16)),
            "{method} {path} without an Authorization header must be 401 (UNAUTHENTICATED = 16): \
             the gateway's key is for the redirect and the clicks, never lent to a caller. \
             Send /v1 calls with `for_caller` on `callers`; got {}",
            answer.body
        );
    }
    let answer = http_with(http_addr, "GET", "/v1/links", None, &with_key).await;
    assert_eq!(
        answer.status, 200,
        "with the caller's key, the list: {}",
        answer.body
    );
    let answer = http(http_addr, "GET", &format!("/{code}"), None).await;
    assert_eq!(
        answer.status, 302,
        "the redirect needs no key from the browser: it uses the gateway's own (`own`): {}",
        answer.body
    );
    server.abort();
    gateway.abort();
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
    let clients = gateway::connect(&format!("http://{addr}"), BearerKey::default())
        .expect("a valid server URL");
    let clicks = Clicks::default();
    // Enough clicks to wake the flusher at once, and again each time they are put back.
    clicks.add("abc123", gateway::FLUSH_AT * 3);
    let every = Duration::from_millis(100);
    let run = Duration::from_secs(1);
    let flusher = tokio::spawn(gateway::sync_clicks(
        clients.own.unretried(),
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
    let settings = solution_19::Settings {
        log: solution_19::CallLog::new(move |call| {
            seen.lock()
                .expect("the list of calls")
                .push((call.method.clone(), call.code));
        }),
        ..solution_19::Settings::default()
    };
    let (grpc, grpc_addr) = listener().await;
    let server = tokio::spawn(solution_19::serve(
        grpc,
        solution_19::LinkServer::default(),
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
    let (channel, server) = silent_channel(silence);
    let client = solution_19::pb::link_service_client::LinkServiceClient::with_interceptor(
        channel,
        BearerKey::default(),
    );
    (client, server)
}

/// The gateway's clients, all on one in-memory pipe to a server that stays silent.
fn silent_clients(silence: Silence) -> (gateway::Clients, JoinHandle<()>) {
    let (channel, server) = silent_channel(silence);
    (gateway::Clients::on(channel, BearerKey::default()), server)
}

/// A channel whose one connection is an in-memory pipe to a server that stays silent.
fn silent_channel(silence: Silence) -> (tonic::transport::Channel, JoinHandle<()>) {
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
    (channel, server)
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
        let started = tokio::time::Instant::now();
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
        // Lesson 16: the shutdown came after 1 s, while a flush was under way (at most
        // CALL_TIMEOUT); the last flush then has LAST_FLUSH, however many tries it makes.
        let bound = Duration::from_secs(1) + gateway::CALL_TIMEOUT + gateway::LAST_FLUSH;
        let took = started.elapsed();
        assert!(
            took <= bound,
            "with a silent server ({silence:?}) the flusher took {took:?} (paused time) to stop; \
             at most {bound:?}: the last flush must end at its LAST_FLUSH deadline"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_gateways_own_deadline_is_504_not_499() {
    for silence in [Silence::Total, Silence::AfterHeaders] {
        for path in ["/v1/links/abc123", "/v1/links", "/abc123"] {
            let (clients, server) = silent_clients(silence);
            let app = gateway::router(Gateway::new(clients, Clicks::default()));
            let request = http::Request::get(path)
                .body(axum::body::Body::empty())
                .expect("a valid request");
            // Paused time: the gateway's CALL_TIMEOUT passes in no time; this only ends a hang.
            let limit = Duration::from_secs(600);
            let response = tokio::time::timeout(limit, app.oneshot(request))
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "GET {path} to a server that never answers ({silence:?}) hung past \
                         {limit:?}: run each call inside the given `within_deadline` (tonic's \
                         timer covers only the answer's headers)"
                    )
                })
                .expect("the router never fails");
            server.abort();
            let status = response.status().as_u16();
            let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
                .await
                .expect("the error body");
            let error: serde_json::Value = serde_json::from_slice(&body)
                .unwrap_or_else(|e| panic!("GET {path}: a JSON error body, got {body:?}: {e}"));
            assert_eq!(
                (status, error["code"].clone()),
                (504, serde_json::json!(4)),
                "GET {path}, server silent ({silence:?}): the gateway's own deadline passed, so \
                 504 and DEADLINE_EXCEEDED (4), not 499 (CANCELLED, the browser's fault): {error}"
            );
        }
    }
}

// ---- Lesson 16: the gateway hardened --------------------------------------------------------

/// A connection to the gateway that sends `head` and then nothing more, and reads whatever comes
/// back until the gateway closes it. `None` if the gateway keeps it open past `LIMIT`.
async fn stalled(addr: SocketAddr, head: &str) -> Option<String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .expect("connect to the gateway");
    stream
        .write_all(head.as_bytes())
        .await
        .expect("send the start of a request");
    let mut raw = Vec::new();
    let read = tokio::time::timeout(LIMIT, stream.read_to_end(&mut raw)).await;
    match read {
        Ok(_) => Some(String::from_utf8_lossy(&raw).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test]
async fn a_slow_client_is_cut_by_the_header_and_request_timeouts() {
    let (grpc, grpc_addr) = listener().await;
    let server = tokio::spawn(solution_19::serve(
        grpc,
        solution_19::LinkServer::default(),
        solution_19::Settings::default(),
        std::future::pending(),
    ));
    let (http, http_addr) = listener().await;
    let clients = gateway::connect(&format!("http://{grpc_addr}"), BearerKey::default())
        .expect("a valid server URL");
    let settings = gateway::Settings {
        header_read_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_millis(300),
        ..gateway::Settings::default()
    };
    let gateway = tokio::spawn(gateway::serve_with(
        http,
        clients,
        settings,
        std::future::pending(),
    ));
    // Headers that never end (slowloris): hyper closes the connection when its timer fires.
    let answer = stalled(http_addr, "GET /v1/links HTTP/1.1\r\nhost: gateway\r\n").await;
    assert!(
        answer.is_some(),
        "a client that never finishes its headers held the connection past {LIMIT:?}: give \
         hyper's http1 builder a timer and `header_read_timeout`"
    );
    // Headers, then a body that never comes: the request's own time limit answers 408.
    let head = "POST /v1/links HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\n\
                content-length: 100\r\n\r\n{\"url\":";
    let answer = stalled(http_addr, head).await.unwrap_or_else(|| {
        panic!(
            "a request whose body never arrives held the connection past {LIMIT:?}: \
                put tower-http's TimeoutLayer in front of the routes"
        )
    });
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "a request that takes longer than its time limit is 408 Request Timeout: {answer:?}"
    );
    gateway.abort();
    server.abort();
}

#[tokio::test]
async fn shutdown_is_bounded_by_grace_and_still_sends_the_last_clicks() {
    let (grpc, grpc_addr) = listener().await;
    let server = tokio::spawn(solution_19::serve(
        grpc,
        solution_19::LinkServer::default(),
        solution_19::Settings::default(),
        std::future::pending(),
    ));
    let (http_listener, http_addr) = listener().await;
    let clients = gateway::connect(&format!("http://{grpc_addr}"), BearerKey::default())
        .expect("a valid server URL");
    let settings = gateway::Settings {
        // Only the flush at shutdown can send the click, and the stalled request has all the
        // time it wants: only the grace period ends it.
        flush_every: Duration::from_secs(3600),
        request_timeout: Duration::from_secs(3600),
        header_read_timeout: Duration::from_secs(3600),
        grace: Duration::from_millis(300),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let mut gateway = tokio::spawn(gateway::serve_with(
        http_listener,
        clients,
        settings,
        async move {
            let _ = stopped.await;
        },
    ));
    let link = create(http_addr, "https://example.com/grace").await;
    let code = link["shortCode"].as_str().expect("shortCode").to_string();
    assert_eq!(
        http(http_addr, "GET", &format!("/{code}"), None)
            .await
            .status,
        302
    );
    // A request in flight that will never end: its body never comes.
    let mut stuck = TcpStream::connect(http_addr).await.expect("connect");
    stuck
        .write_all(b"POST /v1/links HTTP/1.1\r\nhost: gateway\r\ncontent-length: 100\r\n\r\n{")
        .await
        .expect("send the start of a request");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = stop.send(());
    let unsent = tokio::time::timeout(LIMIT, &mut gateway)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "a request that never ends held the gateway's shutdown past {LIMIT:?}: wait for \
                 the requests in flight no longer than `grace`, then cut them"
            )
        })
        .expect("the gateway task")
        .expect("the gateway served");
    assert_eq!(
        unsent, 0,
        "the last flush runs after the grace period, and the server is up: every click is sent"
    );
    let (other, _stop, _task) =
        start_gateway(&format!("http://{grpc_addr}"), gateway::FLUSH_EVERY).await;
    assert_eq!(
        clicks_of(other, &code).await,
        "1",
        "the click counted before the shutdown reached the server"
    );
    server.abort();
}

/// The gateway binary, started with `args` (and `--addr 127.0.0.1:0`): the process, its
/// address, and its stderr. Its stdout is read to the end by a task of its own: a closed pipe
/// would fail the gateway's last `println!`.
async fn start_gateway_binary(
    args: &[&str],
    envs: &[(&str, &str)],
) -> (
    tokio::process::Child,
    SocketAddr,
    tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_solution-19-gateway"))
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .envs(envs.iter().copied())
        .env_remove("SHORTENER_API_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the gateway binary");
    let stdout = child.stdout.take().expect("its stdout");
    let stderr = child.stderr.take().expect("its stderr");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(LIMIT, lines.next_line())
        .await
        .expect("the gateway says where it listens within 5 s")
        .expect("read its stdout")
        .expect("a line on its stdout");
    let addr = line
        .strip_prefix("gateway listening on http://")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("`gateway listening on http://ADDR ...`, got {line:?}"));
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr, BufReader::new(stderr).lines())
}

/// Sends SIGTERM to `child` and waits for its exit code.
async fn terminate(child: &mut tokio::process::Child) -> Option<i32> {
    let pid = child.id().expect("the gateway is running");
    // SAFETY: `kill` with a pid this test started and has not reaped yet.
    let sent = unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    assert_eq!(sent, 0, "send SIGTERM to the gateway");
    tokio::time::timeout(LIMIT, child.wait())
        .await
        .expect("the gateway exits within 5 s of SIGTERM")
        .expect("its exit status")
        .code()
}

#[tokio::test]
async fn every_request_is_logged_with_its_request_id_and_the_server_hears_it() {
    let ids: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = ids.clone();
    let settings = solution_19::Settings {
        log: solution_19::CallLog::new(move |call| {
            seen.lock()
                .expect("the list of ids")
                .push(call.request_id.clone());
        }),
        ..solution_19::Settings::default()
    };
    let (grpc, grpc_addr) = listener().await;
    let server = tokio::spawn(solution_19::serve(
        grpc,
        solution_19::LinkServer::default(),
        settings,
        std::future::pending(),
    ));
    let server_url = format!("http://{grpc_addr}");
    let (mut child, addr, mut stderr) = start_gateway_binary(
        &["--server", &server_url],
        &[("SHORTENER_LOG_FORMAT", "json"), ("RUST_LOG", "info")],
    )
    .await;
    let answer = http_with(
        addr,
        "GET",
        "/v1/links/zz0zzz",
        None,
        &["x-request-id: gateway-test-id"],
    )
    .await;
    assert_eq!(answer.status, 404);
    assert_eq!(
        answer.header("x-request-id"),
        Some("gateway-test-id"),
        "the caller's request id comes back on the answer"
    );
    let answer = http(addr, "GET", "/v1/links/zz0zzz", None).await;
    let made = answer
        .header("x-request-id")
        .expect("a request without an id gets one, on the answer too")
        .to_string();
    assert!(
        made.len() == 16 && made.bytes().all(|b| b.is_ascii_hexdigit()),
        "a new id is 16 hex digits, as the server's: {made}"
    );
    let long = "x".repeat(solution_19::MAX_REQUEST_ID_LEN + 1);
    let header = format!("x-request-id: {long}");
    let answer = http_with(addr, "GET", "/v1/links/zz0zzz", None, &[&header]).await;
    let replaced = answer.header("x-request-id").unwrap_or_default();
    assert!(
        replaced.len() == 16 && replaced.bytes().all(|b| b.is_ascii_hexdigit()),
        "an id longer than MAX_REQUEST_ID_LEN is not taken: a new one replaces it, got {replaced}"
    );
    let code = terminate(&mut child).await;
    assert_eq!(code, Some(0), "no click was counted: a clean exit");
    let mut logged = Vec::new();
    while let Ok(Ok(Some(line))) = tokio::time::timeout(LIMIT, stderr.next_line()).await {
        if let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) {
            logged.push(event);
        }
    }
    for id in ["gateway-test-id", made.as_str()] {
        let found = logged
            .iter()
            .find(|event| event["message"] == "request ended" && event["span"]["request_id"] == id);
        let event = found.unwrap_or_else(|| {
            panic!("no `request ended` line with request_id {id} in the gateway's log: {logged:?}")
        });
        assert_eq!(
            (
                event["span"]["method"].as_str(),
                event["span"]["path"].as_str(),
                event["span"]["status"].as_u64()
            ),
            (Some("GET"), Some("/v1/links/zz0zzz"), Some(404)),
            "the line says what the request was and how it ended: {event}"
        );
        assert!(
            ids.lock()
                .expect("the list of ids")
                .iter()
                .any(|seen| seen == id),
            "the server logged the GetLink under the gateway's request id {id}: the gateway \
             sends it on as `x-request-id` metadata"
        );
    }
    server.abort();
}

/// The short code whose GetLink [`NoSync`] never answers.
const HANGS: &str = "hangs0";

/// A LinkService that knows every link (but [`HANGS`], which it never answers) and refuses every
/// SyncClicks: clicks can be counted, and never delivered.
#[derive(Debug, Clone, Copy)]
struct NoSync;

#[tonic::async_trait]
impl pb::link_service_server::LinkService for NoSync {
    async fn create_link(
        &self,
        _: tonic::Request<pb::CreateLinkRequest>,
    ) -> Result<tonic::Response<pb::CreateLinkResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("not in this test"))
    }

    async fn get_link(
        &self,
        request: tonic::Request<pb::GetLinkRequest>,
    ) -> Result<tonic::Response<pb::GetLinkResponse>, tonic::Status> {
        if request.get_ref().short_code == HANGS {
            std::future::pending::<()>().await;
        }
        let link = pb::Link {
            id: 1,
            url: "https://example.com/nosync".to_string(),
            short_code: request.into_inner().short_code,
            clicks: 0,
        };
        Ok(tonic::Response::new(pb::GetLinkResponse {
            link: Some(link),
        }))
    }

    async fn delete_link(
        &self,
        _: tonic::Request<pb::DeleteLinkRequest>,
    ) -> Result<tonic::Response<pb::DeleteLinkResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("not in this test"))
    }

    type ListLinksStream = tokio_stream::Empty<Result<pb::Link, tonic::Status>>;

    async fn list_links(
        &self,
        _: tonic::Request<pb::ListLinksRequest>,
    ) -> Result<tonic::Response<Self::ListLinksStream>, tonic::Status> {
        Err(tonic::Status::unimplemented("not in this test"))
    }

    async fn batch_create_links(
        &self,
        _: tonic::Request<tonic::Streaming<pb::CreateLinkRequest>>,
    ) -> Result<tonic::Response<pb::BatchCreateLinksResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("not in this test"))
    }

    type SyncClicksStream = tokio_stream::Empty<Result<pb::SyncResponse, tonic::Status>>;

    async fn sync_clicks(
        &self,
        _: tonic::Request<tonic::Streaming<pb::SyncRequest>>,
    ) -> Result<tonic::Response<Self::SyncClicksStream>, tonic::Status> {
        Err(tonic::Status::unavailable("this server takes no clicks"))
    }
}

#[tokio::test]
async fn clicks_that_cannot_be_sent_make_the_gateway_exit_non_zero() {
    let (grpc, grpc_addr) = listener().await;
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(pb::link_service_server::LinkServiceServer::new(NoSync))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(grpc)),
    );
    let server_url = format!("http://{grpc_addr}");
    let (mut child, addr, mut stderr) =
        start_gateway_binary(&["--server", &server_url, "--grace", "1"], &[]).await;
    let answer = http(addr, "GET", "/abc123", None).await;
    assert_eq!(answer.status, 302, "the redirect works: {}", answer.body);
    let code = terminate(&mut child).await;
    let mut said = String::new();
    while let Ok(Ok(Some(line))) = tokio::time::timeout(LIMIT, stderr.next_line()).await {
        said.push_str(&line);
        said.push('\n');
    }
    server.abort();
    assert_eq!(
        code,
        Some(1),
        "a click the server never confirmed is lost when the gateway exits: exit non-zero, so \
         that whatever runs the gateway knows; stderr: {said}"
    );
    assert!(
        said.contains("1 clicks could not be sent"),
        "and say how many were lost, on stderr: {said}"
    );
}

#[tokio::test]
async fn a_request_whose_client_went_away_is_logged_too() {
    let (grpc, grpc_addr) = listener().await;
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(pb::link_service_server::LinkServiceServer::new(NoSync))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(grpc)),
    );
    let server_url = format!("http://{grpc_addr}");
    let (mut child, addr, mut stderr) = start_gateway_binary(
        &["--server", &server_url],
        &[("SHORTENER_LOG_FORMAT", "json"), ("RUST_LOG", "info")],
    )
    .await;
    let mut gone = TcpStream::connect(addr)
        .await
        .expect("connect to the gateway");
    let request =
        format!("GET /v1/links/{HANGS} HTTP/1.1\r\nhost: gateway\r\nx-request-id: gone-id\r\n\r\n");
    gone.write_all(request.as_bytes())
        .await
        .expect("send the request");
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(gone);
    // The line comes when hyper notices the closed connection and drops the request.
    let mut logged = Vec::new();
    let found = tokio::time::timeout(LIMIT, async {
        while let Ok(Some(line)) = stderr.next_line().await {
            let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            let cut = event["span"]["request_id"] == "gone-id";
            logged.push(event.clone());
            if cut {
                return Some(event);
            }
        }
        None
    })
    .await;
    let _ = terminate(&mut child).await;
    server.abort();
    let event = found.ok().flatten().unwrap_or_else(|| {
        panic!(
            "a request whose client hung up before the answer left no line in the gateway's \
             log (hyper drops its future, and TraceLayer's on_response never runs): {logged:?}"
        )
    });
    assert_eq!(
        (event["message"].as_str(), event["span"]["path"].as_str()),
        (
            Some("request cut before its answer"),
            Some("/v1/links/hangs0")
        ),
        "the line says which request was cut, and that it got no answer: {event}"
    );
}
