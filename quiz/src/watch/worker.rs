//! One run of the check, in a process of its own: `cargo quiz watch NN --path DIR --worker`.
//!
//! The watch starts the worker as the leader of a new process group, so that cargo, rustc,
//! the learner's server and client, and everything else the check starts share its group;
//! the test executables get groups of their own (`check::group`). The worker reports each
//! check on stdout as a JSON line ([`Report`]) and its progress on stderr.
//!
//! To stop a run, the watch closes the worker's stdin. The worker then kills the test groups
//! it has made and its own group, itself included. The same happens when the watch dies, in
//! any way (a panic, a signal, SIGKILL): its end of the pipe closes with it. The watch then
//! kills the worker's group once more, in case the worker could not, before it reaps it.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::check::{self, Check, Limits, Reporter, Target};
use crate::manifest::{Course, Lesson};
use crate::style::Style;

/// The variable that numbers the runs of one watch (1, 2, ...): every process of a run
/// inherits it, so a run's processes can be told from the next run's.
pub const RUN_VAR: &str = "QUIZ_WATCH_RUN";

/// How long a stopped worker gets to kill what it started before its group is killed for it.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// One line of the worker's stdout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Report {
    /// A check ended.
    Check(Check),
    /// The check could not run to its end (cargo missing, say).
    Error(String),
    /// Every check ran.
    Finished,
}

fn send(report: &Report) {
    let mut stdout = std::io::stdout().lock();
    if let Ok(line) = serde_json::to_string(report) {
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    }
}

/// Kills every process this run started, and the worker with them.
fn stop_everything() -> ! {
    // Held until the end: no new test group can start while the groups are killed.
    let _groups = check::group::kill_all();
    // SAFETY: getpgrp, getpid and kill take and return plain integers. kill(0, ...) signals
    // the caller's own process group, which is the run's only when the worker leads it (the
    // watch starts it so); started any other way, the worker only exits.
    unsafe {
        if libc::getpgrp() == libc::getpid() {
            libc::kill(0, libc::SIGKILL);
        }
    }
    std::process::exit(3);
}

/// The worker's side: runs the check of `dir` once, reporting on stdout, until it ends or its
/// stdin closes.
pub fn work(course: &Course, lesson: &Lesson, dir: &Path) -> anyhow::Result<()> {
    std::thread::spawn(|| {
        // The watch never writes: the read ends when the watch closes the pipe, or dies.
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        stop_everything();
    });
    let target = Target::from_dir(dir)?;
    let quiz = crate::cli::load_quiz(course, lesson)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut reporter = Reporter::new(Box::new(std::io::sink()), Style::plain())
        .with_listener(Box::new(|check| send(&Report::Check(check.clone()))));
    let result = runtime.block_on(check::run(
        course.root(),
        lesson,
        &target,
        Limits::default(),
        &quiz.tests,
        &mut reporter,
    ));
    match result {
        Ok(()) => send(&Report::Finished),
        Err(error) => send(&Report::Error(format!("{error:#}"))),
    }
    Ok(())
}

/// What a run tells the watch.
#[derive(Debug)]
pub enum Message {
    Report(Report),
    /// A line of the worker's stderr: the check's progress (`==> building ...`).
    Status(String),
    /// The worker's stdout closed: it has exited.
    Ended,
}

/// A worker running, seen from the watch. Dropping it stops the run.
pub struct Run {
    child: Child,
    /// Closing it tells the worker to stop.
    stdin: Option<ChildStdin>,
    /// Disconnected once the worker's stdout has closed.
    ended: mpsc::Receiver<()>,
}

impl Run {
    /// Starts run `number` of the check of `dir`; what it reports goes to `tell` (until that
    /// returns false: the watch is gone).
    pub fn start(
        number: u64,
        course_root: &Path,
        lesson: &Lesson,
        dir: &Path,
        tell: impl Fn(Message) -> bool + Clone + Send + 'static,
    ) -> anyhow::Result<Run> {
        let exe = std::env::current_exe().context("cannot find the quiz binary to run")?;
        let mut child = Command::new(exe)
            .args(["watch", &lesson.number, "--worker", "--path"])
            .arg(dir)
            .env("QUIZ_COURSE_ROOT", course_root)
            .env(RUN_VAR, number.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .context("cannot start the check")?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().context("the check's stdout")?;
        let stderr = child.stderr.take().context("the check's stderr")?;
        let (ended_tx, ended) = mpsc::channel::<()>();
        let tell_reports = tell.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let message = match serde_json::from_str::<Report>(&line) {
                    Ok(report) => Message::Report(report),
                    Err(_) => Message::Status(line),
                };
                if !tell_reports(message) {
                    break;
                }
            }
            let _ = tell_reports(Message::Ended);
            drop(ended_tx);
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !tell(Message::Status(line)) {
                    break;
                }
            }
        });
        Ok(Run {
            child,
            stdin,
            ended,
        })
    }

    /// The worker's process group (its pid).
    fn group(&self) -> Option<i32> {
        i32::try_from(self.child.id()).ok()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.ended.recv_timeout(STOP_GRACE);
        if let Some(group) = self.group() {
            // SAFETY: kill(2) with plain integers. The worker is not reaped yet (a zombie at
            // worst), so its pid, the group's id, cannot have been given to another process.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
        }
        let _ = self.child.wait();
    }
}

/// The crate folder a worker checks, as the watch passes it.
pub fn absolute(dir: &Path) -> PathBuf {
    dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
}
