//! The rustlings rule, for every ready lesson: `cargo quiz check NN` passes on the solution and
//! fails on the untouched starter. Each check builds a crate, so these tests are slow: `.ci/run`
//! runs them with `cargo test -p quiz --test every_lesson -- --ignored --test-threads 1`.

use std::process::Command;

use quiz::manifest::{Course, Side};

fn check(lesson: &str, dir: &std::path::Path) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_quiz"))
        .args(["check", lesson, "--path"])
        .arg(dir)
        .env("NO_COLOR", "1")
        .env_remove("QUIZ_COURSE_ROOT")
        .env(
            "QUIZ_PROGRESS_FILE",
            std::env::temp_dir().join(format!("quiz-every-lesson-{}.toml", std::process::id())),
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

#[test]
#[ignore = "slow: builds every solution; run by .ci/run"]
fn every_solution_passes_its_check() {
    let course = Course::from_manifest_dir().expect("course.toml");
    let mut failures = Vec::new();
    for lesson in course.ready() {
        let dir = course.crate_dir(lesson, Side::Solution);
        eprintln!("checking {}", dir.display());
        let (code, text) = check(&lesson.number, &dir);
        if code != Some(0) {
            failures.push(format!(
                "solution {} (exit {code:?}):\n{text}",
                lesson.number
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
#[ignore = "slow: builds every starter; run by .ci/run"]
fn every_untouched_starter_fails_its_check() {
    let course = Course::from_manifest_dir().expect("course.toml");
    let mut problems = Vec::new();
    for lesson in course.ready() {
        let dir = course.crate_dir(lesson, Side::Lesson);
        eprintln!("checking {}", dir.display());
        let (code, text) = check(&lesson.number, &dir);
        if code != Some(1) {
            problems.push(format!(
                "starter {} should fail its check with exit 1 (an exercise that is already solved is a bug), got {code:?}:\n{text}",
                lesson.number
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n\n"));
}
