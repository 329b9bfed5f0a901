//! The client binary and the gateway over several replicas: they take every address given,
//! pass over a replica that is down, and make a CreateLink whose answer was lost safe to
//! retry with an idempotency key. The replicas are fakes (`tests/replicas/`), so that a test
//! can lose an answer at the moment it chooses; the rules of the client library itself are in
//! `tests/balance.rs`, `tests/retry.rs` and `tests/keepalive.rs`.

mod replicas;

use std::net::SocketAddr;
use std::process::{Output, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use replicas::relay::Relay;
use replicas::replica::{LIMIT, Replica, three_replicas};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use solution_19::client::BearerKey;
use solution_19::gateway;

/// The URL of a port where nothing listens: a replica that is down.
async fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    let addr = listener.local_addr().expect("its address");
    drop(listener);
    format!("http://{addr}")
}

/// Runs the client binary with `args` (and `envs`), and waits for it to end.
async fn client(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_solution-19-client"))
        .args(args)
        .env_remove("SHORTENER_ADDR")
        .env_remove("SHORTENER_API_KEY")
        .envs(envs.iter().copied())
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(LIMIT, run)
        .await
        .unwrap_or_else(|_| panic!("the client ({args:?}) did not end within {LIMIT:?}"))
        .expect("run the client binary")
}

fn shown(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).trim_end(),
        String::from_utf8_lossy(&output.stderr).trim_end()
    )
}

#[tokio::test]
async fn the_client_binary_takes_every_address_and_passes_over_a_dead_one() {
    let replicas = three_replicas().await;
    let dead = dead_url().await;
    let alive = replicas[1].url();
    // The dead replica first: a client that used only the first address would fail every time.
    for _ in 0..5 {
        let output = client(&["--addr", &dead, "--addr", &alive, "get", "abc123"], &[]).await;
        assert!(
            output.status.success(),
            "`--addr DEAD --addr ALIVE get abc123` must succeed on the replica that is up: \
             the client takes every --addr, and a call that finds a replica down goes to \
             another.\n{}",
            shown(&output)
        );
    }
    assert_eq!(
        replicas[1].state.gets.load(Ordering::SeqCst),
        5,
        "every GetLink ends on the live replica"
    );

    let listed = format!("{dead},{}", replicas[2].url());
    let output = client(&["get", "abc123"], &[("SHORTENER_ADDR", &listed)]).await;
    assert!(
        output.status.success(),
        "SHORTENER_ADDR=DEAD,ALIVE must work as two addresses (a comma-separated list)\n{}",
        shown(&output)
    );
    assert_eq!(replicas[2].state.gets.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_client_binary_refuses_an_address_given_twice() {
    let replica = Replica::start(0).await;
    let url = replica.url();
    let output = client(&["--addr", &url, "--addr", &url, "get", "abc123"], &[]).await;
    assert_eq!(
        output.status.code(),
        Some(2),
        "one replica given twice is a mistake of the command line (exit 2), not two replicas\n{}",
        shown(&output)
    );
}

#[tokio::test]
async fn a_create_from_the_client_binary_is_retried_under_one_key_after_a_lost_answer() {
    let replica = Replica::start(0).await;
    let relay = Relay::start(replica.server.addr()).await;
    replica.state.create_gate.arm();
    let url = relay.url();
    let run = tokio::spawn(async move {
        client(&["--addr", &url, "create", "https://example.com/once"], &[]).await
    });
    // The link is stored; its answer is lost with the connection.
    replica.state.create_gate.reached().await;
    relay.reset();
    replica.state.create_gate.release();
    let output = run.await.expect("the client's task");
    assert!(
        output.status.success(),
        "a create whose answer was lost must be retried (UNAVAILABLE: the connection broke) \
         and succeed\n{}",
        shown(&output)
    );
    let keys = replica.state.keys.lock().expect("keys").clone();
    assert_eq!(
        keys.len(),
        2,
        "two attempts, each with an idempotency-key: {keys:?}"
    );
    assert_eq!(
        keys[0], keys[1],
        "the retry must carry the first attempt's idempotency-key, or the server makes a \
         second link"
    );
    assert_eq!(replica.state.link_count(), 1, "one link for one create");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("created k00001 -> https://example.com/once"),
        "the link the first attempt made: {stdout}"
    );
}

/// A gateway in this process, over `servers`.
async fn start_gateway(servers: &[String]) -> (SocketAddr, JoinHandle<std::io::Result<i64>>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    let addr = listener.local_addr().expect("its address");
    let clients =
        gateway::connect_with_ca(servers, BearerKey::default(), None).expect("a balanced channel");
    let task = tokio::spawn(gateway::serve(listener, clients, std::future::pending()));
    (addr, task)
}

/// An HTTP answer: the status and the body.
struct Answer {
    status: u16,
    body: String,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("expected JSON, got {:?}: {error}", self.body))
    }
}

/// One HTTP/1.1 request on a new connection, with `headers` (`name: value` lines).
async fn http(addr: SocketAddr, method: &str, path: &str, body: &str, headers: &[&str]) -> Answer {
    let exchange = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .expect("connect to the gateway");
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
        .unwrap_or_else(|_| panic!("{method} {path}: no answer within {LIMIT:?}"));
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("{method} {path}: no HTTP answer: {raw:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("an HTTP status line");
    Answer {
        status,
        body: body.to_string(),
    }
}

#[tokio::test]
async fn the_gateway_spreads_over_its_servers_and_passes_over_a_dead_one() {
    let replicas = three_replicas().await;
    let servers = [dead_url().await, replicas[1].url(), replicas[2].url()];
    let (addr, gateway) = start_gateway(&servers).await;
    for _ in 0..40 {
        let answer = http(addr, "GET", "/v1/links/abc123", "", &[]).await;
        assert_eq!(
            answer.status, 200,
            "with one server of three down, every GET must still answer 200 (retried on \
             another replica, or never sent to the dead one): {}",
            answer.body
        );
    }
    let (one, two) = (
        replicas[1].state.gets.load(Ordering::SeqCst),
        replicas[2].state.gets.load(Ordering::SeqCst),
    );
    assert!(
        one > 0 && two > 0 && one + two == 40,
        "40 GETs spread over the two live replicas: {one} and {two}"
    );
    gateway.abort();
}

#[tokio::test]
async fn the_gateway_passes_a_callers_idempotency_key_on_and_draws_one_otherwise() {
    let replica = Replica::start(0).await;
    let (addr, gateway) = start_gateway(&[replica.url()]).await;
    let body = r#"{"url":"https://example.com/order"}"#;
    let keyed = ["idempotency-key: order-17"];
    let first = http(addr, "POST", "/v1/links", body, &keyed).await;
    let again = http(addr, "POST", "/v1/links", body, &keyed).await;
    assert_eq!((first.status, again.status), (201, 201), "{}", again.body);
    assert_eq!(
        first.json()["shortCode"],
        again.json()["shortCode"],
        "a POST repeated with its Idempotency-Key gets the first link"
    );
    let drawn = http(addr, "POST", "/v1/links", body, &[]).await;
    assert_eq!(drawn.status, 201, "{}", drawn.body);
    let keys = replica.state.keys.lock().expect("keys").clone();
    assert_eq!(
        keys[..2],
        ["order-17", "order-17"],
        "the caller's Idempotency-Key is sent on as the idempotency-key metadata"
    );
    assert!(
        keys.len() == 3 && keys[2].len() == 32,
        "a POST without a key gets one of the gateway's (32 hex digits), so that the \
         gateway's own retries are safe: {keys:?}"
    );
    let long = format!("idempotency-key: {}", "k".repeat(256));
    let refused = http(addr, "POST", "/v1/links", body, &[&long]).await;
    assert_eq!(
        refused.status, 400,
        "a key the server would refuse is the caller's mistake: {}",
        refused.body
    );
    assert_eq!(replica.state.creates.load(Ordering::SeqCst), 3);
    gateway.abort();
}

#[tokio::test]
async fn a_gateway_create_whose_answer_was_lost_is_retried_under_the_same_key() {
    let replica = Replica::start(0).await;
    let relay = Relay::start(replica.server.addr()).await;
    let (addr, gateway) = start_gateway(&[relay.url()]).await;
    replica.state.create_gate.arm();
    let post = tokio::spawn(async move {
        http(
            addr,
            "POST",
            "/v1/links",
            r#"{"url":"https://example.com/lost"}"#,
            &[],
        )
        .await
    });
    replica.state.create_gate.reached().await;
    relay.reset();
    replica.state.create_gate.release();
    let answer = post.await.expect("the POST's task");
    assert_eq!(
        answer.status, 201,
        "the gateway retries a create whose answer was lost: {}",
        answer.body
    );
    let keys = replica.state.keys.lock().expect("keys").clone();
    assert!(
        keys.len() == 2 && keys[0] == keys[1],
        "the retry carries the first attempt's key: {keys:?}"
    );
    assert_eq!(replica.state.link_count(), 1, "one link for one POST");
    gateway.abort();
}

#[tokio::test]
async fn the_gateway_binary_takes_a_comma_separated_list_of_servers() {
    let replica = Replica::start(0).await;
    replica.state.insert("abc123", "https://example.com/");
    let servers = format!("{},{}", dead_url().await, replica.url());
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_solution-19-gateway"))
        .args(["--addr", "127.0.0.1:0"])
        .env("SHORTENER_SERVER", &servers)
        .env_remove("SHORTENER_API_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the gateway binary");
    let stdout = child.stdout.take().expect("its stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(LIMIT, lines.next_line())
        .await
        .expect("the gateway says where it listens")
        .expect("read its stdout")
        .unwrap_or_else(|| {
            panic!("the gateway ended without a line: does it take SHORTENER_SERVER={servers}?")
        });
    let addr: SocketAddr = line
        .strip_prefix("gateway listening on http://")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("`gateway listening on http://ADDR ...`, got {line:?}"));
    for _ in 0..5 {
        let answer = http(addr, "GET", "/v1/links/abc123", "", &[]).await;
        assert_eq!(
            answer.status, 200,
            "SHORTENER_SERVER=DEAD,ALIVE is two servers, and the live one answers: {}",
            answer.body
        );
    }
    let _ = child.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
}
