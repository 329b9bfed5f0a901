//! `cargo quiz` from the outside: exit codes, messages and the progress file, on a small course
//! in a temporary folder.

mod support;

use std::io::Cursor;
use std::path::Path;

use quiz::questions::{Kind, Quiz};
use quiz::style::Style;
use quiz::take::{self, Ending};
use support::{FAILING, QUIZ, RIGHT, TempCourse};

#[test]
fn passing_a_quiz_with_answers_records_it() {
    let course = TempCourse::new("pass");
    let run = course.quiz(&["take", "01", "--answers", RIGHT]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("Quiz passed: 8/8"), "{run:?}");
    assert!(
        run.stdout.contains("pass mark is 7 of 8"),
        "the threshold is shown: {run:?}"
    );
    let progress = course.progress();
    assert!(progress.contains("quiz = true"), "{progress}");
    assert!(progress.contains("best_score = \"8/8\""), "{progress}");

    let map = course.quiz(&[]);
    assert_eq!(map.code, Some(0), "{map:?}");
    assert!(map.stdout.contains("01  Basics"), "{}", map.stdout);
    assert!(
        map.stdout.contains("0 of 2 lessons done"),
        "the check is not passed yet: {}",
        map.stdout
    );
    assert!(map.stdout.contains("Next: lesson 01"), "{}", map.stdout);
    assert!(map.stdout.contains("(coming soon)"), "{}", map.stdout);
    assert!(
        !map.stdout.contains('\x1b'),
        "no colours with NO_COLOR or off a terminal"
    );
}

#[test]
fn failing_a_quiz_records_nothing_and_exits_1() {
    let course = TempCourse::new("fail");
    let run = course.quiz(&["take", "1", "--answers", FAILING]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stdout.contains("Not passed yet: 5/8"), "{run:?}");
    assert!(
        run.stdout.contains("Because third.") && run.stdout.contains("First is not it."),
        "wrong answers are explained, with why the chosen one is wrong: {run:?}"
    );
    assert!(
        !course.progress().contains("quiz = true"),
        "{}",
        course.progress()
    );
}

#[test]
fn a_damaged_progress_file_is_reported_and_replaced() {
    let course = TempCourse::new("damaged");
    std::fs::write(course.progress_file(), "[lessons.01\nquiz = maybe").expect("write");
    let run = course.quiz(&["take", "01", "--answers", RIGHT]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stderr.contains("damaged"), "{run:?}");
    assert!(
        course.progress().contains("quiz = true"),
        "{}",
        course.progress()
    );
    let map = course.quiz(&[]);
    assert_eq!(map.code, Some(0), "{map:?}");
    assert!(
        !map.stderr.contains("damaged"),
        "the file was replaced: {map:?}"
    );
}

#[test]
fn bad_input_is_explained_with_exit_code_2() {
    let course = TempCourse::new("bad-input");
    let cases: [(&[&str], &str); 9] = [
        (&["take", "42", "--answers", "a"], "no lesson 42"),
        (&["take", "seven"], "not a lesson number"),
        (&["take", "03"], "not written yet"),
        (&["take", "01"], "not a terminal"),
        (&["take", "01", "--answers", "yes,first"], "has 2 answers"),
        (
            &[
                "take",
                "01",
                "--answers",
                "yes,first,third,second,z,third,second,96 01",
            ],
            "answer 5 is \"z\"",
        ),
        (
            &["take", "01", "--answers", "b,a,c,b,a,c,b,9601"],
            "takes one of the ids no, yes, maybe",
        ),
        (&["check", "02"], "no lesson crate"),
        (&["check", "01", "--path", "nowhere"], "no lesson crate"),
    ];
    for (args, message) in cases {
        let run = course.quiz(args);
        assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
        assert!(
            run.stderr.contains(message),
            "{args:?} should say {message:?}: {run:?}"
        );
        assert!(!run.stderr.contains("panicked"), "{args:?}: {run:?}");
    }
    let run = course.quiz(&["take", "02", "--answers", "a"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("02.toml"),
        "a missing quiz file is named: {run:?}"
    );
}

#[test]
fn a_malformed_question_file_is_named_with_its_line() {
    let course = TempCourse::new("malformed");
    course.write(
        "quiz/lessons/01.toml",
        &QUIZ.replacen("answer = \"first\"", "answer = \"e\"", 1),
    );
    let run = course.quiz(&["take", "01", "--answers", RIGHT]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("01.toml:24:"), "file and line: {run:?}");
    assert!(run.stderr.contains("not the id of a choice"), "{run:?}");

    course.write(
        "quiz/lessons/01.toml",
        &QUIZ.replacen("prompt = \"Which", "prompt = Which", 1),
    );
    let run = course.quiz(&["hint", "01"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("01.toml:12:"), "file and line: {run:?}");
}

#[test]
fn hints_come_one_step_at_a_time_and_are_remembered() {
    let course = TempCourse::new("hint");
    let first = course.quiz(&["hint", "01"]);
    assert_eq!(first.code, Some(0), "{first:?}");
    assert!(
        first
            .stdout
            .contains("Hint 1 of 3: Read the lesson again, slowly."),
        "{first:?}"
    );
    assert!(
        !first.stdout.contains("second paragraph"),
        "only the first hint at first: {first:?}"
    );
    let second = course.quiz(&["hint", "01"]);
    assert!(
        second
            .stdout
            .contains("Hint 2 of 3: Look at the second paragraph."),
        "{second:?}"
    );
    assert!(
        course.progress().contains("hints_shown = 2"),
        "{}",
        course.progress()
    );
    course.quiz(&["hint", "01"]);
    let after = course.quiz(&["hint", "01"]);
    assert_eq!(after.code, Some(0), "{after:?}");
    assert!(after.stdout.contains("all the hints"), "{after:?}");
    assert!(after.stdout.contains("let x = 1;"), "{after:?}");
}

fn git(dir: &Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=quiz",
            "-c",
            "user.email=quiz@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run git");
    assert!(status.success(), "git {args:?}");
}

#[test]
fn reset_restores_the_starter_after_a_yes() {
    let course = TempCourse::new("reset");
    course.write("lessons/01-basics/src/lib.rs", "// TODO: your code here\n");
    git(course.path(), &["init", "-q"]);
    git(course.path(), &["add", "."]);
    git(course.path(), &["commit", "-q", "-m", "starter"]);
    course.write("lessons/01-basics/src/lib.rs", "pub fn mine() {}\n");
    course.write("lessons/01-basics/src/extra.rs", "pub fn extra() {}\n");

    let run = course.quiz(&["reset", "01"]);
    assert_eq!(
        run.code,
        Some(2),
        "without a terminal it needs --yes: {run:?}"
    );
    assert!(run.stderr.contains("--yes"), "{run:?}");

    let run = course.quiz(&["reset", "01", "--yes"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let lib = std::fs::read_to_string(course.path().join("lessons/01-basics/src/lib.rs"))
        .expect("lib.rs");
    assert_eq!(lib, "// TODO: your code here\n");
    assert!(
        !course
            .path()
            .join("lessons/01-basics/src/extra.rs")
            .exists(),
        "new files go too"
    );
}

#[test]
fn an_interactive_quiz_shuffles_asks_again_explains_and_scores() {
    let quiz = Quiz::parse(QUIZ, Path::new("01.toml")).expect("the sample quiz");
    // The letters a learner types name choices as shown, after shuffling: find each question's
    // right letter under this seed by running the same shuffle.
    let mut shuffler = take::Shuffler::seeded(7);
    let mut letters = Vec::new();
    for question in &quiz.questions {
        match &question.kind {
            Kind::Choice { choices, answer } => {
                let order = shuffler.order(choices.len());
                let shown = order.iter().position(|i| i == answer).expect("shown");
                letters.push(char::from(b'a' + u8::try_from(shown).expect("small")).to_string());
            }
            Kind::Text { .. } => letters.push("0x96 0x01".to_string()),
        }
    }
    assert!(
        letters.iter().any(|l| l != &letters[0]),
        "the right answer is not always at one position: {letters:?}"
    );
    // A wrong letter is asked again; answers may be upper case and padded; the second question
    // is answered wrong on purpose.
    let wrong = if letters[1] == "a" { "b" } else { "a" };
    let mut input = format!("z\n {} \n{wrong}\n", letters[0].to_uppercase());
    for letter in &letters[2..] {
        input.push_str(letter);
        input.push('\n');
    }
    let mut out = Vec::new();
    let ending = take::interactive(
        &quiz,
        Cursor::new(input),
        &mut out,
        Style::plain(),
        &mut take::Shuffler::seeded(7),
    )
    .expect("the quiz runs");
    let shown = String::from_utf8(out).expect("UTF-8");
    let Ending::Finished(score) = ending else {
        panic!("the quiz should finish: {shown}");
    };
    assert_eq!((score.right, score.total), (7, 8), "{shown}");
    assert!(score.passed(), "7 of 8 passes");
    assert!(
        shown.contains("[1/8] Which of these is a question?"),
        "{shown}"
    );
    assert!(
        shown.contains("Please type one letter from a to c"),
        "{shown}"
    );
    assert!(
        shown.contains("Not quite. Second is not it.")
            || shown.contains("Not quite. Third is not it."),
        "a wrong choice says why it is wrong: {shown}"
    );
    assert!(
        shown.contains("The answer is") && shown.contains(") first"),
        "{shown}"
    );
    assert!(
        shown.contains("Because first."),
        "explanations follow answers: {shown}"
    );

    let mut out = Vec::new();
    let stopped = take::interactive(
        &quiz,
        Cursor::new("b\nq\n"),
        &mut out,
        Style::plain(),
        &mut take::Shuffler::seeded(1),
    )
    .expect("runs");
    assert_eq!(stopped, Ending::Stopped);

    let ended = take::interactive(
        &quiz,
        Cursor::new("b\n"),
        Vec::new(),
        Style::plain(),
        &mut take::Shuffler::seeded(1),
    );
    let error = ended.expect_err("input that ends early is bad input");
    assert!(error.downcast_ref::<quiz::BadInput>().is_some(), "{error}");
}

#[test]
fn quiz_questions_and_explanations_wrap_at_word_boundaries() {
    let text = QUIZ
        .replace(
            "prompt = \"Which of these is a question?\"",
            "prompt = \"Which of these is the likely cause of a stream that never ends on the \
             client, when the server has sent every message it meant to send?\"",
        )
        .replace(
            "explanation = \"Because yes.\"",
            "explanation = \"The sender must be dropped: `while let Some(link) = \
             stream.message().await?` only ends when the server closes its side.\"",
        );
    let quiz = Quiz::parse(&text, Path::new("01.toml")).expect("the sample quiz");
    let mut out = Vec::new();
    take::interactive(
        &quiz,
        Cursor::new("a\nq\n"),
        &mut out,
        Style::plain().with_width(40),
        &mut take::Shuffler::seeded(3),
    )
    .expect("the quiz runs");
    let shown = String::from_utf8(out).expect("UTF-8");
    let code = "`while let Some(link) = stream.message().await?`";
    for line in shown.lines() {
        assert!(
            line.chars().count() <= 40 || line.contains(code) || line.starts_with("your answer"),
            "a line is wider than 40 columns: {line:?}\n{shown}"
        );
    }
    assert!(
        shown.contains(code),
        "the code span is kept whole:\n{shown}"
    );
    for word in ["likely", "client,", "message", "dropped:"] {
        assert!(
            shown.split_whitespace().any(|w| w == word),
            "{word:?} was cut in two:\n{shown}"
        );
    }
    assert!(
        shown.contains("[1/8] Which of these is the likely cause\n      of a stream"),
        "the prompt's second line is under its first word:\n{shown}"
    );
}

#[test]
fn watch_without_a_terminal_or_with_an_unknown_lesson_is_bad_input() {
    let course = TempCourse::new("watch");
    course.write(
        "lessons/01-basics/Cargo.toml",
        "[package]\nname = \"lesson-01\"\n",
    );
    let run = course.quiz(&["watch", "01"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    let said = run.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        said.contains("is not a terminal") && said.contains("cargo quiz check 01"),
        "no terminal: say so, and name the command for scripts: {}",
        run.stderr
    );
    let run = course.quiz(&["watch", "42"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("42"), "{}", run.stderr);
}
