//! A learner's server that never gets going is reported, with its last output, within the time
//! limit, and is stopped. The "servers" here are small shell scripts.

#![cfg(unix)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quiz::check::{self, Limits, Reporter, Todos};
use quiz::style::Style;

/// Where the report goes, to read it afterwards.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

fn script(name: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("quiz-servers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write the script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

fn limits() -> Limits {
    Limits {
        server_start: Duration::from_secs(2),
        call: Duration::from_secs(1),
        client_run: Duration::from_secs(2),
        ..Limits::default()
    }
}

/// Runs the server checks against `binary` and returns the report and how long it took.
async fn check(binary: &Path, rpcs: &[&str]) -> (Reporter, String, Duration) {
    let captured = Captured::default();
    let mut reporter = Reporter::new(Box::new(captured.clone()), Style::plain());
    let rpcs: Vec<String> = rpcs.iter().map(|rpc| rpc.to_string()).collect();
    let started = Instant::now();
    check::check_server(
        binary,
        "lesson-07-server",
        &rpcs,
        None,
        limits(),
        &Todos::default(),
        &mut reporter,
    )
    .await;
    let took = started.elapsed();
    let report = captured.text();
    eprintln!("{report}");
    (reporter, report, took)
}

#[tokio::test]
async fn a_server_that_exits_at_once_is_reported_with_its_output() {
    let binary = script(
        "exits",
        "echo 'starting up'\necho 'Error: address in use' >&2\nexit 3",
    );
    let (reporter, report, took) = check(&binary, &["CreateLink"]).await;
    assert!(!reporter.passed(), "{report}");
    assert!(
        report.contains("FAIL the server starts and listens"),
        "{report}"
    );
    assert!(report.contains("exit status: 3"), "{report}");
    assert!(
        report.contains("Error: address in use"),
        "its last output is shown: {report}"
    );
    assert!(
        took < Duration::from_secs(2),
        "reported at once, took {took:?}"
    );
}

#[tokio::test]
async fn a_server_that_never_listens_is_stopped_at_the_time_limit() {
    let binary = script("silent", "echo 'loading...'\nexec sleep 60");
    let (reporter, report, took) = check(&binary, &["CreateLink"]).await;
    assert!(!reporter.passed(), "{report}");
    assert!(report.contains("nothing within 2 s"), "{report}");
    assert!(report.contains("loading..."), "{report}");
    assert!(
        took < Duration::from_secs(6),
        "stopped at the limit, took {took:?}"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_fails_its_checks_within_the_time_limit() {
    // A port that accepts connections (the kernel queues them) but where nobody speaks HTTP/2.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let binary = script(
        "mute",
        &format!("echo 'LinkService listening on 127.0.0.1:{port}'\nexec sleep 60"),
    );
    let (reporter, report, took) = check(&binary, &["CreateLink", "GetLink"]).await;
    assert!(
        report.contains("  ok the server starts and listens"),
        "{report}"
    );
    assert!(!reporter.passed(), "{report}");
    assert!(report.contains("FAIL"), "{report}");
    assert!(
        took < Duration::from_secs(20),
        "every call has a time limit, took {took:?}"
    );
    drop(listener);
}
