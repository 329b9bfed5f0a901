//! Taking a lesson's quiz: one question at a time with an explanation after each answer, or all
//! answers at once from `--answers id,id,text,...` for scripts.
//!
//! The choices of a question are shown in a shuffled order, lettered a, b, c... as shown; the
//! letters are only for typing. `--answers` names choices by their id, so a script does not
//! depend on the order.

use std::io::{BufRead, Write};

use rand::SeedableRng;
use rand::seq::SliceRandom;

use crate::BadInput;
use crate::questions::{Answer, Kind, Question, Quiz, letter, parse_letter};
use crate::style::Style;

/// How a quiz went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Score {
    pub right: usize,
    pub total: usize,
    /// Right answers needed to pass.
    pub pass_mark: usize,
}

impl Score {
    pub fn passed(&self) -> bool {
        self.right >= self.pass_mark
    }
}

impl std::fmt::Display for Score {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.right, self.total)
    }
}

/// How an interactive quiz ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Finished(Score),
    /// The learner typed `q`: nothing is recorded.
    Stopped,
}

/// The order the choices are shown in. `QUIZ_SEED` (a number) fixes it, for tests.
pub struct Shuffler(rand::rngs::StdRng);

impl Shuffler {
    pub fn from_env() -> Shuffler {
        match std::env::var("QUIZ_SEED")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
        {
            Some(seed) => Shuffler::seeded(seed),
            None => Shuffler(rand::rngs::StdRng::from_os_rng()),
        }
    }

    pub fn seeded(seed: u64) -> Shuffler {
        Shuffler(rand::rngs::StdRng::seed_from_u64(seed))
    }

    /// The indices of `count` choices in the order to show them.
    pub fn order(&mut self, count: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..count).collect();
        order.shuffle(&mut self.0);
        order
    }
}

/// Parses `--answers`: one answer per question, in the file's order, comma-separated; a choice's
/// id for a multiple-choice question, the text for a free-text one.
pub fn parse_answers(text: &str, quiz: &Quiz) -> Result<Vec<Answer>, BadInput> {
    let given: Vec<&str> = text.split(',').map(str::trim).collect();
    if given.len() != quiz.questions.len() {
        return Err(BadInput(format!(
            "--answers has {} answers, but the quiz has {} questions (one each, comma-separated: \
             a choice's id, or the text of a free-text answer)",
            given.len(),
            quiz.questions.len()
        )));
    }
    given
        .iter()
        .zip(&quiz.questions)
        .enumerate()
        .map(|(index, (answer, question))| {
            question.parse_answer(answer).ok_or_else(|| {
                let takes = match &question.kind {
                    Kind::Choice { choices, .. } => format!(
                        "one of the ids {}",
                        choices
                            .iter()
                            .map(|c| c.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Kind::Text { .. } => "some text".to_string(),
                };
                BadInput(format!(
                    "--answers: answer {} is {answer:?}, but question {} ({}) takes {takes}",
                    index + 1,
                    index + 1,
                    question.id
                ))
            })
        })
        .collect()
}

fn show_question(
    out: &mut impl Write,
    style: Style,
    number: usize,
    total: usize,
    question: &Question,
    order: &[usize],
) -> std::io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        style.hang(
            &format!("{} ", style.dim(&format!("[{number}/{total}]"))),
            &style.bold(question.prompt.trim())
        )
    )?;
    if let Kind::Choice { choices, .. } = &question.kind {
        for (shown, &index) in order.iter().enumerate() {
            let choice = &choices[index].text;
            writeln!(
                out,
                "{}",
                style.hang(&format!("  {}) ", letter(shown)), choice)
            )?;
        }
    }
    Ok(())
}

/// After an answer: right or not, why the chosen choice is wrong, and why the answer is right.
fn show_verdict(
    out: &mut impl Write,
    style: Style,
    question: &Question,
    given: &Answer,
    order: &[usize],
) -> std::io::Result<()> {
    if question.is_right(given) {
        writeln!(out, "{}", style.green("Right."))?;
    } else {
        match (&question.kind, given) {
            (Kind::Choice { choices, answer }, Answer::Choice(chosen)) => {
                let shown = order.iter().position(|&i| i == *answer).unwrap_or(*answer);
                let why = format!(
                    "{} {}",
                    style.red("Not quite."),
                    choices[*chosen].why.trim()
                );
                writeln!(out, "{}", style.wrap(&why))?;
                let right = format!("The answer is {}) {}", letter(shown), choices[*answer].text);
                writeln!(out, "{}", style.wrap(&right))?;
            }
            _ => {
                let right = format!(
                    "{} The answer is {}",
                    style.red("Not quite."),
                    question.right_answer()
                );
                writeln!(out, "{}", style.wrap(&right))?;
            }
        }
    }
    writeln!(
        out,
        "{}",
        style.dim(&style.wrap(question.explanation.trim()))
    )
}

fn show_score(out: &mut impl Write, style: Style, score: Score) -> std::io::Result<()> {
    writeln!(out)?;
    let said = if score.passed() {
        format!(
            "{} {score} right (the pass mark is {} of {}).",
            style.green("Quiz passed:"),
            score.pass_mark,
            score.total
        )
    } else {
        format!(
            "{} {score} right; the pass mark is {} of {}. Reread the lesson and try again.",
            style.red("Not passed yet:"),
            score.pass_mark,
            score.total
        )
    };
    writeln!(out, "{}", style.wrap(&said))
}

/// Reads one line; `None` when the input has ended.
fn read_line(input: &mut impl BufRead) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    Ok((input.read_line(&mut line)? > 0).then_some(line))
}

/// Asks every question on `input`/`out`, one at a time, with the explanation after each answer.
/// A letter that is not a choice is asked again; `q` stops. Input that ends early is an error.
pub fn interactive(
    quiz: &Quiz,
    mut input: impl BufRead,
    mut out: impl Write,
    style: Style,
    shuffler: &mut Shuffler,
) -> anyhow::Result<Ending> {
    let total = quiz.questions.len();
    let how = format!(
        "{total} questions; answer with a letter, or type the answer where there are no choices \
         (q to stop). You pass with {} right.",
        quiz.pass_mark()
    );
    writeln!(out, "{}", style.wrap(&how))?;
    let mut right = 0;
    for (index, question) in quiz.questions.iter().enumerate() {
        let count = match &question.kind {
            Kind::Choice { choices, .. } => choices.len(),
            Kind::Text { .. } => 0,
        };
        let order = shuffler.order(count);
        show_question(&mut out, style, index + 1, total, question, &order)?;
        let given = loop {
            if count > 0 {
                write!(out, "your answer (a-{}): ", letter(count - 1))?;
            } else {
                write!(out, "your answer: ")?;
            }
            out.flush()?;
            let Some(line) = read_line(&mut input)? else {
                writeln!(out)?;
                return Err(BadInput(
                    "the input ended before the quiz did; nothing was recorded".to_string(),
                )
                .into());
            };
            if line.trim().eq_ignore_ascii_case("q") {
                writeln!(out, "Stopped; nothing was recorded.")?;
                return Ok(Ending::Stopped);
            }
            if count == 0 {
                match question.parse_answer(&line) {
                    Some(answer) => break answer,
                    None => writeln!(out, "Please type an answer, or q to stop.")?,
                }
                continue;
            }
            match parse_letter(&line, count) {
                Some(shown) => break Answer::Choice(order[shown]),
                None => writeln!(
                    out,
                    "Please type one letter from a to {}, or q to stop.",
                    letter(count - 1)
                )?,
            }
        };
        if question.is_right(&given) {
            right += 1;
        }
        show_verdict(&mut out, style, question, &given, &order)?;
    }
    let score = Score {
        right,
        total,
        pass_mark: quiz.pass_mark(),
    };
    show_score(&mut out, style, score)?;
    Ok(Ending::Finished(score))
}

/// Marks answers given all at once, showing each question's verdict and, for a wrong answer,
/// why it is wrong and what is right.
pub fn with_answers(
    quiz: &Quiz,
    answers: &[Answer],
    mut out: impl Write,
    style: Style,
) -> std::io::Result<Score> {
    let total = quiz.questions.len();
    let mut right = 0;
    for (index, (question, given)) in quiz.questions.iter().zip(answers).enumerate() {
        let correct = question.is_right(given);
        if correct {
            right += 1;
        }
        let chosen = match (&question.kind, given) {
            (Kind::Choice { choices, .. }, Answer::Choice(i)) => choices[*i].id.clone(),
            (_, Answer::Text(text)) => text.clone(),
            (_, Answer::Choice(i)) => i.to_string(),
        };
        let line = format!(
            "[{}/{total}] {}: you answered {chosen}",
            index + 1,
            question.prompt.trim()
        );
        writeln!(
            out,
            "{}",
            style.hang(&format!("{} ", style.verdict(correct)), &line)
        )?;
        if !correct {
            let indent = "       ";
            if let (Kind::Choice { choices, .. }, Answer::Choice(i)) = (&question.kind, given) {
                writeln!(out, "{}", style.hang(indent, choices[*i].why.trim()))?;
            }
            let right = format!("the answer is: {}", question.right_answer());
            writeln!(out, "{}", style.hang(indent, &right))?;
            writeln!(out, "{}", style.hang(indent, question.explanation.trim()))?;
        }
    }
    let score = Score {
        right,
        total,
        pass_mark: quiz.pass_mark(),
    };
    show_score(&mut out, style, score)?;
    Ok(score)
}
