//! Taking a lesson's quiz: one question at a time with an explanation after each answer, or all
//! answers at once from `--answers b,a,d,...` for scripts.

use std::io::{BufRead, Write};

use crate::BadInput;
use crate::questions::{Question, Quiz, letter, parse_letter};
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

/// Parses `--answers b,a,d,...`: one letter per question, in order.
pub fn parse_answers(text: &str, quiz: &Quiz) -> Result<Vec<usize>, BadInput> {
    let given: Vec<&str> = text.split(',').map(str::trim).collect();
    if given.len() != quiz.questions.len() {
        return Err(BadInput(format!(
            "--answers has {} answers, but the quiz has {} questions (one letter each, comma-separated: a,b,c,...)",
            given.len(),
            quiz.questions.len()
        )));
    }
    given
        .iter()
        .zip(&quiz.questions)
        .enumerate()
        .map(|(index, (answer, question))| {
            parse_letter(answer, question.choices.len()).ok_or_else(|| {
                BadInput(format!(
                    "--answers: answer {} is {answer:?}, but question {} takes a letter from a to {}",
                    index + 1,
                    index + 1,
                    letter(question.choices.len() - 1)
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
) -> std::io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "{} {}",
        style.dim(&format!("[{number}/{total}]")),
        style.bold(&question.prompt)
    )?;
    for (index, choice) in question.choices.iter().enumerate() {
        writeln!(out, "  {}) {choice}", letter(index))?;
    }
    Ok(())
}

fn show_verdict(
    out: &mut impl Write,
    style: Style,
    question: &Question,
    chosen: usize,
) -> std::io::Result<()> {
    if chosen == question.answer {
        writeln!(out, "{}", style.green("Right."))?;
    } else {
        writeln!(
            out,
            "{} The answer is {}) {}",
            style.red("Not quite."),
            letter(question.answer),
            question.choices[question.answer]
        )?;
    }
    writeln!(out, "{}", style.dim(question.explanation.trim()))
}

fn show_score(out: &mut impl Write, style: Style, score: Score) -> std::io::Result<()> {
    writeln!(out)?;
    if score.passed() {
        writeln!(
            out,
            "{} {score} right (the pass mark is {} of {}).",
            style.green("Quiz passed:"),
            score.pass_mark,
            score.total
        )
    } else {
        writeln!(
            out,
            "{} {score} right; the pass mark is {} of {}. Reread the lesson and try again.",
            style.red("Not passed yet:"),
            score.pass_mark,
            score.total
        )
    }
}

/// Asks every question on `input`/`out`, one at a time, with the explanation after each answer.
/// A wrong letter is asked again; `q` stops. Input that ends early is an error.
pub fn interactive(
    quiz: &Quiz,
    mut input: impl BufRead,
    mut out: impl Write,
    style: Style,
) -> anyhow::Result<Ending> {
    let total = quiz.questions.len();
    writeln!(
        out,
        "{total} questions; answer with a letter (q to stop). You pass with {} right.",
        quiz.pass_mark()
    )?;
    let mut right = 0;
    for (index, question) in quiz.questions.iter().enumerate() {
        show_question(&mut out, style, index + 1, total, question)?;
        let last = letter(question.choices.len() - 1);
        let chosen = loop {
            write!(out, "your answer (a-{last}): ")?;
            out.flush()?;
            let mut line = String::new();
            if input.read_line(&mut line)? == 0 {
                writeln!(out)?;
                return Err(BadInput(
                    "the input ended before the quiz did; nothing was recorded".to_string(),
                )
                .into());
            }
            if line.trim().eq_ignore_ascii_case("q") {
                writeln!(out, "Stopped; nothing was recorded.")?;
                return Ok(Ending::Stopped);
            }
            match parse_letter(&line, question.choices.len()) {
                Some(chosen) => break chosen,
                None => writeln!(
                    out,
                    "Please type one letter from a to {last}, or q to stop."
                )?,
            }
        };
        if chosen == question.answer {
            right += 1;
        }
        show_verdict(&mut out, style, question, chosen)?;
    }
    let score = Score {
        right,
        total,
        pass_mark: quiz.pass_mark(),
    };
    show_score(&mut out, style, score)?;
    Ok(Ending::Finished(score))
}

/// Marks answers given all at once, showing each question's verdict and explanation.
pub fn with_answers(
    quiz: &Quiz,
    answers: &[usize],
    mut out: impl Write,
    style: Style,
) -> std::io::Result<Score> {
    let total = quiz.questions.len();
    let mut right = 0;
    for (index, (question, &chosen)) in quiz.questions.iter().zip(answers).enumerate() {
        let correct = chosen == question.answer;
        if correct {
            right += 1;
        }
        writeln!(
            out,
            "{} [{}/{total}] {}: you chose {}",
            style.verdict(correct),
            index + 1,
            question.prompt.trim(),
            letter(chosen)
        )?;
        if !correct {
            writeln!(
                out,
                "       the answer is {}) {}\n       {}",
                letter(question.answer),
                question.choices[question.answer],
                question.explanation.trim()
            )?;
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
