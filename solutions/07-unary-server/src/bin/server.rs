//! The shortener's gRPC server.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Parser;
use solution_07::{DEFAULT_ADDR, serve};
use tokio::net::TcpListener;

/// Serves the link shortener over gRPC.
#[derive(Debug, Parser)]
struct Args {
    /// The address to listen on. Port 0 picks a free port.
    #[arg(long, env = "SHORTENER_ADDR", default_value = DEFAULT_ADDR)]
    addr: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    println!("LinkService listening on {}", listener.local_addr()?);
    serve(listener).await?;
    Ok(())
}
