//! The checker catches real mistakes: each variant in `broken_variants.toml` breaks one rule a
//! lesson teaches in that lesson's solution (one text replaced by another), and
//! `cargo quiz check NN` must then fail within two minutes with a message that names the rule.
//!
//! The variants edit `solutions/` in place and put every file back afterwards, even when a test
//! fails, so they run one at a time and only when asked: `.ci/run` runs them with
//! `cargo test -p quiz --test broken_variants -- --ignored --test-threads 1`.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use quiz::manifest::{Course, Side};
use serde::Deserialize;
use support::check_crate as check;

/// How long a check of a broken variant may take, build included.
const LIMIT: Duration = Duration::from_secs(120);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Variants {
    #[serde(rename = "variant")]
    variants: Vec<Variant>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Variant {
    /// What the mistake is, as a learner would make it.
    name: String,
    lesson: String,
    /// The file of the solution to break, relative to its crate.
    file: String,
    /// The text to replace: it must occur exactly once in the file.
    find: String,
    replace: String,
    /// Words the check's report must contain: the rule the mistake breaks.
    expect: String,
}

fn variants() -> (Course, Vec<Variant>) {
    let course = Course::from_manifest_dir().expect("course.toml");
    let file = course.root().join("quiz/tests/broken_variants.toml");
    let text = std::fs::read_to_string(&file).expect("quiz/tests/broken_variants.toml");
    let variants: Variants = toml::from_str(&text).expect("broken_variants.toml is valid");
    (course, variants.variants)
}

/// A file put back as it was when this is dropped.
struct Restore {
    path: PathBuf,
    text: String,
}

impl Drop for Restore {
    fn drop(&mut self) {
        std::fs::write(&self.path, &self.text).expect("put the solution file back");
    }
}

fn solution_file(course: &Course, variant: &Variant) -> PathBuf {
    let lesson = course
        .lesson(&variant.lesson)
        .expect("a lesson of course.toml");
    course.crate_dir(lesson, Side::Solution).join(&variant.file)
}

#[test]
fn every_variant_still_applies_to_its_solution() {
    let (course, variants) = variants();
    let mut problems = Vec::new();
    for variant in &variants {
        let path = solution_file(&course, variant);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let count = text.matches(&variant.find).count();
        if count != 1 {
            problems.push(format!(
                "{:?}: {} holds the text to replace {count} times (once expected): {:?}",
                variant.name,
                path.display(),
                variant.find
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
#[ignore = "slow, and edits solutions/ while it runs: run by .ci/run, one test thread"]
fn the_check_names_the_rule_each_broken_variant_breaks() {
    let (course, variants) = variants();
    let mut problems = Vec::new();
    for variant in &variants {
        let path = solution_file(&course, variant);
        let text = std::fs::read_to_string(&path).expect("the solution file");
        assert_eq!(
            text.matches(&variant.find).count(),
            1,
            "{:?}: the text to replace must occur once in {}",
            variant.name,
            path.display()
        );
        let restore = Restore {
            path: path.clone(),
            text: text.clone(),
        };
        std::fs::write(&path, text.replacen(&variant.find, &variant.replace, 1))
            .expect("write the broken variant");
        let lesson = course.lesson(&variant.lesson).expect("the lesson");
        let started = Instant::now();
        let (code, report) = check(&variant.lesson, &course.crate_dir(lesson, Side::Solution));
        let took = started.elapsed();
        drop(restore);
        eprintln!(
            "lesson {} / {}: exit {code:?} in {:.0} s",
            variant.lesson,
            variant.name,
            took.as_secs_f64()
        );
        let failed = support::failed_checks(&report);
        let naming = failed
            .iter()
            .find(|check| check.name.contains(&variant.expect));
        let named = naming.is_some();
        // What the learner would read: the check that names the rule, and what it said.
        if let Some(check) = naming {
            eprintln!("    FAIL {}", check.name);
            for line in check.block.lines().take(3) {
                eprintln!("    {line}");
            }
        }
        if code != Some(1) || !named || took > LIMIT {
            problems.push(format!(
                "lesson {} / {:?}: expected exit 1 within {} s with a FAIL line naming {:?}; \
                 got exit {code:?} in {:.0} s:\n{report}",
                variant.lesson,
                variant.name,
                LIMIT.as_secs(),
                variant.expect,
                took.as_secs_f64()
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n\n"));
}
