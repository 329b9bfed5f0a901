//! Lesson 06's checks: `LinkService` is defined and served, and each of its RPCs answers
//! `UNIMPLEMENTED` with a message that names the lesson that builds it.
//!
//! These tests start your server on a free port of 127.0.0.1 and call it with a client generated
//! from the course's contract (`proto/shortener/link.proto` at the top of the repository), the
//! way a client in any other language would. Please don't edit them: `cargo quiz check 06` runs
//! them as they are.
//!
//! A server that does not know `shortener.LinkService` at all also answers `UNIMPLEMENTED`, but
//! with an empty message: that is tonic's router saying "no such service". The message is how
//! these tests tell your `LinkService` from no service.

use shortener_proto::testing::TestServer;
use shortener_proto::{CreateLinkRequest, DeleteLinkRequest, GetLinkRequest};
use tonic::{Code, Status};

use lesson_06::serve;

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
        "{rpc} answered UNIMPLEMENTED with an empty message: that is tonic's router, which does not \
         know shortener.LinkService. Define `service LinkService` in proto/link.proto and add \
         LinkServiceServer::new(LinkServer::default()) to the server in `serve`"
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

    let result = client
        .create_link(CreateLinkRequest {
            url: "https://example.com/article-one".to_string(),
        })
        .await;

    assert_unimplemented_by_link_service("CreateLink", result, "CreateLink is built in lesson 07");
}

#[tokio::test]
async fn get_link_says_it_is_built_in_lesson_07() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    let result = client
        .get_link(GetLinkRequest {
            short_code: "k7m2px".to_string(),
        })
        .await;

    assert_unimplemented_by_link_service("GetLink", result, "GetLink is built in lesson 07");
}

#[tokio::test]
async fn delete_link_says_it_is_built_in_lesson_07() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    let result = client
        .delete_link(DeleteLinkRequest {
            short_code: "k7m2px".to_string(),
        })
        .await;

    assert_unimplemented_by_link_service("DeleteLink", result, "DeleteLink is built in lesson 07");
}

#[tokio::test]
async fn one_connection_serves_several_calls() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    for _ in 0..3 {
        let result = client
            .get_link(GetLinkRequest {
                short_code: "k7m2px".to_string(),
            })
            .await;
        assert_unimplemented_by_link_service("GetLink", result, "GetLink is built in lesson 07");
    }
}
