//! The shortener's gRPC server.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use lesson_15::{ApiKey, CallLog, DEFAULT_ADDR, DEFAULT_MAX_BATCH, LinkServer, Settings, serve};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::oneshot;

/// Serves the link shortener over gRPC.
// Not `Debug`: it holds the API key, and a `{:?}` of it in a log would give the key away.
#[derive(Parser)]
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.api_key.as_deref() == Some("") {
        anyhow::bail!("the API key is empty: give a key, or no --api-key for an open server");
    }
    // Listen for the signals before serving, so that none is missed.
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    println!("LinkService listening on {}", listener.local_addr()?);
    if args.api_key.is_some() {
        println!("LinkService calls need the API key");
    }
    let server = LinkServer::default().with_max_batch(args.max_batch);
    let settings = Settings {
        api_key: ApiKey::new(args.api_key),
        log: CallLog::stderr(),
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
