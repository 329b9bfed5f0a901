//! The REST gateway: JSON over HTTP in front of the shortener's gRPC server, and a web page.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use solution_19::LogFormat;
use solution_19::client::BearerKey;
use solution_19::gateway::{
    DEFAULT_GATEWAY_ADDR, DEFAULT_SERVER, Settings, connect_with_ca, serve_with,
};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

/// NEW(lesson 16): how the gateway exits.
const EXIT_CODES: &str = "\
Exit codes:
  0  stopped, every click sent
  1  stopped with clicks the server never confirmed (they are lost), or could not start
  2  the command line is wrong";

/// Serves the link shortener as JSON over HTTP, calling the gRPC server for every request.
#[derive(Debug, Parser)]
#[command(after_help = EXIT_CODES)]
struct Args {
    /// The HTTP address to listen on. Port 0 picks a free port.
    #[arg(long, env = "SHORTENER_GATEWAY_ADDR", default_value = DEFAULT_GATEWAY_ADDR)]
    addr: SocketAddr,
    // NEW(lesson 19): several servers, one per replica.
    /// The gRPC server to call: give it once per replica (or, in the variable, as a
    /// comma-separated list), and calls are spread over the replicas that are up.
    #[arg(
        long,
        env = "SHORTENER_SERVER",
        value_delimiter = ',',
        default_value = DEFAULT_SERVER,
        required = true
    )]
    server: Vec<String>,
    /// The gateway's own key (`authorization: Bearer KEY`), if the server wants one: for the
    /// redirect and the clicks. Calls to /v1/* carry their caller's Authorization instead.
    #[arg(long, env = "SHORTENER_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    // NEW(lesson 16): TLS to the server, the log format, the time limits.
    /// Speak TLS to the server (use an `https://` --server), trusting the server whose
    /// certificate this CA (PEM) signed.
    #[arg(long, env = "SHORTENER_CA")]
    ca: Option<PathBuf>,
    /// How log lines are written: text for people, json for machines.
    #[arg(long, env = "SHORTENER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Seconds a whole request may take, its body included (then 408).
    #[arg(long, env = "SHORTENER_REQUEST_TIMEOUT", default_value_t = 10)]
    request_timeout: u64,
    /// Seconds a client may take to send a request's headers, and an idle connection stays open.
    #[arg(long, env = "SHORTENER_HEADER_TIMEOUT", default_value_t = 10)]
    header_timeout: u64,
    /// Seconds for requests in flight after SIGTERM; then the last clicks are sent.
    #[arg(long, env = "SHORTENER_GRACE", default_value_t = 10)]
    grace: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(0) => {
            println!("gateway stopped: every click sent");
            ExitCode::SUCCESS
        }
        // The process is about to end: these clicks are gone, and whoever runs it must know.
        Ok(unsent) => {
            eprintln!("gateway stopped: {unsent} clicks could not be sent and are lost");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Serves until SIGINT or SIGTERM, and returns the number of clicks it could not send.
async fn run(args: Args) -> anyhow::Result<i64> {
    let key = BearerKey::new(args.api_key.as_deref()).context("the API key cannot be a header")?;
    // NEW(lesson 17): the guard writes the last lines when it is dropped, at the end.
    let _log = solution_19::init_tracing(args.log_format).map_err(anyhow::Error::msg)?;
    let ca = args.ca.as_deref().map(solution_19::load_ca).transpose()?;
    let servers = args.server.join(", ");
    let clients = connect_with_ca(&args.server, key, ca)
        .with_context(|| format!("cannot use {servers} as the servers' addresses"))?;
    let settings = Settings {
        request_timeout: Duration::from_secs(args.request_timeout),
        header_read_timeout: Duration::from_secs(args.header_timeout),
        grace: Duration::from_secs(args.grace),
        ..Settings::default()
    };
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    println!(
        "gateway listening on http://{} for the server at {}",
        listener.local_addr()?,
        servers
    );
    let shutdown = async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    };
    Ok(serve_with(listener, clients, settings, shutdown).await?)
}
