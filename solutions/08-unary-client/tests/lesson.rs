//! Lesson 08's checks: the command-line client.
//!
//! Most of these tests start the lesson's server on a free port of 127.0.0.1, run your client
//! binary against it with `--addr`, and read what it prints. They look at the server's side
//! through a client generated from the course's contract (`proto/shortener/link.proto` at the top
//! of the repository). A few run your client against a stand-in server (`Fake`, below) that does
//! what the real one never does: answer too slowly, or fail in an unexpected way. Please don't
//! edit them: `cargo quiz check 08` runs them as they are.

use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use shortener_proto::testing::{Relay, TestServer};
use shortener_proto::{CreateLinkRequest, GetLinkRequest, Link};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tonic::transport::server::TcpIncoming;
use tonic::{Code, Request, Response, Status};

// The crate under test.
use solution_08::pb::link_service_server::{LinkService, LinkServiceServer};
use solution_08::{client, pb, serve};

const CLIENT: &str = env!("CARGO_BIN_EXE_solution-08-client");

/// Runs the client binary with `args`, giving up after 20 seconds rather than hanging.
async fn run_client(args: &[&str]) -> Output {
    run_client_within(20, args).await
}

/// The client binary's run, which must end within `secs` seconds.
async fn run_client_within(secs: u64, args: &[&str]) -> Output {
    let run = tokio::process::Command::new(CLIENT)
        .args(args)
        .env_remove("SHORTENER_ADDR")
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(secs), run)
        .await
        .unwrap_or_else(|_| {
            panic!("the client should finish within {secs} s (does a call have no timeout?)")
        })
        .expect("run the client binary")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "the client should exit with 0; it exited with {} and printed:\n{}{}",
        output.status,
        stdout(output),
        stderr(output)
    );
}

fn assert_failure(output: &Output) {
    assert!(
        !output.status.success(),
        "the client should exit with a non-zero code; it exited with 0 and printed:\n{}{}",
        stdout(output),
        stderr(output)
    );
}

fn assert_no_panic(output: &Output) {
    assert!(
        !stderr(output).contains("panicked"),
        "the client panicked (a todo!() still to write?):\n{}",
        stderr(output)
    );
}

/// Creates a link through the contract's client, as another program would.
async fn create_directly(server: &TestServer, url: &str) -> Link {
    server
        .client()
        .await
        .create_link(CreateLinkRequest {
            url: url.to_string(),
        })
        .await
        .expect("CreateLink on the lesson's server")
        .into_inner()
        .link
        .expect("a link")
}

/// Waits for `what` up to `secs` seconds; on a hang, fails with `mistake`.
async fn within<T>(secs: u64, mistake: &str, what: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), what)
        .await
        .unwrap_or_else(|_| panic!("nothing happened for {secs} s: {mistake}"))
}

/// A stand-in server, for what the lesson's server never does.
#[derive(Clone, Default)]
struct Fake {
    /// CreateLink never answers. `started` is notified when its handler starts, and `dropped`
    /// when the handler's future is dropped.
    create_hangs: bool,
    started: Arc<Notify>,
    dropped: Arc<Notify>,
    /// What GetLink answers once DeleteLink was called: the link again (`None`), or this code.
    get_after_delete: Option<Code>,
    deleted: Arc<AtomicBool>,
}

/// Notifies when dropped: tells a test that the handler holding it is gone.
struct DropSignal(Arc<Notify>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        self.0.notify_one();
    }
}

fn fake_link(short_code: &str) -> Option<pb::Link> {
    Some(pb::Link {
        id: 1,
        url: "https://example.com/article-one".to_string(),
        short_code: short_code.to_string(),
        clicks: 0,
    })
}

#[tonic::async_trait]
impl LinkService for Fake {
    async fn create_link(
        &self,
        _request: Request<pb::CreateLinkRequest>,
    ) -> Result<Response<pb::CreateLinkResponse>, Status> {
        if self.create_hangs {
            let _signal = DropSignal(self.dropped.clone());
            self.started.notify_one();
            std::future::pending::<()>().await;
        }
        Ok(Response::new(pb::CreateLinkResponse {
            link: fake_link("k7m2px"),
        }))
    }

    async fn get_link(
        &self,
        request: Request<pb::GetLinkRequest>,
    ) -> Result<Response<pb::GetLinkResponse>, Status> {
        match self.get_after_delete {
            Some(code) if self.deleted.load(Ordering::SeqCst) => {
                Err(Status::new(code, "the fake server fails on purpose"))
            }
            _ => Ok(Response::new(pb::GetLinkResponse {
                link: fake_link(&request.into_inner().short_code),
            })),
        }
    }

    async fn delete_link(
        &self,
        _request: Request<pb::DeleteLinkRequest>,
    ) -> Result<Response<pb::DeleteLinkResponse>, Status> {
        // Answers OK, and deletes nothing.
        self.deleted.store(true, Ordering::SeqCst);
        Ok(Response::new(pb::DeleteLinkResponse {}))
    }
}

async fn start_fake(fake: Fake) -> TestServer {
    TestServer::start(|listener| {
        tonic::transport::Server::builder()
            .add_service(LinkServiceServer::new(fake))
            .serve_with_incoming(TcpIncoming::from(listener).with_nodelay(Some(true)))
    })
    .await
}

#[tokio::test]
async fn create_prints_the_new_link() {
    let server = TestServer::start(serve).await;
    let addr = server.addr().to_string();

    let output = run_client(&["--addr", &addr, "create", "https://example.com/article-one"]).await;

    assert_no_panic(&output);
    assert_success(&output);
    let out = stdout(&output);
    let line = out.trim_end();
    let code = line
        .strip_prefix("created ")
        .and_then(|rest| rest.strip_suffix(" -> https://example.com/article-one"))
        .unwrap_or_else(|| panic!("expected `created CODE -> URL`, got {line:?}"));
    let stored = server
        .client()
        .await
        .get_link(GetLinkRequest {
            short_code: code.to_string(),
        })
        .await
        .expect("the printed code should be the code the server stored")
        .into_inner()
        .link
        .expect("a link");
    assert_eq!(stored.url, "https://example.com/article-one");
}

#[tokio::test]
async fn get_prints_the_link() {
    let server = TestServer::start(serve).await;
    let link = create_directly(&server, "https://example.com/article-one").await;

    let output = run_client(&[
        "--addr",
        &server.addr().to_string(),
        "get",
        &link.short_code,
    ])
    .await;

    assert_no_panic(&output);
    assert_success(&output);
    assert_eq!(
        stdout(&output),
        format!(
            "{} -> https://example.com/article-one (id 1, 0 clicks)\n",
            link.short_code
        ),
        "`get` should print `CODE -> URL (id N, N clicks)`"
    );
}

#[tokio::test]
async fn delete_deletes_the_link() {
    let server = TestServer::start(serve).await;
    let link = create_directly(&server, "https://example.com/article-one").await;

    let output = run_client(&[
        "--addr",
        &server.addr().to_string(),
        "delete",
        &link.short_code,
    ])
    .await;

    assert_no_panic(&output);
    assert_success(&output);
    assert_eq!(
        stdout(&output),
        format!("deleted {}\n", link.short_code),
        "`delete` should print `deleted CODE`"
    );
    let after = server
        .client()
        .await
        .get_link(GetLinkRequest {
            short_code: link.short_code.clone(),
        })
        .await;
    assert_eq!(
        after.map(|_| ()).map_err(|status| status.code()),
        Err(Code::NotFound),
        "after `delete`, the server should no longer know the code"
    );
}

#[tokio::test]
async fn get_of_an_unknown_code_prints_not_found_and_fails() {
    let server = TestServer::start(serve).await;

    let output = run_client(&["--addr", &server.addr().to_string(), "get", "zzzzzz"]).await;

    assert_no_panic(&output);
    assert_failure(&output);
    assert_eq!(stdout(&output), "", "nothing should be printed on stdout");
    let err = stderr(&output);
    assert!(
        err.starts_with("error: NotFound: "),
        "the error should name its status code, as `error: NotFound: ...`; got {err:?}"
    );
}

#[tokio::test]
async fn delete_of_an_unknown_code_prints_nothing_and_fails() {
    let server = TestServer::start(serve).await;

    let output = run_client(&["--addr", &server.addr().to_string(), "delete", "zzzzzz"]).await;

    assert_no_panic(&output);
    assert_failure(&output);
    assert_eq!(
        stdout(&output),
        "",
        "`delete` should print only after DeleteLink succeeded; here it failed with NOT_FOUND"
    );
    let err = stderr(&output);
    assert!(
        err.starts_with("error: NotFound: "),
        "the error should name its status code, as `error: NotFound: ...`; got {err:?}"
    );
}

#[tokio::test]
async fn the_demo_runs_the_lesson_flow() {
    let server = TestServer::start(serve).await;

    let output = run_client(&["--addr", &server.addr().to_string(), "demo"]).await;

    assert_no_panic(&output);
    assert_success(&output);
    let out = stdout(&output);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "expected 4 lines, got:\n{out}");
    let code = lines[0]
        .strip_prefix("created ")
        .and_then(|rest| rest.strip_suffix(" -> https://example.com/article-one"))
        .unwrap_or_else(|| panic!("expected `created CODE -> URL`, got {:?}", lines[0]));
    assert_eq!(
        lines[1],
        format!("{code} -> https://example.com/article-one (id 1, 0 clicks)")
    );
    assert_eq!(lines[2], format!("deleted {code}"));
    assert!(
        lines[3].starts_with("get after delete: NotFound: "),
        "the last line should show the NOT_FOUND of the get after the delete, got {:?}",
        lines[3]
    );
}

#[tokio::test]
async fn the_demo_fails_if_the_deleted_link_can_still_be_read() {
    // A server whose DeleteLink answers OK but deletes nothing.
    let server = start_fake(Fake::default()).await;

    let output = run_client(&["--addr", &server.addr().to_string(), "demo"]).await;

    assert_no_panic(&output);
    assert_failure(&output);
    assert!(
        stderr(&output).starts_with("error: "),
        "a link that is still there after its delete is the demo's failure: return an error, \
         and the client prints it; got stderr {:?}",
        stderr(&output)
    );
}

#[tokio::test]
async fn the_demo_fails_on_an_error_other_than_not_found() {
    // A server whose GetLink, after the delete, fails with UNAVAILABLE instead of NOT_FOUND.
    let fake = Fake {
        get_after_delete: Some(Code::Unavailable),
        ..Fake::default()
    };
    let server = start_fake(fake).await;

    let output = run_client(&["--addr", &server.addr().to_string(), "demo"]).await;

    assert_no_panic(&output);
    assert_failure(&output);
    let err = stderr(&output);
    assert!(
        err.starts_with("error: Unavailable: "),
        "only NOT_FOUND is the answer the demo expects; any other error must come out as the \
         demo's error, `error: Unavailable: ...`; got {err:?}"
    );
}

#[tokio::test]
async fn the_address_can_come_from_shortener_addr() {
    let server = TestServer::start(serve).await;

    let run = tokio::process::Command::new(CLIENT)
        .args(["create", "https://example.com/article-one"])
        .env("SHORTENER_ADDR", server.addr().to_string())
        .kill_on_drop(true)
        .output();
    let output = within(20, "the client did not finish", run)
        .await
        .expect("run the client binary");

    assert_no_panic(&output);
    assert_success(&output);
    assert!(stdout(&output).starts_with("created "));
}

#[tokio::test]
async fn connect_takes_a_host_and_port_or_a_url() {
    let server = TestServer::start(serve).await;

    for addr in [server.addr().to_string(), server.url()] {
        let mut client = within(
            20,
            "connect did not return",
            client::connect(&addr, Duration::from_secs(5)),
        )
        .await
        .unwrap_or_else(|error| panic!("client::connect({addr:?}) should connect: {error:?}"));
        let link = within(
            20,
            "the call did not return",
            client::create(&mut client, "https://example.com/article-one".to_string()),
        )
        .await
        .unwrap_or_else(|status| panic!("a call through connect({addr:?}): {status:?}"));
        assert_eq!(link.url, "https://example.com/article-one");
    }
}

#[tokio::test]
async fn a_server_that_is_not_there_gives_a_clear_error() {
    // Take a free port, then close it: nobody listens there.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address").to_string();
    drop(listener);

    let output = run_client(&["--addr", &addr, "get", "k7m2px"]).await;

    assert_no_panic(&output);
    assert_failure(&output);
    let err = stderr(&output);
    assert!(
        err.starts_with("error: ") && err.contains(&addr),
        "the error should say which address could not be reached; got {err:?}"
    );
}

#[tokio::test]
async fn a_failed_connection_prints_every_cause_once() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address").to_string();
    drop(listener);

    let output = run_client(&["--addr", &addr, "get", "k7m2px"]).await;

    assert_no_panic(&output);
    let err = stderr(&output);
    let line = err.lines().next().unwrap_or_default();
    let causes: Vec<&str> = line.split(": ").collect();
    assert!(
        line.contains("transport error") && line.contains("tcp connect error"),
        "the line should go down the chain of causes, past the context, to tonic's \
         `transport error` and its `tcp connect error`; got {line:?}"
    );
    assert!(
        causes.windows(2).all(|pair| pair[0] != pair[1]),
        "a cause is printed twice in a row (tonic repeats its cause's text): {line:?}"
    );
}

#[tokio::test]
async fn a_call_to_a_server_that_never_answers_times_out() {
    // A TCP server that accepts connections and then says nothing at all.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address").to_string();
    let silent = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });

    // A timeout of 1 s: the client has ended well before 6 s, or its call has no timeout.
    let output = run_client_within(6, &["--addr", &addr, "--timeout", "1", "get", "k7m2px"]).await;
    silent.abort();

    assert_no_panic(&output);
    assert_failure(&output);
    let err = stderr(&output);
    assert!(
        err.starts_with("error: Cancelled: "),
        "with `.timeout()` on the Endpoint, a call with no answer ends as CANCELLED \
         (\"Timeout expired\"); got {err:?}"
    );
}

#[tokio::test]
async fn a_call_slower_than_the_timeout_is_cancelled_and_the_server_drops_it() {
    let fake = Fake {
        create_hangs: true,
        ..Fake::default()
    };
    let server = start_fake(fake.clone()).await;
    let mut client = client::connect(&server.addr().to_string(), Duration::from_millis(500))
        .await
        .expect("client::connect to a running server");

    let result = within(
        5,
        "a call outlived its timeout: does `connect` set `.timeout(timeout)` on the Endpoint?",
        client::create(&mut client, "https://example.com/slow".to_string()),
    )
    .await;

    let status = result.expect_err("the server never answers, so the call must fail");
    assert_eq!(
        (status.code(), status.message()),
        (Code::Cancelled, "Timeout expired"),
        "tonic ends a call that runs out of time as CANCELLED, with the message `Timeout expired`"
    );
    within(
        10,
        "the server's handler was not dropped after the client gave up",
        fake.dropped.notified(),
    )
    .await;
}

#[tokio::test]
async fn a_broken_connection_fails_the_call_in_flight_as_unknown_and_the_next_as_unavailable() {
    let fake = Fake {
        create_hangs: true,
        ..Fake::default()
    };
    let server = start_fake(fake.clone()).await;
    let relay = Relay::start(server.addr()).await;
    let client = client::connect(&relay.url(), Duration::from_secs(10))
        .await
        .expect("client::connect with an http:// URL (through a relay)");

    let mut in_flight = client.clone();
    let call = tokio::spawn(async move {
        client::create(&mut in_flight, "https://example.com/cut".to_string()).await
    });
    within(
        10,
        "the call never reached the server",
        fake.started.notified(),
    )
    .await;
    relay.cut();

    let status = within(10, "the call in flight did not end", call)
        .await
        .expect("the task")
        .expect_err("the connection broke, so the call must fail");
    assert_eq!(
        (status.code(), status.message()),
        (Code::Unknown, "transport error"),
        "tonic reports a call cut off in flight as UNKNOWN"
    );

    let mut next = client.clone();
    let status = within(
        10,
        "the next call did not end",
        client::create(&mut next, "https://example.com/next".to_string()),
    )
    .await
    .expect_err("nothing listens any more, so the next call must fail");
    assert_eq!(
        status.code(),
        Code::Unavailable,
        "the next call cannot reconnect: UNAVAILABLE"
    );
}

#[tokio::test]
async fn clones_of_one_client_make_calls_at_the_same_time() {
    let server = TestServer::start(serve).await;
    let client = client::connect(&server.addr().to_string(), Duration::from_secs(5))
        .await
        .expect("client::connect to a running server");

    // Each task gets its own clone: a clone is a new handle to the same connection.
    let mut tasks = Vec::new();
    for i in 0..10 {
        let mut client = client.clone();
        tasks.push(tokio::spawn(async move {
            let url = format!("https://example.com/{i}");
            client::create(&mut client, url).await
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        let link = within(20, "a create did not return", task)
            .await
            .expect("a task")
            .expect("client::create should succeed");
        ids.push(link.id);
    }

    ids.sort_unstable();
    assert_eq!(
        ids,
        (1..=10).collect::<Vec<i64>>(),
        "ten creates, ten links"
    );
}
