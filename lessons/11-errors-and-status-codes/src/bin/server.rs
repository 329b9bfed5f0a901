//! The shortener's gRPC server.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Parser;
use lesson_11::{DEFAULT_ADDR, DEFAULT_MAX_BATCH, LinkServer, serve_with}; // NEW(lesson 11)
use tokio::net::TcpListener;

/// Serves the link shortener over gRPC.
#[derive(Debug, Parser)]
struct Args {
    /// The address to listen on. Port 0 picks a free port.
    #[arg(long, env = "SHORTENER_ADDR", default_value = DEFAULT_ADDR)]
    addr: SocketAddr,
    // NEW(lesson 11): given, the batch limit, from `--max-batch` or SHORTENER_MAX_BATCH.
    /// The most URLs one BatchCreateLinks call may send; a longer batch is refused.
    #[arg(long, env = "SHORTENER_MAX_BATCH", default_value_t = DEFAULT_MAX_BATCH)]
    max_batch: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    println!("LinkService listening on {}", listener.local_addr()?);
    // NEW(lesson 11): given: the server gets the limit.
    let server = LinkServer::default().with_max_batch(args.max_batch);
    serve_with(listener, server).await?;
    Ok(())
}
