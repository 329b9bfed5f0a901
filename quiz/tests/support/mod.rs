//! A small course in a temporary folder, and the `quiz` binary run against it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A temporary course: `course.toml` with two lessons and a quiz for lesson 01.
pub struct TempCourse {
    pub root: PathBuf,
}

/// The right answers of `QUIZ`, in the file's order: choice ids, and the free text last.
pub const RIGHT: &str = "yes,first,third,second,first,third,second,0x96 0x01";
/// Three wrong answers of eight: 5 right, below the pass mark of 7.
pub const FAILING: &str = "yes,first,first,first,first,third,second,96 02";

pub const QUIZ: &str = r#"hints = [
  "Read the lesson again, slowly.",
  "Look at the second paragraph.",
  "The fragment: `let x = 1;`",
]

[tests]
it_works = "Exercise 1, `works` in src/lib.rs: make it work."

[[question]]
id = "one"
prompt = "Which of these is a question?"
answer = "yes"
explanation = "Because yes."
choices = [
  { id = "no", text = "no", why = "No is not it." },
  { id = "yes", text = "yes" },
  { id = "maybe", text = "maybe", why = "Maybe is not it." },
]

[[question]]
id = "two"
prompt = "Which of these is the first?"
answer = "first"
explanation = "Because first."
choices = [
  { id = "first", text = "first" },
  { id = "second", text = "second", why = "Second is not it." },
  { id = "third", text = "third", why = "Third is not it." },
]

[[question]]
id = "three"
prompt = "Which of these is the third?"
answer = "third"
explanation = "Because third."
choices = [
  { id = "first", text = "first", why = "First is not it." },
  { id = "second", text = "second", why = "Second is not it." },
  { id = "third", text = "third" },
]

[[question]]
id = "four"
prompt = "Which of these is the second?"
answer = "second"
explanation = "Because second."
choices = [
  { id = "first", text = "first", why = "First is not it." },
  { id = "second", text = "second" },
  { id = "third", text = "third", why = "Third is not it." },
  { id = "fourth", text = "fourth", why = "Fourth is not it." },
]

[[question]]
id = "five"
prompt = "Which of these is the first?"
answer = "first"
explanation = "Because first."
choices = [
  { id = "first", text = "first" },
  { id = "second", text = "second", why = "Second is not it." },
  { id = "third", text = "third", why = "Third is not it." },
]

[[question]]
id = "six"
prompt = "Which of these is the third?"
answer = "third"
explanation = "Because third."
choices = [
  { id = "first", text = "first", why = "First is not it." },
  { id = "second", text = "second", why = "Second is not it." },
  { id = "third", text = "third" },
]

[[question]]
id = "seven"
prompt = "Which of these is the second?"
answer = "second"
explanation = "Because second."
choices = [
  { id = "first", text = "first", why = "First is not it." },
  { id = "second", text = "second" },
  { id = "third", text = "third", why = "Third is not it." },
]

[[question]]
id = "varint"
prompt = "Write 150 as a varint, in hex."
accept = ["96 01"]
explanation = "Seven bits at a time, low bits first."
"#;

impl TempCourse {
    pub fn new(name: &str) -> TempCourse {
        let root = std::env::temp_dir().join(format!("quiz-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("quiz/lessons")).expect("create the course");
        std::fs::write(
            root.join("course.toml"),
            "[[lesson]]\nnumber = \"01\"\nslug = \"basics\"\ntitle = \"Basics\"\n\n\
             [[lesson]]\nnumber = \"02\"\nslug = \"more\"\ntitle = \"More\"\n\n\
             [[lesson]]\nnumber = \"03\"\nslug = \"later\"\ntitle = \"Later\"\nready = false\n",
        )
        .expect("write course.toml");
        std::fs::write(root.join("quiz/lessons/01.toml"), QUIZ).expect("write the quiz");
        TempCourse { root }
    }

    pub fn progress_file(&self) -> PathBuf {
        self.root.join(".quiz-progress.toml")
    }

    pub fn progress(&self) -> String {
        std::fs::read_to_string(self.progress_file()).unwrap_or_default()
    }

    pub fn write(&self, relative: &str, text: &str) {
        let path = self.root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create the folder");
        }
        std::fs::write(path, text).expect("write the file");
    }

    /// Runs `cargo quiz ARGS` on this course, with stdin not a terminal.
    pub fn quiz(&self, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_quiz"))
            .args(args)
            .current_dir(&self.root)
            .env("QUIZ_COURSE_ROOT", &self.root)
            .env_remove("QUIZ_PROGRESS_FILE")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run the quiz binary");
        Run::from(output)
    }

    pub fn path(&self) -> &Path {
        &self.root
    }
}

impl Drop for TempCourse {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// `cargo quiz check LESSON --path DIR` on the real course, as a learner runs it (no colours, a
/// progress file of its own): its exit code, and its stdout and stderr together.
pub fn check_crate(lesson: &str, dir: &Path) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_quiz"))
        .args(["check", lesson, "--path"])
        .arg(dir)
        .env("NO_COLOR", "1")
        .env_remove("QUIZ_COURSE_ROOT")
        .env(
            "QUIZ_PROGRESS_FILE",
            std::env::temp_dir().join(format!("quiz-check-{}.toml", std::process::id())),
        )
        .output()
        .expect("run the quiz binary");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

/// One failed check of a report: its name (joined again when it was wrapped) and its block,
/// the indented lines under it (`expected:`, `got:`, `hint:` and their continuations).
#[derive(Debug)]
pub struct Failed {
    pub name: String,
    pub block: String,
}

/// The failed checks of a `cargo quiz check` report. A name too long for the line is wrapped
/// under its first word (5 spaces); the block under it is indented by 7.
pub fn failed_checks(report: &str) -> Vec<Failed> {
    let mut failed: Vec<Failed> = Vec::new();
    let mut lines = report.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(name) = line.strip_prefix("FAIL ") else {
            continue;
        };
        let mut name = name.to_string();
        while let Some(more) = lines.next_if(|l| l.starts_with("     ") && !l.starts_with("      "))
        {
            name.push(' ');
            name.push_str(more.trim());
        }
        let mut block = Vec::new();
        while let Some(inside) = lines.next_if(|l| l.starts_with("       ")) {
            block.push(inside);
        }
        failed.push(Failed {
            name,
            block: block.join("\n"),
        });
    }
    failed
}
