//! Lesson 12's checks: an API key on LinkService, checked by an interceptor and compared in
//! constant time; a tower layer that logs every call and gives it a request id; a client that
//! sends the key and reports a refusal.
//!
//! `constant_time_eq` is called directly. The other tests start your server on a free port of
//! 127.0.0.1 and call it with a client generated from the course's contract
//! (`proto/shortener/link.proto` at the top of the repository), adding the metadata by hand, the
//! way a client in any other language would; the binary tests run your server and client
//! binaries. Every wait has a time limit, so a test that would hang fails instead, and says what
//! it waited for. Please don't edit them: `cargo quiz check 12` runs them as they are.

use std::future::Future;
use std::net::SocketAddr;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shortener_proto::link_service_client::LinkServiceClient;
use shortener_proto::testing::TestServer;
use shortener_proto::{
    CreateLinkRequest, GetLinkRequest, Link, ListLinksRequest, ListLinksRequest as Empty,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

// The crate under test.
use lesson_12::client::BearerKey;
use lesson_12::{
    ApiKey, CallLog, CallRecord, LinkServer, MAX_REQUEST_ID_LEN, RequestLogLayer, Settings,
    constant_time_eq, serve,
};

const SERVER_BINARY: &str = env!("CARGO_BIN_EXE_lesson-12-server");
const CLIENT_BINARY: &str = env!("CARGO_BIN_EXE_lesson-12-client");

/// The key the tests give their servers.
const KEY: &str = "lesson-12-test-key";

type Client = LinkServiceClient<Channel>;

/// Awaits `future`, or fails the test after `secs` seconds with `what` (the rule it checks).
async fn within<T>(secs: u64, what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), future).await {
        Ok(value) => value,
        Err(_) => panic!("{what} (nothing happened within {secs} s)"),
    }
}

/// The log records of a server, as the layer wrote them.
#[derive(Clone, Default)]
struct Records(Arc<Mutex<Vec<CallRecord>>>);

impl Records {
    fn log(&self) -> CallLog {
        let records = self.0.clone();
        CallLog::new(move |record| records.lock().expect("the records").push(record.clone()))
    }

    fn all(&self) -> Vec<CallRecord> {
        self.0.lock().expect("the records").clone()
    }

    /// Waits up to 5 s for a record of `method` (the path's last part) and returns it.
    async fn of(&self, method: &str) -> CallRecord {
        let wait = async {
            loop {
                if let Some(record) = self
                    .all()
                    .into_iter()
                    .find(|record| record.method.ends_with(&format!("/{method}")))
                {
                    return record;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        within(
            5,
            &format!(
                "the layer should log a record for {method} once its call has ended; it logged {:?}",
                self.all()
            ),
            wait,
        )
        .await
    }
}

/// A server with `api_key`, whose log goes to the returned records.
async fn server(api_key: Option<&str>) -> (TestServer, Records) {
    let records = Records::default();
    let settings = Settings {
        api_key: ApiKey::new(api_key.map(String::from)),
        log: records.log(),
    };
    let server =
        TestServer::start(move |listener| serve(listener, LinkServer::default(), settings)).await;
    (server, records)
}

/// A request with `metadata` added to it: `(key, value)` pairs.
fn with_metadata<T>(message: T, metadata: &[(&'static str, &str)]) -> Request<T> {
    let mut request = Request::new(message);
    for (key, value) in metadata {
        request
            .metadata_mut()
            .insert(*key, value.parse().expect("a valid metadata value"));
    }
    request
}

fn create_request(metadata: &[(&'static str, &str)]) -> Request<CreateLinkRequest> {
    with_metadata(
        CreateLinkRequest {
            url: "https://example.com/lesson-12".to_string(),
        },
        metadata,
    )
}

/// CreateLink with `metadata`: the link, or the status.
async fn create(client: &mut Client, metadata: &[(&'static str, &str)]) -> Result<Link, Status> {
    let response = within(
        10,
        "CreateLink should answer",
        client.create_link(create_request(metadata)),
    )
    .await?;
    Ok(response.into_inner().link.unwrap_or_default())
}

/// CreateLink with `metadata`: the response's metadata, whatever the outcome.
async fn create_metadata(client: &mut Client, metadata: &[(&'static str, &str)]) -> MetadataMap {
    match within(
        10,
        "CreateLink should answer",
        client.create_link(create_request(metadata)),
    )
    .await
    {
        Ok(response) => response.metadata().clone(),
        Err(status) => status.metadata().clone(),
    }
}

/// Fails unless `result` is an UNAUTHENTICATED status.
fn assert_unauthenticated<T: std::fmt::Debug>(result: Result<T, Status>, what: &str) {
    match result {
        Err(status) if status.code() == Code::Unauthenticated => {}
        Err(status) => panic!(
            "{what}: expected UNAUTHENTICATED, got {:?}: {}",
            status.code(),
            status.message()
        ),
        Ok(answer) => panic!("{what}: expected UNAUTHENTICATED, got an OK answer: {answer:?}"),
    }
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

// ---------------------------------------------------------------------------------------------
// The API key: exercises 2 (the comparison) and 3 (the check, on LinkService only)
// ---------------------------------------------------------------------------------------------

#[test]
fn constant_time_eq_says_equal_only_for_the_same_bytes() {
    assert!(constant_time_eq(b"", b""), "two empty keys are equal");
    assert!(
        constant_time_eq(KEY.as_bytes(), KEY.as_bytes()),
        "a key equals itself"
    );
    for (a, b, what) in [
        (&b"secret"[..], &b"xecret"[..], "the first byte differs"),
        (b"secret", b"secreT", "the last byte differs"),
        (b"secret", b"secre", "one is a prefix of the other"),
        (b"secre", b"secret", "one is a prefix of the other"),
        (b"secret", b"", "one is empty"),
        (b"\x01\x02", b"\x02\x01", "the same bytes in another order"),
    ] {
        assert!(!constant_time_eq(a, b), "{a:?} and {b:?} differ: {what}");
    }
}

#[tokio::test]
async fn with_a_key_a_call_without_authorization_is_unauthenticated() {
    let (server, _) = server(Some(KEY)).await;
    let mut client = server.client().await;
    assert_unauthenticated(
        create(&mut client, &[]).await,
        "CreateLink without `authorization`, to a server with a key",
    );
    let list = within(
        10,
        "ListLinks should answer",
        client.list_links(ListLinksRequest::default()),
    )
    .await;
    assert_unauthenticated(
        list.map(|_| ()),
        "ListLinks (a streaming call) without `authorization`",
    );
}

#[tokio::test]
async fn with_a_key_a_wrong_key_is_unauthenticated() {
    let (server, _) = server(Some(KEY)).await;
    let mut client = server.client().await;
    for value in [
        bearer("wrong-key"),
        bearer(&KEY[..KEY.len() - 1]),
        bearer(&format!("{KEY}x")),
        bearer(""),
    ] {
        assert_unauthenticated(
            create(&mut client, &[("authorization", &value)]).await,
            &format!("CreateLink with `authorization: {value}` (the key is {KEY:?})"),
        );
    }
}

#[tokio::test]
async fn the_key_must_come_as_a_bearer_token() {
    let (server, _) = server(Some(KEY)).await;
    let mut client = server.client().await;
    for value in [
        KEY.to_string(),
        format!("Basic {KEY}"),
        format!("Bearer{KEY}"),
    ] {
        assert_unauthenticated(
            create(&mut client, &[("authorization", &value)]).await,
            &format!("CreateLink with `authorization: {value}` (the right form is `Bearer KEY`)"),
        );
    }
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_may_be_followed_by_several_spaces() {
    let (server, _) = server(Some(KEY)).await;
    let mut client = server.client().await;
    for value in [
        format!("bearer {KEY}"),
        format!("BEARER {KEY}"),
        format!("Bearer   {KEY}"),
    ] {
        create(&mut client, &[("authorization", &value)])
            .await
            .unwrap_or_else(|status| {
                panic!(
                    "`authorization: {value}` carries the right key: a scheme is case-insensitive \
                     (RFC 9110 §11.1) and one or more spaces may follow it (RFC 6750: \
                     `\"Bearer\" 1*SP b64token`); got {:?}: {}",
                    status.code(),
                    status.message()
                )
            });
    }
    assert_unauthenticated(
        create(&mut client, &[("authorization", &format!("Bearer\t{KEY}"))]).await,
        "a tab is not a space: `Bearer<TAB>KEY` is not `Bearer KEY`",
    );
}

#[tokio::test]
async fn with_a_key_the_right_key_lets_every_kind_of_call_through() {
    let (server, _) = server(Some(KEY)).await;
    let mut client = server.client().await;
    let auth = bearer(KEY);
    let link = create(&mut client, &[("authorization", &auth)])
        .await
        .expect("CreateLink with `authorization: Bearer KEY` and the right key should work");
    let got = within(
        10,
        "GetLink should answer",
        client.get_link(with_metadata(
            GetLinkRequest {
                short_code: link.short_code.clone(),
            },
            &[("authorization", &auth)],
        )),
    )
    .await
    .expect("GetLink with the right key should work");
    assert_eq!(got.into_inner().link, Some(link));
    let mut stream = within(
        10,
        "ListLinks should answer",
        client.list_links(with_metadata(
            ListLinksRequest::default(),
            &[("authorization", &auth)],
        )),
    )
    .await
    .expect("ListLinks (a streaming call) with the right key should work")
    .into_inner();
    let first = within(10, "ListLinks should stream the link", stream.message()).await;
    assert!(
        matches!(first, Ok(Some(_))),
        "ListLinks with the right key streams the link, got {first:?}"
    );
}

#[tokio::test]
async fn without_a_key_the_server_is_open() {
    let (server, _) = server(None).await;
    let mut client = server.client().await;
    create(&mut client, &[])
        .await
        .expect("a server without a key lets a call without `authorization` through");
    create(&mut client, &[("authorization", "Bearer anything")])
        .await
        .expect("a server without a key ignores the `authorization` it is sent");
}

#[tokio::test]
async fn the_key_guards_link_service_only_not_the_whole_server() {
    // A call to another service (the health service of lesson 16), with no key. The server
    // has no such service yet, so it must answer UNIMPLEMENTED: UNAUTHENTICATED would mean the
    // key is checked for every path of the server, and health checks would need it too.
    let (server, _) = server(Some(KEY)).await;
    let channel = tonic::transport::Endpoint::from_shared(server.url())
        .expect("a URL")
        .connect()
        .await
        .expect("connect to the test server");
    let mut grpc = tonic::client::Grpc::new(channel);
    within(10, "the channel should be ready", grpc.ready())
        .await
        .expect("a ready channel");
    let path = http::uri::PathAndQuery::from_static("/grpc.health.v1.Health/Check");
    let codec = tonic_prost::ProstCodec::<Empty, Empty>::default();
    let answer = within(
        10,
        "a call to /grpc.health.v1.Health/Check should answer",
        grpc.unary(Request::new(Empty::default()), path, codec),
    )
    .await;
    match answer {
        Err(status) => assert_eq!(
            status.code(),
            Code::Unimplemented,
            "a call to another service, without a key, must not be refused for its key; got {:?}: {}",
            status.code(),
            status.message()
        ),
        Ok(_) => panic!("the server has no health service yet: expected UNIMPLEMENTED"),
    }
}

// ---------------------------------------------------------------------------------------------
// The layer: the log (the worked example), and request ids (exercise 1)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_layer_logs_each_call_with_its_method_and_status_code() {
    let (server, records) = server(None).await;
    let mut client = server.client().await;
    create(&mut client, &[]).await.expect("CreateLink");
    let missing = within(
        10,
        "GetLink should answer",
        client.get_link(GetLinkRequest {
            short_code: "zzzzzz".to_string(),
        }),
    )
    .await;
    assert!(missing.is_err(), "GetLink of an unknown code fails");

    let created = records.of("CreateLink").await;
    assert_eq!(created.method, "/shortener.LinkService/CreateLink");
    assert_eq!(created.code, Code::Ok, "CreateLink ended OK: {created:?}");
    let got = records.of("GetLink").await;
    assert_eq!(got.code, Code::NotFound, "GetLink ended NOT_FOUND: {got:?}");
    assert!(
        created.took < Duration::from_secs(5),
        "the duration is the call's: {created:?}"
    );
}

#[tokio::test]
async fn the_layer_logs_a_streaming_call_when_its_trailers_go_out() {
    let (server, records) = server(None).await;
    let mut client = server.client().await;
    let mut stream = within(
        10,
        "ListLinks should answer",
        client.list_links(ListLinksRequest::default()),
    )
    .await
    .expect("ListLinks")
    .into_inner();
    while within(10, "ListLinks should end", stream.message())
        .await
        .expect("the stream")
        .is_some()
    {}
    let listed = records.of("ListLinks").await;
    assert_eq!(
        listed.code,
        Code::Ok,
        "ListLinks ended OK, a status that comes in the trailers: {listed:?}"
    );
}

#[tokio::test]
async fn the_layer_logs_calls_the_key_refused() {
    let (server, records) = server(Some(KEY)).await;
    let mut client = server.client().await;
    assert_unauthenticated(create(&mut client, &[]).await, "CreateLink without a key");
    let refused = records.of("CreateLink").await;
    assert_eq!(
        refused.code,
        Code::Unauthenticated,
        "the layer is around the whole server, so it sees the interceptor's refusal: {refused:?}"
    );
}

/// What the layer wraps in the test below: a service that never answers, as a slow handler.
#[derive(Clone)]
struct NeverAnswers;

impl tower::Service<http::Request<()>> for NeverAnswers {
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = std::future::Pending<Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<()>) -> Self::Future {
        std::future::pending()
    }
}

#[tokio::test]
async fn the_layer_logs_a_call_whose_future_is_dropped_before_its_answer() {
    // This is what tonic's timer does at a call's deadline (it sits outside our layer), and
    // what hyper does when the client resets a stream whose handler is still working: it drops
    // the layer's future, and the layer never sees a response.
    let records = Records::default();
    let mut layered = tower::Layer::layer(&RequestLogLayer::new(records.log()), NeverAnswers);
    let request = http::Request::builder()
        .uri("/shortener.LinkService/GetLink")
        .body(())
        .expect("a request");
    let call = tower::Service::call(&mut layered, request);
    drop(call);
    let record = records.of("GetLink").await;
    assert_eq!(
        record.code,
        Code::Cancelled,
        "a call whose future was dropped is still a line of the log, as CANCELLED: {record:?}"
    );
    assert!(
        record.cut_off.is_some(),
        "the record says why the call was cut off: {record:?}"
    );
}

#[tokio::test]
async fn the_layer_logs_a_call_whose_client_went_away() {
    let (server, records) = server(None).await;
    let mut client = server.client().await;
    // A batch that never ends, given up after 300 ms: dropping the call resets the stream,
    // and nobody reads the answer.
    let call =
        client.batch_create_links(Request::new(tokio_stream::pending::<CreateLinkRequest>()));
    let _ = tokio::time::timeout(Duration::from_millis(300), call).await;
    let record = records.of("BatchCreateLinks").await;
    assert_eq!(
        record.code,
        Code::Cancelled,
        "the client went away before the call's status: the layer logs it as CANCELLED: \
         {record:?}"
    );
    assert!(
        record.cut_off.is_some(),
        "the record says why the call was cut off: {record:?}"
    );
}

#[tokio::test]
async fn an_x_request_id_sent_is_echoed_in_the_response_and_the_log() {
    let (server, records) = server(None).await;
    let mut client = server.client().await;
    let metadata = create_metadata(&mut client, &[("x-request-id", "lesson-12-id-1")]).await;
    assert_eq!(
        metadata.get("x-request-id").and_then(|v| v.to_str().ok()),
        Some("lesson-12-id-1"),
        "the response's metadata echoes the `x-request-id` the client sent"
    );
    let record = records.of("CreateLink").await;
    assert_eq!(
        record.request_id, "lesson-12-id-1",
        "the log uses the same id"
    );
}

#[tokio::test]
async fn a_call_without_an_x_request_id_gets_a_new_one() {
    let (server, records) = server(None).await;
    let mut client = server.client().await;
    let first = create_metadata(&mut client, &[]).await;
    let second = create_metadata(&mut client, &[]).await;
    let id = |metadata: &MetadataMap| {
        metadata
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(String::from)
            .unwrap_or_else(|| {
                panic!("a call without `x-request-id` gets one in its response's metadata")
            })
    };
    let (first, second) = (id(&first), id(&second));
    assert!(!first.is_empty(), "the new id is not empty");
    assert_ne!(first, second, "each call gets an id of its own");
    let record = records.of("CreateLink").await;
    assert_eq!(
        record.request_id, first,
        "the log uses the id the response carries"
    );
}

#[tokio::test]
async fn an_unusable_x_request_id_is_replaced() {
    let (server, _) = server(None).await;
    let mut client = server.client().await;
    let long = "a".repeat(MAX_REQUEST_ID_LEN + 1);
    for sent in ["", long.as_str(), "two words"] {
        let metadata = create_metadata(&mut client, &[("x-request-id", sent)]).await;
        let echoed = metadata
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| {
                panic!("the response to a call with `x-request-id: {sent:?}` has an id")
            });
        assert!(
            echoed != sent && !echoed.is_empty(),
            "`x-request-id: {sent:?}` is not usable (empty, over {MAX_REQUEST_ID_LEN} bytes, or \
             not visible ASCII): the server makes a new id instead, got {echoed:?}"
        );
    }
    let just_right = "b".repeat(MAX_REQUEST_ID_LEN);
    let metadata = create_metadata(&mut client, &[("x-request-id", &just_right)]).await;
    assert_eq!(
        metadata.get("x-request-id").and_then(|v| v.to_str().ok()),
        Some(just_right.as_str()),
        "an id of exactly {MAX_REQUEST_ID_LEN} bytes is kept"
    );
}

#[tokio::test]
async fn a_refused_call_gets_its_request_id_too() {
    let (server, _) = server(Some(KEY)).await;
    let mut client = server.client().await;
    let metadata = create_metadata(&mut client, &[("x-request-id", "refused-call-7")]).await;
    assert_eq!(
        metadata.get("x-request-id").and_then(|v| v.to_str().ok()),
        Some("refused-call-7"),
        "an UNAUTHENTICATED answer echoes the request id too: it is the call a person will look for"
    );
}

#[test]
fn the_key_is_never_shown_by_debug_and_is_sent_as_sensitive() {
    let debugged = [
        format!("{:?}", ApiKey::new(Some(KEY.to_string()))),
        format!(
            "{:?}",
            Settings {
                api_key: ApiKey::new(Some(KEY.to_string())),
                log: CallLog::new(|_| {}),
            }
        ),
        format!(
            "{:?}",
            BearerKey::new(Some(KEY)).expect("a key that is a header value")
        ),
    ];
    for text in debugged {
        assert!(
            !text.contains(KEY),
            "`{{:?}}` shows the key: {text}; a log line with it would give the key away"
        );
    }
    let mut key = BearerKey::new(Some(KEY)).expect("a key that is a header value");
    let request = tonic::service::Interceptor::call(&mut key, Request::new(()))
        .expect("the interceptor lets the request go");
    let sent = request
        .metadata()
        .get("authorization")
        .expect("the interceptor adds `authorization`");
    assert!(
        sent.is_sensitive(),
        "the `authorization` value must be marked sensitive, so that HTTP/2 never puts it in \
         its compression table (HPACK's never-indexed literal)"
    );
}

// ---------------------------------------------------------------------------------------------
// The binaries: the key from the command line, the log on stderr, the client (exercise 4)
// ---------------------------------------------------------------------------------------------

/// Starts the server binary with `args` and `env` on a free port, and returns it with its
/// address and its stderr. The child is killed when dropped.
async fn start_binary(
    args: &[&str],
    env: &[(&str, &str)],
) -> (
    tokio::process::Child,
    SocketAddr,
    tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
) {
    let mut child = tokio::process::Command::new(SERVER_BINARY)
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .env_remove("SHORTENER_ADDR")
        .env_remove("SHORTENER_API_KEY")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the server binary");
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
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
    (child, addr, BufReader::new(stderr).lines())
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

#[tokio::test]
async fn the_server_binary_takes_the_key_from_api_key_or_shortener_api_key() {
    for (args, env) in [
        (vec!["--api-key", KEY], vec![]),
        (vec![], vec![("SHORTENER_API_KEY", KEY)]),
    ] {
        let (_server, addr, _) = start_binary(&args, &env).await;
        let mut client = connect(addr).await;
        assert_unauthenticated(
            create(&mut client, &[]).await,
            &format!("CreateLink without a key, server started with {args:?} {env:?}"),
        );
        create(&mut client, &[("authorization", &bearer(KEY))])
            .await
            .unwrap_or_else(|status| {
                panic!("CreateLink with the key, server started with {args:?} {env:?}: {status:?}")
            });
    }
}

#[tokio::test]
async fn the_server_binary_logs_each_call_on_stderr() {
    let (_server, addr, mut stderr) = start_binary(&[], &[]).await;
    let mut client = connect(addr).await;
    create(&mut client, &[("x-request-id", "stderr-check-1")])
        .await
        .expect("CreateLink");
    let wait = async {
        let mut seen = Vec::new();
        loop {
            match stderr.next_line().await {
                Ok(Some(line)) if line.contains("CreateLink") => return line,
                Ok(Some(line)) => seen.push(line),
                _ => panic!("the server's stderr ended without a line about CreateLink: {seen:?}"),
            }
        }
    };
    let line = within(10, "the server binary should log the call on stderr", wait).await;
    for part in ["/shortener.LinkService/CreateLink", "Ok", "stderr-check-1"] {
        assert!(
            line.contains(part),
            "the log line names the method, the status code and the request id: {line:?} has no {part:?}"
        );
    }
}

/// Runs the client binary with `args` and `env` against `addr`, and waits up to 20 s for it.
async fn run_client(addr: SocketAddr, args: &[&str], env: &[(&str, &str)]) -> Output {
    let output = tokio::process::Command::new(CLIENT_BINARY)
        .arg("--addr")
        .arg(addr.to_string())
        .args(args)
        .env_remove("SHORTENER_API_KEY")
        .envs(env.iter().copied())
        .env("RUST_BACKTRACE", "0")
        .kill_on_drop(true)
        .output();
    within(20, "the client should finish", output)
        .await
        .expect("run the client binary")
}

#[tokio::test]
async fn the_client_sends_the_key_from_api_key_or_shortener_api_key() {
    let (server, _) = server(Some(KEY)).await;
    for (args, env) in [
        (
            vec!["--api-key", KEY, "create", "https://example.com/a"],
            vec![],
        ),
        (
            vec!["create", "https://example.com/b"],
            vec![("SHORTENER_API_KEY", KEY)],
        ),
    ] {
        let output = run_client(server.addr(), &args, &env).await;
        assert!(
            output.status.success(),
            "`client {args:?}` with {env:?}, against a server whose key is {KEY:?}, should work; \
             stderr was:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[tokio::test]
async fn the_client_reports_a_refused_key_and_exits_with_6() {
    let (server, _) = server(Some(KEY)).await;
    for args in [vec!["list"], vec!["--api-key", "wrong", "list"]] {
        let output = run_client(server.addr(), &args, &[]).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(6),
            "`client {args:?}` against a server that wants a key: expected exit code 6 \
             (UNAUTHENTICATED); stderr was:\n{stderr}"
        );
        assert!(
            stderr.contains("--api-key") && stderr.contains("SHORTENER_API_KEY"),
            "the client says how to give the key (--api-key or SHORTENER_API_KEY); stderr was:\n{stderr}"
        );
    }
}
