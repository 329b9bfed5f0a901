//! Lesson 08's checks: the command-line client.
//!
//! These tests start the server on a free port of 127.0.0.1, run your client binary against it
//! with `--addr`, and read what it prints. They look at the server's side through a client
//! generated from the course's contract (`proto/shortener/link.proto` at the top of the
//! repository). Please don't edit them: `cargo quiz check 08` runs them as they are.

use std::process::Output;
use std::time::Duration;

use shortener_proto::testing::TestServer;
use shortener_proto::{CreateLinkRequest, GetLinkRequest, Link};
use tokio::net::TcpListener;
use tonic::Code;

// The crate under test.
use solution_08::{client, serve};

const CLIENT: &str = env!("CARGO_BIN_EXE_solution-08-client");

/// Runs the client binary with `args`, giving up after a minute rather than hanging.
async fn run_client(args: &[&str]) -> Output {
    let run = tokio::process::Command::new(CLIENT)
        .args(args)
        .env_remove("SHORTENER_ADDR")
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the client should finish within a minute")
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
    assert_eq!(stdout(&output), format!("deleted {}\n", link.short_code));
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
    assert!(
        !output.status.success(),
        "a failed call should make the client exit with a non-zero code"
    );
    assert_eq!(stdout(&output), "", "nothing should be printed on stdout");
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
async fn the_address_can_come_from_shortener_addr() {
    let server = TestServer::start(serve).await;

    let run = tokio::process::Command::new(CLIENT)
        .args(["create", "https://example.com/article-one"])
        .env("SHORTENER_ADDR", server.addr().to_string())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the client should finish within a minute")
        .expect("run the client binary");

    assert_no_panic(&output);
    assert_success(&output);
    assert!(stdout(&output).starts_with("created "));
}

#[tokio::test]
async fn a_server_that_is_not_there_gives_a_clear_error() {
    // Take a free port, then close it: nobody listens there.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address").to_string();
    drop(listener);

    let output = run_client(&["--addr", &addr, "get", "k7m2px"]).await;

    assert_no_panic(&output);
    assert!(!output.status.success(), "the client should exit non-zero");
    let err = stderr(&output);
    assert!(
        err.starts_with("error: ") && err.contains(&addr),
        "the error should say which address could not be reached; got {err:?}"
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

    let output = run_client(&["--addr", &addr, "--timeout", "1", "get", "k7m2px"]).await;
    silent.abort();

    assert_no_panic(&output);
    assert!(!output.status.success(), "the client should exit non-zero");
    let err = stderr(&output);
    assert!(
        err.starts_with("error: Cancelled: "),
        "with `.timeout()` on the Endpoint, a call with no answer ends as CANCELLED \
         (\"Timeout expired\"); got {err:?}"
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
        let link = task
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
