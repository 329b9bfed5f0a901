//! Lesson 18's tests: both stores pass the same suite of rules (lesson 17's links in memory, the
//! reference; SQLite with its cache, without it, and with a transaction per write); then SQLite's
//! own: every way opening can fail (each an exit 2 of the server), what survives a reopen, the
//! schema's versions, and group commit. The crash test is in tests/crash.rs. `cargo quiz check 18`
//! runs this file; here it keeps lesson 18's rules true in lesson 19.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use solution_19::pb::SyncRequest;
use solution_19::{
    CodeSource, MemoryStore, OpenError, SqliteOptions, SqliteStore, Store, StoreError, migrator,
    schema_version,
};
use sqlx::{ConnectOptions, Connection, SqlSafeStr};

use common::{TempDir, ids, planned_codes, url};

/// Lesson 17's store, behind the trait.
struct Memory;

impl common::Backend for Memory {
    type Store = MemoryStore;

    async fn open(&mut self, codes: Box<dyn CodeSource>) -> MemoryStore {
        MemoryStore::new(codes)
    }

    async fn finish(self) {}
}

// The reference: the in-memory store.
store_suite!(memory, async { Some(Memory) });

/// A store per `open`, each on a new file of one temporary folder.
struct Sqlite {
    dir: TempDir,
    options: fn() -> SqliteOptions,
    opened: Vec<SqliteStore>,
}

impl common::Backend for Sqlite {
    type Store = SqliteStore;

    async fn open(&mut self, codes: Box<dyn CodeSource>) -> SqliteStore {
        let url = self.dir.url(&format!("links-{}.db", self.opened.len()));
        let store = SqliteStore::open_with(&url, codes, (self.options)())
            .await
            .unwrap_or_else(|error| panic!("open {url}: {error}"));
        self.opened.push(store.clone());
        store
    }

    async fn finish(self) {
        for store in &self.opened {
            store.close().await;
        }
    }
}

async fn sqlite(options: fn() -> SqliteOptions) -> Option<Sqlite> {
    Some(Sqlite {
        dir: TempDir::new("suite"),
        options,
        opened: Vec::new(),
    })
}

// The default store, whose reads go to the cache first.
store_suite!(cached, sqlite(SqliteOptions::default));
// Every read from SQLite's read connections.
store_suite!(
    uncached,
    sqlite(|| SqliteOptions::default().cache_capacity(0))
);
// A transaction per write: group commit is an optimisation, not a change of meaning.
store_suite!(per_write, sqlite(|| SqliteOptions::default().group_cap(1)));

/// A generous bound that turns a hang into a failure.
const LIMIT: Duration = Duration::from_secs(20);

async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish in {} s", LIMIT.as_secs()))
}

async fn open(url: &str, codes: impl CodeSource) -> SqliteStore {
    bounded(
        "open",
        SqliteStore::open_with(url, codes, SqliteOptions::default()),
    )
    .await
    .unwrap_or_else(|error| panic!("open {url}: {error}"))
}

async fn open_error(url: &str) -> OpenError {
    match bounded("open", SqliteStore::open(url)).await {
        Ok(store) => {
            store.close().await;
            panic!("{url} must not open")
        }
        Err(error) => error,
    }
}

fn click(code: &str, clicks: i64) -> SyncRequest {
    SyncRequest {
        short_code: code.to_string(),
        clicks,
    }
}

// ---- Opening -------------------------------------------------------------------------------

#[tokio::test]
async fn a_new_database_is_created_on_first_start() {
    let dir = TempDir::new("new");
    let store = open(&dir.url("links.db"), planned_codes(["aaaaaa"])).await;
    assert!(
        dir.path().join("links.db").is_file(),
        "the database file is created"
    );
    assert!(
        dir.path().join("links.db.lock").is_file(),
        "the lock file sits beside it"
    );
    store
        .create(vec![url(1)])
        .await
        .expect("a new database takes links");
    store.close().await;
}

#[tokio::test]
async fn an_empty_file_is_a_new_database() {
    let dir = TempDir::new("empty");
    std::fs::write(dir.path().join("links.db"), b"").expect("an empty file");
    let store = open(&dir.url("links.db"), planned_codes(["aaaaaa"])).await;
    store
        .create(vec![url(1)])
        .await
        .expect("an empty file becomes a database");
    store.close().await;
}

#[tokio::test]
async fn a_missing_folder_is_named() {
    let dir = TempDir::new("missing");
    let folder = dir.path().join("no-such-folder");
    let error = open_error(&format!("sqlite:{}/links.db", folder.display())).await;
    assert!(
        matches!(&error, OpenError::MissingFolder { folder: named, .. } if *named == folder),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("does not exist")
            && error.to_string().contains("no-such-folder"),
        "the message must name the folder and say it is missing: {error}"
    );
    assert!(!folder.exists(), "opening must not create folders");
}

#[tokio::test]
async fn a_directory_is_refused() {
    let dir = TempDir::new("directory");
    std::fs::create_dir(dir.path().join("links.db")).expect("a directory");
    let error = open_error(&dir.url("links.db")).await;
    assert!(matches!(error, OpenError::IsDirectory { .. }), "{error:?}");
    assert!(error.to_string().contains("is a directory"), "{error}");
}

#[tokio::test]
async fn a_postgres_url_is_refused_by_the_sqlite_store() {
    let error = open_error("postgres://postgres@127.0.0.1:5432/links").await;
    assert!(
        matches!(error, OpenError::Url { .. }) && error.to_string().contains("PostgreSQL URL"),
        "a postgres:// URL would become a file name if handed to SQLite as is: {error}"
    );
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused_and_left_alone() {
    let dir = TempDir::new("garbage");
    for (name, content) in [
        ("garbage.db", vec![0x5a; 8192]),
        ("notes.db", b"my notes, not a database\n".repeat(200)),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &content).expect("write the file");
        let error = open_error(&dir.url(name)).await;
        assert!(
            matches!(error, OpenError::NotADatabase { .. }),
            "{name}: {error:?}"
        );
        assert!(
            error.to_string().contains(name) && error.to_string().contains("not a SQLite database"),
            "the message must name the file and the problem: {error}"
        );
        assert_eq!(
            std::fs::read(&path).expect("read it back"),
            content,
            "{name} must be left as it was, never replaced by a new database"
        );
    }
}

/// A database of `links` links, closed.
async fn database_with_links(url: &str, links: usize) {
    let store = open(url, planned_codes([])).await;
    for chunk in (0..links).collect::<Vec<_>>().chunks(500) {
        let urls = chunk
            .iter()
            .map(|n| format!("https://example.com/{n}/{}", "x".repeat(60)));
        store.create(urls.collect()).await.expect("create");
    }
    store.close().await;
}

#[tokio::test]
async fn a_corrupt_page_is_found_at_start() {
    let dir = TempDir::new("corrupt");
    let url = dir.url("links.db");
    database_with_links(&url, 3_000).await;
    let path = dir.path().join("links.db");
    let mut bytes = std::fs::read(&path).expect("read the database");
    let pages = bytes.len() / 4096;
    assert!(
        pages > 20,
        "the database has {pages} pages: too few to damage one in the middle"
    );
    // A page in the middle of the links table: no query of opening reads it.
    let page = pages * 2 / 3;
    bytes[page * 4096..(page + 1) * 4096].fill(0x5a);
    std::fs::write(&path, &bytes).expect("damage a page");
    let error = open_error(&url).await;
    assert!(
        matches!(error, OpenError::Corrupt { .. }),
        "page {page} of {pages} was overwritten: opening must say the file is corrupt, not \
         {error:?}"
    );
    assert!(error.to_string().contains("links.db is corrupt"), "{error}");
}

#[tokio::test]
async fn another_programs_database_is_refused() {
    let dir = TempDir::new("foreign");
    for (name, setup) in [
        (
            "tables.db",
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)",
        ),
        (
            "marked.db",
            "PRAGMA application_id = 42; CREATE TABLE t (x)",
        ),
    ] {
        let path = dir.path().join(name);
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .connect()
            .await
            .expect("create another program's database");
        sqlx::raw_sql(setup.into_sql_str())
            .execute(&mut conn)
            .await
            .expect("its schema");
        conn.close().await.expect("close");
        let error = open_error(&dir.url(name)).await;
        assert!(
            matches!(error, OpenError::Foreign { .. }),
            "{name}: our tables must not be added to another program's database: {error:?}"
        );
        assert!(error.to_string().contains("another program"), "{error}");
    }
}

#[tokio::test]
async fn a_second_server_on_the_same_file_is_refused() {
    let dir = TempDir::new("locked");
    let url = dir.url("links.db");
    let first = open(&url, planned_codes(["aaaaaa"])).await;
    let error = open_error(&url).await;
    assert!(
        matches!(error, OpenError::Locked { .. }),
        "a second writer would make the first one's cache lie: {error:?}"
    );
    assert!(
        error.to_string().contains(&std::process::id().to_string()),
        "the message names the process that holds the file: {error}"
    );
    first.close().await;
    let second = open(&url, planned_codes(["bbbbbb"])).await;
    second.close().await;
}

/// Starts the server binary on `url` (as another user when this one is root: root writes any
/// file) until it says it listens or exits: `(exit code, its output)`. A server that listens
/// opened the database; it is killed, and its code is `None`.
fn open_in_child(url: &str) -> (Option<i32>, String) {
    use std::io::{BufRead, BufReader};
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_solution-19-server"));
    command
        .args(["--addr", "127.0.0.1:0", "--database-url", url])
        .env_remove("SHORTENER_API_KEY")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    // SAFETY: geteuid cannot fail and has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::process::CommandExt::uid(&mut command, 65534);
        std::os::unix::process::CommandExt::gid(&mut command, 65534);
    }
    let mut child = command.spawn().expect("run solution-19-server");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let errors = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let (lines, listening) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = lines.send(line);
        }
    });
    let mut output = String::new();
    loop {
        match listening.recv_timeout(LIMIT) {
            Ok(line) if line.contains("listening on") => {
                let _ = child.kill();
                let _ = child.wait();
                output.push_str(&line);
                return (None, output);
            }
            Ok(line) => output.push_str(&format!("{line}\n")),
            // stdout closed: the server exited.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!(
                    "the server neither listened nor exited within {} s",
                    LIMIT.as_secs()
                );
            }
        }
    }
    let status = child.wait().expect("the server's exit");
    output.push_str(&errors.join().unwrap_or_default());
    (status.code(), output)
}

#[tokio::test]
async fn a_read_only_database_is_refused_at_start() {
    let dir = TempDir::new("readonly");
    let url = dir.url("links.db");
    database_with_links(&url, 10).await;
    // The folder stays writable (SQLite's -wal and -shm files, our lock file); the file is not.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let path = dir.path().join("links.db");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    let (code, stderr) = open_in_child(&url);
    assert_eq!(
        (
            code,
            stderr.contains("is read-only") && stderr.contains("links.db")
        ),
        (Some(2), true),
        "SQLite opens a file it cannot write read-only without a word; the store must find out \
         at start and say so (exit 2). stderr: {stderr}"
    );
}

#[tokio::test]
async fn the_server_opens_a_good_database_in_a_shared_folder() {
    // The check above would pass if the child could open nothing: here it can.
    let dir = TempDir::new("childok");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let (code, output) = open_in_child(&dir.url("links.db"));
    assert_eq!(
        code, None,
        "the server must open a new database in a folder anyone may write, and listen: {output}"
    );
}

// ---- Schema versions -----------------------------------------------------------------------

async fn raw(url: &str) -> sqlx::sqlite::SqliteConnection {
    let path = url.trim_start_matches("sqlite:");
    sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .connect()
        .await
        .expect("a raw connection")
}

#[tokio::test]
async fn an_empty_database_of_schema_0_is_brought_to_the_current_schema() {
    // Schema 1 is the first: the only older database there is, is one with no schema at all
    // (made by `sqlite3 links.db 'VACUUM'`, or by a server that stopped before its first
    // migration). Lesson 19 adds schema 2, and with it the test of a real upgrade.
    let dir = TempDir::new("older");
    let url = dir.url("links.db");
    let mut conn = raw(&url).await;
    sqlx::raw_sql("VACUUM".into_sql_str())
        .execute(&mut conn)
        .await
        .expect("an empty database file");
    conn.close().await.expect("close");

    let store = open(&url, planned_codes(["aaaaaa"])).await;
    let created = store.create(vec![url_of(1)]).await.expect("create");
    assert_eq!(ids(&created), [1], "the migrated database takes links");
    store.close().await;
    let mut conn = raw(&url).await;
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .expect("sqlx's table of applied migrations");
    conn.close().await.expect("close");
    assert_eq!(
        applied,
        (1..=schema_version()).collect::<Vec<_>>(),
        "every migration this binary knows was applied, once"
    );
}

#[tokio::test]
async fn a_code_that_collides_still_uses_up_an_id() {
    // SQLite counts a new rowid into AUTOINCREMENT's maximum before it checks the constraints
    // (sqlite3.c: autoIncStep before sqlite3GenerateConstraintChecks), so an INSERT that found
    // its code taken used an id all the same. Ids are unique and increasing, not gapless.
    let dir = TempDir::new("gaps");
    let store = open(
        &dir.url("links.db"),
        planned_codes(["aaaaaa", "aaaaaa", "bbbbbb"]),
    )
    .await;
    let first = store.create(vec![url_of(1)]).await.expect("create");
    let second = store.create(vec![url_of(2)]).await.expect("create");
    assert_eq!(
        (ids(&first), ids(&second), second[0].short_code.as_str()),
        (vec![1], vec![3], "bbbbbb"),
        "the second create drew aaaaaa (taken), then bbbbbb: id 2 went to the INSERT that \
         found aaaaaa taken"
    );
    store.close().await;
}

fn url_of(n: usize) -> String {
    url(n)
}

#[tokio::test]
async fn a_newer_database_is_refused() {
    let dir = TempDir::new("newer");
    let url = dir.url("links.db");
    let store = open(&url, planned_codes(["aaaaaa"])).await;
    store.create(vec![url_of(1)]).await.expect("create");
    store.close().await;
    // A newer binary ran: it applied a migration this one does not know.
    let mut newer = migrator();
    let mut migrations = newer.migrations.to_vec();
    let future = schema_version() + 1;
    migrations.push(sqlx::migrate::Migration::new(
        future,
        "from the future".into(),
        sqlx::migrate::MigrationType::Simple,
        "ALTER TABLE links ADD COLUMN title TEXT".into_sql_str(),
        false,
    ));
    newer.migrations = migrations.into();
    let mut conn = raw(&url).await;
    newer
        .run(&mut conn)
        .await
        .expect("the newer binary's migration");
    conn.close().await.expect("close");

    let error = open_error(&url).await;
    assert!(
        matches!(
            error,
            OpenError::NewerSchema { found, known, .. }
                if found == future && known == schema_version()
        ),
        "a database from a newer schema must be refused before anything is applied: {error:?}"
    );
    assert!(error.to_string().contains("newer shortener"), "{error}");
}

// ---- What survives a reopen ----------------------------------------------------------------

#[tokio::test]
async fn ids_increase_across_reopen_and_are_never_reused() {
    let dir = TempDir::new("ids");
    let url = dir.url("links.db");
    let store = open(&url, planned_codes(["aaaaaa", "bbbbbb", "cccccc"])).await;
    let links = store
        .create((1..=3).map(url_of).collect())
        .await
        .expect("create");
    assert_eq!(ids(&links), [1, 2, 3]);
    assert_eq!(
        store.delete("cccccc").await,
        Ok(true),
        "delete the newest link"
    );
    store.close().await;

    let store = open(&url, planned_codes(["dddddd"])).await;
    let next = store.create(vec![url_of(4)]).await.expect("create");
    assert_eq!(
        ids(&next),
        [4],
        "id 3 was the newest and was deleted: it must not be handed out again after a restart"
    );
    store.close().await;
}

#[tokio::test]
async fn retired_codes_and_clicks_survive_a_reopen() {
    let dir = TempDir::new("retired");
    let url = dir.url("links.db");
    let store = open(&url, planned_codes(["aaaaaa", "bbbbbb"])).await;
    store
        .create(vec![url_of(1), url_of(2)])
        .await
        .expect("create");
    store
        .add_clicks(vec![click("bbbbbb", 7)])
        .await
        .expect("clicks");
    assert_eq!(store.delete("aaaaaa").await, Ok(true));
    store.close().await;

    let store = open(&url, planned_codes(["aaaaaa", "cccccc"])).await;
    let next = store.create(vec![url_of(3)]).await.expect("create");
    assert_eq!(
        next[0].short_code, "cccccc",
        "aaaaaa was retired before the restart: it must be drawn again after it"
    );
    assert_eq!(store.get("aaaaaa").await, Ok(None), "still deleted");
    let kept = store.get("bbbbbb").await.expect("get").expect("bbbbbb");
    assert_eq!(kept.clicks, 7, "click totals survive a restart");
    store.close().await;
}

#[tokio::test]
async fn calls_after_close_are_unavailable() {
    let dir = TempDir::new("closed");
    let store = open(&dir.url("links.db"), planned_codes(["aaaaaa"])).await;
    store.create(vec![url_of(1)]).await.expect("create");
    store.close().await;
    assert!(
        matches!(store.get("aaaaaa").await, Err(StoreError::Unavailable(_))),
        "a read after close, even one the cache could answer"
    );
    assert!(matches!(
        store.create(vec![url_of(2)]).await,
        Err(StoreError::Unavailable(_))
    ));
}

// ---- Group commit --------------------------------------------------------------------------

/// A commit hook that the test controls: it counts commits, can hold the next one until
/// released, and can fail the ones after a point.
#[derive(Clone)]
struct Gate {
    commits: Arc<AtomicUsize>,
    /// Commits with a number at or above this fail (1-based).
    fail_from: Arc<AtomicUsize>,
    entered: Arc<std::sync::Mutex<mpsc::Sender<usize>>>,
    release: Arc<std::sync::Mutex<mpsc::Receiver<()>>>,
    /// Commits with a number at or below this wait for a release.
    hold_until: Arc<AtomicUsize>,
}

struct GateControl {
    entered: mpsc::Receiver<usize>,
    release: mpsc::Sender<()>,
}

impl Gate {
    fn new(hold_first: usize) -> (Gate, GateControl) {
        let (entered_tx, entered) = mpsc::channel();
        let (release, release_rx) = mpsc::channel();
        let gate = Gate {
            commits: Arc::default(),
            fail_from: Arc::new(AtomicUsize::new(usize::MAX)),
            entered: Arc::new(std::sync::Mutex::new(entered_tx)),
            release: Arc::new(std::sync::Mutex::new(release_rx)),
            hold_until: Arc::new(AtomicUsize::new(hold_first)),
        };
        (gate, GateControl { entered, release })
    }

    /// The hook: runs on the writer connection's thread, at each COMMIT.
    fn commit(&self) -> bool {
        let number = self.commits.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = self.entered.lock().expect("lock").send(number);
        if number <= self.hold_until.load(Ordering::SeqCst) {
            // Bounded: a test that forgets to release fails instead of hanging.
            let _ = self.release.lock().expect("lock").recv_timeout(LIMIT);
        }
        number < self.fail_from.load(Ordering::SeqCst)
    }
}

impl GateControl {
    /// Waits until commit `number` has started, for `write`, a write that this commit is for. A
    /// write answered before any commit started was never committed: said at once, rather than
    /// after the whole limit (a writer task that is not running answers every write with an
    /// error straight away).
    async fn commit_started<T: std::fmt::Debug>(
        &self,
        number: usize,
        write: &mut tokio::task::JoinHandle<T>,
    ) {
        bounded(&format!("commit {number}"), async {
            loop {
                match self.entered.try_recv() {
                    Ok(n) if n >= number => return,
                    Ok(_) => continue,
                    Err(mpsc::TryRecvError::Disconnected) => {
                        panic!("the commit hook was dropped before commit {number} started")
                    }
                    Err(mpsc::TryRecvError::Empty) if write.is_finished() => {
                        let answer = write.await.expect("the write's task");
                        panic!(
                            "the write was answered before commit {number} started, with \
                             {answer:?}: the writer task takes writes from the queue and \
                             answers each after its group's COMMIT"
                        );
                    }
                    Err(mpsc::TryRecvError::Empty) => {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            }
        })
        .await;
    }
}

async fn gated(url: &str, codes: &[&str], gate: &Gate, options: SqliteOptions) -> SqliteStore {
    let hook = gate.clone();
    let options = options.commit_hook(move || hook.commit());
    bounded(
        "open",
        SqliteStore::open_with(url, planned_codes(codes.iter().copied()), options),
    )
    .await
    .unwrap_or_else(|error| panic!("open {url}: {error}"))
}

/// Waits until `count` writes wait in the writer's queue.
async fn queued(store: &SqliteStore, count: usize) {
    bounded("the queue to fill", async {
        while store.queued_writes() < count {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_fails_every_write_of_its_group() {
    let dir = TempDir::new("failed-commit");
    let url = dir.url("links.db");
    let (gate, control) = Gate::new(1);
    let store = gated(
        &url,
        &["aaaaaa", "bbbbbb", "cccccc"],
        &gate,
        SqliteOptions::default(),
    )
    .await;

    // Group 1 (the first link) holds its COMMIT while three writes queue behind it.
    let mut first = tokio::spawn({
        let store = store.clone();
        async move { store.create(vec![url_of(1)]).await }
    });
    control.commit_started(1, &mut first).await;
    let group: Vec<_> = [
        tokio::spawn({
            let store = store.clone();
            async move { store.create(vec![url_of(2)]).await.map(|_| ()) }
        }),
        tokio::spawn({
            let store = store.clone();
            async move { store.add_clicks(vec![click("aaaaaa", 5)]).await.map(|_| ()) }
        }),
        tokio::spawn({
            let store = store.clone();
            async move { store.delete("aaaaaa").await.map(|_| ()) }
        }),
    ]
    .into_iter()
    .collect();
    queued(&store, 3).await;
    // Group 2's COMMIT will fail.
    gate.fail_from.store(2, Ordering::SeqCst);
    control.release.send(()).expect("release commit 1");

    let first = bounded("group 1", first)
        .await
        .expect("task")
        .expect("group 1 commits");
    assert_eq!(first[0].short_code, "aaaaaa");
    for (n, write) in group.into_iter().enumerate() {
        let result = bounded("group 2", write).await.expect("task");
        assert!(
            matches!(
                &result,
                Err(StoreError::Unavailable(message) | StoreError::Internal(message))
                    if message.contains("a group of 3 writes, rolled back")
            ),
            "write {n} of the group whose COMMIT failed must get the group's error, which says \
             \"a group of 3 writes, rolled back\" (an answer sent before COMMIT would be a lie), \
             not {result:?}"
        );
    }
    assert_eq!(
        gate.commits.load(Ordering::SeqCst),
        2,
        "the three writes shared one commit"
    );

    // Nothing of group 2 happened: not in the database, not in the cache.
    let link = store
        .get("aaaaaa")
        .await
        .expect("get")
        .expect("aaaaaa survives the failed delete");
    assert_eq!(
        link.clicks, 0,
        "the failed group's clicks must not reach the cache"
    );
    assert_eq!(
        store.get("bbbbbb").await,
        Ok(None),
        "the failed group's link was not stored"
    );
    gate.fail_from.store(usize::MAX, Ordering::SeqCst);
    let next = store
        .create(vec![url_of(3)])
        .await
        .expect("the writer goes on after a failure");
    assert_eq!(
        next[0].short_code, "cccccc",
        "bbbbbb was drawn by the rolled-back group and is free again; the source moved on"
    );
    store.close().await;

    let store = open(&url, planned_codes([])).await;
    let all = store.page(0, 100).await.expect("page");
    let codes: Vec<&str> = all.iter().map(|link| link.short_code.as_str()).collect();
    assert_eq!(codes, ["aaaaaa", "cccccc"], "after a restart too");
    assert_eq!(all[0].clicks, 0);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_queued_together_share_one_commit() {
    for (group_cap, commits) in [(256, 2), (1, 11)] {
        let dir = TempDir::new("shared-commit");
        let (gate, control) = Gate::new(1);
        let options = SqliteOptions::default().group_cap(group_cap);
        let store = gated(&dir.url("links.db"), &[], &gate, options).await;
        let mut first = tokio::spawn({
            let store = store.clone();
            async move { store.create(vec![url_of(0)]).await }
        });
        control.commit_started(1, &mut first).await;
        let writes: Vec<_> = (1..=10)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move { store.create(vec![url_of(n)]).await })
            })
            .collect();
        queued(&store, 10).await;
        control.release.send(()).expect("release commit 1");
        bounded("the first write", first)
            .await
            .expect("task")
            .expect("create");
        for write in writes {
            bounded("a queued write", write)
                .await
                .expect("task")
                .expect("create");
        }
        assert_eq!(
            gate.commits.load(Ordering::SeqCst),
            commits,
            "group_cap {group_cap}: ten writes queued behind a commit take {} commits",
            commits - 1
        );
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_of_one_group_that_draw_the_same_code_each_get_their_own() {
    let dir = TempDir::new("same-code");
    let (gate, control) = Gate::new(1);
    let codes = ["aaaaaa", "bbbbbb", "bbbbbb", "cccccc"];
    let store = gated(
        &dir.url("links.db"),
        &codes,
        &gate,
        SqliteOptions::default(),
    )
    .await;
    let mut first = tokio::spawn({
        let store = store.clone();
        async move { store.create(vec![url_of(0)]).await }
    });
    control.commit_started(1, &mut first).await;
    // Two CreateLinks queue behind commit 1: they share the next group, and both draw bbbbbb.
    let writes: Vec<_> = (1..=2)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move { store.create(vec![url_of(n)]).await })
        })
        .collect();
    queued(&store, 2).await;
    control.release.send(()).expect("release commit 1");
    bounded("the first write", first)
        .await
        .expect("task")
        .expect("create");
    let mut drawn = Vec::new();
    for write in writes {
        let link = bounded("a queued write", write)
            .await
            .expect("task")
            .expect("create")
            .remove(0);
        let stored = store.get(&link.short_code).await.expect("get");
        assert_eq!(
            stored.map(|stored| stored.url),
            Some(link.url.clone()),
            "{} must lead to the URL it was created for, not to the other one of its group",
            link.short_code
        );
        drawn.push(link.short_code);
    }
    drawn.sort();
    assert_eq!(
        drawn,
        ["bbbbbb", "cccccc"],
        "one of the two gets bbbbbb, the other draws again and gets cccccc"
    );
    assert_eq!(
        gate.commits.load(Ordering::SeqCst),
        2,
        "the two shared one commit"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_is_answered_only_after_its_commit() {
    let dir = TempDir::new("after-commit");
    let (gate, control) = Gate::new(1);
    let store = gated(
        &dir.url("links.db"),
        &["aaaaaa"],
        &gate,
        SqliteOptions::default(),
    )
    .await;
    let mut write = tokio::spawn({
        let store = store.clone();
        async move { store.create(vec![url_of(1)]).await }
    });
    control.commit_started(1, &mut write).await;
    // The COMMIT has started and is held: the caller must still be waiting. (A store that
    // answers before COMMIT has answered by now; 200 ms only gives its caller time to run.)
    let early = tokio::time::timeout(Duration::from_millis(200), &mut write).await;
    assert!(
        early.is_err(),
        "the caller was answered while its COMMIT was still running: {early:?}"
    );
    control.release.send(()).expect("release");
    bounded("the write", write)
        .await
        .expect("task")
        .expect("create");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_caller_went_away_before_its_turn_is_not_made() {
    let dir = TempDir::new("abandoned");
    let (gate, control) = Gate::new(1);
    let store = gated(
        &dir.url("links.db"),
        &["aaaaaa", "bbbbbb", "cccccc"],
        &gate,
        SqliteOptions::default(),
    )
    .await;
    let mut first = tokio::spawn({
        let store = store.clone();
        async move { store.create(vec![url_of(1)]).await }
    });
    control.commit_started(1, &mut first).await;
    let abandoned = tokio::spawn({
        let store = store.clone();
        async move { store.create(vec![url_of(2)]).await }
    });
    queued(&store, 1).await;
    abandoned.abort(); // the client cancelled its call
    let _ = abandoned.await;
    control.release.send(()).expect("release");
    bounded("the first write", first)
        .await
        .expect("task")
        .expect("create");
    let next = store.create(vec![url_of(3)]).await.expect("create");
    assert_eq!(
        (next[0].id, next[0].short_code.as_str()),
        (2, "bbbbbb"),
        "the cancelled create must not have been made: its id and code are the next ones"
    );
    store.close().await;
}
