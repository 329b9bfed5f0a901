//! Lesson 14's own checks. Your work this lesson is `tests/service.rs`; these tests check that it
//! is written (no `todo!()` left, enough tests) and that the fixtures of `tests/support` work.
//! `cargo quiz check 14` then runs your tests against the real service and against broken ones.
//! Please don't edit this file.

mod support;

use lesson_14::LinkServer;
use lesson_14::pb::{CreateLinkRequest, ListLinksRequest};
use support::{TestServer, in_memory, within};

fn service_rs() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/service.rs");
    std::fs::read_to_string(path).expect("tests/service.rs exists")
}

#[test]
fn service_tests_have_no_todo_left() {
    let text = service_rs();
    let left = text.matches("todo!(").count();
    assert_eq!(
        left, 0,
        "tests/service.rs still has {left} `todo!()`: write those tests (the exercises say what each checks)"
    );
}

#[test]
fn service_tests_are_at_least_eight() {
    let text = service_rs();
    let tests = text.matches("#[tokio::test").count() + text.matches("#[test]").count();
    assert!(
        tests >= 8,
        "tests/service.rs has {tests} tests; the lesson asks for at least 8"
    );
}

#[test]
fn service_tests_include_a_property_test() {
    assert!(
        service_rs().contains("proptest! {"),
        "tests/service.rs has no `proptest!` block: write one property test (Exercise 4)"
    );
}

#[tokio::test]
async fn the_test_server_answers_and_stops_on_drop() {
    let server = TestServer::start(LinkServer::default()).await;
    let addr = server.addr();
    let mut client = server.client().await;
    within(
        "CreateLink",
        client.create_link(CreateLinkRequest {
            url: "https://example.com/".to_string(),
        }),
    )
    .await
    .expect("the test server answers CreateLink");
    drop(server);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "{addr} still accepts connections after the TestServer was dropped"
    );
    // The connection the client opened before the drop is gone too: tonic served it on a task
    // of its own, which must not outlive the fixture.
    let after = within(
        "CreateLink on the connection opened before the drop",
        client.create_link(CreateLinkRequest {
            url: "https://example.com/after".to_string(),
        }),
    )
    .await;
    assert!(
        after.is_err(),
        "a connection opened before the drop still answered: the server's connections must stop \
         with the TestServer"
    );
}

#[tokio::test]
async fn the_in_memory_server_answers_every_kind_of_call() {
    let mut client = in_memory(LinkServer::default(), None).await;
    within(
        "CreateLink",
        client.create_link(CreateLinkRequest {
            url: "https://example.com/".to_string(),
        }),
    )
    .await
    .expect("CreateLink over the in-memory pipe");
    let mut stream = within("ListLinks", client.list_links(ListLinksRequest {}))
        .await
        .expect("ListLinks over the in-memory pipe")
        .into_inner();
    let first = within("the first link", stream.message())
        .await
        .expect("a link");
    assert!(first.is_some(), "ListLinks sent no link");
}
