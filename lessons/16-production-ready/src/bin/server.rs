//! The shortener's gRPC server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use lesson_16::{DEFAULT_ADDR, DEFAULT_MAX_BATCH, LinkServer, LogFormat, Settings, serve_until};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::oneshot;

// NEW(lesson 16): what `--help` says after the flags.
const LOGGING: &str = "\
Logging:
  Every call is logged on stderr, with its method, request id and status code. RUST_LOG picks
  what is logged (default: info), for example RUST_LOG=debug or RUST_LOG=lesson_16=debug,h2=info.";

/// Serves the link shortener over gRPC.
#[derive(Debug, Parser)]
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
    #[arg(long, env = "SHORTENER_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Seconds to let calls in flight finish after SIGINT or SIGTERM, before exiting anyway.
    #[arg(long, env = "SHORTENER_GRACE", default_value_t = 10)]
    grace: u64,
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.api_key.as_deref() == Some("") {
        anyhow::bail!("the API key is empty: give a key, or no --api-key for an open server");
    }
    lesson_16::init_tracing(args.log_format).map_err(anyhow::Error::msg)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(lesson_16::load_identity(cert, key)?),
        _ => None,
    };
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
    if args.api_key.is_some() {
        println!("LinkService calls need the API key");
    }
    let server = LinkServer::default().with_max_batch(args.max_batch);
    let settings = Settings {
        api_key: args.api_key,
        tls,
        ..Settings::default()
    };

    // The signal stops the accepting, and starts the grace period.
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
            println!("{name}: no new connections; up to {} s for calls in flight", grace.as_secs());
            match tokio::time::timeout(grace, &mut serving).await {
                Ok(result) => result?,
                Err(_) => println!("the grace period is over: exiting with calls still open"),
            }
        }
    }
    println!("LinkService stopped");
    Ok(())
}
