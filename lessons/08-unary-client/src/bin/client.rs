//! The shortener's command-line client.
//!
//! TODO(lesson 08): the commands are ready; they call the functions you write in
//! src/client.rs. Write `causes` and `by_code` at the bottom (exercise 3).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use lesson_08::{DEFAULT_ADDR, client};
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
        Command::Create { url } => client::create(&mut client, url).await.map(drop),
        Command::Get { short_code } => client::get(&mut client, short_code).await.map(drop),
        Command::Delete { short_code } => client::delete(&mut client, short_code).await,
        Command::Demo => client::demo(&mut client).await,
    }
    .map_err(by_code)
}

/// The error and the errors that caused it, joined by ": ", each said once. anyhow's `{:#}`
/// would print the whole chain as it is, but tonic wraps a connection error in a layer that
/// shows its cause's text as its own, so "tcp connect error" would appear twice.
fn causes(error: &anyhow::Error) -> String {
    // TODO(lesson 08): exercise 3. Go down the error's chain of causes and join their texts
    // with ": ", leaving out a text that only repeats the one just before it.
    let _ = error; // (only keeps an "unused variable" warning away until you do)
    todo!("lesson 08: causes")
}

/// A failed call, shown by its status code (the part a program should act on) and message.
fn by_code(status: Status) -> anyhow::Error {
    // TODO(lesson 08): exercise 3. An error whose text is the status code's name, then ": ",
    // then the status message, as in `NotFound: no link has the short code "zzzzzz"`.
    let _ = status; // (only keeps an "unused variable" warning away until you do)
    todo!("lesson 08: by_code")
}
