//! The lesson's "Run it" blocks, run for real: every `console` block of a README is a list of
//! commands and the lines each prints. The course tests run them against the solutions (what the
//! text shows is what the solution prints); `cargo quiz check` runs them against the learner's
//! crate (what the learner built prints what the lesson shows).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::check::server;
use crate::manifest::Lesson;
use crate::normalize;
use crate::readme::{self, Bindings, Step};

/// Splits a command line into words, honouring single and double quotes.
fn words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut in_word = false;
    for c in command.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// What a README's `cargo run ...` runs in the crate `package`: the binary and its arguments.
fn binary_and_args(
    lesson: &Lesson,
    package: &str,
    command: &str,
) -> Result<(String, Vec<String>), String> {
    let words = words(command);
    if words.len() < 2 || words[0] != "cargo" || words[1] != "run" {
        return Err(format!(
            "`{command}` is not a `cargo run` command: put it in a sh or text block"
        ));
    }
    let mut binary = None;
    let mut rest = words[2..].iter();
    let mut args = Vec::new();
    while let Some(word) = rest.next() {
        match word.as_str() {
            "--" => {
                args = rest.cloned().collect();
                break;
            }
            "--bin" => binary = rest.next().cloned(),
            "-q" | "--quiet" => {}
            other => {
                return Err(format!(
                    "`{command}`: cargo option {other} is not supported here"
                ));
            }
        }
    }
    let binary = match binary {
        Some(name) => normalize::crate_names(&name).replace("crate-NN", package),
        None if lesson.server => format!("{package}-server"),
        None => package.to_string(),
    };
    Ok((binary, args))
}

/// A server started by a README command; killed when dropped.
struct RunningServer {
    child: Child,
    addr: String,
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(
    binary: &Path,
    args: &[String],
    expected: usize,
) -> Result<(RunningServer, Vec<String>), String> {
    let mut command = Command::new(binary);
    command.env("RUST_BACKTRACE", "0");
    command.args(args);
    if !args.iter().any(|a| a == "--addr") {
        command.args(["--addr", "127.0.0.1:0"]);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut server = RunningServer {
        child,
        addr: String::new(),
    };
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while lines.len() < expected.max(1) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(_) => return Err(format!("the server printed only {lines:?} in 30 s")),
        }
    }
    server.addr = match lines
        .iter()
        .find_map(|line| server::listening_address(line))
    {
        Some(Ok(addr)) => addr.to_string(),
        Some(Err(line)) => {
            return Err(format!(
                "the server listens on an unreadable address: {line}"
            ));
        }
        None => {
            return Err(format!(
                "the server did not say where it listens: {lines:?}"
            ));
        }
    };
    Ok((server, lines))
}

fn run_client(
    binary: &Path,
    args: &[String],
    server: Option<&RunningServer>,
) -> Result<Vec<String>, String> {
    let mut command = Command::new(binary);
    command.env("RUST_BACKTRACE", "0");
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(server) = server {
        command.env("SHORTENER_ADDR", &server.addr);
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{} did not finish in 120 s", binary.display()));
            }
        }
    }
    let text = out.join().unwrap_or_default() + &err.join().unwrap_or_default();
    Ok(text.lines().map(str::to_string).collect())
}

/// Runs every command of the `console` blocks of a lesson's README (`text`) against the crate
/// `package`, whose binaries `binary` finds by name, and compares what they print with what the
/// README shows. Returns the problems, each naming the README line.
pub fn run_console_blocks(
    text: &str,
    lesson: &Lesson,
    package: &str,
    binary: &dyn Fn(&str) -> Option<PathBuf>,
) -> Vec<String> {
    let mut bindings = Bindings::default();
    let mut server: Option<RunningServer> = None;
    let mut problems = Vec::new();
    let steps: Vec<Step> = readme::blocks(text)
        .iter()
        .filter(|block| block.lang == "console")
        .flat_map(readme::console_steps)
        .collect();
    for step in steps {
        let command = bindings.substitute(&step.command);
        let (name, args) = match binary_and_args(lesson, package, &command) {
            Ok(found) => found,
            Err(why) => {
                problems.push(format!("README.md:{}: {why}", step.line));
                continue;
            }
        };
        let Some(path) = binary(&name).filter(|path| path.is_file()) else {
            problems.push(format!(
                "README.md:{}: the binary {name} is not built",
                step.line
            ));
            continue;
        };
        let result = if name.ends_with("-server") {
            server = None; // one server at a time, as in the learner's terminal
            start_server(&path, &args, step.expected.len()).map(|(started, lines)| {
                server = Some(started);
                lines
            })
        } else {
            run_client(&path, &args, server.as_ref())
        };
        let actual = match result {
            Ok(lines) => lines,
            Err(why) => {
                problems.push(format!(
                    "README.md:{}: `{}`: {why}",
                    step.line, step.command
                ));
                continue;
            }
        };
        let actual: Vec<&str> = actual.iter().map(String::as_str).collect();
        if let Err(why) = bindings.match_lines(&step.expected, &actual) {
            problems.push(format!(
                "README.md:{}: `{}` printed something else: {why}",
                step.line, step.command
            ));
        }
    }
    problems
}
