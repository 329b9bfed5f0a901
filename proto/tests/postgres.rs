//! The throwaway PostgreSQL of `shortener_proto::postgres`: it starts, answers, runs beside
//! another one, and leaves nothing behind. Run with `cargo test -p shortener-proto --features
//! postgres`; without PostgreSQL installed each test says so and passes, unless
//! `COURSE_REQUIRE_TOOLS=1`.

use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use shortener_proto::postgres::TestPostgres;

async fn start() -> Option<TestPostgres> {
    TestPostgres::start()
        .await
        .expect("start a throwaway PostgreSQL")
}

/// Connects to 127.0.0.1:`port`, or says why not.
fn connect(port: u16) -> std::io::Result<TcpStream> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_secs(5))
}

#[tokio::test]
async fn a_server_accepts_connections_and_creates_databases() {
    let Some(postgres) = start().await else {
        return;
    };
    let port = postgres.port();
    assert_eq!(
        postgres.url(),
        format!("postgres://postgres@127.0.0.1:{port}/postgres")
    );
    if let Err(error) = connect(port) {
        panic!("the server must listen on 127.0.0.1:{port} once start returns: {error}");
    }
    let url = postgres
        .create_database("links")
        .await
        .expect("create a database for one test");
    assert_eq!(url, format!("postgres://postgres@127.0.0.1:{port}/links"));
    // The server itself answers: a second database of the same name is its error, not ours.
    let again = postgres
        .create_database("links")
        .await
        .expect_err("a database name can be created once");
    assert!(
        again.to_string().contains("already exists"),
        "the error must carry the server's reason: {again}"
    );
    let bad = postgres
        .create_database("links; drop database postgres")
        .await
        .expect_err("a name that needs quoting is refused before it reaches a shell or SQL");
    assert!(bad.to_string().contains("[a-z0-9_]"), "{bad}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_run_side_by_side() {
    let (first, second) = tokio::join!(start(), start());
    let (Some(first), Some(second)) = (first, second) else {
        return;
    };
    assert_ne!(first.port(), second.port(), "each server has its own port");
    assert_ne!(
        first.data_dir().expect("a server of its own"),
        second.data_dir().expect("a server of its own"),
        "each server has its own folder"
    );
    // The same name on both: two clusters, so no clash.
    for postgres in [&first, &second] {
        postgres
            .create_database("same_name")
            .await
            .expect("each server has its own databases");
    }
}

/// The processes whose working directory is `dir`: a postmaster and all its children run in
/// their data folder.
#[cfg(target_os = "linux")]
fn processes_in(dir: &Path) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .expect("read /proc")
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == dir))
        .collect()
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn nothing_is_left_running_or_on_disk_after_drop() {
    let Some(postgres) = start().await else {
        return;
    };
    let data_dir = std::fs::canonicalize(postgres.data_dir().expect("a server of its own"))
        .expect("the data folder exists");
    let root = data_dir
        .parent()
        .expect("the data folder's parent")
        .to_path_buf();
    let port = postgres.port();
    let running = processes_in(&data_dir);
    assert!(
        running.len() >= 2,
        "a running server is a postmaster and its helpers (checkpointer, WAL writer ...), all \
         with their working directory in {}; found {running:?}",
        data_dir.display()
    );
    drop(postgres);
    let left: Vec<u32> = running
        .into_iter()
        .filter(|pid| Path::new(&format!("/proc/{pid}")).exists())
        .collect();
    assert!(
        left.is_empty(),
        "dropping TestPostgres must stop the postmaster and every child before it returns; \
         still running: {left:?}"
    );
    assert!(
        !root.exists(),
        "dropping TestPostgres must remove its folder {}",
        root.display()
    );
    assert!(
        connect(port).is_err(),
        "nothing may listen on port {port} any more"
    );
}
