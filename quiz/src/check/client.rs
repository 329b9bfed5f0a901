//! Running the learner's client binary against their server, and matching what it prints with
//! the lesson's expected output.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tonic::Code;

use super::rpc::{Context, is_short_code};
use super::{Failure, Reporter};

/// The client binary, pointed at the server.
#[derive(Debug, Clone, Copy)]
pub struct ClientBinary<'a> {
    pub path: &'a Path,
    pub name: &'a str,
    pub addr: SocketAddr,
    pub limit: Duration,
}

/// What one run printed.
struct Run {
    command: String,
    stdout: String,
    stderr: String,
    success: bool,
}

impl Run {
    fn shown(&self) -> String {
        let mut shown = format!("$ {}\n{}", self.command, self.stdout.trim_end());
        if !self.stderr.trim().is_empty() {
            shown.push_str(&format!("\n(stderr) {}", self.stderr.trim_end()));
        }
        if !self.success {
            shown.push_str("\n(exit status: failure)");
        }
        shown
    }

    fn lines(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|line| !line.trim().is_empty())
            .collect()
    }
}

impl ClientBinary<'_> {
    async fn run(&self, args: &[&str]) -> Result<Run, Failure> {
        let addr = self.addr.to_string();
        let command = format!("{} --addr {addr} {}", self.name, args.join(" "));
        let child = tokio::process::Command::new(self.path)
            .arg("--addr")
            .arg(&addr)
            .args(args)
            .env("SHORTENER_ADDR", &addr)
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| Failure::new(format!("{command} runs"), error.to_string(), ""))?;
        match tokio::time::timeout(self.limit, child.wait_with_output()).await {
            Ok(Ok(output)) => Ok(Run {
                command,
                stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
                success: output.status.success(),
            }),
            Ok(Err(error)) => Err(Failure::new(
                format!("{command} runs"),
                error.to_string(),
                "",
            )),
            Err(_) => Err(Failure::new(
                format!("{command} finishes within {} s", self.limit.as_secs()),
                "it was still running, and was stopped",
                "Does the client wait for a stream that never ends? Close the sending side (drop \
                 the sender) when you are done sending.",
            )),
        }
    }
}

fn mismatch(run: &Run, expected: impl Into<String>, hint: impl Into<String>) -> Failure {
    Failure::new(expected, run.shown(), hint)
}

/// `created CODE -> URL`: the code, if `line` says that for `url`.
fn created_line(line: &str, url: &str) -> Option<String> {
    let (code, rest) = line.trim().strip_prefix("created ")?.split_once(" -> ")?;
    (rest.trim() == url && is_short_code(code)).then(|| code.to_string())
}

async fn create(cx: &Context, client: ClientBinary<'_>) -> Result<(), Failure> {
    let url = "https://example.com/quiz-check/from-the-client";
    let run = client.run(&["create", url]).await?;
    let Some(code) = run.lines().iter().find_map(|line| created_line(line, url)) else {
        return Err(mismatch(
            &run,
            format!("created CODE -> {url}"),
            "Print the link the server sent back, in the lesson's format: the word `created`, its short code, an arrow, its URL.",
        ));
    };
    match cx.get(&code).await {
        Ok(Some(link)) if link.url == url => Ok(()),
        other => Err(Failure::new(
            format!("the server to know {code} after the client created it"),
            format!("GetLink({code}) gave {other:?}"),
            "Print the short code the server returned, not one made up by the client.",
        )),
    }
}

async fn get(cx: &Context, client: ClientBinary<'_>) -> Result<(), Failure> {
    let link = cx
        .create("https://example.com/quiz-check/client-get")
        .await?;
    let run = client.run(&["get", &link.short_code]).await?;
    if run.success && run.stdout.contains(&link.short_code) && run.stdout.contains(&link.url) {
        Ok(())
    } else {
        Err(mismatch(
            &run,
            format!("a line with {} and {}", link.short_code, link.url),
            "Call GetLink with the code from the command line and print the link it returns.",
        ))
    }
}

async fn delete(cx: &Context, client: ClientBinary<'_>) -> Result<(), Failure> {
    let link = cx
        .create("https://example.com/quiz-check/client-delete")
        .await?;
    let run = client.run(&["delete", &link.short_code]).await?;
    if !run.success {
        return Err(mismatch(
            &run,
            "the command succeeds",
            "Call DeleteLink with the code from the command line.",
        ));
    }
    match cx.get(&link.short_code).await {
        Err(status) if status.code() == Code::NotFound => Ok(()),
        other => Err(Failure::new(
            format!(
                "GetLink({}) to answer NOT_FOUND after the client deleted it",
                link.short_code
            ),
            format!("{other:?}\n{}", run.shown()),
            "Call DeleteLink with the code from the command line.",
        )),
    }
}

async fn list(cx: &Context, client: ClientBinary<'_>) -> Result<(), Failure> {
    let links = cx
        .list()
        .await
        .map_err(|status| cx.unexpected("ListLinks", "a stream of links", &status))?;
    let run = client.run(&["list"]).await?;
    let positions: Vec<Option<usize>> = links
        .iter()
        .map(|link| run.stdout.find(&link.short_code))
        .collect();
    let in_order = positions
        .windows(2)
        .all(|pair| matches!(pair, [Some(a), Some(b)] if a < b));
    if run.success && positions.iter().all(Option::is_some) && in_order {
        Ok(())
    } else {
        let codes: Vec<&str> = links.iter().map(|link| link.short_code.as_str()).collect();
        Err(mismatch(
            &run,
            format!(
                "the {} links, in this order: {}",
                links.len(),
                codes.join(", ")
            ),
            "Read the stream until `message()` says it has ended (`Ok(None)`), printing each link \
             as it arrives, and report an `Err` instead of taking it for the end.",
        ))
    }
}

async fn batch(_cx: &Context, client: ClientBinary<'_>) -> Result<(), Failure> {
    let urls: Vec<String> = (1..=3)
        .map(|i| format!("https://example.com/quiz-check/client-batch-{i}"))
        .collect();
    let mut args = vec!["batch"];
    args.extend(urls.iter().map(String::as_str));
    let run = client.run(&args).await?;
    let lines = run.lines();
    let ok = lines
        .first()
        .is_some_and(|line| line.trim() == "created 3 links")
        && lines.len() == 4
        && lines[1..].iter().zip(&urls).all(|(line, url)| {
            line.trim()
                .split_once(" -> ")
                .is_some_and(|(code, shown)| is_short_code(code) && shown == url)
        });
    if ok {
        Ok(())
    } else {
        let expected = std::iter::once("created 3 links".to_string())
            .chain(urls.iter().map(|url| format!("  CODE -> {url}")))
            .collect::<Vec<_>>()
            .join("\n");
        Err(mismatch(
            &run,
            expected,
            "Send every URL on one client stream, then print the summary the server returns.",
        ))
    }
}

async fn sync(cx: &Context, client: ClientBinary<'_>) -> Result<(), Failure> {
    let link = cx
        .create("https://example.com/quiz-check/client-sync")
        .await?;
    let run = client
        .run(&["sync", "--clicks", "10", &link.short_code])
        .await?;
    let expected = format!("synced {}: total=10 ack=true", link.short_code);
    if run.lines().iter().any(|line| line.trim() == expected) {
        Ok(())
    } else {
        Err(mismatch(
            &run,
            expected,
            "Send a SyncRequest for each code on the bidirectional stream, print every answer as \
             it arrives, and drop the sender when done so the stream ends.",
        ))
    }
}

/// Runs the client binary once for each command the lesson's RPCs give it.
pub async fn run(cx: &Context, client: ClientBinary<'_>, rpcs: &[String], report: &mut Reporter) {
    let has = |rpc: &str| rpcs.iter().any(|r| r == rpc);
    if has("CreateLink") {
        report.record(
            "the client's `create URL` prints `created CODE -> URL`",
            create(cx, client).await,
        );
    }
    if has("GetLink") {
        report.record(
            "the client's `get CODE` prints the link",
            get(cx, client).await,
        );
    }
    if has("DeleteLink") {
        report.record(
            "the client's `delete CODE` deletes the link",
            delete(cx, client).await,
        );
    }
    if has("ListLinks") {
        report.record(
            "the client's `list` prints every link in id order",
            list(cx, client).await,
        );
    }
    if has("BatchCreateLinks") {
        report.record(
            "the client's `batch URL URL URL` prints `created 3 links` and each link",
            batch(cx, client).await,
        );
    }
    if has("SyncClicks") {
        report.record(
            "the client's `sync --clicks 10 CODE` prints `synced CODE: total=10 ack=true`",
            sync(cx, client).await,
        );
    }
}
