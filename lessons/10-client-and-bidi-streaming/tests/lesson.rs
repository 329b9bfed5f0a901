//! Lesson 10's checks: client streaming and bidirectional streaming.
//!
//! These tests start your server on a free port of 127.0.0.1 and call it with a client generated
//! from the course's contract (`proto/shortener/link.proto` at the top of the repository), the
//! way a client in any other language would. Please don't edit them: `cargo quiz check 10` runs
//! them as they are.

use std::collections::HashSet;
use std::time::Duration;

use shortener_proto::testing::{Relay, TestServer};
use shortener_proto::{CreateLinkRequest, ListLinksRequest, SyncRequest, SyncResponse};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

// The crate under test.
use lesson_10::serve;

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

#[tokio::test]
async fn a_batch_of_three_creates_three_links_in_order() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    let response = client
        .batch_create_links(tokio_stream::iter(urls(3)))
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
    for link in &response.links {
        let stored = client
            .get_link(shortener_proto::GetLinkRequest {
                short_code: link.short_code.clone(),
            })
            .await
            .expect("every link of a batch should be stored: GetLink failed")
            .into_inner()
            .link;
        assert_eq!(stored.as_ref(), Some(link));
    }
}

#[tokio::test]
async fn an_empty_batch_creates_nothing() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    let response = client
        .batch_create_links(tokio_stream::iter(Vec::new()))
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

    let response = client
        .batch_create_links(tokio_stream::iter(urls(10_000)))
        .await
        .expect("BatchCreateLinks of 10,000 URLs")
        .into_inner();

    assert_eq!(response.created_count, 10_000);
    let codes: HashSet<&str> = response
        .links
        .iter()
        .map(|l| l.short_code.as_str())
        .collect();
    assert_eq!(codes.len(), 10_000, "every link needs its own short code");
    let ids: Vec<i64> = response.links.iter().map(|l| l.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids should increase");
}

#[tokio::test]
async fn a_batch_whose_connection_breaks_half_way_stores_nothing() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let whole = client
        .batch_create_links(tokio_stream::iter(urls(2)))
        .await
        .expect("BatchCreateLinks should succeed (is it still UNIMPLEMENTED?)")
        .into_inner();
    assert_eq!(whole.created_count, 2, "a whole batch of 2 creates 2 links");

    // The batch goes through a relay that we can cut, as when the client's process dies.
    let relay = Relay::start(server.addr()).await;
    let mut batch_client = relay.client().await;
    let (tx, rx) = mpsc::channel(8);
    let call = tokio::spawn(async move {
        batch_client
            .batch_create_links(ReceiverStream::new(rx))
            .await
    });
    for request in urls(3) {
        tx.send(request).await.expect("the call is still open");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    relay.cut();
    let _ = call.await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut stream = client
        .list_links(ListLinksRequest {})
        .await
        .expect("ListLinks")
        .into_inner();
    let mut stored = 0;
    while let Some(_link) = stream.message().await.expect("ListLinks stream") {
        stored += 1;
    }
    assert_eq!(
        stored, 2,
        "only the whole batch may be stored; a batch whose connection broke must store nothing: \
         does the server treat an Err from message() as the end of the stream?"
    );
    drop(tx);
}

#[tokio::test]
async fn sync_clicks_answers_each_message_in_order() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let links = client
        .batch_create_links(tokio_stream::iter(urls(2)))
        .await
        .expect("BatchCreateLinks")
        .into_inner()
        .links;
    let (a, b) = (&links[0].short_code, &links[1].short_code);

    let requests = vec![
        sync(a, 10),
        sync(b, 5),
        sync("nonexistent", 10),
        sync(a, 0),
        sync(a, 3),
    ];
    let mut answers = client
        .sync_clicks(tokio_stream::iter(requests))
        .await
        .expect("SyncClicks should succeed (is it still UNIMPLEMENTED?)")
        .into_inner();
    let mut got = Vec::new();
    while let Some(answer) = answers.message().await.expect("SyncClicks stream") {
        got.push(answer);
    }

    let expected = |short_code: &str, total_clicks, acknowledged| SyncResponse {
        short_code: short_code.to_string(),
        total_clicks,
        acknowledged,
    };
    assert_eq!(
        got,
        vec![
            expected(a, 10, true),
            expected(b, 5, true),
            expected("nonexistent", 0, false),
            expected(a, 10, true),
            expected(a, 13, true),
        ]
    );
}

#[tokio::test]
async fn negative_and_overflowing_clicks_are_refused() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let code = client
        .batch_create_links(tokio_stream::iter(urls(1)))
        .await
        .expect("BatchCreateLinks")
        .into_inner()
        .links[0]
        .short_code
        .clone();

    let requests = vec![
        sync(&code, 7),
        sync(&code, -3),
        sync(&code, i64::MAX),
        sync(&code, 1),
    ];
    let mut answers = client
        .sync_clicks(tokio_stream::iter(requests))
        .await
        .expect("SyncClicks")
        .into_inner();
    let mut got = Vec::new();
    while let Some(answer) = answers.message().await.expect("SyncClicks stream") {
        got.push((answer.total_clicks, answer.acknowledged));
    }
    assert_eq!(got, vec![(7, true), (7, false), (7, false), (8, true)]);
}

#[tokio::test]
async fn eight_concurrent_sync_streams_lose_no_click() {
    const STREAMS: usize = 8;
    const MESSAGES: usize = 500;
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let codes: Vec<String> = client
        .batch_create_links(tokio_stream::iter(urls(4)))
        .await
        .expect("BatchCreateLinks")
        .into_inner()
        .links
        .into_iter()
        .map(|l| l.short_code)
        .collect();

    let mut tasks = Vec::new();
    for stream in 0..STREAMS {
        let mut client = server.client().await;
        let codes = codes.clone();
        tasks.push(tokio::spawn(async move {
            let requests = (0..MESSAGES).map(move |i| sync(&codes[(stream + i) % codes.len()], 1));
            let mut answers = client
                .sync_clicks(tokio_stream::iter(requests))
                .await
                .expect("SyncClicks")
                .into_inner();
            let mut count = 0;
            while let Some(answer) = answers.message().await.expect("SyncClicks stream") {
                assert!(answer.acknowledged, "{answer:?}");
                count += 1;
            }
            count
        }));
    }
    for task in tasks {
        assert_eq!(task.await.expect("a sync task"), MESSAGES);
    }

    let mut total = 0;
    for short_code in codes {
        let link = client
            .get_link(shortener_proto::GetLinkRequest { short_code })
            .await
            .expect("GetLink")
            .into_inner()
            .link
            .expect("a link");
        total += link.clicks;
    }
    assert_eq!(
        total,
        (STREAMS * MESSAGES) as i64,
        "every click should be counted once"
    );
}

#[tokio::test]
async fn a_bidi_stream_of_100_000_messages_sends_and_receives_at_once() {
    const MESSAGES: i64 = 100_000;
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let code = client
        .batch_create_links(tokio_stream::iter(urls(1)))
        .await
        .expect("BatchCreateLinks")
        .into_inner()
        .links[0]
        .short_code
        .clone();

    let (tx, rx) = mpsc::channel(16);
    let sender = tokio::spawn(async move {
        for _ in 0..MESSAGES {
            tx.send(sync(&code, 1))
                .await
                .expect("the server stopped reading");
        }
    });
    let mut answers = client
        .sync_clicks(ReceiverStream::new(rx))
        .await
        .expect("SyncClicks")
        .into_inner();

    let read_all = async {
        let mut last = None;
        while let Some(answer) = answers.message().await.expect("SyncClicks stream") {
            last = Some(answer.total_clicks);
        }
        last
    };
    let last = tokio::time::timeout(Duration::from_secs(120), read_all)
        .await
        .expect("100,000 messages should stream through without a deadlock");
    sender.await.expect("the sender task");
    assert_eq!(last, Some(MESSAGES));
}

#[tokio::test]
async fn a_sync_stream_the_client_never_closes_never_ends() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    let (tx, rx) = mpsc::channel(4);
    tx.send(sync("nonexistent", 1)).await.expect("send");
    let mut answers = client
        .sync_clicks(ReceiverStream::new(rx))
        .await
        .expect("SyncClicks")
        .into_inner();
    let first = answers.message().await.expect("an answer");
    assert!(first.is_some(), "the first message should be answered");

    // `tx` is still alive, so our side of the stream is open: the server waits for more.
    let next = tokio::time::timeout(Duration::from_millis(300), answers.message()).await;
    assert!(
        next.is_err(),
        "the stream should stay open while the client's side is open"
    );

    drop(tx); // now the server sees the end of our messages, and ends its side too
    let after_close = tokio::time::timeout(Duration::from_secs(5), answers.message())
        .await
        .expect("closing the send side should end the stream");
    assert_eq!(
        after_close.expect("a clean end").map(|a| a.short_code),
        None
    );
}

#[tokio::test]
async fn the_client_demo_prints_the_lesson_flow() {
    let server = TestServer::start(serve).await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_lesson-10-client"))
        .args(["--addr", &server.addr().to_string(), "demo"])
        .output()
        .await
        .expect("run the client binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

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
