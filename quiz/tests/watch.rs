//! `cargo quiz watch 07` as a learner uses it, in a pseudo-terminal: the failing first screen
//! on the untouched starter; a save during a run that stops the run with every process it
//! started (a test's own process group included); a fix that makes the rerun pass; `q`; and
//! after it no process left behind and the terminal's settings as they were.
//!
//! It works on a copy of lesson 07's crate, in a workspace of its own under `target/tmp/`
//! (`lessons/` is never touched), built with the course's `target/` as cargo's build folder,
//! so only the copy itself is compiled. It takes about a minute, and finds the processes a run
//! left through `/proc`: `.ci/run` runs it with
//! `cargo test -p quiz --test watch -- --ignored`.

#![cfg(target_os = "linux")]

use std::collections::BTreeMap;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quiz::manifest::{Course, Side};

/// The variable every process of one run inherits, with the run's number (quiz's
/// `watch::worker::RUN_VAR`).
const RUN_VAR: &str = quiz::watch::worker::RUN_VAR;

/// The test appended to the copy's tests/lesson.rs to keep a run busy: it starts a child (in
/// the test's own process group, outside the checker's) and waits.
const WAITING_TEST: &str = r#"
#[test]
fn zz_waits_for_the_next_save() {
    // Written by quiz/tests/watch.rs: a run stopped by a save must take this child with it.
    let _child = std::process::Command::new("sleep")
        .arg("299")
        .spawn()
        .expect("start sleep");
    std::thread::sleep(std::time::Duration::from_secs(299));
}
"#;

/// The copy of lesson 07 in a workspace of its own; removed when dropped.
struct Copy {
    workspace: PathBuf,
    krate: PathBuf,
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.workspace);
    }
}

fn copy_tree(from: &Path, to: &Path, rename: &dyn Fn(&str) -> String) {
    std::fs::create_dir_all(to).expect("create a folder of the copy");
    for entry in std::fs::read_dir(from).expect("read a folder of the crate") {
        let entry = entry.expect("a folder entry");
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_tree(&path, &to.join(&name), rename);
        } else {
            let text = std::fs::read_to_string(&path).expect("a text file of the crate");
            std::fs::write(to.join(&name), rename(&text)).expect("write a file of the copy");
        }
    }
}

/// Lesson 07's starter in `target/tmp/watch-PID-NAME/NAME/07-unary-server`, with the course's root manifest made the
/// copy's own (one member; paths made absolute) and its lock file.
fn copy_lesson(course: &Course, name: &str) -> Copy {
    let lesson = course.lesson("07").expect("lesson 07 in course.toml");
    let workspace = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("watch-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&workspace);
    // Cargo names what it builds of a path package by its path inside its workspace, not by
    // the workspace's place: two copies at the same inner path would share their build
    // outputs in the shared build folder, and each would find the other's binaries fresh.
    let member = format!("{name}/{}", lesson.dir_name());
    let krate = workspace.join(&member);
    copy_tree(&course.crate_dir(lesson, Side::Lesson), &krate, &|text| {
        text.to_string()
    });

    let root = course.root();
    let text = std::fs::read_to_string(root.join("Cargo.toml")).expect("the course's Cargo.toml");
    let mut manifest: toml::Table = toml::from_str(&text).expect("the course's Cargo.toml");
    let table = manifest["workspace"]
        .as_table_mut()
        .expect("the course's [workspace]");
    table.insert(
        "members".to_string(),
        toml::Value::Array(vec![toml::Value::String(member)]),
    );
    table.remove("default-members");
    let dependencies = table["dependencies"]
        .as_table_mut()
        .expect("[workspace.dependencies]");
    for (_, spec) in dependencies.iter_mut() {
        if let Some(path) = spec.get("path").and_then(toml::Value::as_str) {
            let absolute = root.join(path).display().to_string();
            spec.as_table_mut()
                .expect("a path dependency is a table")
                .insert("path".to_string(), toml::Value::String(absolute));
        }
    }
    std::fs::write(
        workspace.join("Cargo.toml"),
        toml::to_string(&manifest).expect("TOML"),
    )
    .expect("write the copy's Cargo.toml");
    std::fs::copy(root.join("Cargo.lock"), workspace.join("Cargo.lock")).expect("copy Cargo.lock");
    Copy { workspace, krate }
}

/// A pseudo-terminal: the program gets the slave side as its controlling terminal, the test
/// reads what it draws from the master side.
struct Pty {
    master: Option<OwnedFd>,
    slave: OwnedFd,
}

impl Pty {
    fn open(columns: u16, rows: u16) -> Pty {
        let (mut master, mut slave) = (-1, -1);
        let size = libc::winsize {
            ws_row: rows,
            ws_col: columns,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty writes two descriptors into our integers; the name and termios
        // pointers may be null, the window size is ours for the call.
        let result = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(result, 0, "openpty: {}", std::io::Error::last_os_error());
        for fd in [master, slave] {
            // SAFETY: fcntl on a descriptor we own. openpty's descriptors are inherited by
            // every program started after it: a watch holding the master would never see its
            // terminal close.
            let set = unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
            assert_eq!(set, 0, "fcntl: {}", std::io::Error::last_os_error());
        }
        // SAFETY: openpty succeeded: both descriptors are open and ours alone.
        unsafe {
            Pty {
                master: Some(OwnedFd::from_raw_fd(master)),
                slave: OwnedFd::from_raw_fd(slave),
            }
        }
    }

    /// The terminal's settings now.
    fn termios(&self) -> libc::termios {
        // SAFETY: tcgetattr fills the struct we own, from a descriptor we own.
        unsafe {
            let mut termios: libc::termios = std::mem::zeroed();
            assert_eq!(
                libc::tcgetattr(self.slave.as_raw_fd(), &mut termios),
                0,
                "tcgetattr: {}",
                std::io::Error::last_os_error()
            );
            termios
        }
    }

    /// What matters of the settings: modes and control characters.
    fn settings(&self) -> (u32, u32, u32, u32, Vec<u8>) {
        let t = self.termios();
        (t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag, t.c_cc.to_vec())
    }

    fn stdio(&self) -> Stdio {
        Stdio::from(self.slave.try_clone().expect("dup the pty's slave side"))
    }

    fn master(&self) -> OwnedFd {
        self.master
            .as_ref()
            .expect("the master side is open")
            .try_clone()
            .expect("dup the master")
    }

    /// Closes the terminal's side: the kernel hangs the slave side up.
    fn close_master(&mut self) {
        self.master = None;
    }

    fn type_keys(&self, keys: &[u8]) {
        let mut master = std::fs::File::from(self.master());
        master.write_all(keys).expect("type into the terminal");
    }
}

/// Everything the program wrote to the terminal, read as it comes.
struct Output {
    bytes: Arc<Mutex<Vec<u8>>>,
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Output {
    /// Reads nothing: for a terminal whose master side is gone.
    fn none() -> Output {
        Output {
            bytes: Arc::default(),
            stop: Arc::default(),
            reader: None,
        }
    }

    fn read(master: OwnedFd) -> Output {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (into, stopped) = (Arc::clone(&bytes), Arc::clone(&stop));
        let reader = std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            while !stopped.load(Ordering::Relaxed) {
                let mut poll = libc::pollfd {
                    fd: master.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one pollfd of ours, a 100 ms limit.
                if unsafe { libc::poll(&mut poll, 1, 100) } <= 0 {
                    continue;
                }
                // SAFETY: read into our buffer, at most its length.
                let read = unsafe {
                    libc::read(master.as_raw_fd(), buffer.as_mut_ptr().cast(), buffer.len())
                };
                let Ok(read) = usize::try_from(read) else {
                    break; // EIO: every slave side is closed
                };
                if read == 0 {
                    break;
                }
                into.lock()
                    .expect("output")
                    .extend_from_slice(&buffer[..read]);
            }
        });
        Output {
            bytes,
            stop,
            reader: Some(reader),
        }
    }

    /// The last screen drawn (each drawing starts by clearing the screen), without escapes.
    fn screen(&self) -> String {
        let bytes = self.bytes.lock().expect("output").clone();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let last = text.rsplit("\x1b[2J").next().unwrap_or_default();
        plain(last)
    }

    fn raw(&self) -> String {
        String::from_utf8_lossy(&self.bytes.lock().expect("output")).into_owned()
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// `text` without escape sequences (colours, links, cursor moves) and carriage returns.
fn plain(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => match chars.next() {
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\x07' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// A process on this machine: its pid, command line, and the run it belongs to.
#[derive(Debug)]
struct Process {
    pid: i32,
    command: String,
    run: Option<String>,
}

/// Every live process (not a zombie) whose environment holds `marker`.
fn processes_with(marker: &str) -> Vec<Process> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let dir = entry.path();
        let Ok(environ) = std::fs::read(dir.join("environ")) else {
            continue;
        };
        let vars: BTreeMap<String, String> = environ
            .split(|&b| b == 0)
            .filter_map(|pair| {
                let pair = String::from_utf8_lossy(pair);
                pair.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
        if !vars.contains_key(marker) {
            continue;
        }
        let zombie = std::fs::read_to_string(dir.join("stat"))
            .ok()
            .and_then(|stat| {
                stat.rsplit_once(") ")
                    .map(|(_, rest)| rest.starts_with('Z'))
            })
            .unwrap_or(true);
        if zombie {
            continue;
        }
        let command = std::fs::read(dir.join("cmdline"))
            .map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', " "))
            .unwrap_or_default();
        found.push(Process {
            pid,
            command: command.trim().to_string(),
            run: vars.get(RUN_VAR).cloned(),
        });
    }
    found
}

fn listed(processes: &[&Process]) -> String {
    processes
        .iter()
        .map(|p| format!("  {} {} ({RUN_VAR}={:?})", p.pid, p.command, p.run))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether the screen says every check passed: `[####] all 22 checks passed`.
fn all_passed(screen: &str) -> bool {
    screen.lines().any(|line| {
        line.split_once("] all ")
            .is_some_and(|(_, rest)| rest.trim_end().ends_with(" checks passed"))
    })
}

/// Waits until `done` holds, up to `limit`; else fails with `what` went wrong and `why` it
/// likely did, and the screen.
fn wait_until(output: &Output, limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < limit,
            "{what} (waited {} s). The screen:\n{}",
            limit.as_secs(),
            output.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The watch and everything it started, killed if the test ends before `q` does it.
struct Watch {
    child: Child,
    marker: String,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for process in processes_with(&self.marker) {
            // SAFETY: kill(2) with plain integers, to a process this test started.
            unsafe {
                libc::kill(process.pid, libc::SIGKILL);
            }
        }
    }
}

/// `A of B checks passed` of a run that ended, as numbers.
fn count(screen: &str) -> Option<(usize, usize)> {
    screen
        .lines()
        .filter(|line| !line.contains("so far"))
        .find_map(|line| {
            let (before, _) = line.split_once(" checks passed")?;
            let mut words = before.rsplit(' ');
            let total = words.next()?.parse().ok()?;
            let _of = words.next().filter(|w| *w == "of")?;
            let passed = words.next()?.parse().ok()?;
            Some((passed, total))
        })
}

/// The watch started on `copy` in a pseudo-terminal of its own, and what it draws.
struct Session {
    pty: Pty,
    output: Output,
    watch: Watch,
    /// The terminal's settings before the watch started.
    before: (u32, u32, u32, u32, Vec<u8>),
}

fn start_watch(course: &Course, copy: &Copy, marker: &str) -> Session {
    let build_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp is in the target folder")
        .to_path_buf();
    let pty = Pty::open(100, 40);
    let before = pty.settings();
    let mut command = Command::new(env!("CARGO_BIN_EXE_quiz"));
    command
        .args(["watch", "07", "--path"])
        .arg(&copy.krate)
        .env("QUIZ_COURSE_ROOT", course.root())
        .env("QUIZ_PROGRESS_FILE", copy.workspace.join("progress.toml"))
        .env("CARGO_BUILD_BUILD_DIR", &build_dir)
        .env("CARGO_TARGET_DIR", copy.workspace.join("target"))
        .env("TERM", "xterm-256color")
        .env("FORCE_HYPERLINK", "1")
        .env_remove("NO_COLOR")
        .env(marker, "1")
        .stdin(pty.stdio())
        .stdout(pty.stdio())
        .stderr(pty.stdio());
    // SAFETY: between fork and exec, only async-signal-safe calls: a new session, whose
    // controlling terminal is the pty (stdin), as a terminal emulator starts a shell.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 || libc::ioctl(0, libc::TIOCSCTTY, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = Output::read(pty.master());
    let watch = Watch {
        child: command.spawn().expect("start cargo quiz watch"),
        marker: marker.to_string(),
    };
    Session {
        pty,
        output,
        watch,
        before,
    }
}

impl Session {
    /// Waits for the watch to exit, up to `limit`: its exit code.
    fn exit(&mut self, limit: Duration, after: &str) -> Option<i32> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.watch.child.try_wait().expect("wait for the watch") {
                return status.code();
            }
            assert!(
                started.elapsed() < limit,
                "{after} should end the watch within {} s. The screen:\n{}",
                limit.as_secs(),
                self.output.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until no process of the watch runs, up to `limit`.
    fn nothing_left(&self, limit: Duration, after: &str) {
        let started = Instant::now();
        loop {
            let left = processes_with(&self.watch.marker);
            if left.is_empty() {
                return;
            }
            assert!(
                started.elapsed() < limit,
                "after {after}, no process the watch started may still run; after {} s these \
                 do:\n{}",
                limit.as_secs(),
                listed(&left.iter().collect::<Vec<_>>())
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until run `run` is busy in the waiting test (its `sleep 299` runs).
    fn waiting_in(&self, run: &str, limit: Duration, why: &str) {
        wait_until(&self.output, limit, why, || {
            processes_with(&self.watch.marker)
                .iter()
                .any(|p| p.command == "sleep 299" && p.run.as_deref() == Some(run))
        });
    }
}

#[test]
#[ignore = "a minute, builds a copy of lesson 07 and reads /proc: run by .ci/run"]
fn watch_reruns_on_save_stops_the_old_run_whole_and_leaves_nothing_behind() {
    let course = Course::from_manifest_dir().expect("course.toml");
    let copy = copy_lesson(&course, "rerun");
    let marker = format!("QUIZ_WATCH_TEST_{}", std::process::id());
    let mut session = start_watch(&course, &copy, &marker);
    let output = &session.output;

    // 1. The untouched starter: the failing first screen, in full.
    wait_until(
        output,
        Duration::from_secs(300),
        "the first run of the starter should end with some checks failing",
        || count(&output.screen()).is_some_and(|(passed, total)| passed < total),
    );
    let screen = output.screen();
    for part in [
        "Lesson 07: A unary server",
        "FAIL ",
        "expected:",
        "got:",
        "hint:",
    ] {
        assert!(
            screen.contains(part),
            "the failing screen has no {part:?}:\n{screen}"
        );
    }
    assert!(
        screen.contains("h hint") && screen.contains("q quit"),
        "the keys are listed:\n{screen}"
    );
    assert!(
        output.raw().contains("\x1b]8;;file://"),
        "with FORCE_HYPERLINK=1 the crate's path is a terminal link"
    );
    assert!(
        screen.lines().all(|line| line.chars().count() <= 100),
        "every line fits the terminal's 100 columns:\n{screen}"
    );

    // The keys on a failing screen: the next hint; no diff yet; the quiz on the terminal,
    // left with q, and the watch back at the next key.
    session.pty.type_keys(b"h");
    wait_until(
        output,
        Duration::from_secs(10),
        "h should show the lesson's first hint",
        || output.screen().contains("Hint 1 of "),
    );
    session.pty.type_keys(b"d");
    wait_until(
        output,
        Duration::from_secs(10),
        "d before the check passes should say when it works, not show the solution",
        || output.screen().contains("once every check passes"),
    );
    session.pty.type_keys(b"t");
    wait_until(
        output,
        Duration::from_secs(20),
        "t should start the quiz on the terminal",
        || output.screen().contains("[1/") && output.screen().contains("your answer"),
    );
    session.pty.type_keys(b"q\r");
    wait_until(
        output,
        Duration::from_secs(20),
        "q in the quiz should stop it and say how to go back to the watch",
        || {
            output
                .screen()
                .contains("Press any key to go back to the watch")
        },
    );
    session.pty.type_keys(b"x");
    wait_until(
        output,
        Duration::from_secs(10),
        "any key after the quiz should bring the watch's screen back",
        || output.screen().contains("FAIL ") && output.screen().contains("q quit"),
    );

    // 2. A save: a new run, which stays busy in a test that started a child of its own.
    let tests = copy.krate.join("tests/lesson.rs");
    let original_tests = std::fs::read_to_string(&tests).expect("tests/lesson.rs");
    std::fs::write(&tests, format!("{original_tests}{WAITING_TEST}")).expect("save a test");
    session.waiting_in(
        "2",
        Duration::from_secs(180),
        "a save should start run 2, which reaches the waiting test: did the watch see the save?",
    );
    let second: Vec<Process> = processes_with(&marker)
        .into_iter()
        .filter(|p| p.run.as_deref() == Some("2"))
        .collect();
    assert!(
        second.iter().any(|p| p.command.contains("--worker"))
            && second
                .iter()
                .any(|p| p.command.contains("zz_waits_for_the_next_save")),
        "run 2 should be a worker running the lesson's test executable:\n{}",
        listed(&second.iter().collect::<Vec<_>>())
    );

    // 3. The fix, saved during run 2 (and the waiting test taken out): run 2 stops whole.
    let solution = course.crate_dir(course.lesson("07").expect("lesson 07"), Side::Solution);
    let rename = |text: &str| {
        text.replace("solution_07", "lesson_07")
            .replace("solution-07", "lesson-07")
    };
    copy_tree(&solution.join("src"), &copy.krate.join("src"), &rename);
    copy_tree(&solution.join("proto"), &copy.krate.join("proto"), &rename);
    std::fs::write(&tests, &original_tests).expect("take the waiting test out");
    let started = Instant::now();
    loop {
        let all = processes_with(&marker);
        let left: Vec<&Process> = all
            .iter()
            .filter(|p| p.run.as_deref() == Some("2"))
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "a save during run 2 should stop it with every process it started; after 20 s \
             these still run (a test's process group, outside the worker's, must be killed \
             too):\n{}",
            listed(&left)
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // 4. The rerun passes.
    wait_until(
        output,
        Duration::from_secs(300),
        "the run after the fix should pass every check",
        || all_passed(&output.screen()),
    );
    let screen = output.screen();
    assert!(
        screen.contains("d diff") && screen.contains("Every check of lesson 07 passes"),
        "a passing screen offers the diff and says what passed:\n{screen}"
    );

    // d, now that the check passes: the crate against the solution (the same, after a fix that
    // is the solution's code), then back.
    session.pty.type_keys(b"d");
    wait_until(
        output,
        Duration::from_secs(20),
        "d after the check passes should compare the crate with the solution (the fix is the \
         solution's code)",
        || {
            output
                .screen()
                .contains("Your crate is the same as the solution.")
        },
    );
    session.pty.type_keys(b"x");
    wait_until(
        output,
        Duration::from_secs(10),
        "any key after the diff should bring the watch's screen back",
        || all_passed(&output.screen()),
    );

    // 5. q: the watch ends, nothing of it runs any more, the terminal is as it was.
    session.pty.type_keys(b"q");
    let code = session.exit(Duration::from_secs(20), "q");
    assert_eq!(code, Some(0), "q ends the watch with exit code 0");
    session.nothing_left(Duration::from_secs(10), "q");
    assert_eq!(
        session.pty.settings(),
        session.before,
        "after q the terminal's settings (termios) must be what they were before the watch"
    );
}

/// How a watch can end, besides `q`.
#[derive(Debug, Clone, Copy)]
enum Ending {
    /// Ctrl-C, which raw mode turns into a key.
    CtrlC,
    /// SIGTERM from outside.
    Terminated,
    /// The terminal closes (its window, an ssh connection): the kernel hangs it up.
    Closed,
}

#[test]
#[ignore = "builds a copy of lesson 07 and reads /proc: run by .ci/run"]
fn every_way_out_of_a_busy_watch_stops_its_run_and_puts_the_terminal_back() {
    let course = Course::from_manifest_dir().expect("course.toml");
    let copy = copy_lesson(&course, "ways-out");
    // Every run stays busy: a test that started a child of its own waits in it.
    let tests = copy.krate.join("tests/lesson.rs");
    let original_tests = std::fs::read_to_string(&tests).expect("tests/lesson.rs");
    std::fs::write(&tests, format!("{original_tests}{WAITING_TEST}")).expect("add a test");
    for ending in [Ending::CtrlC, Ending::Terminated, Ending::Closed] {
        let marker = format!("QUIZ_WATCH_TEST_{}_{ending:?}", std::process::id());
        let mut session = start_watch(&course, &copy, &marker);
        session.waiting_in(
            "1",
            Duration::from_secs(300),
            "the first run should reach the waiting test",
        );
        let after = format!("{ending:?}");
        match ending {
            Ending::CtrlC => session.pty.type_keys(b"\x03"),
            Ending::Terminated => {
                let pid = i32::try_from(session.watch.child.id()).expect("a pid");
                // SAFETY: kill(2) with plain integers, to the watch this test started.
                unsafe {
                    libc::kill(pid, libc::SIGTERM);
                }
            }
            Ending::Closed => {
                // The terminal side of the pty goes: its master, every copy of it.
                let Session { output, pty, .. } = &mut session;
                drop(std::mem::replace(output, Output::none()));
                pty.close_master();
            }
        }
        let code = session.exit(Duration::from_secs(20), &after);
        session.nothing_left(Duration::from_secs(10), &after);
        match ending {
            Ending::Closed => {
                assert!(
                    code.is_some(),
                    "a closed terminal ends the watch, not a signal"
                )
            }
            _ => {
                assert_eq!(code, Some(0), "{after} ends the watch with exit code 0");
                assert_eq!(
                    session.pty.settings(),
                    session.before,
                    "after {after} the terminal's settings (termios) must be what they were"
                );
            }
        }
    }
}
