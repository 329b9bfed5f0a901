//! Lesson 10's checks: client streaming (`BatchCreateLinks`) and bidirectional streaming
//! (`SyncClicks`).
//!
//! These tests start your server on a free port of 127.0.0.1 and call it with a client generated
//! from the course's contract (`proto/shortener/link.proto` at the top of the repository), the
//! way a client in any other language would; the client tests run your client binary against
//! your server. Every wait has a time limit, so a test that would hang fails instead, and says
//! what it waited for. Please don't edit them: `cargo quiz check 10` runs them as they are.

use std::collections::HashSet;
use std::future::Future;
use std::process::Output;
use std::time::Duration;

use shortener_proto::link_service_client::LinkServiceClient;
use shortener_proto::testing::{Relay, TestServer};
use shortener_proto::{
    CreateLinkRequest, GetLinkRequest, Link, ListLinksRequest, SyncRequest, SyncResponse,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

// The crate under test.
use solution_10::serve;

const CLIENT_BINARY: &str = env!("CARGO_BIN_EXE_solution-10-client");

/// The rule that a SyncClicks server which reads the whole request stream first breaks.
const ANSWER_AS_THEY_ARRIVE: &str =
    "SyncClicks must answer each request as it arrives, not after the stream ends";

type Client = LinkServiceClient<Channel>;

/// Awaits `future`, or fails the test after `secs` seconds with `what` (the rule it checks).
async fn within<T>(secs: u64, what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), future).await {
        Ok(value) => value,
        Err(_) => panic!("{what} (nothing happened within {secs} s)"),
    }
}

fn urls(count: usize) -> Vec<CreateLinkRequest> {
    (0..count)
        .map(|i| CreateLinkRequest {
            url: format!("https://example.com/page/{i}"),
        })
        .collect()
}

fn sync(short_code: &str, clicks: i64) -> SyncRequest {
    SyncRequest {
        short_code: short_code.to_string(),
        clicks,
    }
}

fn answer(short_code: &str, total_clicks: i64, acknowledged: bool) -> SyncResponse {
    SyncResponse {
        short_code: short_code.to_string(),
        total_clicks,
        acknowledged,
    }
}

/// Creates `count` links in one batch, and returns them.
async fn batch(client: &mut Client, count: usize) -> Vec<Link> {
    within(
        10,
        "BatchCreateLinks should answer once the request stream ends",
        client.batch_create_links(tokio_stream::iter(urls(count))),
    )
    .await
    .expect("BatchCreateLinks should succeed (is it still UNIMPLEMENTED?)")
    .into_inner()
    .links
}

/// Creates `count` links with unary CreateLink calls (from lesson 07), and returns them.
async fn create(client: &mut Client, count: usize) -> Vec<Link> {
    let mut links = Vec::new();
    for request in urls(count) {
        let link = within(10, "CreateLink should answer", client.create_link(request))
            .await
            .expect("CreateLink")
            .into_inner()
            .link
            .expect("CreateLink returns the link");
        links.push(link);
    }
    links
}

/// Every link the server has, as ListLinks streams them.
async fn stored(client: &mut Client) -> Vec<Link> {
    let read_all = async {
        let mut stream = client
            .list_links(ListLinksRequest::default())
            .await
            .expect("ListLinks")
            .into_inner();
        let mut links = Vec::new();
        while let Some(link) = stream.message().await.expect("ListLinks stream") {
            links.push(link);
        }
        links
    };
    within(10, "ListLinks (from lesson 09) should end", read_all).await
}

/// The clicks GetLink reports for `short_code`.
async fn clicks(client: &mut Client, short_code: &str) -> i64 {
    within(
        10,
        "GetLink should answer",
        client.get_link(GetLinkRequest {
            short_code: short_code.to_string(),
        }),
    )
    .await
    .expect("GetLink")
    .into_inner()
    .link
    .expect("a link")
    .clicks
}

/// Sends `requests` on one SyncClicks stream and reads every answer.
async fn sync_all(client: &mut Client, requests: Vec<SyncRequest>) -> Vec<SyncResponse> {
    let call = async {
        let mut answers = client
            .sync_clicks(tokio_stream::iter(requests))
            .await
            .expect("SyncClicks should succeed (is it still UNIMPLEMENTED?)")
            .into_inner();
        let mut got = Vec::new();
        while let Some(answer) = answers.message().await.expect("SyncClicks stream") {
            got.push(answer);
        }
        got
    };
    within(
        10,
        "SyncClicks should answer every request and end once the client closes its side",
        call,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// BatchCreateLinks: the lesson's worked example
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_batch_of_three_creates_three_links_in_order() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    let response = within(
        10,
        "BatchCreateLinks should answer once the request stream ends",
        client.batch_create_links(tokio_stream::iter(urls(3))),
    )
    .await
    .expect("BatchCreateLinks should succeed (is it still UNIMPLEMENTED?)")
    .into_inner();

    assert_eq!(response.created_count, 3, "created_count");
    let sent: Vec<String> = urls(3).into_iter().map(|r| r.url).collect();
    let got: Vec<String> = response.links.iter().map(|l| l.url.clone()).collect();
    assert_eq!(
        got, sent,
        "the links should come back in the order the URLs were sent"
    );
    assert_eq!(
        stored(&mut client).await,
        response.links,
        "every link of the batch should be stored, as the response says"
    );
}

#[tokio::test]
async fn an_empty_batch_creates_nothing() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    let response = within(
        10,
        "BatchCreateLinks should answer once the request stream ends",
        client.batch_create_links(tokio_stream::iter(Vec::new())),
    )
    .await
    .expect("an empty batch is not an error")
    .into_inner();

    assert_eq!(response.created_count, 0);
    assert!(response.links.is_empty());
}

#[tokio::test]
async fn a_batch_of_ten_thousand_links_gets_ten_thousand_distinct_codes() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    let links = batch(&mut client, 10_000).await;

    assert_eq!(links.len(), 10_000);
    let codes: HashSet<&str> = links.iter().map(|l| l.short_code.as_str()).collect();
    assert_eq!(codes.len(), 10_000, "every link needs its own short code");
    let ids: Vec<i64> = links.iter().map(|l| l.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids should increase");
}

#[tokio::test]
async fn a_batch_is_stored_only_when_its_stream_ends() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let mut batch_client = server.client().await;

    let (tx, rx) = mpsc::channel(8);
    let call = tokio::spawn(async move {
        batch_client
            .batch_create_links(ReceiverStream::new(rx))
            .await
    });
    for request in urls(3) {
        let _ = tx.send(request).await; // fails only if the call is already over
    }
    tokio::time::sleep(Duration::from_millis(300)).await; // the server reads all three

    let during = stored(&mut client).await;
    assert!(
        during.is_empty(),
        "a batch must be stored all at once, when its stream ends: while the client was still \
         sending, {} of its links were already stored. Read the whole stream first, then store",
        during.len()
    );

    drop(tx); // the end of the batch
    let response = within(
        10,
        "BatchCreateLinks should answer once the client closes its side",
        call,
    )
    .await
    .expect("the call's task")
    .expect("BatchCreateLinks should succeed (is it still UNIMPLEMENTED?)")
    .into_inner();
    assert_eq!(response.created_count, 3, "created_count");
    assert_eq!(
        stored(&mut client).await.len(),
        3,
        "now all three are stored"
    );
}

#[tokio::test]
async fn a_batch_whose_connection_breaks_half_way_stores_nothing() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let whole = batch(&mut client, 2).await;
    assert_eq!(whole.len(), 2, "a whole batch of 2 creates 2 links");

    // The batch goes through a relay that we can cut, as when the client's process dies.
    let relay = Relay::start(server.addr()).await;
    let mut batch_client = within(10, "connect through the relay", relay.client()).await;
    let (tx, rx) = mpsc::channel(8);
    let call = tokio::spawn(async move {
        batch_client
            .batch_create_links(ReceiverStream::new(rx))
            .await
    });
    for request in urls(3) {
        let _ = tx.send(request).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    relay.cut();
    let _ = within(10, "the cut call should end", call).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    assert_eq!(
        stored(&mut client).await.len(),
        2,
        "only the whole batch may be stored; a batch whose connection broke must store nothing: \
         does the server store each URL as it arrives, or treat an Err from message() as the \
         end of the stream?"
    );
    drop(tx);
}

// ---------------------------------------------------------------------------------------------
// SyncClicks, the server: exercises 2 to 4
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn sync_clicks_answers_each_request_as_it_arrives() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let code = create(&mut client, 1).await[0].short_code.clone();

    // One request, and the client's side stays open: the answer must come anyway.
    let (tx, rx) = mpsc::channel(4);
    tx.send(sync(&code, 2)).await.expect("send");
    let mut answers = within(
        5,
        ANSWER_AS_THEY_ARRIVE,
        client.sync_clicks(ReceiverStream::new(rx)),
    )
    .await
    .expect("SyncClicks should succeed (is it still UNIMPLEMENTED?)")
    .into_inner();
    let first = within(5, ANSWER_AS_THEY_ARRIVE, answers.message())
        .await
        .expect("an answer");
    assert_eq!(first, Some(answer(&code, 2, true)), "the first answer");

    tx.send(sync(&code, 3)).await.expect("send");
    let second = within(5, ANSWER_AS_THEY_ARRIVE, answers.message())
        .await
        .expect("an answer");
    assert_eq!(second, Some(answer(&code, 5, true)), "the second answer");
}

#[tokio::test]
async fn sync_clicks_answers_every_request_in_order_echoing_its_short_code() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let links = create(&mut client, 2).await;
    let (a, b) = (&links[0].short_code, &links[1].short_code);

    let got = sync_all(
        &mut client,
        vec![sync(a, 10), sync(b, 5), sync(a, 3), sync(b, 1), sync(a, 1)],
    )
    .await;

    assert_eq!(
        got,
        vec![
            answer(a, 10, true),
            answer(b, 5, true),
            answer(a, 13, true),
            answer(b, 6, true),
            answer(a, 14, true),
        ],
        "one answer per request, in the order of the requests, each with its request's short \
         code and the link's new total"
    );
    assert_eq!(clicks(&mut client, a).await, 14, "GetLink sees the clicks");
}

#[tokio::test]
async fn an_unknown_code_is_not_acknowledged_and_has_total_zero() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let code = create(&mut client, 1).await[0].short_code.clone();

    let got = sync_all(&mut client, vec![sync("nonexistent", 10), sync(&code, 1)]).await;

    assert_eq!(
        got,
        vec![answer("nonexistent", 0, false), answer(&code, 1, true)],
        "an unknown code gets acknowledged: false and total_clicks: 0, and the stream goes on"
    );
}

#[tokio::test]
async fn zero_clicks_are_acknowledged_and_leave_the_total_unchanged() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let code = create(&mut client, 1).await[0].short_code.clone();

    let got = sync_all(&mut client, vec![sync(&code, 4), sync(&code, 0)]).await;

    assert_eq!(
        got,
        vec![answer(&code, 4, true), answer(&code, 4, true)],
        "zero clicks is a valid sync: acknowledged, with the total as it stands"
    );
}

#[tokio::test]
async fn negative_clicks_are_refused_and_the_total_is_unchanged() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let code = create(&mut client, 1).await[0].short_code.clone();

    let got = sync_all(
        &mut client,
        vec![sync(&code, 7), sync(&code, -3), sync(&code, 1)],
    )
    .await;

    assert_eq!(
        got,
        vec![
            answer(&code, 7, true),
            answer(&code, 7, false),
            answer(&code, 8, true)
        ],
        "negative clicks must be refused (acknowledged: false), add nothing, and answer with the \
         link's current total"
    );
    assert_eq!(clicks(&mut client, &code).await, 8, "GetLink sees 7 + 1");
}

#[tokio::test]
async fn clicks_that_would_overflow_are_refused() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let code = create(&mut client, 1).await[0].short_code.clone();

    let got = sync_all(
        &mut client,
        vec![sync(&code, 7), sync(&code, i64::MAX), sync(&code, 1)],
    )
    .await;

    assert_eq!(
        got,
        vec![
            answer(&code, 7, true),
            answer(&code, 7, false),
            answer(&code, 8, true)
        ],
        "a count that would take the total past i64::MAX must be refused (acknowledged: false), \
         add nothing, and answer with the current total: use checked_add, never a plain +"
    );
}

#[tokio::test]
async fn eight_concurrent_sync_streams_lose_no_click() {
    const STREAMS: usize = 8;
    const MESSAGES: usize = 500;
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let codes: Vec<String> = create(&mut client, 4)
        .await
        .into_iter()
        .map(|l| l.short_code)
        .collect();

    let mut tasks = Vec::new();
    for stream in 0..STREAMS {
        let mut client = server.client().await;
        let codes = codes.clone();
        tasks.push(tokio::spawn(async move {
            let requests = (0..MESSAGES)
                .map(|i| sync(&codes[(stream + i) % codes.len()], 1))
                .collect();
            let got = sync_all(&mut client, requests).await;
            assert!(got.iter().all(|a| a.acknowledged), "every sync is valid");
            got.len()
        }));
    }
    for task in tasks {
        assert_eq!(
            within(20, "the sync streams should end", task)
                .await
                .expect("a sync task"),
            MESSAGES
        );
    }

    let mut total = 0;
    for short_code in &codes {
        total += clicks(&mut client, short_code).await;
    }
    assert_eq!(
        total,
        (STREAMS * MESSAGES) as i64,
        "every click should be counted once: is the read-add-write done under one lock?"
    );
}

#[tokio::test]
async fn a_bidi_stream_of_100_000_messages_flows_both_ways_at_once() {
    const MESSAGES: i64 = 100_000;
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let code = create(&mut client, 1).await[0].short_code.clone();

    let (tx, rx) = mpsc::channel(16);
    let sender = tokio::spawn(async move {
        for _ in 0..MESSAGES {
            if tx.send(sync(&code, 1)).await.is_err() {
                return; // the call is over; the reader below says why
            }
        }
    });
    let read_all = async {
        let mut answers = client
            .sync_clicks(ReceiverStream::new(rx))
            .await
            .expect("SyncClicks should succeed (is it still UNIMPLEMENTED?)")
            .into_inner();
        let mut last = None;
        while let Some(answer) = answers.message().await.expect("SyncClicks stream") {
            last = Some(answer.total_clicks);
        }
        last
    };
    let last = within(
        20,
        "100,000 messages should stream through: does the server stop reading requests while \
         its answers wait to be read?",
        read_all,
    )
    .await;
    within(10, "the sender task should end", sender)
        .await
        .expect("the sender task");
    assert_eq!(last, Some(MESSAGES), "the last answer's total");
}

#[tokio::test]
async fn a_sync_stream_stays_open_until_the_client_closes_its_side() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    let (tx, rx) = mpsc::channel(4);
    tx.send(sync("nonexistent", 1)).await.expect("send");
    let mut answers = within(
        5,
        ANSWER_AS_THEY_ARRIVE,
        client.sync_clicks(ReceiverStream::new(rx)),
    )
    .await
    .expect("SyncClicks should succeed (is it still UNIMPLEMENTED?)")
    .into_inner();
    let first = within(5, ANSWER_AS_THEY_ARRIVE, answers.message())
        .await
        .expect("an answer");
    assert!(first.is_some(), "the first message should be answered");

    // `tx` is still alive, so our side of the stream is open: the server waits for more.
    let next = tokio::time::timeout(Duration::from_millis(300), answers.message()).await;
    assert!(
        next.is_err(),
        "the server must keep the stream open while the client's side is open, got {next:?}"
    );

    drop(tx); // now the server sees the end of our messages, and ends its side too
    let after_close = within(
        5,
        "once the client closes its side, the server should end the stream",
        answers.message(),
    )
    .await;
    assert_eq!(
        after_close.expect("a clean end").map(|a| a.short_code),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// The client: exercises 1 and 5
// ---------------------------------------------------------------------------------------------

/// Runs the client binary with `args` against `addr`, and waits up to `secs` for it to finish.
async fn run_client(addr: std::net::SocketAddr, args: &[String], secs: u64, rule: &str) -> Output {
    let output = tokio::process::Command::new(CLIENT_BINARY)
        .arg("--addr")
        .arg(addr.to_string())
        .args(args)
        .kill_on_drop(true)
        .output();
    let output = within(secs, rule, output)
        .await
        .expect("run the client binary");
    assert!(
        output.status.success(),
        "`client {}` failed: {}",
        args.first().map(String::as_str).unwrap_or_default(),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(ToString::to_string).collect()
}

#[tokio::test]
async fn the_client_batch_command_prints_the_count_and_each_link() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let args = strings(&["batch", "https://example.com/a", "https://example.com/b"]);

    let output = run_client(server.addr(), &args, 20, "`client batch` should finish").await;

    let links = stored(&mut client).await;
    assert_eq!(
        links.len(),
        2,
        "`client batch` with two URLs should store two links"
    );
    let expected = format!(
        "created 2 links\n  {} -> https://example.com/a\n  {} -> https://example.com/b\n",
        links[0].short_code, links[1].short_code
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        expected,
        "`client batch` should print the count, then `  CODE -> URL` for each link"
    );
}

#[tokio::test]
async fn the_client_sync_command_prints_one_line_per_answer() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let links = create(&mut client, 2).await;
    let (a, b) = (&links[0].short_code, &links[1].short_code);

    let args = strings(&["sync", "--clicks", "5", a, "nonexistent", b]);
    let output = run_client(server.addr(), &args, 20, "`client sync` should finish").await;
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!(
            "synced {a}: total=5 ack=true\n\
             synced nonexistent: total=0 ack=false\n\
             synced {b}: total=5 ack=true\n"
        ),
        "`client sync` should print `synced CODE: total=N ack=BOOL` for each answer, in order"
    );

    let args = strings(&["sync", "--clicks=-3", a]);
    let output = run_client(server.addr(), &args, 20, "`client sync` should finish").await;
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("synced {a}: total=5 ack=false\n"),
        "a refused sync is an answer too, not an error"
    );
}

#[tokio::test]
async fn the_client_sync_command_handles_5000_codes_in_one_stream() {
    const CODES: usize = 5_000;
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let code = create(&mut client, 1).await[0].short_code.clone();

    let mut args = strings(&["sync", "--clicks", "1"]);
    args.extend(std::iter::repeat_n(code.clone(), CODES));
    let output = run_client(
        server.addr(),
        &args,
        20,
        "`client sync` with 5,000 codes should finish: does it send every request before it \
         starts the call, or before it reads the answers? Send from a task of its own while \
         `sync_clicks` reads",
    )
    .await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.lines().count(), CODES, "one line per code");
    assert_eq!(
        stdout.lines().last(),
        Some(format!("synced {code}: total={CODES} ack=true").as_str()),
        "the last answer"
    );
}

#[tokio::test]
async fn the_client_demo_prints_the_lesson_flow() {
    let server = TestServer::start(serve).await;

    let output = run_client(
        server.addr(),
        &strings(&["demo"]),
        20,
        "`client demo` should finish",
    )
    .await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 8, "expected 8 lines, got:\n{stdout}");
    assert_eq!(lines[0], "created 3 links");
    for (line, article) in lines[1..4].iter().zip(["one", "two", "three"]) {
        assert!(
            line.starts_with("  ")
                && line.ends_with(&format!(" -> https://example.com/article-{article}")),
            "{line:?}"
        );
    }
    for line in &lines[4..7] {
        assert!(
            line.starts_with("synced ") && line.ends_with(": total=10 ack=true"),
            "{line:?}"
        );
    }
    assert_eq!(lines[7], "synced nonexistent: total=0 ack=false");
}
