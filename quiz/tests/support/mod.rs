//! A small course in a temporary folder, and the `quiz` binary run against it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A temporary course: `course.toml` with two lessons and a quiz for lesson 01.
pub struct TempCourse {
    pub root: PathBuf,
}

/// The right answers of `QUIZ`, in order.
pub const RIGHT: &str = "b,a,c,b,a,c";
/// Four wrong answers of six: below the pass mark of 5.
pub const FAILING: &str = "b,a,a,a,a,a";

pub const QUIZ: &str = r#"hint = "Read the lesson again, slowly."

[[question]]
id = "one"
prompt = "Which of these is a question?"
choices = ["no", "yes", "maybe"]
answer = "b"
explanation = "Because b."

[[question]]
id = "two"
prompt = "Which of these is the first?"
choices = ["first", "second", "third"]
answer = "a"
explanation = "Because a."

[[question]]
id = "three"
prompt = "Which of these is the third?"
choices = ["first", "second", "third"]
answer = "c"
explanation = "Because c."

[[question]]
id = "four"
prompt = "Which of these is the second?"
choices = ["first", "second", "third", "fourth"]
answer = "b"
explanation = "Because b."

[[question]]
id = "five"
prompt = "Which of these is the first?"
choices = ["first", "second", "third"]
answer = "a"
explanation = "Because a."

[[question]]
id = "six"
prompt = "Which of these is the third?"
choices = ["first", "second", "third"]
answer = "c"
explanation = "Because c."
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
