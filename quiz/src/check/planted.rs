//! Lesson 14's check: the learner's own tests (`tests/service.rs`) against the real service and
//! against planted bugs.
//!
//! The lesson's service has a few bugs built in, each off unless the environment variable
//! `SHORTENER_PLANTED_BUG` names it. The test executable is built once, run once with no bug
//! (every test must pass), and then once per bug (at least one test must fail). Each run has a
//! time limit, and its whole process group is killed when it ends.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;

use super::{Failure, Reporter, Target, head};

/// The variable the lesson's `src/planted.rs` reads.
pub const VAR: &str = "SHORTENER_PLANTED_BUG";

/// The test target the learner writes: `tests/service.rs`.
const TEST_TARGET: &str = "service";

/// How long one run of the learner's tests may take.
const RUN_LIMIT: Duration = Duration::from_secs(90);

/// One planted bug: its name (the variable's value), what it breaks, and what a test that
/// catches it does.
pub struct Bug {
    pub name: &'static str,
    pub breaks: &'static str,
    pub hint: &'static str,
}

/// Every bug the lesson plants, in the order they are tried.
pub const BUGS: &[Bug] = &[
    Bug {
        name: "reused-code",
        breaks: "a deleted link's short code is handed out again",
        hint: "Make the server draw the same code twice (`LinkServer::with_codes`), create a link, \
               delete it, create another: the new link must not get the old code.",
    },
    Bug {
        name: "unordered-list",
        breaks: "ListLinks streams the links out of creation order",
        hint: "Create several links, read the whole ListLinks stream, and compare the ids with \
               the order you created them in.",
    },
    Bug {
        name: "partial-batch",
        breaks: "a batch stores its good URLs as they arrive, even when a later one is bad",
        hint: "Send a batch with good URLs before a bad one: the call fails, and then ListLinks \
               must show that nothing was stored.",
    },
    Bug {
        name: "negative-clicks",
        breaks: "SyncClicks accepts a negative count",
        hint: "On one SyncClicks stream, send a positive count and then a negative one: the \
               second answer must not be acknowledged, and the total must not go down.",
    },
    Bug {
        name: "internal-not-found",
        breaks: "an unknown short code is answered with INTERNAL instead of NOT_FOUND",
        hint: "Call GetLink (or DeleteLink) with a code nobody created and assert the status \
               code itself, not only that the call failed.",
    },
    Bug {
        name: "open-door",
        breaks: "the server lets calls through without the right API key",
        hint: "Start a server with a key (the `TestServer` fixture takes one) and call it with no \
               key and with a wrong key: both must be UNAUTHENTICATED.",
    },
    Bug {
        name: "no-details",
        breaks: "a bad URL is refused without the google.rpc.BadRequest details",
        hint: "Send CreateLink a bad URL and read the details back (tonic-types' \
               `StatusExt::get_details_bad_request`): one field violation, for `url`.",
    },
    Bug {
        name: "deadline-ignored",
        breaks: "ListLinks keeps streaming after the call's deadline has passed",
        hint: "Pause time (`#[tokio::test(start_paused = true)]`), call `list_links` with a \
               `grpc-timeout` and more links than the channel holds, wait past the deadline \
               before reading: the stream must end with DEADLINE_EXCEEDED.",
    },
];

/// How one run of the learner's tests went.
struct Run {
    passed: bool,
    hung: bool,
    output: String,
}

/// Builds `tests/service.rs`, runs it with no bug and with each bug, and records a check for each.
pub async fn run(root: &Path, target: &Target, reporter: &mut Reporter) -> anyhow::Result<()> {
    if !target.dir.join("tests").join("service.rs").is_file() {
        reporter.record(
            "your tests exist",
            Err(Failure::new(
                "your tests in tests/service.rs",
                "there is no tests/service.rs",
                "The lesson's exercises are tests: write them in tests/service.rs.",
            )),
        );
        return Ok(());
    }
    let executable = match build(root, target).await? {
        Ok(executable) => executable,
        Err(failure) => {
            reporter.record("your tests build", Err(failure));
            return Ok(());
        }
    };

    let clean = run_tests(&executable, &target.dir, None).await?;
    if !clean.passed {
        let got = if clean.hung {
            format!(
                "the tests were still running after {} s",
                RUN_LIMIT.as_secs()
            )
        } else {
            failed_tests(&clean.output)
        };
        reporter.record(
            "your tests pass against the real service",
            Err(Failure::new(
                "every test of tests/service.rs passes (the service has no planted bug)",
                got,
                format!(
                    "A test that fails against the real service tests the wrong rule, or is not \
                     written yet (`todo!()`). Run `cargo test -p {} --test service`.",
                    target.package
                ),
            )),
        );
        return Ok(());
    }
    reporter.record("your tests pass against the real service", Ok(()));

    for bug in BUGS {
        let planted = run_tests(&executable, &target.dir, Some(bug.name)).await?;
        let result = if planted.passed {
            Err(Failure::new(
                format!("a test that fails when {}", bug.breaks),
                "every test passed",
                bug.hint,
            ))
        } else {
            Ok(())
        };
        reporter.record(&format!("your tests catch: {}", bug.breaks), result);
    }
    Ok(())
}

/// `cargo test -p PACKAGE --test service --no-run`: the test executable, or why it did not build.
async fn build(root: &Path, target: &Target) -> anyhow::Result<Result<PathBuf, Failure>> {
    let output = tokio::process::Command::new(super::cargo::cargo())
        .current_dir(root)
        .args(["test", "--message-format=json", "--no-run", "-p"])
        .arg(&target.package)
        .args(["--test", TEST_TARGET])
        .env("CARGO_TERM_COLOR", "never")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .context("cannot run cargo")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut executable = None;
    let mut errors = Vec::new();
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        match message["reason"].as_str() {
            Some("compiler-artifact") if message["target"]["name"] == TEST_TARGET => {
                executable = message["executable"].as_str().map(PathBuf::from);
            }
            Some("compiler-message") if message["message"]["level"] == "error" => {
                if let Some(rendered) = message["message"]["rendered"].as_str() {
                    errors.push(rendered.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(match executable {
        Some(executable) if output.status.success() => Ok(executable),
        _ => Err(Failure::new(
            "tests/service.rs compiles",
            if errors.is_empty() {
                head(&String::from_utf8_lossy(&output.stderr), 20)
            } else {
                head(&errors.join("\n"), 20)
            },
            format!(
                "Run `cargo test -p {} --test service` and fix the first error.",
                target.package
            ),
        )),
    })
}

/// Runs every test of the executable, with `bug` planted, stopped after [`RUN_LIMIT`].
async fn run_tests(executable: &Path, dir: &Path, bug: Option<&str>) -> anyhow::Result<Run> {
    let mut command = tokio::process::Command::new(executable);
    command
        .args(["--color", "never"])
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0")
        .env_remove(VAR)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(bug) = bug {
        command.env(VAR, bug);
    }
    let child = command
        .spawn()
        .with_context(|| format!("cannot run {}", executable.display()))?;
    let group = child.id();
    let result = tokio::time::timeout(RUN_LIMIT, child.wait_with_output()).await;
    // Whatever happened, nothing the tests started may outlive them.
    if let Some(group) = group.and_then(|group| i32::try_from(group).ok()) {
        // SAFETY: kill(2) takes plain integers and touches no memory of ours; a negative pid
        // names the process group that `process_group(0)` made for this run alone.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
    }
    Ok(match result {
        Ok(output) => {
            let output = output?;
            Run {
                passed: output.status.success(),
                hung: false,
                output: format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ),
            }
        }
        Err(_) => Run {
            passed: false,
            hung: true,
            output: String::new(),
        },
    })
}

/// The names of the tests that failed, from libtest's output, with the first panic message.
fn failed_tests(output: &str) -> String {
    let failed: Vec<&str> = output
        .lines()
        .filter_map(|line| line.strip_prefix("test "))
        .filter_map(|line| line.strip_suffix(" ... FAILED"))
        .collect();
    let message = super::cargo::failure_message(output);
    if failed.is_empty() {
        return head(output, 12);
    }
    format!(
        "these tests failed: {}\n{}",
        failed.join(", "),
        head(&message, 8)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_tests_are_named() {
        let output = "test a ... ok\ntest b_c ... FAILED\ntest d ... FAILED\n";
        assert!(failed_tests(output).starts_with("these tests failed: b_c, d"));
    }

    #[test]
    fn every_bug_has_a_unique_name() {
        let mut names: Vec<&str> = BUGS.iter().map(|bug| bug.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), BUGS.len());
    }
}
