//! The shortener's gRPC server.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Parser;
// NEW(lesson 12): given, the binary passes the key and a log on stderr to `serve`.
use lesson_12::{ApiKey, CallLog, DEFAULT_ADDR, DEFAULT_MAX_BATCH, LinkServer, Settings, serve};
use tokio::net::TcpListener;

/// Serves the link shortener over gRPC.
// NEW(lesson 12): not `Debug`: it holds the API key, and a `{:?}` of it in a log would give the
// key away.
#[derive(Parser)]
struct Args {
    /// The address to listen on. Port 0 picks a free port.
    #[arg(long, env = "SHORTENER_ADDR", default_value = DEFAULT_ADDR)]
    addr: SocketAddr,
    /// The most URLs one BatchCreateLinks call may send; a longer batch is refused.
    #[arg(long, env = "SHORTENER_MAX_BATCH", default_value_t = DEFAULT_MAX_BATCH)]
    max_batch: usize,
    // NEW(lesson 12): given, the API key, from `--api-key` or SHORTENER_API_KEY.
    /// The key every LinkService call must carry (`authorization: Bearer KEY`). Without one,
    /// the server is open.
    #[arg(long, env = "SHORTENER_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // NEW(lesson 12): given: an empty key is a mistake, not an open server.
    if args.api_key.as_deref() == Some("") {
        anyhow::bail!("the API key is empty: give a key, or no --api-key for an open server");
    }
    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    println!("LinkService listening on {}", listener.local_addr()?);
    if args.api_key.is_some() {
        // NEW(lesson 12): given.
        println!("LinkService calls need the API key");
    }
    let server = LinkServer::default().with_max_batch(args.max_batch);
    // NEW(lesson 12): given: the settings; Exercise 3 makes the key count.
    let settings = Settings {
        api_key: ApiKey::new(args.api_key),
        log: CallLog::stderr(),
    };
    serve(listener, server, settings).await?; // NEW(lesson 12)
    Ok(())
}
