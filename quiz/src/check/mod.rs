//! `cargo quiz check NN`: does the learner's crate do what the lesson asked?
//!
//! Every lesson goes through the same stages, chosen from its entry in `course.toml`: the crate
//! builds; its `tests/lesson.rs` passes; for a lesson with a server, the server binary starts
//! on a free loopback port and answers every RPC the lesson has reached the way the course's
//! rules say (checked with the checker's own client, generated from `proto/`); for a lesson
//! with a client, the client binary prints what the lesson shows.

pub mod auth;
pub mod cargo;
pub mod client;
pub mod deadlines;
pub mod errors;
pub mod gateway;
pub mod group;
pub mod performance;
pub mod planted;
pub mod production;
pub mod rpc;
pub mod scaling;
pub mod server;
pub mod storage;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shortener_proto::postgres::{SHARED_PORT, TestPostgres};

use crate::BadInput;
use crate::manifest::Lesson;
use crate::style::Style;

/// The crate being checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub dir: PathBuf,
    /// Its package name, from its `Cargo.toml`.
    pub package: String,
}

impl Target {
    /// The crate in `dir`, named by its `Cargo.toml`. A relative `dir` is made absolute: the
    /// builds and the checks run in other folders.
    pub fn from_dir(dir: &Path) -> Result<Target, BadInput> {
        let dir = std::path::absolute(dir)
            .map_err(|error| BadInput(format!("cannot resolve {}: {error}", dir.display())))?;
        let manifest = dir.join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).map_err(|error| {
            BadInput(format!(
                "there is no crate in {}: cannot read {} ({error})",
                dir.display(),
                manifest.display()
            ))
        })?;
        let value: toml::Table = toml::from_str(&text).map_err(|error| {
            BadInput(format!("{} is not valid TOML: {error}", manifest.display()))
        })?;
        let package = value
            .get("package")
            .and_then(|package| package.get("name"))
            .and_then(toml::Value::as_str)
            .ok_or_else(|| BadInput(format!("{} has no [package] name", manifest.display())))?;
        Ok(Target {
            dir,
            package: package.to_string(),
        })
    }

    pub fn has_lesson_tests(&self) -> bool {
        self.dir.join("tests").join("lesson.rs").is_file()
    }

    /// The name of one of its binaries: `lesson-07-server`.
    pub fn binary(&self, role: &str) -> String {
        format!("{}-{role}", self.package)
    }
}

/// The time limits of a check.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `cargo build` of the crate.
    pub build: Duration,
    /// One test of `tests/lesson.rs`: a test still running after this is named and stopped.
    pub test: Duration,
    /// From starting the server to its `listening on` line.
    pub server_start: Duration,
    /// One gRPC call.
    pub call: Duration,
    /// One run of the client binary.
    pub client_run: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            build: Duration::from_secs(15 * 60),
            test: Duration::from_secs(30),
            server_start: Duration::from_secs(20),
            call: Duration::from_secs(5),
            client_run: Duration::from_secs(20),
        }
    }
}

/// Why a check failed: what was expected, what came back, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    pub expected: String,
    pub got: String,
    pub hint: String,
}

impl Failure {
    pub fn new(
        expected: impl Into<String>,
        got: impl Into<String>,
        hint: impl Into<String>,
    ) -> Failure {
        Failure {
            expected: expected.into(),
            got: got.into(),
            hint: hint.into(),
        }
    }
}

/// One check and how it went.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Check {
    pub name: String,
    pub result: Result<(), Failure>,
}

/// Called with every check as it is recorded.
pub type Listener = Box<dyn FnMut(&Check) + Send>;

/// Prints every check as it finishes and keeps them for the summary.
pub struct Reporter {
    out: Box<dyn Write + Send>,
    style: Style,
    listener: Option<Listener>,
    pub checks: Vec<Check>,
}

/// `text` in the column after a label (`expected:`, `got:`, `hint:`), wrapped to the width.
fn indented(style: Style, label: &str, text: &str) -> String {
    let prefix = format!("       {label:<10}");
    let text = text.trim_end();
    let text = if text.is_empty() {
        prefix.trim_end().to_string()
    } else {
        style.hang(&prefix, text)
    };
    text + "\n"
}

/// How a check reads on the terminal: `  ok NAME`, or `FAIL NAME` with what was expected, what
/// came back (its first `got_lines` lines) and the hint, wrapped to the style's width.
pub fn render_check(style: Style, check: &Check, got_lines: usize) -> String {
    let mut out = style.hang(
        &format!("{} ", style.verdict(check.result.is_ok())),
        &check.name,
    );
    out.push('\n');
    if let Err(failure) = &check.result {
        out.push_str(&indented(style, "expected:", &failure.expected));
        let got = if failure.got.lines().count() > got_lines {
            head(&failure.got, got_lines)
        } else {
            failure.got.clone()
        };
        out.push_str(&indented(style, "got:", &got));
        if !failure.hint.is_empty() {
            out.push_str(&style.yellow(&indented(style, "hint:", &failure.hint)));
        }
    }
    out
}

impl Reporter {
    pub fn new(out: Box<dyn Write + Send>, style: Style) -> Reporter {
        Reporter {
            out,
            style,
            listener: None,
            checks: Vec::new(),
        }
    }

    /// Also hands every check to `listener` as it is recorded (`cargo quiz watch` shows them
    /// as they come).
    pub fn with_listener(mut self, listener: Listener) -> Reporter {
        self.listener = Some(listener);
        self
    }

    /// Records and prints one check.
    pub fn record(&mut self, name: &str, result: Result<(), Failure>) {
        let check = Check {
            name: name.to_string(),
            result,
        };
        let _ = write!(self.out, "{}", render_check(self.style, &check, usize::MAX));
        let _ = self.out.flush();
        if let Some(listener) = &mut self.listener {
            listener(&check);
        }
        self.checks.push(check);
    }

    /// Prints a line that is not a check.
    pub fn note(&mut self, text: &str) {
        let _ = writeln!(self.out, "{}", self.style.dim(&self.style.wrap(text)));
        let _ = self.out.flush();
    }

    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|check| check.result.is_ok())
    }

    pub fn failed_count(&self) -> usize {
        self.checks
            .iter()
            .filter(|check| check.result.is_err())
            .count()
    }
}

/// A `TODO` line of the learner's crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Todo {
    /// Relative to the crate.
    pub file: PathBuf,
    pub line: usize,
    pub text: String,
    /// The TODO line and the few after it: what it is about.
    context: String,
}

/// Every TODO of a crate, to point the learner at the one a failed check is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Todos(pub Vec<Todo>);

impl Todos {
    /// The TODOs in the crate's sources, proto files and build script (not its tests).
    pub fn find(dir: &Path) -> Todos {
        let mut todos = Vec::new();
        for relative in crate::drift::files(dir) {
            let in_scope = relative.starts_with("src")
                || relative.starts_with("proto")
                || relative == Path::new("build.rs");
            let Ok(text) = std::fs::read_to_string(dir.join(&relative)) else {
                continue;
            };
            if !in_scope {
                continue;
            }
            let lines: Vec<&str> = text.lines().collect();
            for (index, line) in lines.iter().enumerate() {
                if line.contains("TODO") {
                    todos.push(Todo {
                        file: relative.clone(),
                        line: index + 1,
                        text: line.trim().to_string(),
                        context: lines[index..lines.len().min(index + 4)].join("\n"),
                    });
                }
            }
        }
        Todos(todos)
    }

    /// "Do the TODO at src/server.rs:42: ..." for an RPC, or every TODO when none is about it.
    pub fn hint(&self, rpc: Option<&str>) -> String {
        let about: Vec<&Todo> = match rpc {
            Some(rpc) => {
                let method = cargo::method_name(rpc);
                self.0
                    .iter()
                    .filter(|todo| todo.context.contains(rpc) || todo.context.contains(&method))
                    .collect()
            }
            None => Vec::new(),
        };
        let shown = if about.is_empty() {
            self.0.iter().collect()
        } else {
            about
        };
        if shown.is_empty() {
            return String::new();
        }
        let mut hint = String::from("Look at:");
        for todo in shown.iter().take(5) {
            hint.push_str(&format!(
                "\n  {}:{}  {}",
                todo.file.display(),
                todo.line,
                todo.text
            ));
        }
        if shown.len() > 5 {
            hint.push_str(&format!("\n  ... and {} more TODOs", shown.len() - 5));
        }
        hint
    }
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The first `lines` lines of `text`.
pub fn head(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim().lines().collect();
    let mut shown = all[..all.len().min(lines)].join("\n");
    if all.len() > lines {
        shown.push_str("\n...");
    }
    shown
}

/// Progress lines, on stderr, so that stdout is the report.
fn progress(style: Style, text: &str) {
    eprintln!("{}", style.dim(&style.hang("==> ", text)));
}

/// Checks `target` against what `lesson` asks; the report is printed to `reporter` as it goes.
pub async fn run(
    root: &Path,
    lesson: &Lesson,
    target: &Target,
    limits: Limits,
    test_hints: &BTreeMap<String, String>,
    reporter: &mut Reporter,
) -> anyhow::Result<()> {
    let style = reporter.style;
    let todos = Todos::find(&target.dir);

    progress(
        style,
        &format!(
            "building {} (cargo build -p {})",
            target.package, target.package
        ),
    );
    let started = Instant::now();
    let build = cargo::build(target, limits.build).await?;
    if !build.success {
        reporter.record(
            "the crate builds",
            Err(cargo::build_failure(&build, &target.package)),
        );
        return Ok(());
    }
    reporter.record("the crate builds", Ok(()));
    progress(
        style,
        &format!("built in {:.0} s", started.elapsed().as_secs_f64()),
    );

    match (&build.lesson_tests, target.has_lesson_tests()) {
        (Some(executable), _) => {
            let postgres = lesson.checks.iter().any(|check| check == "scaling");
            run_lesson_tests(
                executable, target, limits, test_hints, &todos, postgres, reporter,
            )
            .await?;
        }
        (None, true) => reporter.record(
            "the lesson's tests build",
            Err(Failure::new(
                "cargo to build tests/lesson.rs",
                "the build gave no test executable",
                "Run `cargo test --test lesson` in the crate's folder to see why.",
            )),
        ),
        (None, false) => reporter.note("(this crate has no tests/lesson.rs)"),
    }

    if lesson.checks.iter().any(|check| check == "planted") {
        progress(
            style,
            "running your tests/service.rs against the service and its planted bugs",
        );
        planted::run(root, target, reporter).await?;
    }

    if !lesson.server {
        check_demo(root, lesson, target, &build, reporter).await;
    }

    if lesson.server {
        let name = target.binary("server");
        let binary = build
            .executables
            .get(&name)
            .cloned()
            .unwrap_or_else(|| root.join("target").join("debug").join(&name));
        progress(style, &format!("starting {name} --addr 127.0.0.1:0"));
        let client = lesson.client.then(|| {
            let name = target.binary("client");
            let path = build
                .executables
                .get(&name)
                .cloned()
                .unwrap_or_else(|| root.join("target").join("debug").join(&name));
            (name, path)
        });
        check_server_with(
            &binary,
            &name,
            &lesson.rpcs,
            &lesson.checks,
            client.as_ref().map(|(n, p)| (n.as_str(), p.as_path())),
            limits,
            &todos,
            reporter,
        )
        .await;
    }
    Ok(())
}

/// Runs the crate's program the way the lesson's "Run it" blocks do, and compares what it prints
/// with what the lesson shows (lessons without a server; a server's client is checked against
/// the running server instead).
async fn check_demo(
    root: &Path,
    lesson: &Lesson,
    target: &Target,
    build: &cargo::Build,
    reporter: &mut Reporter,
) {
    let readme = root
        .join("lessons")
        .join(lesson.dir_name())
        .join("README.md");
    let Ok(text) = std::fs::read_to_string(&readme) else {
        return;
    };
    if !text.contains("```console") {
        return;
    }
    progress(
        reporter.style,
        &format!(
            "running {} as the lesson's \"Run it\" blocks do",
            target.package
        ),
    );
    let (lesson, package, executables) = (
        lesson.clone(),
        target.package.clone(),
        build.executables.clone(),
    );
    let problems = tokio::task::spawn_blocking(move || {
        crate::demo::run_console_blocks(&text, &lesson, &package, &|name| {
            executables.get(name).cloned()
        })
    })
    .await
    .unwrap_or_else(|error| vec![format!("the run could not finish: {error}")]);
    let result = if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(
            format!(
                "`cargo run` prints what the \"Run it\" block of lessons/{}/README.md shows",
                lesson_dir_name(root, &readme)
            ),
            problems.join("\n"),
            "Run `cargo run` in the crate's folder and compare with the lesson's block. If it \
             panicked, the output names the file and line: often a `todo!()` that is still to \
             be written, in src/main.rs or in the library it calls.",
        ))
    };
    reporter.record("the program prints what the lesson shows", result);
}

fn lesson_dir_name(root: &Path, readme: &Path) -> String {
    readme
        .parent()
        .and_then(|dir| dir.strip_prefix(root.join("lessons")).ok())
        .map_or_else(String::new, |dir| dir.display().to_string())
}

/// Where a panic from `todo!()` happened (`src/lib.rs:40:5`), if that is why a run failed.
fn unwritten(message: &str) -> Option<String> {
    let mut lines = message.lines();
    while let Some(line) = lines.next() {
        if let Some((_, at)) = line.split_once("panicked at ")
            && lines
                .next()
                .is_some_and(|next| next.starts_with("not yet implemented"))
        {
            let at = at.trim_end_matches(':');
            let short = at.find("/src/").map_or(at, |i| &at[i + 1..]);
            return Some(short.to_string());
        }
    }
    None
}

/// A test's name as the rule it checks: `a_deleted_code_is_never_handed_out_again` reads "a
/// deleted code is never handed out again".
pub fn rule(test: &str) -> String {
    test.replace('_', " ")
}

/// Runs every test of `tests/lesson.rs` on its own, reporting each as it ends. A test that
/// hangs is named and stopped after `limits.test`; the others still run.
///
/// `postgres`: the tests use a throwaway PostgreSQL (lesson 19). Alone in its process, each
/// test would start one of its own, half a second of `initdb` each; they share one instead
/// (`SHARED_PORT`), each still with databases of its own.
async fn run_lesson_tests(
    executable: &Path,
    target: &Target,
    limits: Limits,
    test_hints: &BTreeMap<String, String>,
    todos: &Todos,
    postgres: bool,
    reporter: &mut Reporter,
) -> anyhow::Result<()> {
    let style = reporter.style;
    let names = cargo::list_tests(executable, &target.dir).await?;
    if names.is_empty() {
        reporter.record(
            "the lesson's tests run",
            Err(Failure::new(
                "tests/lesson.rs to list its tests",
                "it listed none",
                "Run `cargo test --test lesson` in the crate's folder to see why.",
            )),
        );
        return Ok(());
    }
    progress(
        style,
        &format!(
            "running the {} tests of tests/lesson.rs, one at a time (at most {} s each)",
            names.len(),
            limits.test.as_secs()
        ),
    );
    let started = Instant::now();
    // No server here (none installed, or it would not start): each test then says so itself.
    let shared = match postgres {
        true => TestPostgres::start().await.ok().flatten(),
        false => None,
    };
    let envs: Vec<(&str, String)> = shared
        .iter()
        .map(|server| (SHARED_PORT, server.port().to_string()))
        .collect();
    // The server is stopped whatever happens to the tests: the loop's result waits for it.
    let outcome: anyhow::Result<()> = async {
        for name in &names {
            let test = cargo::run_test(executable, &target.dir, name, limits.test, &envs).await?;
            // A test a macro made (`suite::rule`) may have its hint under its module's name.
            let module = name.split_once("::").map(|(module, _)| module);
            let hint = || {
                let found = test_hints
                    .get(name)
                    .or_else(|| module.and_then(|module| test_hints.get(module)));
                found.cloned().unwrap_or_else(|| {
                    format!(
                        "Read the test `{name}` in tests/lesson.rs: its name is the rule. {}",
                        todos.hint(None)
                    )
                })
            };
            let result = match test.outcome {
                cargo::Outcome::Passed => Ok(()),
                cargo::Outcome::Failed => {
                    let message = cargo::failure_message(&test.output);
                    // A test that ran into a `todo!()` is not about that test's rule yet: say where
                    // the missing code is first.
                    let hint = || match unwritten(&message) {
                        Some(at) => format!(
                            "The test stopped at a `todo!()` in {at}: that code is not written yet. \
                             The lesson's exercises say what it must do; stuck, ask `cargo quiz \
                             hint` for a nudge."
                        ),
                        None => hint(),
                    };
                    Err(Failure::new(
                        format!("{} (tests/lesson.rs, `{name}`)", rule(name)),
                        if message.is_empty() {
                            head(&test.output, 12)
                        } else {
                            head(&message, 12)
                        },
                        hint(),
                    ))
                }
                cargo::Outcome::Hung => Err(Failure::new(
                    format!(
                        "{} (tests/lesson.rs, `{name}`), within {} s",
                        rule(name),
                        limits.test.as_secs()
                    ),
                    format!(
                        "the test was still running after {} s and was stopped: it waits for \
                         something that never comes (a reply, or the end of a stream)",
                        test.took.as_secs()
                    ),
                    hint(),
                )),
            };
            reporter.record(&format!("test {}", rule(name)), result);
        }
        Ok(())
    }
    .await;
    if let Some(server) = shared {
        // Dropping it blocks until the server has stopped: not on the runtime's thread.
        let _ = tokio::task::spawn_blocking(move || drop(server)).await;
    }
    outcome?;
    progress(
        style,
        &format!("tests ran in {:.2} s", started.elapsed().as_secs_f64()),
    );
    Ok(())
}

/// Starts the server binary, runs the RPC checks (and the client's, given its name and path)
/// against it, and stops it on every path.
pub async fn check_server(
    binary: &Path,
    name: &str,
    rpcs: &[String],
    client: Option<(&str, &Path)>,
    limits: Limits,
    todos: &Todos,
    reporter: &mut Reporter,
) {
    check_server_with(binary, name, rpcs, &[], client, limits, todos, reporter).await;
}

/// [`check_server`], plus the lesson's extra `checks` (`course.toml`), which may start the
/// server with arguments of their own.
#[allow(clippy::too_many_arguments)]
pub async fn check_server_with(
    binary: &Path,
    name: &str,
    rpcs: &[String],
    checks: &[String],
    client: Option<(&str, &Path)>,
    limits: Limits,
    todos: &Todos,
    reporter: &mut Reporter,
) {
    let errors = checks.iter().any(|check| check == "errors");
    let args: &[&str] = if errors { errors::SERVER_ARGS } else { &[] };
    let started = match server::start_with_args(binary, args, limits.server_start).await {
        Ok(server) => server,
        Err(failure) => {
            let shown: String = args.iter().map(|arg| format!(" {arg}")).collect();
            let expected = format!(
                "`{name} --addr 127.0.0.1:0{shown}` prints `LinkService listening on 127.0.0.1:PORT`"
            );
            let failure = match failure {
                server::StartFailure::Spawn(error) => Failure::new(
                    expected,
                    format!("cannot run {}: {error}", binary.display()),
                    "",
                ),
                server::StartFailure::Exited { status, log } => Failure::new(
                    expected,
                    format!("it exited ({status}) with this output:\n{}", log.text()),
                    format!(
                        "The server must keep running. If it panicked, the output above says where. {}",
                        todos.hint(None)
                    ),
                ),
                server::StartFailure::Silent { limit, log } => Failure::new(
                    expected,
                    format!(
                        "nothing within {} s (the server was stopped); its output:\n{}",
                        limit.as_secs(),
                        log.text()
                    ),
                    "Print the line once the listener is bound, before serving: \
                     `println!(\"LinkService listening on {}\", listener.local_addr()?)`.",
                ),
                server::StartFailure::BadAddress { line, log } => Failure::new(
                    expected,
                    format!("{line}\n{}", log.text()),
                    "Print the address the listener really got (`listener.local_addr()`), so that \
                     port 0 shows as the real port.",
                ),
            };
            reporter.record("the server starts and listens", Err(failure));
            return;
        }
    };
    let mut server = started;
    reporter.record("the server starts and listens", Ok(()));

    match rpc::connect(server.addr, limits.call).await {
        Err(failure) => reporter.record("the server accepts a gRPC connection", Err(failure)),
        Ok(grpc) => {
            let cx = rpc::Context {
                client: grpc,
                limit: limits.call,
                todos: todos.clone(),
                log: server.log.clone(),
            };
            rpc::run(&cx, rpcs, reporter).await;
            if let Some((client_name, path)) = client {
                let binary = client::ClientBinary {
                    path,
                    name: client_name,
                    addr: server.addr,
                    limit: limits.client_run,
                };
                client::run(&cx, binary, rpcs, reporter).await;
            }
            if errors {
                errors::run(&cx, reporter).await;
            }
            if checks.iter().any(|check| check == "deadlines") {
                deadlines::run(&cx, server.addr, reporter).await;
            }
            if checks.iter().any(|check| check == "production") {
                production::run(server.addr, limits.call, reporter).await;
            }
            if checks.iter().any(|check| check == "gateway") {
                // The gateway binary is built next to the server's: `...-server` → `...-gateway`.
                let gateway = binary.with_file_name(name.replace("-server", "-gateway"));
                gateway::run(&cx, &gateway, server.addr, limits, reporter).await;
            }
        }
    }
    if checks.iter().any(|check| check == "auth") {
        auth::run(binary, name, limits, todos, reporter).await;
    }
    if checks.iter().any(|check| check == "deadlines") {
        deadlines::shutdown(binary, limits, reporter).await;
    }
    if checks.iter().any(|check| check == "production") {
        production::run_own_servers(binary, limits, reporter).await;
    }
    if checks.iter().any(|check| check == "performance") {
        performance::run(binary, limits, reporter).await;
    }
    if checks.iter().any(|check| check == "storage") {
        storage::run(binary, limits, reporter).await;
    }
    if checks.iter().any(|check| check == "scaling") {
        scaling::run(binary, client.map(|(_, path)| path), limits, reporter).await;
    }

    if let Some(status) = server.exited() {
        reporter.record(
            "the server keeps running through the checks",
            Err(Failure::new(
                "the server still running",
                format!("it exited ({status}); its last output:\n{}", server.log.text()),
                "A panic in main or in a task that owns the server stops it: the output above says where.",
            )),
        );
    }
    server.stop().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crate_given_by_a_relative_path_is_found_from_any_folder() {
        // `cargo quiz check 17 --path solutions/17-performance`: the build runs in the crate's
        // folder, where the relative path would point nowhere.
        let target = Target::from_dir(Path::new("src/..")).expect("the quiz crate");
        assert!(target.dir.is_absolute(), "{}", target.dir.display());
        assert!(target.dir.join("Cargo.toml").is_file());
        assert_eq!(target.package, "quiz");
    }

    #[test]
    fn a_failure_reads_as_three_columns_wrapped_to_the_width() {
        let check = Check {
            name: "test get link returns the stored url".to_string(),
            result: Err(Failure::new(
                "get link returns the stored url (tests/lesson.rs, `get_link_returns_the_stored_url`)",
                "assertion failed: the link came back as https://example.com/A%20B#frag",
                "Exercise 1, `get_link` in src/server.rs: the test stores an odd URL (capitals, a \
                 space, a fragment) and expects it back unchanged.",
            )),
        };
        let shown = render_check(Style::plain().with_width(60), &check, usize::MAX);
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines[0], "FAIL test get link returns the stored url");
        assert!(lines[1].starts_with("       expected: get link"), "{shown}");
        for line in &lines {
            assert!(
                line.chars().count() <= 60 || line.trim() == "https://example.com/A%20B#frag",
                "a line is wider than 60 columns:\n{shown}"
            );
        }
        let mut continued = 0;
        for line in &lines[1..] {
            let labelled = ["expected:", "got:", "hint:"]
                .iter()
                .any(|label| line.starts_with(&format!("       {label}")));
            assert!(
                labelled || line.starts_with(&" ".repeat(17)),
                "a continued line starts under the text, not under the label:\n{shown}"
            );
            continued += usize::from(!labelled);
        }
        assert!(continued > 0, "the hint is long enough to wrap:\n{shown}");

        assert!(
            shown.contains("`get_link_returns_the_stored_url`"),
            "a code span stays whole:\n{shown}"
        );

        // A blank line in what came back stays inside the block: the report's readers (and
        // the course's tests) take a failure's block as the indented lines after its name.
        let check = Check {
            name: "the program prints what the lesson shows".to_string(),
            result: Err(Failure::new("two lines", "first\n\nsecond", "Run it.")),
        };
        let blank = render_check(Style::plain(), &check, usize::MAX);
        assert!(
            blank
                .lines()
                .skip(1)
                .all(|line| line.starts_with("       ")),
            "every line of the block is indented:\n{blank}"
        );
    }

    #[test]
    fn a_todo_in_another_function_is_named_with_its_place() {
        let message = "thread 'decode_key_reads_large_field_numbers' (7) panicked at \
                       lessons/04-serialization/src/lib.rs:40:5:\nnot yet implemented: decode_varint";
        assert_eq!(unwritten(message).as_deref(), Some("src/lib.rs:40:5"));
        let assertion = "thread 'x' (7) panicked at tests/lesson.rs:9:5:\nassertion failed";
        assert_eq!(unwritten(assertion), None);
    }
}
