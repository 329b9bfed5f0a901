//! `cargo quiz load` from the outside: bad input is exit 2 with a clear message, a server that
//! answers nothing ends the run with the status codes seen, and every server the tool starts
//! is stopped, when the run ends and when it is interrupted.
//!
//! The runs are short (`--secs 1`) and build in debug (`--debug-build`, hidden): their figures
//! mean nothing, only that the tool behaves.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The course's top folder.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("quiz/ is inside the course")
        .to_path_buf()
}

fn quiz(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_quiz"));
    command
        .arg("load")
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("SHORTENER_API_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Waits for `child` up to `limit`; a run still going then is killed and the test fails with
/// `hung`, which names the likely mistake.
fn finish(mut child: Child, limit: Duration, hung: &str) -> Output {
    let started = Instant::now();
    loop {
        match child.try_wait().expect("wait for cargo quiz load") {
            Some(_) => return child.wait_with_output().expect("its output"),
            None if started.elapsed() > limit => {
                let _ = child.kill();
                let output = child.wait_with_output().expect("its output");
                panic!(
                    "cargo quiz load was still running after {} s: {hung}\nstderr:\n{}",
                    limit.as_secs(),
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            None => thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn run(args: &[&str], limit: Duration, hung: &str) -> (Option<i32>, String, String) {
    let child = quiz(args).spawn().expect("run the quiz binary");
    let output = finish(child, limit, hung);
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Whether process `pid` is gone (or a zombie waiting to be reaped: it runs no more).
fn stopped(pid: u64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// The pids the progress lines name: `started NAME (pid N) on ADDR`.
fn started_pids(stderr: &str) -> Vec<u64> {
    stderr
        .lines()
        .filter_map(|line| line.split_once("(pid ")?.1.split_once(')')?.0.parse().ok())
        .collect()
}

#[test]
fn an_unknown_scenario_is_bad_input() {
    let (code, _, stderr) = run(
        &["--scenario", "stampede", "--addr", "127.0.0.1:1"],
        Duration::from_secs(30),
        "an unknown scenario should be refused before anything runs",
    );
    assert_eq!(code, Some(2), "exit 2 for bad input; stderr:\n{stderr}");
    assert!(
        stderr.contains("stampede") && stderr.contains("create") && stderr.contains("fill"),
        "the message names the value and the scenarios there are:\n{stderr}"
    );
}

#[test]
fn a_bad_address_is_bad_input() {
    // Nothing listens on a port that was just freed.
    let free = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let closed = free.local_addr().expect("its address").to_string();
    drop(free);
    for (addr, says) in [
        ("nonsense", "HOST:PORT"),
        ("10.1.2.3:50051", "loopback"),
        (closed.as_str(), "cannot connect"),
    ] {
        let (code, stdout, stderr) = run(
            &["--addr", addr, "--secs", "1", "--debug-build"],
            Duration::from_secs(30),
            "a bad --addr should be refused at once",
        );
        assert_eq!(
            code,
            Some(2),
            "--addr {addr}: exit 2 for bad input; stderr:\n{stderr}"
        );
        assert!(
            stderr.contains(says) && stdout.is_empty(),
            "--addr {addr}: the message says {says:?} and no report is printed:\n{stderr}"
        );
    }
}

#[test]
fn a_run_needs_a_server_to_load() {
    let (code, _, stderr) = run(&[], Duration::from_secs(30), "no server was given");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--path") && stderr.contains("--addr"),
        "the message says how to name a server:\n{stderr}"
    );
}

#[test]
fn a_server_that_does_not_answer_ends_the_run_with_the_codes_seen() {
    // A listener that takes connections and never says a word: no HTTP/2 settings, no answer.
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let addr = listener.local_addr().expect("its address").to_string();
    let (stop, stopped_rx) = mpsc::channel::<()>();
    let holder = thread::spawn(move || {
        listener.set_nonblocking(true).expect("non-blocking accept");
        let mut held = Vec::new();
        while stopped_rx.try_recv().is_err() {
            if let Ok((socket, _)) = listener.accept() {
                held.push(socket);
            }
            thread::sleep(Duration::from_millis(10));
        }
    });
    let started = Instant::now();
    let (code, stdout, stderr) = run(
        &[
            "--addr",
            &addr,
            "--secs",
            "1",
            "--warmup",
            "0",
            "--rounds",
            "1",
            "--timeout",
            "1",
            "--concurrency",
            "2",
            "--json",
            "--debug-build",
        ],
        Duration::from_secs(30),
        "every call has a deadline and the window ends: a silent server must not hold the run",
    );
    let _ = stop.send(());
    holder.join().expect("the silent listener");
    assert_eq!(
        code,
        Some(1),
        "exit 1: the run ended, with failed calls; stderr:\n{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "1 s of load plus a 1 s deadline took {:?}",
        started.elapsed()
    );
    let report: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|error| panic!("--json prints JSON ({error}):\n{stdout}"));
    let statuses = &report["servers"][0]["summary"]["statuses"];
    let codes: Vec<&str> = statuses
        .as_array()
        .expect("a list of statuses")
        .iter()
        .filter_map(|seen| seen["code"].as_str())
        .collect();
    assert!(
        !codes.is_empty() && !codes.contains(&"OK"),
        "the calls that waited for their deadline are counted by how they ended: {statuses}"
    );
    assert!(
        codes
            .iter()
            .all(|code| ["CANCELLED", "DEADLINE_EXCEEDED"].contains(code)),
        "a call whose deadline passed is CANCELLED (\"Timeout expired\", tonic's own timer) or \
         DEADLINE_EXCEEDED (the tool's): {statuses}"
    );
}

#[test]
fn a_run_against_bare_reports_both_servers_and_stops_them() {
    // Solution 12 needs an API key when given one: the calls pass only if the tool sends it.
    let (code, stdout, stderr) = run(
        &[
            "--path",
            "solutions/12-interceptors-and-metadata",
            "--against-bare",
            "--api-key",
            "load-test-key",
            "--secs",
            "1",
            "--warmup",
            "0.2",
            "--rounds",
            "2",
            "--concurrency",
            "4",
            "--json",
            "--debug-build",
        ],
        Duration::from_secs(600),
        "two rounds of 1 s on two servers (after a debug build of solution 12 and the bare server)",
    );
    let report: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|error| panic!("--json prints JSON ({error}):\n{stdout}\n{stderr}"));
    let servers = report["servers"].as_array().expect("servers");
    assert_eq!(servers.len(), 2, "ours and bare: {report}");
    for server in servers {
        let name = &server["name"];
        let statuses = &server["summary"]["statuses"];
        assert_eq!(
            statuses[0]["code"], "OK",
            "{name}: the key is sent, so calls succeed: {statuses}"
        );
        assert_eq!(
            statuses.as_array().map(Vec::len),
            Some(1),
            "{name}: {statuses}"
        );
        assert_eq!(server["rounds"].as_array().map(Vec::len), Some(2), "{name}");
        assert!(
            server["cpu_us_per_op"]["median"]
                .as_f64()
                .is_some_and(|cpu| cpu > 0.0),
            "{name}: the CPU of a server the tool started is known: {server}"
        );
        assert!(
            server["peak_rss_bytes"]
                .as_u64()
                .is_some_and(|bytes| bytes > 0),
            "{name}: and its memory"
        );
        assert!(
            server["summary"]["p99_us"].as_f64().is_some(),
            "{name}: ghz's percentiles"
        );
    }
    assert_eq!(code, Some(0), "every call succeeded; stderr:\n{stderr}");
    assert_eq!(
        report["bare_over_ours"]["per_round"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "one ratio per round: {report}"
    );
    let pids = started_pids(&stderr);
    assert_eq!(
        pids.len(),
        4,
        "two servers, two rounds, each started afresh:\n{stderr}"
    );
    let running: Vec<u64> = pids.into_iter().filter(|&pid| !stopped(pid)).collect();
    for &pid in &running {
        // SAFETY: kill(2) of a server this test made the tool start.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGKILL);
        }
    }
    assert!(
        running.is_empty(),
        "server pids {running:?} still ran after the tool exited: every server the tool starts \
         is stopped at the end of its round"
    );
}

#[test]
fn a_sync_stream_lives_as_long_as_the_window() {
    // Solution 13 ends a SyncClicks stream when its deadline passes. The streams last the
    // warm-up and the window (2 s here), longer than one call's deadline (1 s): their deadline
    // must be the stream's life, or the server cuts them mid-window.
    let (code, stdout, stderr) = run(
        &[
            "--path",
            "solutions/13-deadlines-and-cancellation",
            "--scenario",
            "sync",
            "--secs",
            "1.5",
            "--warmup",
            "0.5",
            "--timeout",
            "1",
            "--rounds",
            "1",
            "--json",
            "--debug-build",
        ],
        Duration::from_secs(600),
        "a sync run of 2 s (after a debug build of solution 13)",
    );
    let report: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|error| panic!("--json prints JSON ({error}):\n{stdout}\n{stderr}"));
    let statuses = &report["servers"][0]["summary"]["statuses"];
    assert_eq!(
        statuses.as_array().map(Vec::len),
        Some(1),
        "every stream ends OK at the window's end, none cut by its deadline: {statuses}"
    );
    assert_eq!(statuses[0]["code"], "OK", "{statuses}");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        report["servers"][0]["summary"]["ops"]
            .as_u64()
            .is_some_and(|ops| ops > 0),
        "clicks were answered: {report}"
    );
}

#[test]
fn an_interrupted_run_stops_its_servers() {
    let mut child = quiz(&[
        "--path",
        "solutions/07-unary-server",
        "--secs",
        "60",
        "--rounds",
        "1",
        "--debug-build",
    ])
    .spawn()
    .expect("run the quiz binary");
    let stderr = child.stderr.take().expect("stderr");
    let (lines, arrived) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    // Wait (the first time: for the debug build of solution 07) until the server is started.
    let mut seen = String::new();
    let pid = loop {
        match arrived.recv_timeout(Duration::from_secs(600)) {
            Ok(line) => {
                seen.push_str(&line);
                seen.push('\n');
                if let Some(&pid) = started_pids(&line).first() {
                    break pid;
                }
            }
            Err(_) => {
                let _ = child.kill();
                panic!("no `started ... (pid N)` line from cargo quiz load:\n{seen}");
            }
        }
    };
    thread::sleep(Duration::from_millis(500));
    assert!(!stopped(pid), "the server runs during the load");
    // SAFETY: kill(2) with the pid of our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let output = finish(
        child,
        Duration::from_secs(20),
        "SIGINT should stop the run and the servers at once",
    );
    let mut rest = seen;
    while let Ok(line) = arrived.recv_timeout(Duration::from_secs(1)) {
        rest.push_str(&line);
        rest.push('\n');
    }
    // The kill is sent as the run is dropped; give the kernel a moment to take the process.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !stopped(pid) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    let still_running = !stopped(pid);
    if still_running {
        // SAFETY: kill(2) of the server this test made the tool start.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGKILL);
        }
    }
    assert!(
        !still_running,
        "server pid {pid} still ran after the interrupted tool exited: a server the tool \
         starts must die with the run (the tool catches SIGINT and drops the run)"
    );
    assert_eq!(output.status.code(), Some(1), "{rest}");
    assert!(
        rest.contains("SIGINT"),
        "the tool says why it stopped:\n{rest}"
    );
}
