//! Lesson 07's checks: the three unary RPCs, `CreateLink`, `GetLink` and `DeleteLink`, and the
//! short codes they hand out.
//!
//! These tests start your server on a free port of 127.0.0.1 and call it with a client generated
//! from the course's contract (`proto/shortener/link.proto` at the top of the repository), the
//! way a client in any other language would. Please don't edit them: `cargo quiz check 07` runs
//! them as they are.

use std::collections::HashSet;

use shortener_proto::testing::TestServer;
use shortener_proto::{CreateLinkRequest, DeleteLinkRequest, GetLinkRequest, Link};
use tonic::transport::Channel;
use tonic::{Code, Status};

// The crate under test.
use solution_07::{LinkServer, serve, serve_with, short_code};

type Client = shortener_proto::link_service_client::LinkServiceClient<Channel>;

/// Creates a link for `url` and returns it.
async fn create(client: &mut Client, url: &str) -> Link {
    client
        .create_link(CreateLinkRequest {
            url: url.to_string(),
        })
        .await
        .expect("CreateLink should succeed (is it still UNIMPLEMENTED?)")
        .into_inner()
        .link
        .expect("CreateLinkResponse should carry the new link (link: Some(...))")
}

async fn get(client: &mut Client, short_code: &str) -> Result<Link, Status> {
    let response = client
        .get_link(GetLinkRequest {
            short_code: short_code.to_string(),
        })
        .await?;
    Ok(response
        .into_inner()
        .link
        .expect("GetLinkResponse should carry the link (link: Some(...))"))
}

async fn delete(client: &mut Client, short_code: &str) -> Result<(), Status> {
    client
        .delete_link(DeleteLinkRequest {
            short_code: short_code.to_string(),
        })
        .await?;
    Ok(())
}

fn is_short_code(code: &str) -> bool {
    code.len() == 6
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn assert_not_found<T: std::fmt::Debug>(what: &str, result: Result<T, Status>) {
    match result {
        Ok(value) => panic!("{what} should fail with NOT_FOUND, but it answered {value:?}"),
        Err(status) => assert_eq!(
            status.code(),
            Code::NotFound,
            "{what} should fail with Status::not_found(...), not {status:?}"
        ),
    }
}

#[test]
fn short_code_is_six_lowercase_letters_or_digits() {
    for _ in 0..1_000 {
        let code = short_code();
        assert!(
            is_short_code(&code),
            "short_code() returned {code:?}: it should be 6 characters of [a-z0-9]"
        );
    }
}

#[test]
fn short_code_is_random() {
    let codes: HashSet<String> = (0..1_000).map(|_| short_code()).collect();
    assert!(
        codes.len() > 990,
        "1,000 calls of short_code() gave only {} different codes: pick each character at random",
        codes.len()
    );
}

#[tokio::test]
async fn create_link_returns_the_new_link() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    let link = create(&mut client, "https://example.com/article-one").await;

    assert_eq!(link.id, 1, "the first link should get id 1");
    assert_eq!(link.url, "https://example.com/article-one");
    assert!(
        is_short_code(&link.short_code),
        "the short code {:?} should be 6 characters of [a-z0-9]",
        link.short_code
    );
    assert_eq!(link.clicks, 0, "a new link has no clicks");
}

#[tokio::test]
async fn ids_start_at_1_and_strictly_increase() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            create(&mut client, &format!("https://example.com/{i}"))
                .await
                .id,
        );
    }

    assert_eq!(ids, [1, 2, 3, 4, 5], "ids should be 1, 2, 3, ... in order");
}

#[tokio::test]
async fn concurrent_creates_never_share_an_id() {
    let server = TestServer::start(serve).await;
    let client = server.client().await;

    // Eight tasks create at once, each through its own clone of the client.
    let mut tasks = Vec::new();
    for task in 0..8 {
        let mut client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..50 {
                let url = format!("https://example.com/{task}/{i}");
                ids.push(create(&mut client, &url).await.id);
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.extend(task.await.expect("a task that creates links"));
    }

    ids.sort_unstable();
    let expected: Vec<i64> = (1..=400).collect();
    assert_eq!(
        ids, expected,
        "400 creates, even at the same time, should get the ids 1 to 400, each once"
    );
}

#[tokio::test]
async fn the_url_is_stored_exactly_as_sent() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let url = "HTTPS://Example.COM/Some Path/?q=a+b&x=%20#Top ";

    let created = create(&mut client, url).await;
    let stored = get(&mut client, &created.short_code)
        .await
        .expect("GetLink of a code that CreateLink just returned should succeed");

    assert_eq!(created.url, url, "CreateLink should return the URL as sent");
    assert_eq!(stored.url, url, "GetLink should return the URL as sent");
}

#[tokio::test]
async fn get_link_returns_what_create_link_returned() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let first = create(&mut client, "https://example.com/article-one").await;
    let second = create(&mut client, "https://example.com/article-two").await;

    let got_first = get(&mut client, &first.short_code).await;
    let got_second = get(&mut client, &second.short_code).await;

    assert_eq!(
        got_first.expect("GetLink of the first link"),
        first,
        "GetLink should return the link that CreateLink returned"
    );
    assert_eq!(
        got_second.expect("GetLink of the second link"),
        second,
        "GetLink should return the link that CreateLink returned"
    );
}

#[tokio::test]
async fn two_thousand_creates_give_two_thousand_distinct_codes() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    let mut codes = HashSet::new();
    for i in 0..2_000 {
        let link = create(&mut client, &format!("https://example.com/page/{i}")).await;
        assert!(
            is_short_code(&link.short_code),
            "{:?} is not 6 characters of [a-z0-9]",
            link.short_code
        );
        codes.insert(link.short_code);
    }

    assert_eq!(
        codes.len(),
        2_000,
        "every link needs a short code of its own"
    );
}

#[tokio::test]
async fn get_of_an_unknown_code_is_not_found() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    assert_not_found(
        "GetLink of a code nobody created",
        get(&mut client, "zzzzzz").await,
    );
}

#[tokio::test]
async fn delete_of_an_unknown_code_is_not_found() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;

    assert_not_found(
        "DeleteLink of a code nobody created",
        delete(&mut client, "zzzzzz").await,
    );
}

#[tokio::test]
async fn after_delete_the_code_is_unknown() {
    let server = TestServer::start(serve).await;
    let mut client = server.client().await;
    let link = create(&mut client, "https://example.com/article-one").await;
    let other = create(&mut client, "https://example.com/article-two").await;

    delete(&mut client, &link.short_code)
        .await
        .expect("DeleteLink of an existing link should succeed");

    assert_not_found(
        "GetLink after DeleteLink",
        get(&mut client, &link.short_code).await,
    );
    assert_not_found(
        "a second DeleteLink of the same code",
        delete(&mut client, &link.short_code).await,
    );
    assert_eq!(
        get(&mut client, &other.short_code)
            .await
            .expect("the other link should still be there"),
        other,
        "DeleteLink should remove only the link it names"
    );
}

/// A server whose first short codes are `codes`, in order (random ones follow).
async fn server_with_codes(codes: &[&str]) -> TestServer {
    let server = LinkServer::with_codes(codes.iter().map(|code| code.to_string()));
    TestServer::start(move |listener| serve_with(listener, server)).await
}

#[tokio::test]
async fn a_colliding_code_is_drawn_again_never_overwritten() {
    // The second link draws "aaaaaa" too: the server must draw again and get "bbbbbb".
    let server = server_with_codes(&["aaaaaa", "aaaaaa", "bbbbbb"]).await;
    let mut client = server.client().await;

    let first = create(&mut client, "https://example.com/first").await;
    assert_eq!(
        first.short_code, "aaaaaa",
        "the first link should get the first planned code (does your code picker take the codes \
         given to LinkServer::with_codes, in order, before random ones?)"
    );
    let second = create(&mut client, "https://example.com/second").await;
    assert_eq!(
        second.short_code, "bbbbbb",
        "the second link drew \"aaaaaa\", which the first link has: the server must draw again"
    );
    let still = get(&mut client, "aaaaaa")
        .await
        .expect("GetLink of the first link should still succeed");
    assert_eq!(
        still.url, "https://example.com/first",
        "a colliding code must never overwrite the link that has it"
    );
}

#[tokio::test]
async fn a_deleted_code_is_never_handed_out_again() {
    // After "cccccc" is deleted, the next link draws "cccccc" again: it must get "dddddd".
    let server = server_with_codes(&["cccccc", "cccccc", "dddddd"]).await;
    let mut client = server.client().await;

    let old = create(&mut client, "https://example.com/old").await;
    assert_eq!(
        old.short_code, "cccccc",
        "the first link should get the first planned code"
    );
    delete(&mut client, "cccccc")
        .await
        .expect("DeleteLink of an existing link should succeed");
    let new = create(&mut client, "https://example.com/new").await;
    assert_eq!(
        new.short_code, "dddddd",
        "\"cccccc\" belonged to a deleted link: an old short URL must not start pointing \
         somewhere new, so the server must remember retired codes and draw again"
    );
    assert_not_found(
        "GetLink of the deleted code",
        get(&mut client, "cccccc").await,
    );
}
