//! The shortener's gRPC server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use lesson_19::{
    ApiKey, Code, DEFAULT_ADDR, DEFAULT_DRAIN, DEFAULT_MAX_BATCH, Limits, LinkServer, LogFormat,
    PgOptions, PgStore, PlannedCodes, Settings, SqliteOptions, SqliteStore, Store, serve,
};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::oneshot;
use tonic::transport::Identity;

// NEW(lesson 16): what `--help` says after the flags.
const LOGGING: &str = "\
Logging:
  Every call is logged on stderr, with its method, request id and status code. RUST_LOG picks
  what is logged (default: info), for example RUST_LOG=debug or RUST_LOG=lesson_19=debug,h2=info.";

/// NEW(lesson 18): where the links are kept unless told otherwise: a file in the folder the
/// server runs in, created on first start.
const DEFAULT_DATABASE_URL: &str = "sqlite:shortener.db";

/// NEW(lesson 18): the exit code of a server that cannot open its database: the command line or
/// the file is wrong, not the program (clap exits 2 for a bad flag too). A supervisor should not
/// restart it in a loop.
const EXIT_BAD_DATABASE: i32 = 2;

/// Serves the link shortener over gRPC.
// Not `Debug`: it holds the API key, and a `{:?}` of it in a log would give the key away.
#[derive(Parser)]
#[command(after_help = LOGGING)]
struct Args {
    /// The address to listen on. Port 0 picks a free port.
    #[arg(long, env = "SHORTENER_ADDR", default_value = DEFAULT_ADDR)]
    addr: SocketAddr,
    /// The most URLs one BatchCreateLinks call may send; a longer batch is refused.
    #[arg(long, env = "SHORTENER_MAX_BATCH", default_value_t = DEFAULT_MAX_BATCH)]
    max_batch: usize,
    /// The key every LinkService call must carry (`authorization: Bearer KEY`). Without one,
    /// the server is open.
    #[arg(
        long,
        env = "SHORTENER_API_KEY",
        hide_env_values = true,
        conflicts_with = "api_key_file"
    )]
    api_key: Option<String>,
    // NEW(lesson 16): the key from a file, the drain and the limits.
    /// A file that holds the key, instead of --api-key (a line break at its end is not part of
    /// the key).
    #[arg(long, env = "SHORTENER_API_KEY_FILE")]
    api_key_file: Option<PathBuf>,
    /// Seconds to let calls in flight finish after SIGINT or SIGTERM, before exiting anyway.
    #[arg(long, env = "SHORTENER_GRACE", default_value_t = 10)]
    grace: u64,
    /// Seconds to go on serving after SIGINT or SIGTERM, with health saying NOT_SERVING,
    /// before the server stops accepting and the grace period begins.
    #[arg(long, env = "SHORTENER_DRAIN", default_value_t = DEFAULT_DRAIN.as_secs())]
    drain: u64,
    /// The most calls one connection may have open at once (HTTP/2
    /// SETTINGS_MAX_CONCURRENT_STREAMS).
    #[arg(long, env = "SHORTENER_MAX_STREAMS", default_value_t = Limits::default().max_streams,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_streams: u32,
    /// Seconds without a frame from a client before the server sends it an HTTP/2 PING.
    #[arg(long, env = "SHORTENER_KEEPALIVE_INTERVAL",
          default_value_t = Limits::default().keepalive_interval.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    keepalive_interval: u64,
    /// Seconds to wait for the answer to that PING before closing the connection.
    #[arg(long, env = "SHORTENER_KEEPALIVE_TIMEOUT",
          default_value_t = Limits::default().keepalive_timeout.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    keepalive_timeout: u64,
    /// Seconds a connection may sit idle before the kernel probes the client (TCP keepalive).
    #[arg(long, env = "SHORTENER_TCP_KEEPALIVE",
          default_value_t = Limits::default().tcp_keepalive.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    tcp_keepalive: u64,
    // NEW(lesson 16): TLS and the log format.
    /// The server's certificate chain (PEM). With --tls-key, the server speaks TLS only.
    #[arg(long, env = "SHORTENER_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, env = "SHORTENER_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// How log lines are written: text for people, json for machines.
    #[arg(long, env = "SHORTENER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    // NEW(lesson 18): the database, and how many writes share a commit.
    // NEW(lesson 19): or PostgreSQL, which several servers can share.
    /// The database that keeps the links: sqlite:PATH (the file is created on first start; its
    /// folder must exist), or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE, which several
    /// servers can share.
    // Its value is not shown in --help: a database URL may carry a password (lesson 19's).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, default_value = DEFAULT_DATABASE_URL)]
    database_url: String,
    /// The most writes that share one transaction (group commit). 1 commits each write on its
    /// own: slower, for measuring what group commit wins.
    #[arg(long, env = "SHORTENER_MAX_WRITE_GROUP", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    max_write_group: u32,
    /// Short codes to try, in order, before random ones (comma-separated). Hidden: it makes
    /// codes predictable, which only tests want (the crash test and `cargo quiz check 18` offer
    /// the server codes it retired, and watch it refuse them).
    #[arg(long, env = "SHORTENER_TEST_CODES", hide = true, value_delimiter = ',')]
    test_codes: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let api_key = match &args.api_key_file {
        Some(path) => Some(lesson_19::read_key_file(path)?),
        None => args.api_key.clone(),
    };
    if api_key.as_deref() == Some("") {
        anyhow::bail!("the API key is empty: give a key, or no --api-key for an open server");
    }
    // NEW(lesson 17): the guard writes the last lines when it is dropped, at the end.
    let _log = lesson_19::init_tracing(args.log_format).map_err(anyhow::Error::msg)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(lesson_19::load_identity(cert, key)?),
        _ => None,
    };
    // NEW(lesson 18): the database is opened before the port is bound: a server that cannot
    // keep links never says it listens. Every reason is a message and exit code 2.
    // NEW(lesson 19): the URL's scheme says which store: PostgreSQL, or SQLite.
    let mut planned = Vec::with_capacity(args.test_codes.len());
    for text in args.test_codes.iter().filter(|text| !text.is_empty()) {
        let code = Code::parse(text)
            .with_context(|| format!("{text:?} is not a short code: six characters of [a-z0-9]"))?;
        planned.push(code);
    }
    if !planned.is_empty() {
        // A seam for tests: the first codes are known in advance. Say so where operators look.
        tracing::warn!(
            codes = planned.len(),
            "SHORTENER_TEST_CODES is set: the first short codes are not random; never set it \
             in production"
        );
    }
    let codes = PlannedCodes::new(planned);
    let url = args.database_url.clone();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = match PgStore::open_with(&url, codes, PgOptions::default()).await {
            Ok(store) => store,
            Err(error) => {
                eprintln!("error: {error}");
                std::process::exit(EXIT_BAD_DATABASE);
            }
        };
        let kept = format!("links are kept in PostgreSQL at {}", store.server());
        let served = run(args, api_key, tls, store.clone(), kept).await;
        store.close().await;
        served?;
    } else {
        let options = SqliteOptions::default().group_cap(args.max_write_group as usize);
        let store = match SqliteStore::open_with(&url, codes, options).await {
            Ok(store) => store,
            Err(error) => {
                eprintln!("error: {error}");
                std::process::exit(EXIT_BAD_DATABASE);
            }
        };
        let kept = format!("links are kept in {}", store.path().display());
        let served = run(args, api_key, tls, store.clone(), kept).await;
        // NEW(lesson 18): no call uses the store any more: the writes still queued are
        // committed, the WAL is checkpointed into the file, and the lock is released.
        store.close().await;
        served?;
    }
    println!("LinkService stopped");
    Ok(())
}

/// NEW(lesson 19): serves `store` until a signal and the drain: the same whichever database.
async fn run<S: Store>(
    args: Args,
    api_key: Option<String>,
    tls: Option<Identity>,
    store: S,
    kept: String,
) -> anyhow::Result<()> {
    // Listen for the signals before serving, so that none is missed.
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let scheme = if tls.is_some() { " (TLS)" } else { "" };
    println!(
        "LinkService listening on {}{scheme}",
        listener.local_addr()?
    );
    if api_key.is_some() {
        println!("LinkService calls need the API key");
    }
    println!("{kept}");
    let server = LinkServer::with_store(store).with_max_batch(args.max_batch);
    let drain = Duration::from_secs(args.drain);
    let settings = Settings {
        api_key: ApiKey::new(api_key),
        tls,
        drain,
        limits: Limits {
            max_streams: args.max_streams,
            keepalive_interval: Duration::from_secs(args.keepalive_interval),
            keepalive_timeout: Duration::from_secs(args.keepalive_timeout),
            tcp_keepalive: Duration::from_secs(args.tcp_keepalive),
        },
        ..Settings::default()
    };

    // The signal starts the drain; the grace period begins when the drain ends.
    let (stopping, stopped) = oneshot::channel();
    let shutdown = async move {
        let name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        let _ = stopping.send(name);
    };
    let serving = serve(listener, server, settings, shutdown);
    tokio::pin!(serving);
    let grace = Duration::from_secs(args.grace);
    tokio::select! {
        result = &mut serving => result?,
        Ok(name) = stopped => {
            println!(
                "{name}: NOT_SERVING; serving {} s more, then up to {} s for calls in flight",
                drain.as_secs(),
                grace.as_secs()
            );
            match tokio::time::timeout(drain + grace, &mut serving).await {
                Ok(result) => result?,
                Err(_) => println!("the grace period is over: exiting with calls still open"),
            }
        }
    }
    Ok(())
}
