//! Lesson 09's checks: server streaming with `ListLinks`.
//!
//! These tests start your server on a free port of 127.0.0.1 and call it with a client generated
//! from the course's contract (`proto/shortener/link.proto` at the top of the repository), the
//! way a client in any other language would. The client tests run your client binary against a
//! server of their own, which streams exactly what each test needs. Every wait has a time limit,
//! so a test that would hang fails instead, and says what it waited for. Please don't edit them:
//! `cargo quiz check 09` runs them as they are.

use std::future::Future;
use std::pin::Pin;
use std::process::{Output, Stdio};
use std::time::Duration;

use shortener_proto::link_service_client::LinkServiceClient;
use shortener_proto::link_service_server::{LinkService, LinkServiceServer};
use shortener_proto::testing::TestServer;
use shortener_proto::{
    BatchCreateLinksResponse, CreateLinkRequest, CreateLinkResponse, DeleteLinkRequest,
    DeleteLinkResponse, GetLinkRequest, GetLinkResponse, Link, ListLinksRequest, SyncRequest,
    SyncResponse,
};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::sync::mpsc;
use tokio_stream::{Stream, StreamExt};
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status, Streaming};

// The crate under test.
use lesson_09::serve;

const SERVER_BINARY: &str = env!("CARGO_BIN_EXE_lesson-09-server");
const CLIENT_BINARY: &str = env!("CARGO_BIN_EXE_lesson-09-client");

/// What to do when ListLinks fails: most often, the learner has not added it yet.
const NOT_YET: &str = "ListLinks failed: is it still UNIMPLEMENTED? Add `ListLinks` to \
     proto/link.proto and implement `list_links` in src/server.rs (the lesson's first part)";

/// Awaits `future`, or fails the test after `secs` seconds with `what` (the rule it checks).
async fn within<T>(secs: u64, what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), future).await {
        Ok(value) => value,
        Err(_) => panic!("{what} (nothing happened within {secs} s)"),
    }
}

async fn create(client: &mut LinkServiceClient<Channel>, url: String) -> Link {
    within(
        10,
        "CreateLink should answer",
        client.create_link(CreateLinkRequest { url }),
    )
    .await
    .expect("CreateLink should succeed")
    .into_inner()
    .link
    .expect("CreateLink should return the link")
}

/// Reads a whole ListLinks stream, failing the test on any error.
async fn list(client: &mut LinkServiceClient<Channel>) -> Vec<Link> {
    let read_all = async {
        let mut stream = client
            .list_links(ListLinksRequest::default())
            .await
            .expect(NOT_YET)
            .into_inner();
        let mut links = Vec::new();
        while let Some(link) = stream.message().await.expect(NOT_YET) {
            links.push(link);
        }
        links
    };
    within(
        15,
        "the ListLinks stream should end once every link is sent: does the task drop its sender?",
        read_all,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// The server: ListLinks (the lesson's worked example, and exercise 1)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn list_links_sends_every_link_once_in_id_order() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let mut created = Vec::new();
    for i in 0..1_000 {
        created.push(create(&mut client, format!("https://example.com/page/{i}")).await);
    }

    let listed = list(&mut client).await;

    assert_eq!(
        listed.len(),
        1_000,
        "every link should be listed exactly once"
    );
    assert_eq!(
        listed, created,
        "the links should come in ascending id order, each as it was created"
    );
}

#[tokio::test]
async fn an_empty_server_lists_no_links() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    let listed = list(&mut client).await;

    assert!(
        listed.is_empty(),
        "a server with no links should end the stream at once, got {listed:?}"
    );
}

#[tokio::test]
async fn deleted_links_are_not_listed() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let kept = create(&mut client, "https://example.com/kept".to_string()).await;
    let gone = create(&mut client, "https://example.com/gone".to_string()).await;
    within(
        10,
        "DeleteLink should answer",
        client.delete_link(DeleteLinkRequest {
            short_code: gone.short_code.clone(),
        }),
    )
    .await
    .expect("DeleteLink should succeed");

    let listed = list(&mut client).await;

    assert_eq!(listed, vec![kept], "only the link that was not deleted");
}

#[tokio::test]
async fn a_client_that_drops_the_stream_half_way_leaves_the_server_serving() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    for i in 0..2_000 {
        create(&mut client, format!("https://example.com/page/{i}")).await;
    }

    // Read a few links, then walk away: dropping the stream cancels the call.
    let mut stream = within(
        10,
        "ListLinks should answer",
        client.list_links(ListLinksRequest::default()),
    )
    .await
    .expect(NOT_YET)
    .into_inner();
    for _ in 0..5 {
        let link = within(10, "ListLinks should send its links", stream.message())
            .await
            .expect(NOT_YET);
        assert!(link.is_some(), "the stream should hold 2,000 links");
    }
    drop(stream);

    // The server is still there for everyone, this client included.
    create(&mut client, "https://example.com/after".to_string()).await;
    let listed = list(&mut client).await;
    assert_eq!(
        listed.len(),
        2_001,
        "after a client walked away, the next ListLinks should list every link"
    );
    let mut other = server.client().await;
    assert_eq!(list(&mut other).await.len(), 2_001, "a new client too");
}

/// The server binary, started on a free port, with its output read line by line.
struct ServerProcess {
    addr: String,
    lines: mpsc::UnboundedReceiver<(&'static str, String)>,
    _child: tokio::process::Child,
}

impl ServerProcess {
    async fn start() -> ServerProcess {
        let mut child = tokio::process::Command::new(SERVER_BINARY)
            .args(["--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the server binary");
        let (tx, mut lines) = mpsc::unbounded_channel();
        forward_lines(child.stdout.take().expect("stdout"), "stdout", tx.clone());
        forward_lines(child.stderr.take().expect("stderr"), "stderr", tx);
        let (_, first) = within(
            10,
            "the server should print `LinkService listening on ADDR`",
            lines.recv(),
        )
        .await
        .expect("the server exited before it listened");
        let addr = first
            .strip_prefix("LinkService listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the server: {first:?}"))
            .to_string();
        ServerProcess {
            addr,
            lines,
            _child: child,
        }
    }

    /// The next line of output that contains `text`, if one comes in time: a line on stderr,
    /// where a server reports what went wrong. The same line on stdout fails the test.
    async fn line_with(&mut self, text: &str, limit: Duration) -> Option<String> {
        let wait = async {
            while let Some((stream, line)) = self.lines.recv().await {
                if line.contains(text) {
                    assert_eq!(
                        stream, "stderr",
                        "{line:?} went to stdout: a server's report of a problem goes to stderr \
                         (eprintln!), so that its output stays clean"
                    );
                    return Some(line);
                }
            }
            None
        };
        tokio::time::timeout(limit, wait).await.ok().flatten()
    }
}

/// Sends each line of `output` on `tx`, with the name of the stream it came from.
fn forward_lines(
    output: impl AsyncRead + Unpin + Send + 'static,
    stream: &'static str,
    tx: mpsc::UnboundedSender<(&'static str, String)>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(output).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = tx.send((stream, line));
        }
    });
}

/// Parses "... after SENT of TOTAL links" into (SENT, TOTAL).
fn sent_of_total(line: &str) -> Option<(usize, usize)> {
    let rest = line.split("after ").nth(1)?;
    let mut words = rest.split_whitespace();
    let sent = words.next()?.parse().ok()?;
    let _of = words.next().filter(|word| *word == "of")?;
    let total = words.next()?.parse().ok()?;
    Some((sent, total))
}

#[tokio::test]
async fn list_links_stops_sending_as_soon_as_the_client_goes_away() {
    const LINKS: usize = 1_500;
    let mut server = ServerProcess::start().await;
    let endpoint = Endpoint::from_shared(format!("http://{}", server.addr))
        .expect("a valid URL")
        .connect_timeout(Duration::from_secs(5));
    let channel = within(10, "connect to the server", endpoint.connect())
        .await
        .expect("connect to the server");
    let mut client = LinkServiceClient::new(channel);
    // 1,500 links of about 4 KB: 6 MB, three times what the client's HTTP/2 stream window
    // (2 MiB) lets the server send ahead of the reader. The server must wait in `send`.
    let padding = "x".repeat(4_000);
    for i in 0..LINKS {
        create(&mut client, format!("https://example.com/{padding}/{i}")).await;
    }

    let mut stream = within(
        10,
        "ListLinks should answer",
        client.list_links(ListLinksRequest::default()),
    )
    .await
    .expect(NOT_YET)
    .into_inner();
    for _ in 0..5 {
        within(10, "ListLinks should send its links", stream.message())
            .await
            .expect(NOT_YET);
    }
    // Give the server time to fill every buffer between us, then walk away.
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(stream);

    let line = server
        .line_with("went away", Duration::from_secs(5))
        .await
        .unwrap_or_else(|| {
            panic!(
                "ListLinks must stop when the client goes away: 5 s after the client dropped the \
                 stream, the server had not printed `ListLinks: the client went away after N of \
                 {LINKS} links`. Check what `tx.send(..).await` returns, print that line and \
                 return from the task when it fails"
            )
        });
    let (sent, total) = sent_of_total(&line).unwrap_or_else(|| {
        panic!("expected `ListLinks: the client went away after N of {LINKS} links`, got {line:?}")
    });
    println!("the server said: {line}");
    assert_eq!(total, LINKS, "the total in {line:?}");
    assert!(
        sent < LINKS,
        "the server cannot have sent all {LINKS} links to a client that read 5: {line:?}"
    );
    assert_eq!(
        server
            .line_with("went away", Duration::from_millis(500))
            .await,
        None,
        "the task should stop at the first failed send, and say so once"
    );
}

// ---------------------------------------------------------------------------------------------
// The client: `list` (exercise 2) and `demo` (exercise 3)
// ---------------------------------------------------------------------------------------------

/// What the stand-in server's ListLinks does after its links.
#[derive(Clone)]
enum Then {
    End,
    Fail(Status),
    StayOpen,
}

/// A server that streams given links and then ends, fails or stays open: the client tests use
/// it to see what the client does in each case.
#[derive(Clone)]
struct StandIn {
    links: Vec<Link>,
    then: Then,
}

type Boxed<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl LinkService for StandIn {
    async fn create_link(
        &self,
        _: Request<CreateLinkRequest>,
    ) -> Result<Response<CreateLinkResponse>, Status> {
        Err(Status::unimplemented("the stand-in server only lists"))
    }
    async fn get_link(
        &self,
        _: Request<GetLinkRequest>,
    ) -> Result<Response<GetLinkResponse>, Status> {
        Err(Status::unimplemented("the stand-in server only lists"))
    }
    async fn delete_link(
        &self,
        _: Request<DeleteLinkRequest>,
    ) -> Result<Response<DeleteLinkResponse>, Status> {
        Err(Status::unimplemented("the stand-in server only lists"))
    }

    type ListLinksStream = Boxed<Link>;

    async fn list_links(
        &self,
        _: Request<ListLinksRequest>,
    ) -> Result<Response<Self::ListLinksStream>, Status> {
        let links = tokio_stream::iter(self.links.clone().into_iter().map(Ok));
        let stream: Self::ListLinksStream = match self.then.clone() {
            Then::End => Box::pin(links),
            Then::Fail(status) => Box::pin(links.chain(tokio_stream::once(Err(status)))),
            Then::StayOpen => Box::pin(links.chain(tokio_stream::pending())),
        };
        Ok(Response::new(stream))
    }

    async fn batch_create_links(
        &self,
        _: Request<Streaming<CreateLinkRequest>>,
    ) -> Result<Response<BatchCreateLinksResponse>, Status> {
        Err(Status::unimplemented("the stand-in server only lists"))
    }

    type SyncClicksStream = Boxed<SyncResponse>;

    async fn sync_clicks(
        &self,
        _: Request<Streaming<SyncRequest>>,
    ) -> Result<Response<Self::SyncClicksStream>, Status> {
        Err(Status::unimplemented("the stand-in server only lists"))
    }
}

async fn stand_in(links: Vec<Link>, then: Then) -> TestServer {
    let service = LinkServiceServer::new(StandIn { links, then });
    TestServer::start(move |listener| {
        let incoming =
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(incoming)
    })
    .await
}

fn link(id: i64, short_code: &str, url: &str) -> Link {
    Link {
        id,
        url: url.to_string(),
        short_code: short_code.to_string(),
        clicks: id * 10,
    }
}

/// Runs the client binary with `args` against `addr`, and waits for it to finish.
async fn run_client(addr: std::net::SocketAddr, args: &[&str]) -> Output {
    let output = tokio::process::Command::new(CLIENT_BINARY)
        .arg("--addr")
        .arg(addr.to_string())
        .args(args)
        .kill_on_drop(true)
        .output();
    within(
        20,
        &format!("`client {}` should finish", args.join(" ")),
        output,
    )
    .await
    .expect("run the client binary")
}

#[tokio::test]
async fn the_client_list_command_prints_every_link_and_a_count() {
    let server = stand_in(
        vec![
            link(1, "k7m2px", "https://example.com/one"),
            link(2, "a3f9wq", "https://example.com/two"),
        ],
        Then::End,
    )
    .await;

    let output = run_client(server.addr(), &["list"]).await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "`client list` failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout,
        "k7m2px -> https://example.com/one (id 1, 10 clicks)\n\
         a3f9wq -> https://example.com/two (id 2, 20 clicks)\n\
         2 links\n",
        "`client list` should print each link as `describe` does, then the count"
    );
}

#[tokio::test]
async fn the_client_list_command_on_an_empty_server_prints_0_links() {
    let server = stand_in(Vec::new(), Then::End).await;

    let output = run_client(server.addr(), &["list"]).await;

    assert!(
        output.status.success(),
        "`client list` failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "0 links\n");
}

#[tokio::test]
async fn the_client_prints_each_link_as_it_arrives() {
    // One link, then the stream stays open: a client that waits for the end prints nothing.
    let server = stand_in(
        vec![link(1, "k7m2px", "https://example.com/one")],
        Then::StayOpen,
    )
    .await;
    let mut child = tokio::process::Command::new(CLIENT_BINARY)
        .args(["--addr", &server.addr().to_string(), "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run the client binary");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();

    let first = within(
        10,
        "`client list` should print each link as soon as it arrives, not after the stream ends: \
         it printed nothing while the stream was still open",
        stdout.next_line(),
    )
    .await
    .expect("read the client's output");

    let Some(first) = first else {
        let mut stderr = String::new();
        let mut pipe = child.stderr.take().expect("stderr");
        let _ = within(
            5,
            "read the client's stderr",
            pipe.read_to_string(&mut stderr),
        )
        .await;
        panic!("`client list` exited without printing the link it received. Its stderr:\n{stderr}");
    };
    assert_eq!(
        first, "k7m2px -> https://example.com/one (id 1, 10 clicks)",
        "the first line should be the first link, as `describe` prints it"
    );
}

#[tokio::test]
async fn the_client_reports_a_stream_that_fails_half_way() {
    let server = stand_in(
        vec![
            link(1, "k7m2px", "https://example.com/one"),
            link(2, "a3f9wq", "https://example.com/two"),
        ],
        Then::Fail(Status::internal("the link store failed half-way")),
    )
    .await;

    let output = run_client(server.addr(), &["list"]).await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && !stdout.contains("2 links"),
        "a stream that ends with an error is not a complete list: `client list` should fail \
         with the status, not print a count (does it stop on `Err` as if the stream had ended?). \
         It printed:\n{stdout}"
    );
    assert!(
        stderr.contains("the link store failed half-way"),
        "`client list` should report the server's status, got on stderr: {stderr}"
    );
}

#[tokio::test]
async fn the_client_demo_creates_three_links_and_lists_them() {
    let server = TestServer::start(serve).await;

    let output = run_client(server.addr(), &["demo"]).await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "`client demo` failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        7,
        "expected 3 created, 3 listed and a count, got:\n{stdout}"
    );
    for (i, article) in ["one", "two", "three"].into_iter().enumerate() {
        let url = format!("https://example.com/article-{article}");
        assert!(
            lines[i].starts_with("created ") && lines[i].ends_with(&format!(" -> {url}")),
            "line {}: {:?}",
            i + 1,
            lines[i]
        );
        assert!(
            lines[3 + i].ends_with(&format!(" -> {url} (id {}, 0 clicks)", i + 1)),
            "line {}: {:?}",
            4 + i,
            lines[3 + i]
        );
    }
    assert_eq!(lines[6], "3 links");
}
