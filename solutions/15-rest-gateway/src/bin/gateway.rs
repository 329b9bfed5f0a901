//! The REST gateway: JSON over HTTP in front of the shortener's gRPC server, and a web page.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Parser;
use solution_15::client::BearerKey;
use solution_15::gateway::{DEFAULT_GATEWAY_ADDR, DEFAULT_SERVER, connect, serve};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

/// Serves the link shortener as JSON over HTTP, calling the gRPC server for every request.
#[derive(Debug, Parser)]
struct Args {
    /// The HTTP address to listen on. Port 0 picks a free port.
    #[arg(long, env = "SHORTENER_GATEWAY_ADDR", default_value = DEFAULT_GATEWAY_ADDR)]
    addr: SocketAddr,
    /// The gRPC server to call.
    #[arg(long, env = "SHORTENER_SERVER", default_value = DEFAULT_SERVER)]
    server: String,
    /// The gateway's own key (`authorization: Bearer KEY`), if the server wants one: for the
    /// redirect and the clicks. Calls to /v1/* carry their caller's Authorization instead.
    #[arg(long, env = "SHORTENER_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let key = BearerKey::new(args.api_key.as_deref()).context("the API key cannot be a header")?;
    let clients = connect(&args.server, key)
        .with_context(|| format!("cannot use {} as the server's address", args.server))?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    println!(
        "gateway listening on http://{} for the server at {}",
        listener.local_addr()?,
        args.server
    );
    let shutdown = async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    };
    let unsent = serve(listener, clients, shutdown).await?;
    if unsent == 0 {
        println!("gateway stopped: every click sent");
    } else {
        println!("gateway stopped: {unsent} clicks could not be sent");
    }
    Ok(())
}
