//! The rustlings rule, for every ready lesson: `cargo quiz check NN` passes on the solution and
//! fails on the untouched starter. Each check builds a crate, so these tests are slow: `.ci/run`
//! runs them with `cargo test -p quiz --test every_lesson -- --ignored --test-threads 1`.

mod support;

use quiz::manifest::{Course, Side};
use support::check_crate as check;

/// What is wrong with a check's report as feedback: every failure must say what was expected,
/// what came back and what to change, and never in words that fit any test.
fn feedback_problems(report: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for generic in [
        "expected: the test passes",
        "the lesson's tests finish",
        "tests/lesson.rs runs",
    ] {
        if report.contains(generic) {
            problems.push(format!("the report says the generic {generic:?}"));
        }
    }
    for failed in support::failed_checks(report) {
        for part in ["expected:", "got:", "hint:"] {
            if !failed.block.contains(part) {
                problems.push(format!(
                    "the failure {:?} has no {part:?} line",
                    failed.name
                ));
            }
        }
    }
    problems
}

#[test]
fn feedback_without_a_hint_is_a_problem() {
    let good = "\nFAIL test a rule\n       expected: a rule\n       got:      no\n       hint:     Exercise 1\nok   next\n";
    assert!(
        feedback_problems(good).is_empty(),
        "{:?}",
        feedback_problems(good)
    );
    let bare = "\nFAIL test a rule\n       expected: the test passes\n       got:      no\n";
    let problems = feedback_problems(bare);
    assert_eq!(problems.len(), 2, "{problems:?}");
    let wrapped = "\nFAIL test a rule whose name is too long\n     for the line\n       expected: a \
                   rule\n       got:      no\n       hint:     Exercise 1\n";
    assert!(
        feedback_problems(wrapped).is_empty(),
        "a wrapped name is one name: {:?}",
        feedback_problems(wrapped)
    );
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
        problems.extend(
            feedback_problems(&text)
                .into_iter()
                .map(|problem| format!("starter {}: {problem}", lesson.number)),
        );
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n\n"));
}
