//! Lesson 07's checks: the three unary RPCs, `CreateLink`, `GetLink` and `DeleteLink`, the short
//! codes they hand out, and `LinkServer::with_codes`, the seam that lets a test choose them.
//!
//! These tests start your server on a free port of 127.0.0.1 and call it with a client generated
//! from the course's contract (`proto/shortener/link.proto` at the top of the repository), the
//! way a client in any other language would. Please don't edit them: `cargo quiz check 07` runs
//! them as they are.
//!
//! Every call has a time limit. A handler that never answers (most often a `Mutex` locked twice
//! in one call) fails its test with a message after a few seconds instead of hanging.

use std::collections::HashSet;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::time::Duration;

use shortener_proto::testing::TestServer;
use shortener_proto::{CreateLinkRequest, DeleteLinkRequest, GetLinkRequest, Link};
use tonic::transport::Channel;
use tonic::{Code, Status};

// The crate under test.
use lesson_07::{LinkServer, serve, serve_with, short_code};

type Client = shortener_proto::link_service_client::LinkServiceClient<Channel>;

/// How long one call may take. A working server answers in a millisecond or two.
const LIMIT: Duration = Duration::from_secs(5);

/// Runs one test on a multi-threaded runtime of its own. A handler that blocks its thread for
/// good (a deadlock) cannot stop the time limit from firing on another thread, and the runtime
/// is then left behind rather than waited for, so the test fails instead of hanging.
fn run(test: impl Future<Output = ()>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime for the test");
    let outcome = catch_unwind(AssertUnwindSafe(|| runtime.block_on(test)));
    runtime.shutdown_timeout(Duration::from_secs(1));
    if let Err(panic) = outcome {
        resume_unwind(panic);
    }
}

/// Waits for `call`, at most `LIMIT`.
async fn within<T>(what: &str, call: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, call).await.unwrap_or_else(|_| {
        panic!(
            "{what} got no answer within {LIMIT:?}: the handler never returned. Does it lock the \
             Mutex again while a guard of the same call is still alive (a std Mutex waits for \
             itself forever)? Or does the code picker loop, drawing the same planned code again \
             and again instead of taking it off the queue?"
        )
    })
}

/// Creates a link for `url` and returns it.
async fn create(client: &mut Client, url: &str) -> Link {
    let request = CreateLinkRequest {
        url: url.to_string(),
    };
    within("CreateLink", client.create_link(request))
        .await
        .expect("CreateLink should succeed (is it still UNIMPLEMENTED?)")
        .into_inner()
        .link
        .expect("CreateLinkResponse should carry the new link (link: Some(...))")
}

async fn get(client: &mut Client, short_code: &str) -> Result<Link, Status> {
    let request = GetLinkRequest {
        short_code: short_code.to_string(),
    };
    let response = within("GetLink", client.get_link(request)).await?;
    Ok(response
        .into_inner()
        .link
        .expect("GetLinkResponse should carry the link (link: Some(...))"))
}

async fn delete(client: &mut Client, short_code: &str) -> Result<(), Status> {
    let request = DeleteLinkRequest {
        short_code: short_code.to_string(),
    };
    within("DeleteLink", client.delete_link(request)).await?;
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

/// A server whose first short codes are `codes`, in order (random ones follow).
async fn server_with_codes(codes: &[&str]) -> TestServer {
    let server = LinkServer::with_codes(codes.iter().map(|code| code.to_string()));
    TestServer::start(move |listener| serve_with(listener, server)).await
}

// ---- the worked example: short codes and CreateLink -------------------------------------------

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

#[test]
fn create_link_returns_the_new_link() {
    run(async {
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
    });
}

#[test]
fn ids_start_at_1_and_strictly_increase() {
    run(async {
        let server = TestServer::start(serve).await;
        let mut client = server.client().await;

        let mut ids = Vec::new();
        for i in 0..5 {
            let url = format!("https://example.com/{i}");
            ids.push(create(&mut client, &url).await.id);
        }

        assert_eq!(ids, [1, 2, 3, 4, 5], "ids should be 1, 2, 3, ... in order");
    });
}

#[test]
fn concurrent_creates_never_share_an_id() {
    run(async {
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
    });
}

#[test]
fn two_thousand_creates_give_two_thousand_distinct_codes() {
    run(async {
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
    });
}

// ---- Exercise 1: GetLink ----------------------------------------------------------------------

#[test]
fn get_link_returns_what_create_link_returned() {
    run(async {
        let server = TestServer::start(serve).await;
        let mut client = server.client().await;
        let first = create(&mut client, "https://example.com/article-one").await;
        let second = create(&mut client, "https://example.com/article-two").await;

        let got_first = get(&mut client, &first.short_code).await;
        let got_second = get(&mut client, &second.short_code).await;

        assert_eq!(
            got_first.expect("GetLink of the first link should succeed"),
            first,
            "GetLink should return the link that CreateLink returned"
        );
        assert_eq!(
            got_second.expect("GetLink of the second link should succeed"),
            second,
            "GetLink should return the link that CreateLink returned"
        );
    });
}

#[test]
fn the_url_is_stored_exactly_as_sent() {
    run(async {
        let server = TestServer::start(serve).await;
        let mut client = server.client().await;
        let url = "HTTPS://Example.COM/Some Path/?q=a+b&x=%20#Top ";

        let created = create(&mut client, url).await;
        let stored = get(&mut client, &created.short_code)
            .await
            .expect("GetLink of a code that CreateLink just returned should succeed");

        assert_eq!(created.url, url, "CreateLink should return the URL as sent");
        assert_eq!(stored.url, url, "GetLink should return the URL as sent");
    });
}

#[test]
fn get_of_an_unknown_code_is_not_found() {
    run(async {
        let server = TestServer::start(serve).await;
        let mut client = server.client().await;

        assert_not_found(
            "GetLink of a code nobody created",
            get(&mut client, "zzzzzz").await,
        );
    });
}

// ---- Exercise 2: the code seam, LinkServer::with_codes ----------------------------------------

#[test]
fn planned_codes_come_first_in_order_then_random_ones() {
    run(async {
        let server = server_with_codes(&["aaaaaa", "bbbbbb", "cccccc"]).await;
        let mut client = server.client().await;

        let mut codes = Vec::new();
        for i in 0..4 {
            let url = format!("https://example.com/{i}");
            codes.push(create(&mut client, &url).await.short_code);
        }

        assert_eq!(
            codes[..3],
            ["aaaaaa", "bbbbbb", "cccccc"],
            "a server made by LinkServer::with_codes should hand out the codes it was given \
             first, in the order it was given them"
        );
        assert!(
            is_short_code(&codes[3]) && !codes[..3].contains(&codes[3]),
            "once the planned codes are used up, the next link should get a random code, not \
             {:?}",
            codes[3]
        );
    });
}

#[test]
fn a_colliding_code_is_drawn_again_never_overwritten() {
    run(async {
        // The second link draws "aaaaaa" too: the server must draw again and get "bbbbbb".
        let server = server_with_codes(&["aaaaaa", "aaaaaa", "bbbbbb"]).await;
        let mut client = server.client().await;

        let first = create(&mut client, "https://example.com/first").await;
        assert_eq!(
            first.short_code, "aaaaaa",
            "the first link should get the first planned code (does your code picker take the \
             codes given to LinkServer::with_codes, in order, before random ones?)"
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
    });
}

// ---- Exercise 3: DeleteLink -------------------------------------------------------------------

#[test]
fn delete_of_an_unknown_code_is_not_found() {
    run(async {
        let server = TestServer::start(serve).await;
        let mut client = server.client().await;

        assert_not_found(
            "DeleteLink of a code nobody created",
            delete(&mut client, "zzzzzz").await,
        );
    });
}

#[test]
fn after_delete_the_code_is_unknown() {
    run(async {
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
    });
}

#[test]
fn a_deleted_code_is_never_handed_out_again() {
    run(async {
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
             somewhere new, so DeleteLink must retire the code and the server draw again"
        );
        assert_not_found(
            "GetLink of the deleted code",
            get(&mut client, "cccccc").await,
        );
    });
}
