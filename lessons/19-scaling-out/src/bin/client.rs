//! The shortener's command-line client.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use lesson_19::DEFAULT_ADDR;
use lesson_19::balance::{self, Health, ReplicaStatus, Replicas};
use lesson_19::client::{self, Client, Deleted};
use lesson_19::pb::{Link, ListLinksRequest};
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// How the client exits when something goes wrong: scripts can tell the cases apart.
const EXIT_CODES: &str = "\
Exit codes:
  0  done
  1  any other error
  2  the command line is wrong
  3  the server refused the input (INVALID_ARGUMENT)
  4  no link has that short code (NOT_FOUND)
  5  the server cannot be reached (UNAVAILABLE)
  6  the server wants a valid API key (UNAUTHENTICATED)
  7  no answer within --timeout (DEADLINE_EXCEEDED, or CANCELLED \"Timeout expired\")";
const EXIT_OTHER: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_INVALID: u8 = 3;
const EXIT_NOT_FOUND: u8 = 4;
const EXIT_UNREACHABLE: u8 = 5;
const EXIT_UNAUTHENTICATED: u8 = 6;
const EXIT_DEADLINE: u8 = 7;

/// Talks to the link shortener over gRPC.
#[derive(Debug, Parser)]
#[command(after_help = EXIT_CODES)]
struct Cli {
    // NEW(lesson 19): several addresses, one per replica.
    /// The server's address: give it once per replica (or, in the variable, as a
    /// comma-separated list), and calls are spread over the replicas that are up.
    #[arg(
        long,
        env = "SHORTENER_ADDR",
        value_delimiter = ',',
        default_value = DEFAULT_ADDR,
        required = true
    )]
    addr: Vec<String>,
    /// Seconds each call may take, its retries included; each attempt is sent with the time
    /// left as `grpc-timeout`.
    // NEW(lesson 16): from the environment too, like every setting.
    #[arg(long, env = "SHORTENER_TIMEOUT", default_value_t = 5)]
    timeout: u64,
    /// The server's API key, sent with every call as `authorization: Bearer KEY`.
    #[arg(long, env = "SHORTENER_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    // NEW(lesson 16): TLS and gzip.
    /// Speak TLS, trusting the server whose certificate this CA (PEM) signed.
    #[arg(long, env = "SHORTENER_CA")]
    ca: Option<PathBuf>,
    /// Send requests gzipped and ask for gzipped responses (in the variable: 1, true, yes or on).
    #[arg(long, env = "SHORTENER_GZIP", value_parser = clap::builder::BoolishValueParser::new())]
    gzip: bool,
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
    let cli = Cli::parse();
    let addr = cli.addr.join(", ");
    let timeout = cli.timeout;
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let (text, code) = report(&error, &addr, timeout);
            eprintln!("{text}");
            ExitCode::from(code)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(cli.timeout);
    let key = client::BearerKey::new(cli.api_key.as_deref())
        .context("the API key cannot be sent: it must be visible ASCII")?;
    let ca = cli.ca.as_deref().map(lesson_19::load_ca).transpose()?;
    let transport = client::Transport { ca, gzip: cli.gzip };
    // NEW(lesson 19): one channel over every replica given; it connects on the first call.
    let (client, replicas) = client::connect_with(&cli.addr, timeout, key, transport)?;
    wait_for_health(&replicas, timeout).await;

    match cli.command {
        Command::Create { url } => client.create(&url).await.map(|link| print_created(&link)),
        Command::Get { short_code } => client
            .get(&short_code)
            .await
            .map(|link| println!("{}", client::describe(&link))),
        Command::Delete { short_code } => client
            .delete(&short_code)
            .await
            .map(|deleted| print_deleted(&short_code, deleted)),
        Command::List => print_list(&client).await,
        Command::Batch { mut urls } => {
            if urls.is_empty() {
                urls = read_lines().context("cannot read URLs from stdin")?;
            }
            client
                .batch_create(urls)
                .await
                .map(|created| print_batch(&created))
        }
        Command::Sync {
            clicks,
            short_codes,
        } => client.sync_clicks(short_codes, clicks, print_sync).await,
        Command::Demo => demo(&client).await,
    }
    .map_err(anyhow::Error::from)
}

/// NEW(lesson 19): waits, briefly, until the health of every replica is known, so that the
/// first call goes to one that is up. Calls that are retried would get there anyway; a batch
/// or a sync, which are not, would fail on a replica that is down. Gives up after a second
/// (or the timeout, if shorter): a replica that does not answer at all is left to the calls'
/// own deadline.
async fn wait_for_health(replicas: &Replicas, timeout: Duration) {
    let limit = timeout.min(Duration::from_secs(1));
    let known = |statuses: &[ReplicaStatus]| {
        statuses
            .iter()
            .all(|status| status.health != Health::Unknown)
    };
    replicas.wait_for(limit, known).await;
}

// What the client prints. The library returns what the server answered; only the binary
// writes to stdout.

/// `created CODE -> URL`: what `create` prints.
fn print_created(link: &Link) {
    println!("created {} -> {}", link.short_code, link.url);
}

/// NEW(lesson 19): `deleted CODE`, and what a retry found when the first answer was lost.
fn print_deleted(short_code: &str, deleted: Deleted) {
    match deleted {
        Deleted::Now => println!("deleted {short_code}"),
        Deleted::AlreadyGone => println!(
            "deleted {short_code} (the first answer was lost; a retry found the link gone)"
        ),
    }
}

/// Every link as it arrives, then how many there were.
async fn print_list(client: &Client) -> Result<(), Status> {
    let every = ListLinksRequest::default();
    let count = client
        .list(every, |link| println!("{}", client::describe(&link)))
        .await?;
    println!("{count} links");
    Ok(())
}

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
async fn demo(client: &Client) -> Result<(), Status> {
    let urls = [
        "https://example.com/article-one",
        "https://example.com/article-two",
        "https://example.com/article-three",
    ];
    let created = client
        .batch_create(Vec::from(urls.map(String::from)))
        .await?;
    print_batch(&created);

    let mut short_codes: Vec<String> = created.into_iter().map(|link| link.short_code).collect();
    short_codes.push("nonexistent".to_string());
    client.sync_clicks(short_codes, 10, print_sync).await
}

/// The error and the errors that caused it, joined by ": ", each said once. anyhow's `{:#}`
/// would print the whole chain as it is, but tonic wraps a connection error in a layer that
/// shows its cause's text as its own, so "tcp connect error" would appear twice.
fn causes(error: &anyhow::Error) -> String {
    let mut causes: Vec<String> = error.chain().map(ToString::to_string).collect();
    causes.dedup(); // removes a cause equal to the one just before it
    causes.join(": ")
}

/// What went wrong, in words a person understands, and the exit code that says it to a script.
/// A failed call is judged by its status code, the part of a status a program should act on.
fn report(error: &anyhow::Error, addr: &str, timeout: u64) -> (String, u8) {
    let Some(status) = error.downcast_ref::<Status>() else {
        // NEW(lesson 19): the channel connects lazily, so an address is only wrong here (not
        // a URL, given twice): the command line's fault. A replica that cannot be reached is
        // an UNAVAILABLE call, below.
        if error.downcast_ref::<balance::Error>().is_some() {
            return (format!("error: {}", causes(error)), EXIT_USAGE);
        }
        return (format!("error: {}", causes(error)), EXIT_OTHER);
    };
    match status.code() {
        Code::InvalidArgument => {
            let mut text = format!("error: {}", status.message());
            // The details say which field was wrong, for programs; show them too.
            if let Some(bad_request) = status.get_details_bad_request() {
                for violation in bad_request.field_violations {
                    text.push_str(&format!(
                        "\n  {}: {}",
                        violation.field, violation.description
                    ));
                }
            }
            (text, EXIT_INVALID)
        }
        Code::NotFound => (format!("error: {}", status.message()), EXIT_NOT_FOUND),
        Code::Unauthenticated => {
            let text = format!(
                "error: the server refused the call: {} (give the key with --api-key or SHORTENER_API_KEY)",
                status.message()
            );
            (text, EXIT_UNAUTHENTICATED)
        }
        Code::Unavailable => {
            let text = format!(
                "error: cannot reach the server at {addr}: is it running? ({})",
                status.message()
            );
            (text, EXIT_UNREACHABLE)
        }
        // A tonic server ends a call past its deadline with CANCELLED "Timeout expired"; a
        // server in Go or another language, with DEADLINE_EXCEEDED.
        Code::DeadlineExceeded | Code::Cancelled
            if status.code() == Code::DeadlineExceeded
                || status.message().contains("Timeout expired") =>
        {
            let text = format!(
                "error: no answer within {timeout} s (raise --timeout?): {}",
                status.message()
            );
            (text, EXIT_DEADLINE)
        }
        code => (format!("error: {code:?}: {}", status.message()), EXIT_OTHER),
    }
}

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
