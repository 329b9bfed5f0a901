//! Lesson 19's tests: the shortener scaled out. PostgreSQL behind the same `Store` passes the
//! suite every store passes (tests/common/suite.rs), then what only several replicas on one
//! database can show: two stores (two pools, as two server processes) racing on one
//! idempotency key, one code, one sequence of ids, one link's clicks; the lost update that a
//! read-modify-write of the count causes; the keyset-paging caveat. Then CreateLink's
//! `idempotency-key` as a client sends it, and the client's retries against fake replicas that
//! fail on cue (tests/replicas/): what is retried, what never is, and what stops a storm.
//!
//! A throwaway PostgreSQL (`shortener_proto::postgres`) serves the tests that run at the same
//! time, with a database per store. Where PostgreSQL is not installed, those tests say so and
//! pass, unless COURSE_REQUIRE_TOOLS is set (as in CI), where they fail. Please do not edit
//! this file: `cargo quiz check 19` runs it as it is.

mod common;
mod replicas;

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use replicas::relay::Relay;
use replicas::replica::{LIMIT as REPLICA_LIMIT, Replica, three_replicas};
use shortener_proto::postgres::TestPostgres;
use sqlx::{Connection, SqlSafeStr};
use tokio::sync::Notify;
use tonic::transport::Endpoint;
use tonic::{Code, Request};

use common::{ids, planned_codes, url};

use lesson_19::balance::{self, Balanced, Health, Settings};
use lesson_19::client::{Client, Deleted};
use lesson_19::idempotency::IdempotencyKey;
use lesson_19::pb::{ListLinksRequest, SyncRequest};
use lesson_19::{
    CodeSource, Keyed, LinkServer, PgOpenError, PgOptions, PgStore, Store, StoreError,
    postgres_migrator,
};

// ---- PostgreSQL behind the Store (Exercises 1 and 2) ----------------------------------------

/// One server for the tests that overlap: started by the first, stopped when the last drops it
/// (a `static` holding it would never be dropped, and the server would outlive the tests).
static SERVER: tokio::sync::Mutex<Weak<TestPostgres>> = tokio::sync::Mutex::const_new(Weak::new());

async fn server() -> Option<Arc<TestPostgres>> {
    let mut shared = SERVER.lock().await;
    if let Some(server) = shared.upgrade() {
        return Some(server);
    }
    let server = Arc::new(
        TestPostgres::start()
            .await
            .expect("start a throwaway PostgreSQL")?,
    );
    *shared = Arc::downgrade(&server);
    Some(server)
}

/// A new empty database on the shared server: its URL.
async fn database(server: &TestPostgres) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    server.create_database(&name).await.expect("createdb")
}

async fn open(url: &str, codes: impl CodeSource) -> PgStore {
    tokio::time::timeout(LIMIT, PgStore::open_with(url, codes, PgOptions::default()))
        .await
        .expect("opening took more than 30 s: is the server up?")
        .unwrap_or_else(|error| panic!("open: {error}"))
}

/// A generous bound that turns a hang (a lock never released) into a failure.
const LIMIT: Duration = Duration::from_secs(30);

struct Postgres {
    server: Arc<TestPostgres>,
    opened: Vec<PgStore>,
}

impl common::Backend for Postgres {
    type Store = PgStore;

    async fn open(&mut self, codes: Box<dyn CodeSource>) -> PgStore {
        let url = database(&self.server).await;
        let store = open(&url, codes).await;
        self.opened.push(store.clone());
        store
    }

    async fn finish(self) {
        for store in &self.opened {
            store.close().await;
        }
    }
}

async fn postgres() -> Option<Postgres> {
    Some(Postgres {
        server: server().await?,
        opened: Vec::new(),
    })
}

store_suite!(postgres_suite, postgres());

/// Two replicas: two stores, each with its own pool, on one new database.
async fn replicas(server: &TestPostgres, a: &[&str], b: &[&str]) -> (PgStore, PgStore) {
    let url = database(server).await;
    let first = open(&url, planned_codes(a.iter().copied())).await;
    let second = open(&url, planned_codes(b.iter().copied())).await;
    (first, second)
}

async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish in {} s", LIMIT.as_secs()))
}

fn click(code: &str, clicks: i64) -> SyncRequest {
    SyncRequest {
        short_code: code.to_string(),
        clicks,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_racing_on_one_key_create_one_link() {
    let Some(server) = server().await else { return };
    let (a, b) = replicas(&server, &[], &[]).await;
    for n in 0..40 {
        let key = format!("key-{n}");
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let race = |store: &PgStore| {
            let (store, key, barrier) = (store.clone(), key.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store.create_with_key(key, url(n)).await
            })
        };
        let (first, second) = (race(&a), race(&b));
        let first = bounded("a keyed create", first)
            .await
            .expect("task")
            .expect("create");
        let second = bounded("a keyed create", second)
            .await
            .expect("task")
            .expect("create");
        match (&first, &second) {
            (Keyed::Created(made), Keyed::Replayed(found))
            | (Keyed::Replayed(found), Keyed::Created(made)) => assert_eq!(
                made, found,
                "{key}: the replica that lost the race must return the winner's link"
            ),
            _ => panic!("{key}: one replica must create, the other replay: {first:?}, {second:?}"),
        }
    }
    let links = a.page(0, 1000).await.expect("page");
    assert_eq!(
        links.len(),
        40,
        "40 keys, 40 links: a key never makes a second link"
    );
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_code_drawn_by_two_replicas_is_given_once() {
    let Some(server) = server().await else { return };
    let (a, b) = replicas(&server, &["aaaaaa", "bbbbbb"], &["aaaaaa", "cccccc"]).await;
    let (first, second) = tokio::join!(a.create(vec![url(1)]), b.create(vec![url(2)]));
    let mut codes = vec![
        first.expect("create")[0].short_code.clone(),
        second.expect("create")[0].short_code.clone(),
    ];
    codes.sort();
    assert!(
        codes == ["aaaaaa", "bbbbbb"] || codes == ["aaaaaa", "cccccc"],
        "both replicas drew aaaaaa: one gets it, the other draws again, never both: {codes:?}"
    );
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_from_two_replicas_are_unique_and_increase_per_caller() {
    let Some(server) = server().await else { return };
    let (a, b) = replicas(&server, &[], &[]).await;
    let tasks: Vec<_> = [&a, &b, &a, &b]
        .into_iter()
        .enumerate()
        .map(|(task, store)| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for n in 0..25 {
                    let link = store
                        .create(vec![url(task * 100 + n)])
                        .await
                        .expect("create");
                    ids.push(link[0].id);
                }
                ids
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        let mine = bounded("creates", task).await.expect("task");
        assert!(
            mine.windows(2).all(|w| w[0] < w[1]),
            "one caller's ids increase: {mine:?}"
        );
        all.extend(mine);
    }
    all.sort();
    all.dedup();
    assert_eq!(
        all.len(),
        100,
        "ids from one sequence: 100 links, 100 distinct ids"
    );
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_modify_write_loses_a_click_between_two_replicas() {
    // What the store must not do, shown step by step on two connections (two replicas): each
    // reads the total, adds its click, writes the result back.
    let Some(server) = server().await else { return };
    let (a, b) = replicas(&server, &["aaaaaa"], &[]).await;
    a.create(vec![url(1)]).await.expect("create");
    let read = "SELECT clicks FROM links WHERE code = 'aaaaaa'";
    let write = "UPDATE links SET clicks = $1 WHERE code = 'aaaaaa'";
    let seen_by_a: i64 = sqlx::query_scalar(read)
        .fetch_one(a.pool())
        .await
        .expect("A reads");
    let seen_by_b: i64 = sqlx::query_scalar(read)
        .fetch_one(b.pool())
        .await
        .expect("B reads");
    sqlx::query(write)
        .bind(seen_by_a + 1)
        .execute(a.pool())
        .await
        .expect("A writes");
    sqlx::query(write)
        .bind(seen_by_b + 1)
        .execute(b.pool())
        .await
        .expect("B writes");
    let total = a.get("aaaaaa").await.expect("get").expect("aaaaaa").clicks;
    assert_eq!(
        total, 1,
        "two clicks, one total: B wrote over A's click (the lost update)"
    );

    // The store's SQL adds in the UPDATE itself: nothing to lose.
    let answers = tokio::join!(
        a.add_clicks(vec![click("aaaaaa", 1)]),
        b.add_clicks(vec![click("aaaaaa", 1)])
    );
    answers.0.expect("A's click");
    answers.1.expect("B's click");
    let total = a.get("aaaaaa").await.expect("get").expect("aaaaaa").clicks;
    assert_eq!(total, 3, "the store's two clicks both count");
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clicks_from_two_replicas_are_exact_in_any_order() {
    let Some(server) = server().await else { return };
    let (a, b) = replicas(&server, &["aaaaaa", "bbbbbb"], &[]).await;
    a.create(vec![url(1), url(2)]).await.expect("create");
    // Batches touching the same two links in opposite orders: updated as sent, two replicas
    // would each hold one row lock and wait for the other's (a deadlock PostgreSQL breaks by
    // failing one). The store updates in code order.
    let tasks: Vec<_> = (0..4)
        .map(|task| {
            let store = if task % 2 == 0 { a.clone() } else { b.clone() };
            let batch = if task % 2 == 0 {
                vec![click("aaaaaa", 1), click("bbbbbb", 1)]
            } else {
                vec![click("bbbbbb", 1), click("aaaaaa", 1)]
            };
            tokio::spawn(async move {
                for _ in 0..50 {
                    let answers = store
                        .add_clicks(batch.clone())
                        .await
                        .unwrap_or_else(|error| {
                            panic!("a batch failed (a deadlock between replicas?): {error}")
                        });
                    assert!(answers.iter().all(|answer| answer.acknowledged));
                    assert_eq!(
                        answers[0].short_code, batch[0].short_code,
                        "answers in order"
                    );
                }
            })
        })
        .collect();
    for task in tasks {
        bounded("clicks", task)
            .await
            .expect("a clicking task failed");
    }
    for code in ["aaaaaa", "bbbbbb"] {
        let total = a.get(code).await.expect("get").expect("link").clicks;
        assert_eq!(
            total, 200,
            "{code}: 4 tasks × 50 batches, one click each: none lost"
        );
    }
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyset_paging_misses_a_lower_id_that_commits_later() {
    // The documented caveat of ListLinks on PostgreSQL: ids are taken at INSERT, transactions
    // commit in any order. A stream that has passed id 2 never sees id 1 committed after.
    let Some(server) = server().await else { return };
    let (a, b) = replicas(&server, &[], &["bbbbbb"]).await;
    let mut slow = a.pool().acquire().await.expect("a connection");
    let mut pending = slow.begin().await.expect("BEGIN");
    let lower: i64 = sqlx::query_scalar(
        "INSERT INTO links (code, url) VALUES ('aaaaaa', 'https://example.com/1') RETURNING id",
    )
    .fetch_one(&mut *pending)
    .await
    .expect("an insert left uncommitted");
    let higher = b.create(vec![url(2)]).await.expect("create")[0].id;
    assert!(lower < higher, "the uncommitted insert took the lower id");
    let first_page = b.page(0, 100).await.expect("page");
    assert_eq!(
        ids(&first_page),
        [higher],
        "only the committed link is seen"
    );
    pending.commit().await.expect("COMMIT");
    let next_page = b.page(higher, 100).await.expect("page");
    assert_eq!(
        ids(&next_page),
        [] as [i64; 0],
        "the stream goes on after {higher}: link {lower}, committed since, is behind it"
    );
    assert_eq!(
        ids(&b.page(0, 100).await.expect("page")),
        [lower, higher],
        "a new stream sees both"
    );
    drop(slow);
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_migrate_once() {
    let Some(server) = server().await else { return };
    let url = database(&server).await;
    let codes = || planned_codes([]);
    let (a, b, c) = tokio::join!(
        PgStore::open_with(&url, codes(), PgOptions::default()),
        PgStore::open_with(&url, codes(), PgOptions::default()),
        PgStore::open_with(&url, codes(), PgOptions::default()),
    );
    for store in [a, b, c] {
        let store =
            store.expect("every replica opens: the migrator's advisory lock serialises them");
        store.create(vec![url_of(1)]).await.expect("create");
        store.close().await;
    }
}

fn url_of(n: usize) -> String {
    url(n)
}

#[tokio::test]
async fn a_newer_database_is_refused() {
    let Some(server) = server().await else { return };
    let url = database(&server).await;
    let mut newer = postgres_migrator();
    let mut migrations = newer.migrations.to_vec();
    migrations.push(sqlx::migrate::Migration::new(
        2,
        "from the future".into(),
        sqlx::migrate::MigrationType::Simple,
        "ALTER TABLE links ADD COLUMN title text".into_sql_str(),
        false,
    ));
    newer.migrations = migrations.into();
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    newer
        .run(&mut conn)
        .await
        .expect("the newer binary's migration");
    conn.close().await.expect("close");
    let error = PgStore::open(&url)
        .await
        .expect_err("a newer schema must be refused");
    assert!(
        matches!(
            error,
            PgOpenError::NewerSchema {
                found: 2,
                known: 1,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("newer shortener"), "{error}");
}

#[tokio::test]
async fn calls_after_close_are_unavailable() {
    let Some(server) = server().await else { return };
    let url = database(&server).await;
    let store = open(&url, planned_codes(["aaaaaa"])).await;
    store.close().await;
    assert!(
        matches!(store.get("aaaaaa").await, Err(StoreError::Unavailable(_))),
        "a closed pool is UNAVAILABLE, not INTERNAL: the client may retry elsewhere"
    );
}

#[tokio::test]
async fn a_sqlite_url_is_refused_by_the_postgres_store() {
    let error = PgStore::open("sqlite:shortener.db")
        .await
        .expect_err("not a PostgreSQL URL");
    assert!(matches!(error, PgOpenError::Url { .. }), "{error:?}");
}

#[tokio::test]
async fn a_server_that_does_not_answer_is_named_without_the_password() {
    // A port where nothing listens: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let url = format!("postgres://shortener:s3cret@127.0.0.1:{port}/links");
    let options = PgOptions::default().acquire_timeout(Duration::from_secs(1));
    let error = bounded("open", PgStore::open_with(&url, planned_codes([]), options))
        .await
        .expect_err("nothing listens there");
    let message = error.to_string();
    assert!(
        message.contains(&format!("127.0.0.1:{port}/links")) && !message.contains("s3cret"),
        "the message names the server and database, never the password: {message}"
    );
}

// ---- CreateLink's idempotency-key (Exercise 2) ------------------------------------------------

/// The real service in memory, on a free port of this process.
async fn keyed_server() -> shortener_proto::testing::TestServer {
    shortener_proto::testing::TestServer::start(|listener| {
        let settings = lesson_19::Settings {
            log: lesson_19::CallLog::new(|_| {}),
            ..lesson_19::Settings::default()
        };
        lesson_19::serve(
            listener,
            LinkServer::default(),
            settings,
            std::future::pending(),
        )
    })
    .await
}

/// A CreateLink of `url` carrying each of `keys` as `idempotency-key` (none when empty).
fn keyed_request(url: &str, keys: &[&[u8]]) -> Request<shortener_proto::CreateLinkRequest> {
    let mut request = Request::new(shortener_proto::CreateLinkRequest {
        url: url.to_string(),
    });
    for key in keys {
        let value = tonic::metadata::AsciiMetadataValue::try_from(*key)
            .expect("a header value the test can send");
        request.metadata_mut().append("idempotency-key", value);
    }
    request
}

#[tokio::test]
async fn create_link_with_a_repeated_idempotency_key_returns_the_first_link() {
    let server = keyed_server().await;
    let mut client = server.client().await;
    let url = "https://example.com/keyed";
    let first = client
        .create_link(keyed_request(url, &[b"order-19"]))
        .await
        .expect("a CreateLink with a new key")
        .into_inner()
        .link
        .expect("a link");
    let again = client
        .create_link(keyed_request(url, &[b"order-19"]))
        .await
        .expect("the same CreateLink again")
        .into_inner()
        .link
        .expect("a link");
    assert_eq!(
        (again.id, &again.short_code),
        (first.id, &first.short_code),
        "a CreateLink repeated with its idempotency-key must return the first link, not make \
         a second one: read the metadata in `create_link` and call `create_with_key`"
    );
    let other = client
        .create_link(keyed_request(url, &[b"order-20"]))
        .await
        .expect("another key")
        .into_inner()
        .link
        .expect("a link");
    assert_ne!(other.id, first.id, "another key is another link");
    let plain = client
        .create_link(keyed_request(url, &[]))
        .await
        .expect("no key")
        .into_inner()
        .link
        .expect("a link");
    assert_ne!(
        plain.id, first.id,
        "a CreateLink without a key always creates"
    );
}

#[tokio::test]
async fn an_idempotency_key_reused_for_another_url_is_failed_precondition() {
    let server = keyed_server().await;
    let mut client = server.client().await;
    client
        .create_link(keyed_request("https://example.com/a", &[b"k-1"]))
        .await
        .expect("the first use of the key");
    let status = client
        .create_link(keyed_request("https://example.com/b", &[b"k-1"]))
        .await
        .expect_err("the key names the first request: another URL under it is refused");
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "a key reused for another URL is the client's bug: FAILED_PRECONDITION, not the first \
         link (for a URL the client did not ask for) and not a new one: {status:?}"
    );
}

#[tokio::test]
async fn an_idempotency_key_whose_link_was_deleted_is_not_found() {
    let server = keyed_server().await;
    let mut client = server.client().await;
    let url = "https://example.com/gone";
    let link = client
        .create_link(keyed_request(url, &[b"k-gone"]))
        .await
        .expect("create")
        .into_inner()
        .link
        .expect("a link");
    client
        .delete_link(shortener_proto::DeleteLinkRequest {
            short_code: link.short_code,
        })
        .await
        .expect("delete");
    let status = client
        .create_link(keyed_request(url, &[b"k-gone"]))
        .await
        .expect_err("the key's link is gone");
    assert_eq!(
        status.code(),
        Code::NotFound,
        "the key's link was deleted: NOT_FOUND, not a second link under one key: {status:?}"
    );
}

#[tokio::test]
async fn an_idempotency_key_out_of_bounds_is_invalid_argument() {
    let server = keyed_server().await;
    let mut client = server.client().await;
    let long = vec![b'k'; 256];
    let cases: [(&str, Vec<&[u8]>); 4] = [
        ("256 characters", vec![&long]),
        ("empty", vec![b""]),
        ("with a space", vec![b"two words"]),
        ("sent twice", vec![b"k-1", b"k-2"]),
    ];
    for (what, keys) in cases {
        let status = client
            .create_link(keyed_request("https://example.com/bounds", &keys))
            .await
            .expect_err("a key no store should keep");
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "an idempotency-key {what} must be INVALID_ARGUMENT (1 to 255 visible ASCII \
             characters, sent once): {status:?}"
        );
    }
    let longest = vec![b'k'; 255];
    client
        .create_link(keyed_request("https://example.com/bounds", &[&longest]))
        .await
        .expect("a key of 255 visible characters is fine");
}

// ---- The client's retries (Exercise 3) -----------------------------------------------------

const TIMEOUT: Duration = Duration::from_secs(5);

fn settings() -> Settings {
    Settings {
        connect_timeout: Duration::from_secs(2),
        ..Settings::default()
    }
}

fn balanced(urls: &[String]) -> Balanced {
    balance::connect_balanced(urls, settings()).expect("a balanced channel")
}

/// One replica, and a client whose only way to it is a relay that can drop its connections.
async fn behind_a_relay() -> (Replica, Relay, Client) {
    let replica = Replica::start(0).await;
    let relay = Relay::start(replica.server.addr()).await;
    let channel = Endpoint::from_shared(relay.url())
        .expect("a valid URL")
        .connect_lazy();
    (replica, relay, Client::new(channel, TIMEOUT))
}

#[tokio::test]
async fn a_replica_killed_mid_traffic_costs_the_callers_no_error() {
    let mut replicas = three_replicas().await;
    let urls: Vec<String> = replicas.iter().map(Replica::url).collect();
    let balanced = balanced(&urls);
    let client = Client::new(balanced.channel.clone(), TIMEOUT);
    let done = Arc::new(AtomicUsize::new(0));

    // Four callers, each making GetLinks one after the other until 600 have succeeded.
    let mut callers = Vec::new();
    for _ in 0..4 {
        let client = client.clone();
        let done = done.clone();
        callers.push(tokio::spawn(async move {
            while done.load(Ordering::SeqCst) < 600 {
                client.get("abc123").await?;
                done.fetch_add(1, Ordering::SeqCst);
            }
            Ok::<(), tonic::Status>(())
        }));
    }
    // Once traffic flows, one call is held on replica 0, which is then killed under it.
    while done.load(Ordering::SeqCst) < 200 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    replicas[0].state.get_gate.arm();
    replicas[0].state.get_gate.reached().await;
    drop(replicas.remove(0));

    for caller in callers {
        let result = tokio::time::timeout(REPLICA_LIMIT * 3, caller)
            .await
            .expect("the callers finish within the limit")
            .expect("a caller's task");
        if let Err(status) = result {
            panic!(
                "a caller saw an error when replica 0 was killed: {status:?}. The call that \
                 was on it must be retried elsewhere (its connection broke: UNKNOWN \"transport \
                 error\" from tonic, UNAVAILABLE once classified), and so must any sent to it \
                 before its health watch noticed."
            );
        }
    }
    eprintln!(
        "a replica killed under 4 callers: {:?}",
        client.retry_stats()
    );
    assert!(
        client.retry_stats().retries >= 1,
        "the call held on the killed replica was retried: {:?}",
        client.retry_stats()
    );
}

#[tokio::test]
async fn a_create_without_a_key_is_never_retried() {
    let (replica, relay, client) = behind_a_relay().await;
    replica.state.create_gate.arm();
    let create = tokio::spawn({
        let client = client.clone();
        async move { client.create_with_key("https://example.com/a", None).await }
    });
    replica.state.create_gate.reached().await;
    relay.reset(); // the link is stored; the answer is lost

    let answer = tokio::time::timeout(REPLICA_LIMIT, create)
        .await
        .expect("the create ends once its connection is closed")
        .expect("the create's task");
    let status = match answer {
        Err(status) => status,
        Ok(link) => panic!(
            "a create without an idempotency key was retried after its answer was lost, and \
             the retry made {link:?}: the first attempt had already stored a link"
        ),
    };
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(
        (
            replica.state.creates.load(Ordering::SeqCst),
            replica.state.link_count()
        ),
        (1, 1),
        "a create without an idempotency key must not be retried: the server may have \
         stored it, and a retry would store a second link"
    );
}

#[tokio::test]
async fn a_create_retried_after_a_lost_answer_makes_one_link() {
    let (replica, relay, client) = behind_a_relay().await;
    replica.state.create_gate.arm();
    let create = tokio::spawn({
        let client = client.clone();
        async move { client.create("https://example.com/a").await }
    });
    replica.state.create_gate.reached().await;
    relay.reset(); // the link is stored; the answer is lost

    let link = tokio::time::timeout(REPLICA_LIMIT, create)
        .await
        .expect("the create ends within the limit")
        .expect("the create's task")
        .expect("a create with a key is retried, and the retry answers with the stored link");
    assert_eq!(
        (
            replica.state.creates.load(Ordering::SeqCst),
            replica.state.link_count()
        ),
        (2, 1),
        "two attempts, one link"
    );
    let keys = replica.state.keys.lock().expect("keys").clone();
    assert_eq!(keys.len(), 2);
    assert_eq!(
        keys[0], keys[1],
        "the retry must carry the first attempt's key, or the server cannot know it is one create"
    );
    assert_eq!(link.url, "https://example.com/a");
    assert_eq!(link.id, 1, "the link stored by the first attempt");
}

#[tokio::test]
async fn two_creates_carry_two_different_keys() {
    let (replica, _relay, client) = behind_a_relay().await;
    let first = client
        .create("https://example.com/a")
        .await
        .expect("a create");
    let second = client
        .create("https://example.com/a")
        .await
        .expect("a create");
    let keys = replica.state.keys.lock().expect("keys").clone();
    assert_eq!(keys.len(), 2);
    assert_ne!(
        keys[0], keys[1],
        "each logical create needs a key of its own: a shared key makes the second create \
         answer with the first link"
    );
    for key in &keys {
        assert_eq!(key.len(), 32, "128 bits as hex: {key}");
    }
    assert_ne!(first.id, second.id, "two creates of one URL are two links");
}

#[tokio::test]
async fn a_key_given_is_the_key_sent() {
    let (replica, _relay, client) = behind_a_relay().await;
    let key = IdempotencyKey::from_u128(19);
    let first = client
        .create_with_key("https://example.com/a", Some(key.clone()))
        .await
        .expect("a create");
    let again = client
        .create_with_key("https://example.com/a", Some(key.clone()))
        .await
        .expect("a create");
    assert_eq!(first, again, "one key, one link");
    let keys = replica.state.keys.lock().expect("keys").clone();
    assert_eq!(keys, [key.to_string(), key.to_string()]);
}

#[tokio::test]
async fn a_delete_retried_after_a_lost_answer_reports_it_gone() {
    let (replica, relay, client) = behind_a_relay().await;
    replica.state.insert("abc123", "https://example.com/");
    replica.state.delete_gate.arm();
    let delete = tokio::spawn({
        let client = client.clone();
        async move { client.delete("abc123").await }
    });
    replica.state.delete_gate.reached().await;
    relay.reset(); // deleted; the answer is lost

    let deleted = tokio::time::timeout(REPLICA_LIMIT, delete)
        .await
        .expect("the delete ends within the limit")
        .expect("the delete's task");
    assert_eq!(
        deleted.expect("the retry's NOT_FOUND, after a lost answer, is not an error"),
        Deleted::AlreadyGone,
        "the retry found the code gone: most likely deleted by the first attempt"
    );
    assert_eq!(replica.state.deletes.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_delete_of_an_unknown_code_is_not_found_and_not_retried() {
    let (replica, _relay, client) = behind_a_relay().await;
    let status = client
        .delete("zzz999")
        .await
        .expect_err("no link has this code");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert_eq!(replica.state.deletes.load(Ordering::SeqCst), 1);
    assert_eq!(client.retry_stats().attempts, 1);
}

#[tokio::test]
async fn a_list_broken_before_its_first_link_is_retried() {
    let (replica, relay, client) = behind_a_relay().await;
    for code in ["aaa111", "bbb222", "ccc333"] {
        replica.state.insert(code, "https://example.com/");
    }
    replica.state.list_first_gate.arm();
    let list = tokio::spawn({
        let client = client.clone();
        async move {
            let mut codes = Vec::new();
            let count = client
                .list(ListLinksRequest::default(), |link| {
                    codes.push(link.short_code)
                })
                .await?;
            Ok::<_, tonic::Status>((count, codes))
        }
    });
    replica.state.list_first_gate.reached().await;
    relay.reset();

    let (count, codes) = tokio::time::timeout(REPLICA_LIMIT, list)
        .await
        .expect("the list ends within the limit")
        .expect("the list's task")
        .expect("a list broken before its first link is retried");
    assert_eq!(count, 3);
    assert_eq!(codes, ["aaa111", "bbb222", "ccc333"], "every link once");
    assert_eq!(replica.state.lists.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_list_broken_after_its_first_link_is_not_retried() {
    let (replica, relay, client) = behind_a_relay().await;
    for code in ["aaa111", "bbb222", "ccc333"] {
        replica.state.insert(code, "https://example.com/");
    }
    replica.state.list_next_gate.arm();
    let first_arrived = Arc::new(Notify::new());
    let list = tokio::spawn({
        let client = client.clone();
        let first_arrived = first_arrived.clone();
        async move {
            let mut codes = Vec::new();
            let listed = client
                .list(ListLinksRequest::default(), |link| {
                    codes.push(link.short_code);
                    first_arrived.notify_one();
                })
                .await;
            (listed, codes)
        }
    });
    tokio::time::timeout(REPLICA_LIMIT, first_arrived.notified())
        .await
        .expect("the first link reaches the caller");
    relay.reset();

    let (listed, codes) = tokio::time::timeout(REPLICA_LIMIT, list)
        .await
        .expect("the list ends within the limit")
        .expect("the list's task");
    let status = match listed {
        Err(status) => status,
        Ok(count) => panic!(
            "a list was retried after its first link had reached the caller, which then got \
             {count} links from the retry on top of the first: {codes:?}"
        ),
    };
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(
        codes,
        ["aaa111"],
        "a list is not retried once a link reached the caller: a new attempt would hand it \
         the same links again"
    );
    assert_eq!(replica.state.lists.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_call_the_server_refuses_is_not_retried() {
    let (replica, _relay, client) = behind_a_relay().await;
    let status = client
        .get("zzz999")
        .await
        .expect_err("no link has this code");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(replica.state.gets.load(Ordering::SeqCst), 1);
    assert_eq!(client.retry_stats().attempts, 1);
}

#[tokio::test]
async fn when_every_replica_is_down_the_budget_stops_the_retries() {
    let replicas = three_replicas().await;
    let urls: Vec<String> = replicas.iter().map(Replica::url).collect();
    drop(replicas);
    let balanced = balanced(&urls);
    assert!(
        balanced
            .replicas
            .wait_for(REPLICA_LIMIT, |s| s
                .iter()
                .all(|s| s.health == Health::Down))
            .await,
        "the replicas seen down: {:?}",
        balanced.replicas.statuses()
    );
    let client = Client::new(balanced.channel.clone(), TIMEOUT);

    // The default budget: 100 tokens, retries while more than 50 are left. Each failed
    // attempt takes one, so at most 50 retries in all, whatever the number of calls.
    for _ in 0..100 {
        let status = tokio::time::timeout(REPLICA_LIMIT, client.get("abc123"))
            .await
            .expect("a call fails fast when every replica is down")
            .expect_err("every replica is down");
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    }
    let spent = client.retry_stats();
    assert!(
        spent.retries <= 50,
        "100 calls, every replica down: the budget allows at most 50 retries in all, not the \
         policy's 3 per call; {spent:?}"
    );
    for _ in 0..10 {
        let status = client
            .get("abc123")
            .await
            .expect_err("every replica is down");
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    }
    let after = client.retry_stats();
    assert_eq!(
        (
            after.attempts - spent.attempts,
            after.retries - spent.retries
        ),
        (10, 0),
        "with the budget spent, each call makes one attempt and fails at once"
    );
    assert_eq!(after.throttled - spent.throttled, 10, "{after:?}");
}
