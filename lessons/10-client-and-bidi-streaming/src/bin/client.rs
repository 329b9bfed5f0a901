//! The shortener's command-line client.

use std::io::BufRead; // NEW(lesson 10): for `batch` with its URLs on stdin (read_lines)
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use lesson_10::client::Client;
use lesson_10::pb::Link;
use lesson_10::{DEFAULT_ADDR, client};
use tonic::Status;

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
    /// List every link, oldest first.
    List,
    // NEW(lesson 10): `batch` and `sync` are given; they call the functions you write in
    // src/client.rs.
    /// Shorten many URLs in one streaming call (from the arguments, or one a line on stdin).
    Batch { urls: Vec<String> },
    /// Add clicks to links over one bidirectional stream.
    Sync {
        #[arg(long, default_value_t = 1)]
        clicks: i64,
        #[arg(required = true)]
        short_codes: Vec<String>,
    },
    /// Run the lesson's flow: batch-create three links, then sync clicks to them.
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
        Command::List => print_list(&mut client).await,
        // NEW(lesson 10): these two run your client::batch_create and client::sync_clicks.
        Command::Batch { mut urls } => {
            if urls.is_empty() {
                urls = read_lines().context("cannot read URLs from stdin")?;
            }
            client::batch_create(&mut client, urls)
                .await
                .map(|created| print_batch(&created))
        }
        Command::Sync {
            clicks,
            short_codes,
        } => client::sync_clicks(&mut client, short_codes, clicks, print_sync).await,
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

/// Every link as it arrives, then how many there were.
async fn print_list(client: &mut Client) -> Result<(), Status> {
    let count = client::list(client, |link| println!("{}", client::describe(link))).await?;
    println!("{count} links");
    Ok(())
}

// NEW(lesson 10): given, as is the demo below: they print what your functions return.
/// `created N links`, then each link.
fn print_batch(created: &[Link]) {
    println!("created {} links", created.len());
    for link in created {
        println!("  {} -> {}", link.short_code, link.url);
    }
}

/// One line for each SyncClicks answer.
fn print_sync(short_code: &str, total_clicks: i64, acknowledged: bool) {
    println!("synced {short_code}: total={total_clicks} ack={acknowledged}");
}

/// The lesson's flow: create three links in one batch, then sync ten clicks to each of them
/// and to a code that does not exist.
async fn demo(client: &mut Client) -> Result<(), Status> {
    let urls = [
        "https://example.com/article-one",
        "https://example.com/article-two",
        "https://example.com/article-three",
    ];
    // NEW(lesson 10): batch-create the three links, then sync their codes and one unknown code.
    let created = client::batch_create(client, Vec::from(urls.map(String::from))).await?;
    print_batch(&created);

    let mut short_codes: Vec<String> = created.into_iter().map(|link| link.short_code).collect();
    short_codes.push("nonexistent".to_string());
    client::sync_clicks(client, short_codes, 10, print_sync).await
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

// NEW(lesson 10): nothing to write here; `batch` uses this when it gets no URLs.
/// The non-blank lines of stdin.
fn read_lines() -> std::io::Result<Vec<String>> {
    let mut lines = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if !line.trim().is_empty() {
            lines.push(line.trim().to_string());
        }
    }
    Ok(lines)
}
