//! Building the learner's crate and running its lesson tests with cargo, and explaining the
//! compile errors a learner of this course meets most.

use anyhow::Context as _;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use super::{Failure, Target, tail};

/// The cargo that runs us (cargo sets `CARGO` for `cargo run` and `cargo test`), else `cargo`.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// A cargo command that builds as the learner's own `cargo` would. `cargo run -p quiz` gives
/// this process the package's variables (`CARGO_PKG_NAME=quiz`, `CARGO_MANIFEST_DIR`...); a
/// build script that reruns when one of them changes (ring's does, through cc) would see them
/// and rebuild, here and again at the learner's next `cargo test`. So they are removed.
pub fn cargo_command() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(cargo());
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let set_by_cargo_run = name.starts_with("CARGO_PKG_")
            || matches!(
                name.as_ref(),
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_MANIFEST_LINKS"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
            );
        if set_by_cargo_run {
            command.env_remove(name.as_ref());
        }
    }
    command
}

fn command(dir: &Path) -> tokio::process::Command {
    let mut command = cargo_command();
    command
        .current_dir(dir)
        .env("CARGO_TERM_COLOR", "never")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// One compile error, as cargo's JSON messages give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// The error code, such as `E0046`.
    pub code: Option<String>,
    /// The one-line message.
    pub message: String,
    /// The whole error as rustc prints it.
    pub rendered: String,
}

/// What `cargo build` said.
#[derive(Debug, Default)]
pub struct Build {
    pub success: bool,
    pub errors: Vec<CompileError>,
    /// Binaries built, by name.
    pub executables: HashMap<String, PathBuf>,
    /// The test executable of `tests/lesson.rs`, when it was built.
    pub lesson_tests: Option<PathBuf>,
    /// Cargo's own output (build script failures land here).
    pub stderr: String,
}

/// Reads cargo's `--message-format=json` lines.
pub fn parse_build_messages(stdout: &str) -> Build {
    let mut build = Build::default();
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        match message["reason"].as_str() {
            Some("compiler-message") if message["message"]["level"] == "error" => {
                let inner = &message["message"];
                build.errors.push(CompileError {
                    code: inner["code"]["code"].as_str().map(str::to_string),
                    message: inner["message"].as_str().unwrap_or_default().to_string(),
                    rendered: inner["rendered"].as_str().unwrap_or_default().to_string(),
                });
            }
            Some("compiler-artifact")
                if message["target"]["kind"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|kind| kind == "test"))
                    && message["target"]["name"] == "lesson" =>
            {
                build.lesson_tests = message["executable"].as_str().map(PathBuf::from);
            }
            Some("compiler-artifact") => {
                let is_bin = message["target"]["kind"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|kind| kind == "bin"));
                if let (true, Some(name), Some(executable)) = (
                    is_bin,
                    message["target"]["name"].as_str(),
                    message["executable"].as_str(),
                ) {
                    build
                        .executables
                        .insert(name.to_string(), PathBuf::from(executable));
                }
            }
            Some("build-finished") => build.success = message["success"] == true,
            _ => {}
        }
    }
    build
}

/// `cargo build --bins [--test lesson]` of the crate in `target.dir`, as cargo run in that
/// folder builds it: in the course's workspace for the course's crates, in its own workspace
/// for a crate elsewhere (`--path DIR`), never a crate of the same name somewhere else.
pub async fn build(target: &Target, limit: Duration) -> anyhow::Result<Build> {
    let manifest = target.dir.join("Cargo.toml");
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("--manifest-path"),
        manifest.as_os_str(),
        OsStr::new("--bins"),
    ];
    if target.has_lesson_tests() {
        args.extend([OsStr::new("--test"), OsStr::new("lesson")]);
    }
    build_with(&target.dir, &args, limit).await
}

/// `cargo build --message-format=json ARGS...`, stopped after `limit`.
pub async fn build_with(
    root: &Path,
    args: &[impl AsRef<OsStr>],
    limit: Duration,
) -> anyhow::Result<Build> {
    let mut command = command(root);
    command
        .args(["build", "--message-format=json"])
        .args(args.iter().map(AsRef::as_ref));
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().context("cannot run cargo")?;
    let stdout = child.stdout.take().context("cargo's stdout")?;
    let mut stderr = child.stderr.take().context("cargo's stderr")?;
    let errors = tokio::spawn(async move {
        let mut text = String::new();
        let _ = tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut text).await;
        text
    });
    // cargo's JSON lines, read as they come, so that a long first build shows its progress.
    let read = async {
        let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
        let (mut all, mut compiled) = (String::new(), 0usize);
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("\"compiler-artifact\"") && line.contains("\"fresh\":false") {
                compiled += 1;
                if compiled % 20 == 0 {
                    eprintln!("==>   ... {compiled} crates compiled so far");
                }
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    };
    let Ok(stdout) = tokio::time::timeout(limit, read).await else {
        return Ok(Build {
            stderr: format!(
                "cargo build took longer than {} s and was stopped",
                limit.as_secs()
            ),
            ..Build::default()
        });
    };
    let status = child.wait().await.context("wait for cargo")?;
    let mut build = parse_build_messages(&stdout);
    build.stderr = errors.await.unwrap_or_default();
    build.success &= status.success();
    Ok(build)
}

/// The first words in backquotes of a compiler message: `x` in "missing: `x`".
fn quoted(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

/// An RPC's proto name from its method name: `list_links` is `ListLinks`.
pub fn rpc_name(method: &str) -> String {
    method
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// The method name of an RPC: `ListLinks` is `list_links`.
pub fn method_name(rpc: &str) -> String {
    let mut out = String::new();
    for (index, c) in rpc.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if index > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// What a compile error means for a learner of this course, when it is one of the usual ones.
pub fn explain(error: &CompileError) -> Option<String> {
    let message = error.message.as_str();
    let name = quoted(message).unwrap_or("?");
    let explained = match error.code.as_deref() {
        Some("E0046") if name.ends_with("Stream") => format!(
            "Your `impl LinkService` lacks `type {name}`. A server-streaming or bidirectional RPC \
             returns a stream, and the generated trait asks you to name its type: add \
             `type {name} = ...;` to the impl (the lesson shows one)."
        ),
        Some("E0046") => {
            let missing = message.rsplit("missing: ").next().unwrap_or(name);
            format!(
                "Your `impl LinkService` lacks {missing}. Every `rpc` in the proto becomes a \
                 method of the generated `LinkService` trait, and an impl must have them all: add \
                 `async fn {name}(...)` with the signature from the generated trait (or remove the \
                 `rpc {}` from the proto if it is not part of this lesson).",
                rpc_name(name)
            )
        }
        Some("E0407") if message.contains("LinkService") => format!(
            "You wrote `{name}`, but the generated `LinkService` trait has no such method: is \
             `rpc {}` declared in proto/link.proto (with that exact spelling)? The trait only has \
             methods for the RPCs in the proto.",
            rpc_name(name)
        ),
        Some("E0599") if message.contains("LinkServiceClient") => format!(
            "The generated client has no `{name}`: the proto has no `rpc {}` yet. Add it to \
             proto/link.proto; the client and server trait are generated from it.",
            rpc_name(name)
        ),
        Some("E0412" | "E0422" | "E0425" | "E0432" | "E0433") => format!(
            "`{name}` does not exist. If it is a message or service of the proto, declare it in \
             proto/link.proto (spelled the same: a message `Foo` becomes the struct `Foo`, a field \
             `short_code` stays `short_code`) and check what your `include_proto!` brings in."
        ),
        Some("E0050" | "E0053") => format!(
            "`{name}` does not match the generated trait's signature. Copy it from the generated \
             code: a streaming request is `Request<Streaming<T>>`, a streaming response is \
             `Response<Self::XStream>`, and every method is `async fn` under `#[tonic::async_trait]`."
        ),
        Some("E0560" | "E0609" | "E0026" | "E0063") => format!(
            "A field does not match the generated struct ({message}). Fields come from the proto: \
             compare the names there with the ones you use."
        ),
        _ => return None,
    };
    Some(explained)
}

/// The failure of a build: the errors explained, or cargo's own words when there are none.
pub fn build_failure(build: &Build, package: &str) -> Failure {
    if build.stderr.contains("did not match any packages") {
        return Failure {
            expected: format!("a workspace member named {package}"),
            got: tail(&build.stderr, 5),
            hint: "The crate must be a member of the course's workspace (see `members` in the top \
                   Cargo.toml)."
                .to_string(),
        };
    }
    if build.errors.is_empty() {
        let hint = if build.stderr.contains("failed to find a workspace root")
            || build
                .stderr
                .contains("believes it's in a workspace when it's not")
        {
            "The crate takes its versions from a workspace (`workspace = true` in its \
             Cargo.toml), and cargo finds none above its folder. Check the course's crates in \
             place, or put a copy in a workspace of its own (a Cargo.toml with [workspace] and \
             the course's [workspace.dependencies] in the folder above it)."
        } else if build.stderr.contains("failed to run custom build command") {
            "The build script failed: usually the .proto file does not parse. Read protox's \
             message above (file:line:column), fix the proto, and run the check again."
        } else {
            "Run `cargo build` in the crate's folder to see the whole output."
        };
        return Failure {
            expected: "the crate builds".to_string(),
            got: tail(&build.stderr, 25),
            hint: hint.to_string(),
        };
    }
    let mut got = String::new();
    let mut hints = Vec::new();
    for error in build.errors.iter().take(3) {
        got.push_str(&tail_head(&error.rendered, 20));
        got.push('\n');
        if let Some(explained) = explain(error)
            && !hints.contains(&explained)
        {
            hints.push(explained);
        }
    }
    if build.errors.len() > 3 {
        got.push_str(&format!("... and {} more errors\n", build.errors.len() - 3));
    }
    if hints.is_empty() {
        hints.push("Fix the first error first: the others often follow from it.".to_string());
    }
    Failure {
        expected: "the crate builds".to_string(),
        got: got.trim_end().to_string(),
        hint: hints.join("\n"),
    }
}

/// The first `lines` lines of `text`.
fn tail_head(text: &str, lines: usize) -> String {
    let mut out: String = text.lines().take(lines).map(|l| format!("{l}\n")).collect();
    if text.lines().count() > lines {
        out.push_str("...\n");
    }
    out
}

/// One test of `tests/lesson.rs` and how it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    pub name: String,
    pub outcome: Outcome,
    /// What the test printed (its panic message, when it failed).
    pub output: String,
    pub took: Duration,
}

/// How one test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    /// Still running at the per-test limit: it was stopped, with everything it started.
    Hung,
}

/// The names of the tests in a libtest executable (`--list --format terse`).
pub fn parse_test_list(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_string)
        .collect()
}

/// The part of a failed test's output that says why: from the panic on, without libtest's own
/// lines.
pub fn failure_message(output: &str) -> String {
    let from = output.find("panicked at").map_or(0, |at| {
        output[..at]
            .rfind('\n')
            .map_or(0, |line_start| line_start + 1)
    });
    output[from..]
        .lines()
        .filter(|line| {
            !line.starts_with("note: run with `RUST_BACKTRACE")
                && !line.starts_with("test result:")
                && !line.starts_with("failures:")
                && !line.starts_with("running ")
                && !line.starts_with("error: test failed")
                && !line.starts_with("    ")
                && !(line.starts_with("test ") && line.ends_with(" ... FAILED"))
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// Lists the tests of a test executable.
pub async fn list_tests(executable: &Path, dir: &Path) -> anyhow::Result<Vec<String>> {
    let output = tokio::process::Command::new(executable)
        .args(["--list", "--format", "terse"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("cannot run {}", executable.display()))?;
    Ok(parse_test_list(&String::from_utf8_lossy(&output.stdout)))
}

/// Runs one test of a test executable, in a process group of its own, with `envs` added to its
/// environment. A test still running after `limit` is stopped with everything it started (the
/// whole group is killed).
pub async fn run_test(
    executable: &Path,
    dir: &Path,
    name: &str,
    limit: Duration,
    envs: &[(&str, String)],
) -> anyhow::Result<TestResult> {
    let started = std::time::Instant::now();
    let mut command = tokio::process::Command::new(executable);
    command
        .args([name, "--exact", "--test-threads", "1", "--color", "never"])
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0")
        .envs(envs.iter().map(|(key, value)| (key, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let (child, group) = super::group::spawn(&mut command)
        .with_context(|| format!("cannot run {}", executable.display()))?;
    let result = tokio::time::timeout(limit, child.wait_with_output()).await;
    // Whatever happened, nothing the test started may outlive it.
    drop(group);
    let (outcome, output) = match result {
        Ok(output) => {
            let output = output?;
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            let outcome = if output.status.success() {
                Outcome::Passed
            } else {
                Outcome::Failed
            };
            (outcome, text)
        }
        Err(_) => (Outcome::Hung, String::new()),
    };
    Ok(TestResult {
        name: name.to_string(),
        outcome,
        output,
        took: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: &str, message: &str) -> CompileError {
        CompileError {
            code: Some(code.to_string()),
            message: message.to_string(),
            rendered: String::new(),
        }
    }

    #[test]
    fn usual_compile_errors_are_explained() {
        let missing = explain(&error(
            "E0046",
            "not all trait items implemented, missing: `list_links`",
        ))
        .expect("explained");
        assert!(missing.contains("async fn list_links"), "{missing}");
        assert!(missing.contains("rpc ListLinks"), "{missing}");

        let stream = explain(&error(
            "E0046",
            "not all trait items implemented, missing: `ListLinksStream`",
        ))
        .expect("explained");
        assert!(stream.contains("type ListLinksStream"), "{stream}");

        let not_in_proto = explain(&error(
            "E0407",
            "method `batch_create_links` is not a member of trait `LinkService`",
        ))
        .expect("explained");
        assert!(
            not_in_proto.contains("rpc BatchCreateLinks"),
            "{not_in_proto}"
        );

        assert_eq!(explain(&error("E0308", "mismatched types")), None);
    }

    #[test]
    fn names_convert_between_proto_and_rust() {
        assert_eq!(rpc_name("batch_create_links"), "BatchCreateLinks");
        assert_eq!(method_name("SyncClicks"), "sync_clicks");
    }

    #[test]
    fn test_lists_and_failures_are_read() {
        let list = "an_empty_batch_creates_nothing: test\na_batch_of_three: test\n\n2 tests, 0 benchmarks\n";
        assert_eq!(
            parse_test_list(list),
            vec!["an_empty_batch_creates_nothing", "a_batch_of_three"]
        );
        let output = "\nrunning 1 test\ntest a_batch_of_three ... FAILED\n\nfailures:\n\n---- a_batch_of_three stdout ----\n\n\
            thread 'a_batch_of_three' panicked at tests/lesson.rs:40:10:\nBatchCreateLinks should succeed\n\
            note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\n\nfailures:\n    a_batch_of_three\n\ntest result: FAILED. 0 passed; 1 failed\n";
        assert_eq!(
            failure_message(output),
            "thread 'a_batch_of_three' panicked at tests/lesson.rs:40:10:\nBatchCreateLinks should succeed"
        );
    }

    #[test]
    fn build_messages_give_errors_and_binaries() {
        let stdout = r#"{"reason":"compiler-message","message":{"level":"error","code":{"code":"E0046"},"message":"not all trait items implemented, missing: `get_link`","rendered":"error[E0046]: ..."}}
{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"lesson-07-server"},"executable":"/t/debug/lesson-07-server"}
{"reason":"build-finished","success":false}"#;
        let build = parse_build_messages(stdout);
        assert!(!build.success);
        assert_eq!(build.errors[0].code.as_deref(), Some("E0046"));
        assert_eq!(
            build.executables["lesson-07-server"],
            PathBuf::from("/t/debug/lesson-07-server")
        );
    }
}
