//! Lesson 09's checks: server streaming with `ListLinks`.
//!
//! These tests start your server on a free port of 127.0.0.1 and call it with a client generated
//! from the course's contract (`proto/shortener/link.proto` at the top of the repository), the
//! way a client in any other language would. Please don't edit them: `cargo quiz check 09` runs
//! them as they are.

use std::time::Duration;

use shortener_proto::link_service_client::LinkServiceClient;
use shortener_proto::testing::TestServer;
use shortener_proto::{CreateLinkRequest, DeleteLinkRequest, Link, ListLinksRequest};
use tonic::transport::Channel;

// The crate under test.
use solution_09::serve;

/// What to do when ListLinks fails: most often, the learner has not added it yet.
const NOT_YET: &str = "ListLinks failed: is it still UNIMPLEMENTED? Add `rpc ListLinks(ListLinksRequest) \
     returns (stream Link);` to proto/link.proto and implement `list_links` in src/server.rs";

async fn create(client: &mut LinkServiceClient<Channel>, url: String) -> Link {
    client
        .create_link(CreateLinkRequest { url })
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
            .list_links(ListLinksRequest {})
            .await
            .expect(NOT_YET)
            .into_inner();
        let mut links = Vec::new();
        while let Some(link) = stream.message().await.expect(NOT_YET) {
            links.push(link);
        }
        links
    };
    tokio::time::timeout(Duration::from_secs(30), read_all)
        .await
        .expect("the ListLinks stream should end once every link is sent: does the task drop its sender?")
}

#[tokio::test]
async fn a_thousand_links_are_listed_once_each_in_id_order() {
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
    client
        .delete_link(DeleteLinkRequest {
            short_code: gone.short_code.clone(),
        })
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
    let mut stream = client
        .list_links(ListLinksRequest {})
        .await
        .expect(NOT_YET)
        .into_inner();
    for _ in 0..5 {
        let link = stream.message().await.expect(NOT_YET);
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

#[tokio::test]
async fn the_client_list_command_prints_every_link_and_a_count() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let one = create(&mut client, "https://example.com/one".to_string()).await;
    let two = create(&mut client, "https://example.com/two".to_string()).await;

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_solution-09-client"))
        .args(["--addr", &server.addr().to_string(), "list"])
        .output()
        .await
        .expect("run the client binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "`client list` failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let expected = format!(
        "{} -> https://example.com/one (id 1, 0 clicks)\n\
         {} -> https://example.com/two (id 2, 0 clicks)\n\
         2 links\n",
        one.short_code, two.short_code
    );
    assert_eq!(
        stdout, expected,
        "`client list` should print each link, then the count"
    );
}

#[tokio::test]
async fn the_client_demo_creates_three_links_and_lists_them() {
    let server = TestServer::start(serve).await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_solution-09-client"))
        .args(["--addr", &server.addr().to_string(), "demo"])
        .output()
        .await
        .expect("run the client binary");
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
