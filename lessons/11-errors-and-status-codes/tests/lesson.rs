//! Lesson 11's checks: URL validation, domain errors turned into statuses with rich details, an
//! all-or-nothing batch with a limit, and a client that reports errors by code.
//!
//! The `validate_url` and `ShortenerError` tests call your library directly. The others start
//! your server on a free port of 127.0.0.1 and call it with a client generated from the course's
//! contract (`proto/shortener/link.proto` at the top of the repository), the way a client in any
//! other language would; the client tests run your client binary against your server. Every
//! wait has a time limit, so a test that would hang fails instead, and says what it waited for.
//! Please don't edit them: `cargo quiz check 11` runs them as they are.

use std::future::Future;
use std::net::SocketAddr;
use std::process::{Output, Stdio};
use std::time::Duration;

use shortener_proto::link_service_client::LinkServiceClient;
use shortener_proto::testing::TestServer;
use shortener_proto::{CreateLinkRequest, GetLinkRequest, Link, ListLinksRequest};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

// The crate under test.
use lesson_11::{
    DEFAULT_MAX_BATCH, LinkServer, MAX_URL_LEN, ShortenerError, UrlError, serve, serve_with,
    validate_url,
};

const SERVER_BINARY: &str = env!("CARGO_BIN_EXE_lesson-11-server");
const CLIENT_BINARY: &str = env!("CARGO_BIN_EXE_lesson-11-client");

type Client = LinkServiceClient<Channel>;

/// Awaits `future`, or fails the test after `secs` seconds with `what` (the rule it checks).
async fn within<T>(secs: u64, what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), future).await {
        Ok(value) => value,
        Err(_) => panic!("{what} (nothing happened within {secs} s)"),
    }
}

/// A URL of exactly `len` bytes.
fn url_of_len(len: usize) -> String {
    let start = "https://example.com/";
    format!("{start}{}", "a".repeat(len - start.len()))
}

fn requests(urls: &[&str]) -> Vec<CreateLinkRequest> {
    urls.iter()
        .map(|url| CreateLinkRequest {
            url: url.to_string(),
        })
        .collect()
}

/// `count` good URLs.
fn good_urls(count: usize) -> Vec<CreateLinkRequest> {
    (0..count)
        .map(|i| CreateLinkRequest {
            url: format!("https://example.com/page/{i}"),
        })
        .collect()
}

/// The field violations of a status's `google.rpc.BadRequest` details: `(field, description)`.
fn violations(status: &Status) -> Vec<(String, String)> {
    status
        .get_details_bad_request()
        .map(|bad_request| {
            bad_request
                .field_violations
                .into_iter()
                .map(|v| (v.field, v.description))
                .collect()
        })
        .unwrap_or_default()
}

/// A server whose batch limit is `max_batch`.
async fn server_with_limit(max_batch: usize) -> TestServer {
    TestServer::start(move |listener| {
        serve_with(listener, LinkServer::default().with_max_batch(max_batch))
    })
    .await
}

/// CreateLink's answer for `url`.
async fn create(client: &mut Client, url: &str) -> Result<Link, Status> {
    let request = CreateLinkRequest {
        url: url.to_string(),
    };
    let response = within(10, "CreateLink should answer", client.create_link(request)).await?;
    Ok(response
        .into_inner()
        .link
        .expect("CreateLink returns the link"))
}

/// BatchCreateLinks's answer for `requests`: the links created, or the status.
async fn batch(client: &mut Client, requests: Vec<CreateLinkRequest>) -> Result<Vec<Link>, Status> {
    let response = within(
        10,
        "BatchCreateLinks should answer",
        client.batch_create_links(tokio_stream::iter(requests)),
    )
    .await?;
    Ok(response.into_inner().links)
}

/// How many links the server has, as ListLinks streams them.
async fn stored(client: &mut Client) -> usize {
    let read_all = async {
        let mut stream = client
            .list_links(ListLinksRequest::default())
            .await
            .expect("ListLinks")
            .into_inner();
        let mut count = 0;
        while stream.message().await.expect("ListLinks stream").is_some() {
            count += 1;
        }
        count
    };
    within(10, "ListLinks (from lesson 09) should end", read_all).await
}

/// Fails unless `result` is an INVALID_ARGUMENT status; returns it.
fn invalid_argument<T: std::fmt::Debug>(result: Result<T, Status>, what: &str) -> Status {
    match result {
        Err(status) if status.code() == Code::InvalidArgument => status,
        Err(status) => panic!(
            "{what}: expected INVALID_ARGUMENT, got {:?}: {}",
            status.code(),
            status.message()
        ),
        Ok(answer) => {
            let shown: String = format!("{answer:?}").chars().take(150).collect();
            panic!("{what}: expected INVALID_ARGUMENT, got an OK answer: {shown} ...")
        }
    }
}

// ---------------------------------------------------------------------------------------------
// validate_url: the worked example, then exercise 1
// ---------------------------------------------------------------------------------------------

#[test]
fn an_absolute_http_or_https_url_with_a_host_is_valid() {
    for url in [
        "https://example.com",
        "http://example.com/a/b?c=d#e",
        "HTTPS://Example.COM/Path",
        "https://user:secret@example.com:8443/x",
        "http://[::1]:8080/",
        "http://127.0.0.1/",
        "https://bücher.example/straße",
        "https://example.com/a%20b",
    ] {
        assert_eq!(validate_url(url), Ok(()), "{url:?} is a good URL");
    }
    assert_eq!(
        validate_url(&url_of_len(MAX_URL_LEN)),
        Ok(()),
        "a URL of exactly {MAX_URL_LEN} bytes is within the limit"
    );
}

#[test]
fn an_empty_url_is_refused() {
    assert_eq!(validate_url(""), Err(UrlError::Empty));
}

#[test]
fn a_url_over_2048_bytes_is_refused_with_its_length() {
    assert_eq!(MAX_URL_LEN, 2048, "the limit is 2,048 bytes");
    assert_eq!(
        validate_url(&url_of_len(2049)),
        Err(UrlError::TooLong {
            len: 2049,
            max: 2048
        })
    );
    // Bytes, not characters: each "é" is two bytes in UTF-8.
    let accents = format!("https://example.com/{}", "é".repeat(1015));
    assert_eq!(accents.len(), 2050);
    assert_eq!(
        validate_url(&accents),
        Err(UrlError::TooLong {
            len: 2050,
            max: 2048
        }),
        "the limit counts bytes (`str::len`), not characters"
    );
}

#[test]
fn a_url_with_a_space_or_a_control_character_is_refused() {
    for (url, at) in [
        (" https://example.com", 0),
        ("https://example.com ", 19),
        ("https://example.com/a b", 21),
        ("https://example.com/\n", 20),
        ("https://exa\tmple.com", 11),
        ("https://example.com/\u{7f}", 20),
    ] {
        assert_eq!(
            validate_url(url),
            Err(UrlError::Unencoded { at }),
            "{url:?}: the parser would drop or encode the character, but the stored URL keeps \
             it, so refuse it and say at which byte it is"
        );
    }
}

#[test]
fn a_url_without_a_scheme_is_not_absolute_and_the_message_suggests_one() {
    for url in ["example.com", "www.example.com/path", "/just/a/path"] {
        assert_eq!(
            validate_url(url),
            Err(UrlError::NotAbsolute(url.to_string())),
            "{url:?} has no scheme"
        );
    }
    let message = UrlError::NotAbsolute("example.com".to_string()).to_string();
    assert!(
        message.contains("https://example.com"),
        "the message should suggest the URL with a scheme, got {message:?}"
    );
}

#[test]
fn a_scheme_other_than_http_or_https_is_refused_and_named() {
    for (url, scheme) in [
        ("ftp://example.com/file.txt", "ftp"),
        ("javascript:alert(1)", "javascript"),
        ("JavaScript:alert(1)", "javascript"),
        ("mailto:someone@example.com", "mailto"),
        ("file:///etc/passwd", "file"),
        ("localhost:8080", "localhost"),
    ] {
        assert_eq!(
            validate_url(url),
            Err(UrlError::Scheme(scheme.to_string())),
            "{url:?} has the scheme {scheme:?}"
        );
    }
}

#[test]
fn a_url_without_a_host_is_refused_even_where_the_parser_would_repair_it() {
    for url in [
        "http://",
        "https://",
        "https://:443/",
        "http:example.com",
        "https:/example.com",
        "https:///example.com",
        "http:\\\\example.com",
        "http://\\example.com",
    ] {
        assert_eq!(
            validate_url(url),
            Err(UrlError::NoHost),
            "{url:?} has no host of its own: `//` and a host must follow the scheme in the text \
             as sent (the parser would invent one, but the stored URL is the text)"
        );
    }
}

#[test]
fn a_url_the_parser_cannot_read_is_refused_with_its_reason() {
    for (url, reason) in [
        ("https://example.com:99999/", url::ParseError::InvalidPort),
        ("http://256.0.0.1/", url::ParseError::InvalidIpv4Address),
        ("https://exa%20mple.com/", url::ParseError::IdnaError),
    ] {
        assert_eq!(
            validate_url(url),
            Err(UrlError::Unreadable(reason)),
            "{url:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// ShortenerError into Status: the worked example, then exercise 2
// ---------------------------------------------------------------------------------------------

#[test]
fn an_invalid_url_becomes_invalid_argument_with_a_violation_on_the_url_field() {
    let reason = UrlError::Scheme("ftp".to_string());
    let status = Status::from(ShortenerError::InvalidUrl(reason.clone()));

    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), format!("invalid URL: {reason}"));
    assert_eq!(
        violations(&status),
        vec![("url".to_string(), reason.to_string())],
        "one google.rpc.BadRequest field violation, on `url`, with the reason"
    );
}

#[test]
fn not_found_becomes_not_found_naming_the_code() {
    let status = Status::from(ShortenerError::NotFound("zzzzzz".to_string()));

    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), "no link has the short code \"zzzzzz\"");
}

#[test]
fn a_bad_url_in_a_batch_becomes_invalid_argument_naming_its_index() {
    let reason = UrlError::Scheme("ftp".to_string());
    let status = Status::from(ShortenerError::InvalidUrlInBatch {
        index: 2,
        error: reason.clone(),
    });

    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("index 2") && status.message().contains(&reason.to_string()),
        "the message should name the index (\"index 2\") and the reason, got {:?}",
        status.message()
    );
    assert_eq!(
        violations(&status),
        vec![("requests[2].url".to_string(), reason.to_string())],
        "one field violation, on `requests[2].url`, with the reason"
    );
}

#[test]
fn a_batch_over_the_limit_becomes_invalid_argument_naming_the_limit() {
    let status = Status::from(ShortenerError::BatchTooLarge { limit: 5 });

    assert_eq!(
        status.code(),
        Code::InvalidArgument,
        "the limit is part of the request's contract: retrying the same batch cannot help, so \
         it is INVALID_ARGUMENT, not RESOURCE_EXHAUSTED"
    );
    assert!(
        status.message().contains("at most 5"),
        "the message should say the limit (\"at most 5\"), got {:?}",
        status.message()
    );
}

// ---------------------------------------------------------------------------------------------
// CreateLink validates: the worked example
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_link_refuses_each_kind_of_bad_url_with_a_field_violation() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    for url in [
        String::new(),
        "ftp://example.com/file.txt".to_string(),
        "javascript:alert(1)".to_string(),
        "example.com".to_string(),
        "http://".to_string(),
        url_of_len(2049),
    ] {
        let shown: String = url.chars().take(40).collect();
        let status = invalid_argument(create(&mut client, &url).await, &format!("{shown:?}"));
        let fields: Vec<String> = violations(&status).into_iter().map(|v| v.0).collect();
        assert_eq!(
            fields,
            vec!["url".to_string()],
            "{shown:?}: the status should carry a BadRequest violation on `url`"
        );
    }
    assert_eq!(stored(&mut client).await, 0, "a refused URL is not stored");
}

#[tokio::test]
async fn a_good_url_is_stored_exactly_as_sent() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    // `Url::parse` would give back "https://example.com/b?x=1".
    let sent = "HTTPS://Example.COM/a/../b?x=1";

    let link = create(&mut client, sent).await.expect("a good URL");
    assert_eq!(
        link.url, sent,
        "CreateLink must store the URL as it was sent"
    );
    let got = within(
        10,
        "GetLink should answer",
        client.get_link(GetLinkRequest {
            short_code: link.short_code,
        }),
    )
    .await
    .expect("GetLink")
    .into_inner()
    .link
    .expect("a link");
    assert_eq!(got.url, sent, "GetLink returns the URL as it was sent");
}

// ---------------------------------------------------------------------------------------------
// BatchCreateLinks, all or nothing: exercise 3
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_valid_batch_stores_every_url_exactly_as_sent() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let sent = ["HTTP://Example.com", "https://example.com/a/../b"];

    let links = batch(&mut client, requests(&sent))
        .await
        .expect("a batch of good URLs");
    let urls: Vec<&str> = links.iter().map(|link| link.url.as_str()).collect();
    assert_eq!(urls, sent, "the batch stores each URL as it was sent");
}

#[tokio::test]
async fn a_batch_with_a_bad_url_at_index_2_is_refused_naming_index_2() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let sent = requests(&[
        "https://example.com/0",
        "https://example.com/1",
        "ftp://example.com/2",
        "https://example.com/3",
    ]);

    let status = invalid_argument(batch(&mut client, sent).await, "a bad URL at index 2");
    assert!(
        status.message().contains("index 2"),
        "the message should name the 0-based index of the bad message (\"index 2\"), got {:?}",
        status.message()
    );
    let fields: Vec<String> = violations(&status).into_iter().map(|v| v.0).collect();
    assert_eq!(
        fields,
        vec!["requests[2].url".to_string()],
        "the status should carry a BadRequest violation on `requests[2].url`"
    );
}

#[tokio::test]
async fn a_batch_with_a_bad_url_stores_nothing() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    create(&mut client, "https://example.com/before")
        .await
        .expect("a good URL");
    let sent = requests(&[
        "https://example.com/0",
        "https://example.com/1",
        "javascript:alert(1)",
        "https://example.com/3",
    ]);

    invalid_argument(batch(&mut client, sent).await, "a bad URL at index 2");
    assert_eq!(
        stored(&mut client).await,
        1,
        "all or nothing: the good URLs of a refused batch must not be stored either"
    );
}

#[tokio::test]
async fn a_bad_url_ends_the_batch_without_waiting_for_the_stream_to_end() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    let (tx, rx) = mpsc::channel(8);
    for request in requests(&["https://example.com/0", "ftp://example.com/1"]) {
        tx.send(request).await.expect("send");
    }
    // `tx` stays alive: the stream is still open when the bad URL arrives.
    let result = within(
        5,
        "the first bad URL should end the call at once, while the client is still sending: \
         return the error from inside the loop, don't wait for the stream to end",
        client.batch_create_links(ReceiverStream::new(rx)),
    )
    .await;
    let status = invalid_argument(result, "a bad URL at index 1");
    assert!(
        status.message().contains("index 1"),
        "the message should name index 1, got {:?}",
        status.message()
    );
    drop(tx);
}

#[tokio::test]
async fn a_batch_of_exactly_the_limit_is_accepted() {
    let server = server_with_limit(3).await;
    let mut client = server.client().await;

    let links = batch(&mut client, good_urls(3))
        .await
        .expect("with a limit of 3, a batch of 3 URLs is within it: is the check off by one?");
    assert_eq!(links.len(), 3, "created");
}

#[tokio::test]
async fn a_batch_over_the_limit_is_refused_and_stores_nothing() {
    let server = server_with_limit(3).await;
    let mut client = server.client().await;

    let status = invalid_argument(
        batch(&mut client, good_urls(4)).await,
        "a batch of 4 URLs with a limit of 3",
    );
    assert!(
        status.message().contains("at most 3"),
        "the message should say the limit (\"at most 3\"), got {:?}",
        status.message()
    );
    assert_eq!(
        stored(&mut client).await,
        0,
        "a batch over the limit stores nothing"
    );
}

#[tokio::test]
async fn the_server_stops_reading_at_the_first_message_past_the_limit() {
    let server = server_with_limit(3).await;
    let mut client = server.client().await;

    // A stream that never ends: a server that reads to the end before counting never answers.
    let endless = tokio_stream::iter((0..).map(|i| CreateLinkRequest {
        url: format!("https://example.com/endless/{i}"),
    }));
    let result = within(
        5,
        "a batch past the limit must be refused as soon as message 4 arrives: count while you \
         read, and return the error from inside the loop",
        client.batch_create_links(endless),
    )
    .await;
    invalid_argument(result, "an endless batch with a limit of 3");
    assert_eq!(
        stored(&mut client).await,
        0,
        "the refused batch stores nothing"
    );
}

#[tokio::test]
async fn the_default_limit_is_10_000_urls() {
    assert_eq!(DEFAULT_MAX_BATCH, 10_000);
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    let links = batch(&mut client, good_urls(10_000))
        .await
        .expect("a batch of 10,000 URLs is within the default limit");
    assert_eq!(links.len(), 10_000);
    invalid_argument(
        batch(&mut client, good_urls(10_001)).await,
        "a batch of 10,001 URLs with the default limit",
    );
    assert_eq!(
        stored(&mut client).await,
        10_000,
        "the refused batch stores nothing"
    );
}

/// Starts the server binary with `args` and `env` on a free port, and returns it with its
/// address. The child is killed when dropped.
async fn start_binary(args: &[&str], env: &[(&str, &str)]) -> (tokio::process::Child, SocketAddr) {
    let mut child = tokio::process::Command::new(SERVER_BINARY)
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .env_remove("SHORTENER_ADDR")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
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
    (child, addr)
}

#[tokio::test]
async fn the_server_binary_takes_the_limit_from_max_batch_or_shortener_max_batch() {
    for (args, env) in [
        (vec!["--max-batch", "2"], vec![]),
        (vec![], vec![("SHORTENER_MAX_BATCH", "2")]),
    ] {
        let (_server, addr) = start_binary(&args, &env).await;
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .expect("a URL")
            .connect()
            .await
            .expect("connect to the server binary");
        let mut client = LinkServiceClient::new(channel);
        invalid_argument(
            batch(&mut client, good_urls(3)).await,
            &format!("a batch of 3 URLs, server started with {args:?} {env:?}"),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The client reports errors by code: exercise 4
// ---------------------------------------------------------------------------------------------

/// Runs the client binary with `args` against `addr`, and waits up to 20 s for it to finish.
async fn run_client(addr: SocketAddr, args: &[&str]) -> Output {
    let output = tokio::process::Command::new(CLIENT_BINARY)
        .arg("--addr")
        .arg(addr.to_string())
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .kill_on_drop(true)
        .output();
    within(20, "the client should finish", output)
        .await
        .expect("run the client binary")
}

/// Fails unless the client exited with `code` and its stderr has every one of `lines`.
fn assert_reported(output: &Output, code: i32, lines: &[&str], rule: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(code),
        "{rule}: expected exit code {code}; stderr was:\n{stderr}"
    );
    for line in lines {
        assert!(
            stderr.lines().any(|l| l.contains(line)),
            "{rule}: stderr should have a line with {line:?}, got:\n{stderr}"
        );
    }
}

#[tokio::test]
async fn the_client_reports_a_refused_url_with_its_field_and_exits_with_3() {
    let server = TestServer::start(serve).await;

    let output = run_client(server.addr(), &["create", "ftp://example.com/file.txt"]).await;
    let reason = UrlError::Scheme("ftp".to_string()).to_string();
    assert_reported(
        &output,
        3,
        &[&format!("invalid URL: {reason}"), &format!("url: {reason}")],
        "`client create ftp://...`: print the status message, then each field violation as \
         `FIELD: DESCRIPTION`",
    );
}

#[tokio::test]
async fn the_client_reports_the_index_of_a_bad_url_in_a_batch() {
    let server = TestServer::start(serve).await;

    let output = run_client(
        server.addr(),
        &["batch", "https://example.com/a", "javascript:alert(1)"],
    )
    .await;
    let reason = UrlError::Scheme("javascript".to_string()).to_string();
    assert_reported(
        &output,
        3,
        &["index 1", &format!("requests[1].url: {reason}")],
        "`client batch GOOD BAD`: print the status message, then each field violation",
    );
}

#[tokio::test]
async fn the_client_reports_an_unknown_code_and_exits_with_4() {
    let server = TestServer::start(serve).await;

    let output = run_client(server.addr(), &["get", "zzzzzz"]).await;
    assert_reported(
        &output,
        4,
        &["no link has the short code \"zzzzzz\""],
        "`client get UNKNOWN`",
    );
}

#[tokio::test]
async fn the_client_reports_a_server_it_cannot_reach_and_exits_with_5() {
    // A port nobody listens on: bind one, note it, let it go.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port");

    let output = run_client(addr, &["list"]).await;
    assert_reported(
        &output,
        5,
        &[&format!(
            "cannot reach the server at {addr}: is it running?"
        )],
        "`client list` with no server listening",
    );
}
