//! The course checks itself. Each test here is one of the promises in COURSE.md's "Checks that
//! keep the course honest": what a lesson shows is what its solution contains and prints, the
//! starters and solutions carry the same tests, and no starter drifts from the lesson before.
//!
//! `readme_outputs_are_what_the_solutions_print` runs the solutions' binaries from
//! `target/debug`: `cargo test` at the root builds them before any test runs.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use quiz::check::server;
use quiz::manifest::{Course, Lesson, Side};
use quiz::readme::{self, Bindings, Step};
use quiz::{drift, normalize};

fn course() -> Course {
    Course::from_manifest_dir().expect("course.toml")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn lesson_readme(course: &Course, lesson: &Lesson) -> PathBuf {
    course.crate_dir(lesson, Side::Lesson).join("README.md")
}

/// Runs `check` for every ready lesson and fails once, listing every problem found.
fn for_every_lesson(check: impl Fn(&Course, &Lesson) -> Vec<String>) {
    let course = course();
    let problems: Vec<String> = course
        .ready()
        .flat_map(|lesson| {
            check(&course, lesson)
                .into_iter()
                .map(move |problem| format!("lesson {}: {problem}", lesson.number))
        })
        .collect();
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n\n"));
}

#[test]
fn every_ready_lesson_has_a_starter_a_solution_a_text_and_a_quiz() {
    for_every_lesson(|course, lesson| {
        let mut problems = Vec::new();
        for side in [Side::Lesson, Side::Solution] {
            let dir = course.crate_dir(lesson, side);
            let manifest = dir.join("Cargo.toml");
            if !manifest.is_file() {
                problems.push(format!("{} is missing", manifest.display()));
                continue;
            }
            let name = format!("name = \"{}\"", lesson.package(side));
            if !read(&manifest).contains(&name) {
                problems.push(format!("{} should say {name}", manifest.display()));
            }
            if !dir.join("tests/lesson.rs").is_file() {
                problems.push(format!("{} has no tests/lesson.rs", dir.display()));
            }
        }
        for path in [lesson_readme(course, lesson), course.quiz_file(lesson)] {
            if !path.is_file() {
                problems.push(format!("{} is missing", path.display()));
            }
        }
        problems
    });
}

#[test]
fn readme_code_blocks_are_the_solution_files() {
    for_every_lesson(|course, lesson| {
        let readme = lesson_readme(course, lesson);
        let Ok(text) = std::fs::read_to_string(&readme) else {
            return vec![format!("{} is missing", readme.display())];
        };
        let solution = course.crate_dir(lesson, Side::Solution);
        let mut problems = Vec::new();
        for block in readme::blocks(&text) {
            let Some(file) = &block.file else { continue };
            let path = solution.join(file);
            let Ok(content) = std::fs::read_to_string(&path) else {
                problems.push(format!(
                    "README.md:{} names {file}, which the solution does not have",
                    block.line
                ));
                continue;
            };
            // The learner's crate is lesson-NN: a block they copy must say so.
            let solution_name = format!("solution_{}", lesson.number);
            if block.body.contains(&solution_name) {
                problems.push(format!(
                    "README.md:{}: the block for {file} says {solution_name}; the learner's crate is lesson_{}",
                    block.line, lesson.number
                ));
            }
            let shown = normalize::crate_names(&block.body);
            let real = normalize::crate_names(&content);
            if let Err(why) = readme::check_code_block(&shown, &real) {
                problems.push(format!(
                    "README.md:{}: the block for {file} is not the solution's file: {why}",
                    block.line
                ));
            }
        }
        problems
    });
}

#[test]
fn lesson_tests_are_the_same_in_starter_and_solution() {
    for_every_lesson(|course, lesson| {
        let starter = course.crate_dir(lesson, Side::Lesson);
        let solution = course.crate_dir(lesson, Side::Solution);
        let mut problems = Vec::new();
        for dir in [&starter, &solution] {
            let tests = dir.join("tests");
            for file in drift::files(&tests) {
                let (a, b) = (
                    starter.join("tests").join(&file),
                    solution.join("tests").join(&file),
                );
                match (std::fs::read_to_string(&a), std::fs::read_to_string(&b)) {
                    (Ok(a), Ok(b)) if normalize::crate_names(&a) == normalize::crate_names(&b) => {}
                    (Ok(_), Ok(_)) => problems.push(format!(
                        "tests/{} differs between starter and solution",
                        file.display()
                    )),
                    _ => problems.push(format!(
                        "tests/{} is in only one of starter and solution",
                        file.display()
                    )),
                }
            }
        }
        problems.dedup();
        problems
    });
}

#[test]
fn starters_are_the_previous_solution_plus_todos() {
    for_every_lesson(|course, lesson| {
        let Some(previous) = course.previous(lesson) else {
            return Vec::new();
        };
        drift::untracked_changes(
            &course.crate_dir(previous, Side::Solution),
            &course.crate_dir(lesson, Side::Lesson),
        )
    });
}

#[test]
fn the_course_readme_links_every_ready_lesson() {
    let course = course();
    let text = read(&course.root().join("README.md"));
    for lesson in course.ready() {
        let link = format!("lessons/{}/README.md", lesson.dir_name());
        assert!(text.contains(&link), "README.md should link {link}");
    }
}

// ---- Outputs ------------------------------------------------------------------------------

/// `target/debug`, where cargo put the solutions' binaries before running this test.
fn binaries_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/debug/deps/<test>")
        .to_path_buf()
}

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

/// What a README's `cargo run ...` runs in the solution: the binary and its arguments.
fn solution_command(lesson: &Lesson, command: &str) -> Result<(String, Vec<String>), String> {
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
        Some(name) => {
            normalize::crate_names(&name).replace("crate-NN", &lesson.package(Side::Solution))
        }
        None if lesson.server => lesson.binary(Side::Solution, Some("server")),
        None => lesson.binary(Side::Solution, None),
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

fn check_outputs(course: &Course, lesson: &Lesson) -> Vec<String> {
    let readme = lesson_readme(course, lesson);
    let Ok(text) = std::fs::read_to_string(&readme) else {
        return vec![format!("{} is missing", readme.display())];
    };
    let bin_dir = binaries_dir();
    let mut bindings = Bindings::default();
    let mut server: Option<RunningServer> = None;
    let mut problems = Vec::new();
    let steps: Vec<Step> = readme::blocks(&text)
        .iter()
        .filter(|block| block.lang == "console")
        .flat_map(readme::console_steps)
        .collect();
    for step in steps {
        let command = bindings.substitute(&step.command);
        let (binary, args) = match solution_command(lesson, &command) {
            Ok(found) => found,
            Err(why) => {
                problems.push(format!("README.md:{}: {why}", step.line));
                continue;
            }
        };
        let path = bin_dir.join(&binary);
        if !path.is_file() {
            problems.push(format!(
                "README.md:{}: {} is not built: run `cargo test` at the repository root",
                step.line,
                path.display()
            ));
            continue;
        }
        let result = if binary.ends_with("-server") {
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

#[test]
fn readme_outputs_are_what_the_solutions_print() {
    for_every_lesson(check_outputs);
}
