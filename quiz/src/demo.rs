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
use crate::readme::{self, Bindings};

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
            "`{command}` is not a command the README runner knows (`cargo run`, curl, grpcurl, \
             sleep): put it in a sh or text block"
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
    /// Its database's folder (lesson 18 on), removed after the process is gone.
    _database: Option<crate::scratch::ScratchDir>,
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a long-running binary (a server, or a gateway in front of `upstream`) on a free port,
/// and reads its first `expected` lines, which must say where it listens.
fn start_server(
    binary: &Path,
    args: &[String],
    expected: usize,
    upstream: Option<&RunningServer>,
) -> Result<(RunningServer, Vec<String>), String> {
    let mut command = Command::new(binary);
    command.env("RUST_BACKTRACE", "0");
    command.args(args);
    // From lesson 18 on, a server keeps its links in a database: a new one for each server the
    // README starts, never a file in the lesson's folder.
    let database = match args.iter().any(|a| a == "--database-url") {
        true => None,
        false => crate::scratch::ScratchDir::for_database(),
    };
    if let Some(database) = &database {
        command.env(
            crate::scratch::DATABASE_URL,
            database.database_url("shortener.db"),
        );
    }
    if !args.iter().any(|a| a == "--addr") {
        command.args(["--addr", "127.0.0.1:0"]);
    }
    if let Some(upstream) = upstream
        && !args.iter().any(|a| a == "--server")
    {
        command.args(["--server", &format!("http://{}", upstream.addr)]);
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
        _database: database,
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

/// The tools besides cargo that a `console` block may run, from PATH. Their commands name the
/// lesson's default addresses, which are rewritten to the running server's and gateway's.
const TOOLS: &[&str] = &["curl", "grpcurl"];

/// The environment variable that turns a missing tool into a failure (CI sets it, after
/// installing them) instead of a skipped block.
pub const REQUIRE_TOOLS: &str = "COURSE_REQUIRE_TOOLS";

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

/// `localhost:50051`, `127.0.0.1:50051`, `localhost:8080` and `127.0.0.1:8080` in an argument,
/// rewritten to where the server and the gateway really listen.
fn rewrite_addresses(
    arg: &str,
    server: Option<&RunningServer>,
    gateway: Option<&RunningServer>,
) -> String {
    let mut arg = arg.to_string();
    for (port, running) in [("50051", server), ("8080", gateway)] {
        if let Some(running) = running {
            for host in ["localhost", "127.0.0.1"] {
                arg = arg.replace(&format!("{host}:{port}"), &running.addr);
            }
        }
    }
    arg
}

/// Runs every command of the `console` blocks of a lesson's README (`text`) against the crate
/// `package`, whose binaries `binary` finds by name, and compares what they print with what the
/// README shows. Returns the problems, each naming the README line.
///
/// A block is one terminal session, and the state carries on from block to block: a `-server`
/// binary keeps running for the commands after it (one at a time), and a `-gateway` binary
/// runs beside it, pointed at it. `curl` and `grpcurl` run from PATH against them; `sleep N`
/// waits. A tool that is not installed skips the rest of its block, unless the environment
/// variable [`REQUIRE_TOOLS`] is set.
pub fn run_console_blocks(
    text: &str,
    lesson: &Lesson,
    package: &str,
    binary: &dyn Fn(&str) -> Option<PathBuf>,
) -> Vec<String> {
    let mut bindings = Bindings::default();
    let mut server: Option<RunningServer> = None;
    let mut gateway: Option<RunningServer> = None;
    let mut problems = Vec::new();
    let require_tools = std::env::var_os(REQUIRE_TOOLS).is_some_and(|v| !v.is_empty() && v != "0");
    for block in readme::blocks(text)
        .iter()
        .filter(|block| block.lang == "console")
    {
        for step in readme::console_steps(block) {
            let command = bindings.substitute(&step.command);
            let words = words(&command);
            let first = words.first().map(String::as_str).unwrap_or_default();
            let result = if first == "sleep" {
                match words.get(1).and_then(|s| s.parse::<f64>().ok()) {
                    Some(seconds) if (0.0..=10.0).contains(&seconds) => {
                        std::thread::sleep(Duration::from_secs_f64(seconds));
                        Ok(Vec::new())
                    }
                    _ => Err("`sleep` takes a number of seconds, at most 10".to_string()),
                }
            } else if TOOLS.contains(&first) {
                if !on_path(first) {
                    if require_tools {
                        problems.push(format!(
                            "README.md:{}: {first} is not on PATH, and {REQUIRE_TOOLS} is set",
                            step.line
                        ));
                    } else {
                        eprintln!(
                            "README.md:{}: {first} is not on PATH: the rest of this block is not run \
                             (set {REQUIRE_TOOLS}=1 to make this an error)",
                            step.line
                        );
                    }
                    break;
                }
                let args: Vec<String> = words[1..]
                    .iter()
                    .map(|arg| rewrite_addresses(arg, server.as_ref(), gateway.as_ref()))
                    .collect();
                run_client(Path::new(first), &args, None)
            } else {
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
                if name.ends_with("-server") {
                    // One server at a time, as in the learner's terminal; a gateway in front of
                    // the old one goes with it.
                    gateway = None;
                    server = None;
                    start_server(&path, &args, step.expected.len(), None).map(|(started, lines)| {
                        server = Some(started);
                        lines
                    })
                } else if name.ends_with("-gateway") {
                    gateway = None;
                    start_server(&path, &args, step.expected.len(), server.as_ref()).map(
                        |(started, lines)| {
                            gateway = Some(started);
                            lines
                        },
                    )
                } else {
                    run_client(&path, &args, server.as_ref())
                }
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
            let mut actual: Vec<&str> = actual.iter().map(String::as_str).collect();
            // Blank lines at the end are layout (a README block drops them too).
            while actual.last().is_some_and(|line| line.trim().is_empty()) {
                actual.pop();
            }
            if let Err(why) = bindings.match_lines(&step.expected, &actual) {
                problems.push(format!(
                    "README.md:{}: `{}` printed something else: {why}",
                    step.line, step.command
                ));
            }
        }
    }
    problems
}
