//! The shortener's command-line client.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use solution_08::client::Client;
use solution_08::pb::Link;
use solution_08::{DEFAULT_ADDR, client};
use tonic::{Code, Status};

/// Talks to the link shortener over gRPC.
#[derive(Debug, Parser)]
struct Cli {
    /// The server's address.
    #[arg(long, env = "SHORTENER_ADDR", default_value = DEFAULT_ADDR)]
    addr: String,
    /// Seconds to wait for the connection, and for each call, before giving up.
    #[arg(long, default_value_t = 5)]
    timeout: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Shorten a URL.
    Create { url: String },
    /// Show the link behind a short code.
    Get { short_code: String },
    /// Delete a link.
    Delete { short_code: String },
    /// Run the lesson's flow: create a link, get it, delete it, then get it again.
    Demo,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", causes(&error));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(cli.timeout);
    let mut client = client::connect(&cli.addr, timeout)
        .await
        .with_context(|| format!("cannot connect to the server at {}", cli.addr))?;

    match cli.command {
        Command::Create { url } => client::create(&mut client, url)
            .await
            .map(|link| print_created(&link)),
        Command::Get { short_code } => client::get(&mut client, short_code)
            .await
            .map(|link| println!("{}", client::describe(&link))),
        Command::Delete { short_code } => client::delete(&mut client, short_code.clone())
            .await
            .map(|()| println!("deleted {short_code}")),
        Command::Demo => demo(&mut client).await,
    }
    .map_err(by_code)
}

// What the client prints. The library returns what the server answered; only the binary
// writes to stdout.

/// `created CODE -> URL`: what `create` prints.
fn print_created(link: &Link) {
    println!("created {} -> {}", link.short_code, link.url);
}

/// The lesson's flow: create a link, read it back, delete it, and show that it is gone.
async fn demo(client: &mut Client) -> Result<(), Status> {
    let link = client::create(client, "https://example.com/article-one".to_string()).await?;
    print_created(&link);
    let read = client::get(client, link.short_code.clone()).await?;
    println!("{}", client::describe(&read));
    client::delete(client, link.short_code.clone()).await?;
    println!("deleted {}", link.short_code);

    // The link is gone, so this call must fail. The status code says why.
    match client::get(client, link.short_code).await {
        Err(status) if status.code() == Code::NotFound => {
            println!(
                "get after delete: {:?}: {}",
                status.code(),
                status.message()
            );
            Ok(())
        }
        Err(status) => Err(status),
        Ok(_) => Err(Status::internal("the deleted link can still be read")),
    }
}

/// The error and the errors that caused it, joined by ": ", each said once. anyhow's `{:#}`
/// would print the whole chain as it is, but tonic wraps a connection error in a layer that
/// shows its cause's text as its own, so "tcp connect error" would appear twice.
fn causes(error: &anyhow::Error) -> String {
    let mut causes: Vec<String> = error.chain().map(ToString::to_string).collect();
    causes.dedup(); // removes a cause equal to the one just before it
    causes.join(": ")
}

/// A failed call, shown by its status code (the part a program should act on) and message.
fn by_code(status: Status) -> anyhow::Error {
    anyhow::anyhow!("{:?}: {}", status.code(), status.message())
}
