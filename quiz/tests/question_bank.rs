//! The question bank: every ready lesson has `quiz/lessons/NN.toml`, every file there is valid
//! (`Quiz::load` enforces the format and names the file and line), its `[tests]` hints match the
//! lesson's tests, and no blind strategy passes a quiz.

use std::collections::BTreeSet;

use quiz::manifest::{Course, Side};
use quiz::questions::{Answer, Kind, Question, Quiz};

/// The most the right answer may be the longest choice, across the bank's multiple-choice
/// questions: a learner who always picks the longest must not do better than a guess by much.
const LONGEST_SHARE: f64 = 0.35;

fn course() -> Course {
    Course::from_manifest_dir().expect("course.toml")
}

fn quizzes() -> Vec<(String, Quiz)> {
    let course = course();
    course
        .ready()
        .map(|lesson| {
            let file = course.quiz_file(lesson);
            let quiz = Quiz::load(&file).unwrap_or_else(|error| panic!("{error}"));
            (lesson.number.clone(), quiz)
        })
        .collect()
}

#[test]
fn every_ready_lesson_has_a_valid_quiz() {
    let course = course();
    let mut problems = Vec::new();
    for lesson in course.ready() {
        let file = course.quiz_file(lesson);
        match Quiz::load(&file) {
            Ok(quiz) => {
                for question in &quiz.questions {
                    if question.prompt.trim().len() < 10 {
                        problems.push(format!(
                            "{}:{}: the prompt of {:?} is too short to test understanding",
                            file.display(),
                            question.line,
                            question.id
                        ));
                    }
                }
                if quiz.hints.len() < 2 {
                    problems.push(format!(
                        "{}: give hints in steps (a nudge first, a fragment last): 2 at least",
                        file.display()
                    ));
                }
            }
            Err(error) => problems.push(error.to_string()),
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

/// The names of the tests in a `tests/lesson.rs`: each `fn` right after a `#[test]` or
/// `#[tokio::test(...)]` attribute, and each module of tests a macro makes, `NAME` of
/// `store_suite!(NAME, ...)` (lesson 18: one hint for all of the suite's tests `NAME::...`).
fn test_names(source: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut after_attribute = false;
    let mut after_suite = false;
    for line in source.lines().map(str::trim) {
        let identifier = |text: &str| -> String {
            text.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        };
        if let Some(rest) = line.strip_prefix("store_suite!(") {
            let name = identifier(rest);
            after_suite = name.is_empty(); // rustfmt may put the name on the next line
            if !name.is_empty() {
                names.insert(name);
            }
            continue;
        }
        if after_suite {
            names.insert(identifier(line));
            after_suite = false;
            continue;
        }
        if line.starts_with("#[test]") || line.starts_with("#[tokio::test") {
            after_attribute = true;
            continue;
        }
        if after_attribute {
            let rest = line
                .strip_prefix("async fn ")
                .or_else(|| line.strip_prefix("fn "));
            if let Some(rest) = rest {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                names.insert(name);
                after_attribute = false;
            } else if !line.starts_with("#[") {
                after_attribute = false;
            }
        }
    }
    names
}

#[test]
fn every_lesson_test_has_a_hint_and_every_hint_a_test() {
    let course = course();
    let mut problems = Vec::new();
    for lesson in course.ready() {
        let file = course.quiz_file(lesson);
        let Ok(quiz) = Quiz::load(&file) else {
            continue; // every_ready_lesson_has_a_valid_quiz reports it
        };
        let tests = course
            .crate_dir(lesson, Side::Solution)
            .join("tests/lesson.rs");
        let Ok(source) = std::fs::read_to_string(&tests) else {
            continue;
        };
        let names = test_names(&source);
        for name in &names {
            if !quiz.tests.contains_key(name) {
                problems.push(format!(
                    "{}: [tests] has no hint for `{name}` (tests/lesson.rs)",
                    file.display()
                ));
            }
        }
        for name in quiz.tests.keys() {
            if !names.contains(name) {
                problems.push(format!(
                    "{}: [tests] has a hint for `{name}`, which tests/lesson.rs does not have",
                    file.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

/// A strategy that answers without reading: given a question, the index of its pick.
type Strategy = dyn Fn(&Question) -> Option<usize>;

fn score(quiz: &Quiz, strategy: &Strategy) -> usize {
    quiz.questions
        .iter()
        .filter(|question| {
            strategy(question).is_some_and(|pick| question.is_right(&Answer::Choice(pick)))
        })
        .count()
}

fn lengths(question: &Question) -> Option<Vec<usize>> {
    match &question.kind {
        Kind::Choice { choices, .. } => {
            Some(choices.iter().map(|c| c.text.chars().count()).collect())
        }
        Kind::Text { .. } => None,
    }
}

fn longest(question: &Question) -> Option<usize> {
    let lengths = lengths(question)?;
    let max = *lengths.iter().max()?;
    lengths.iter().position(|&l| l == max)
}

fn shortest(question: &Question) -> Option<usize> {
    let lengths = lengths(question)?;
    let min = *lengths.iter().min()?;
    lengths.iter().position(|&l| l == min)
}

#[test]
fn no_blind_strategy_passes_a_quiz() {
    let mut problems = Vec::new();
    for (number, quiz) in quizzes() {
        let mut strategies: Vec<(String, Box<Strategy>)> = vec![
            ("always the longest choice".to_string(), Box::new(longest)),
            ("always the shortest choice".to_string(), Box::new(shortest)),
        ];
        for k in 0..5 {
            strategies.push((
                format!("always choice {} (in the file's order)", k + 1),
                Box::new(move |question: &Question| match &question.kind {
                    Kind::Choice { choices, .. } => Some(k.min(choices.len() - 1)),
                    Kind::Text { .. } => None,
                }),
            ));
        }
        for (name, strategy) in &strategies {
            let right = score(&quiz, strategy.as_ref());
            if right >= quiz.pass_mark() {
                problems.push(format!(
                    "quiz {number}: \"{name}\" scores {right} of {}, and the pass mark is {}",
                    quiz.questions.len(),
                    quiz.pass_mark()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn the_longest_choice_is_rarely_the_answer() {
    let mut choice_questions = 0;
    let mut longest_right = Vec::new();
    for (number, quiz) in quizzes() {
        for question in &quiz.questions {
            let Kind::Choice { answer, .. } = &question.kind else {
                continue;
            };
            choice_questions += 1;
            let lengths = lengths(question).expect("choices");
            let strictly_longest = lengths
                .iter()
                .enumerate()
                .all(|(i, &l)| i == *answer || l < lengths[*answer]);
            if strictly_longest {
                longest_right.push(format!("{number}/{}", question.id));
            }
        }
    }
    let share = longest_right.len() as f64 / choice_questions.max(1) as f64;
    println!(
        "the right answer is the longest choice in {} of {choice_questions} questions ({:.0}%)",
        longest_right.len(),
        share * 100.0
    );
    assert!(
        share <= LONGEST_SHARE,
        "the right answer is the strictly longest choice in {} of {choice_questions} \
         multiple-choice questions ({:.0}%, at most {:.0}% allowed): {}",
        longest_right.len(),
        share * 100.0,
        LONGEST_SHARE * 100.0,
        longest_right.join(", ")
    );
}

#[test]
fn no_quiz_file_belongs_to_an_unknown_lesson() {
    let course = course();
    let dir = course.root().join("quiz").join("lessons");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(number) = name.strip_suffix(".toml") else {
            panic!("{}: only NN.toml files belong here", entry.path().display());
        };
        assert!(
            course.lessons.iter().any(|lesson| lesson.number == number),
            "{}: there is no lesson {number} in course.toml",
            entry.path().display()
        );
    }
}

#[test]
fn test_names_are_read_from_the_attributes() {
    let source = "#[test]\nfn a_rule() {}\n\n#[tokio::test(flavor = \"multi_thread\")]\n\
                  async fn another_rule() {}\n\nfn helper() {}\n";
    let names: Vec<String> = test_names(source).into_iter().collect();
    assert_eq!(names, vec!["a_rule", "another_rule"]);
}
