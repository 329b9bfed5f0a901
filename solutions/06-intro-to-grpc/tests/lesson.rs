//! Lesson 06's checks: `LinkService` is defined and served, and each of its RPCs answers
//! `UNIMPLEMENTED` with a message that names the lesson that builds it.
//!
//! These tests start your server on a free port of 127.0.0.1 and call it with a client generated
//! from the course's contract (`proto/shortener/link.proto` at the top of the repository), the
//! way a client in any other language would. Please don't edit them: `cargo quiz check 06` runs
//! them as they are.
//!
//! tonic answers `UNIMPLEMENTED` on its own, with an empty message, for a method it does not
//! serve: when no `LinkService` is mounted at all, or when the `.proto` has no such `rpc`. The
//! message is how these tests tell your method from tonic's answer.

use std::future::Future;
use std::time::Duration;

use shortener_proto::testing::TestServer;
use shortener_proto::{CreateLinkRequest, DeleteLinkRequest, GetLinkRequest};
use tonic::{Code, Status};

use solution_06::serve;

/// How long one call may take. A working server answers in a millisecond or two.
const LIMIT: Duration = Duration::from_secs(5);

/// Waits for `call`, at most `LIMIT`.
async fn within<T>(rpc: &str, call: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, call).await.unwrap_or_else(|_| {
        panic!(
            "{rpc} got no answer within {LIMIT:?}. Does `serve` run the tonic server on the \
             listener it is given, until the server stops?"
        )
    })
}

/// Checks that `result` is the `UNIMPLEMENTED` status your `LinkService` method returns.
fn assert_unimplemented_by_link_service<T: std::fmt::Debug>(
    rpc: &str,
    result: Result<T, Status>,
    message: &str,
) {
    let status = match result {
        Ok(response) => panic!(
            "{rpc} should answer UNIMPLEMENTED in lesson 06 (it is built in lesson 07), but it answered {response:?}"
        ),
        Err(status) => status,
    };
    assert_eq!(
        status.code(),
        Code::Unimplemented,
        "{rpc} should answer Status::unimplemented(...), not {status:?}"
    );
    assert!(
        !status.message().is_empty(),
        "{rpc} answered UNIMPLEMENTED with an empty message: tonic answered for you, because no \
         method of yours serves {rpc}. Either `serve` does not mount your LinkServer (wrapped in \
         the generated LinkServiceServer), or `service LinkService` in proto/link.proto has no \
         `rpc {rpc}`"
    );
    assert_eq!(
        status.message(),
        message,
        "{rpc}'s Status::unimplemented should carry the message {message:?}"
    );
}

#[tokio::test]
async fn create_link_says_it_is_built_in_lesson_07() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    let request = CreateLinkRequest {
        url: "https://example.com/article-one".to_string(),
    };
    let result = within("CreateLink", client.create_link(request)).await;

    assert_unimplemented_by_link_service("CreateLink", result, "CreateLink is built in lesson 07");
}

#[tokio::test]
async fn get_link_says_it_is_built_in_lesson_07() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    let request = GetLinkRequest {
        short_code: "k7m2px".to_string(),
    };
    let result = within("GetLink", client.get_link(request)).await;

    assert_unimplemented_by_link_service("GetLink", result, "GetLink is built in lesson 07");
}

#[tokio::test]
async fn delete_link_says_it_is_built_in_lesson_07() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    let request = DeleteLinkRequest {
        short_code: "k7m2px".to_string(),
    };
    let result = within("DeleteLink", client.delete_link(request)).await;

    assert_unimplemented_by_link_service("DeleteLink", result, "DeleteLink is built in lesson 07");
}

#[tokio::test]
async fn one_connection_serves_several_calls() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    for _ in 0..3 {
        let request = GetLinkRequest {
            short_code: "k7m2px".to_string(),
        };
        let result = within("GetLink", client.get_link(request)).await;
        assert_unimplemented_by_link_service("GetLink", result, "GetLink is built in lesson 07");
    }
}
