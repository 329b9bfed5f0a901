//! The question bank: `quiz/lessons/NN.toml`, one file per lesson, with the lesson's hint and its
//! multiple-choice questions. Loading validates everything and names the file and line of any
//! problem.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

/// Fewest questions a lesson's quiz may have.
pub const MIN_QUESTIONS: usize = 6;
/// Fewest and most choices a question may have.
pub const CHOICES: std::ops::RangeInclusive<usize> = 3..=5;

/// One lesson's quiz file, loaded and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quiz {
    /// One or two sentences that unblock a learner whose check fails.
    pub hint: String,
    pub questions: Vec<Question>,
}

/// One multiple-choice question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Unique within the lesson.
    pub id: String,
    pub prompt: String,
    pub choices: Vec<String>,
    /// The index of the one right choice (0 for `a`).
    pub answer: usize,
    /// Why the answer is right (and the tempting wrong one is not).
    pub explanation: String,
    /// The 1-based line of the question in its file.
    pub line: usize,
}

/// A quiz file that cannot be used, with where the problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuizFileError {
    pub file: PathBuf,
    /// The 1-based line, when the problem has one.
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for QuizFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for QuizFileError {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuiz {
    hint: String,
    #[serde(default, rename = "question")]
    questions: Vec<Spanned<RawQuestion>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    id: String,
    prompt: String,
    choices: Vec<String>,
    answer: Spanned<String>,
    explanation: String,
}

/// The letter of choice `index`: 0 is `a`.
pub fn letter(index: usize) -> char {
    u8::try_from(index)
        .ok()
        .and_then(|i| b'a'.checked_add(i))
        .map_or('?', char::from)
}

/// The index of a choice letter (`a`, `B`, ` c `), if it is one of `count` choices.
pub fn parse_letter(text: &str, count: usize) -> Option<usize> {
    let mut chars = text.trim().chars();
    let c = chars.next()?.to_ascii_lowercase();
    if chars.next().is_some() || !c.is_ascii_lowercase() {
        return None;
    }
    let index = usize::from(c as u8 - b'a');
    (index < count).then_some(index)
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |before| before.matches('\n').count() + 1)
}

impl Quiz {
    /// Reads and validates a quiz file.
    pub fn load(file: &Path) -> Result<Quiz, QuizFileError> {
        let text = std::fs::read_to_string(file).map_err(|error| QuizFileError {
            file: file.to_path_buf(),
            line: None,
            message: format!("cannot read it: {error}"),
        })?;
        Quiz::parse(&text, file)
    }

    /// Parses and validates the text of a quiz file; `file` names it in errors.
    pub fn parse(text: &str, file: &Path) -> Result<Quiz, QuizFileError> {
        let error = |line: Option<usize>, message: String| QuizFileError {
            file: file.to_path_buf(),
            line,
            message,
        };
        let raw: RawQuiz = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|span| line_of(text, span.start));
            error(line, e.message().trim().to_string())
        })?;
        if raw.hint.trim().is_empty() {
            return Err(error(None, "the `hint` is empty".to_string()));
        }
        if raw.questions.len() < MIN_QUESTIONS {
            return Err(error(
                None,
                format!(
                    "{} questions; a lesson needs at least {MIN_QUESTIONS} ([[question]] tables)",
                    raw.questions.len()
                ),
            ));
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut questions = Vec::new();
        for spanned in raw.questions {
            let line = line_of(text, spanned.span().start);
            let raw = spanned.into_inner();
            let at =
                |message: String| error(Some(line), format!("question {:?}: {message}", raw.id));
            if raw.id.trim().is_empty() {
                return Err(error(
                    Some(line),
                    "a question has an empty `id`".to_string(),
                ));
            }
            if let Some(first) = seen.insert(raw.id.clone(), line) {
                return Err(at(format!("the id is used twice (first on line {first})")));
            }
            if raw.prompt.trim().is_empty() {
                return Err(at("the `prompt` is empty".to_string()));
            }
            if !CHOICES.contains(&raw.choices.len()) {
                return Err(at(format!(
                    "{} choices; a question has {} to {}",
                    raw.choices.len(),
                    CHOICES.start(),
                    CHOICES.end()
                )));
            }
            if raw.choices.iter().any(|choice| choice.trim().is_empty()) {
                return Err(at("a choice is empty".to_string()));
            }
            for (i, choice) in raw.choices.iter().enumerate() {
                if raw.choices[..i].contains(choice) {
                    return Err(at(format!("the choice {choice:?} is there twice")));
                }
            }
            let answer_line = line_of(text, raw.answer.span().start);
            let Some(answer) = parse_letter(raw.answer.get_ref(), raw.choices.len()) else {
                return Err(error(
                    Some(answer_line),
                    format!(
                        "question {:?}: the answer {:?} is not one letter from a to {}",
                        raw.id,
                        raw.answer.get_ref(),
                        letter(raw.choices.len() - 1)
                    ),
                ));
            };
            if raw.explanation.trim().is_empty() {
                return Err(at("the `explanation` is empty".to_string()));
            }
            questions.push(Question {
                id: raw.id,
                prompt: raw.prompt,
                choices: raw.choices,
                answer,
                explanation: raw.explanation,
                line,
            });
        }
        Ok(Quiz {
            hint: raw.hint,
            questions,
        })
    }

    /// How many right answers pass: 80%, rounded up (5 of 6, 8 of 10).
    pub fn pass_mark(&self) -> usize {
        (self.questions.len() * 4).div_ceil(5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(id: &str, answer: &str) -> String {
        format!(
            "[[question]]\nid = \"{id}\"\nprompt = \"Why?\"\nchoices = [\"one\", \"two\", \"three\"]\nanswer = \"{answer}\"\nexplanation = \"Because.\"\n\n"
        )
    }

    fn quiz_text(questions: &[(&str, &str)]) -> String {
        let mut text = "hint = \"Read the lesson.\"\n\n".to_string();
        for (id, answer) in questions {
            text.push_str(&question(id, answer));
        }
        text
    }

    const SIX: [(&str, &str); 6] = [
        ("q1", "a"),
        ("q2", "b"),
        ("q3", "c"),
        ("q4", "a"),
        ("q5", "B"),
        ("q6", "c"),
    ];

    #[test]
    fn a_valid_file_loads() {
        let quiz = Quiz::parse(&quiz_text(&SIX), Path::new("01.toml")).expect("valid");
        assert_eq!(quiz.questions.len(), 6);
        assert_eq!(quiz.questions[1].answer, 1);
        assert_eq!(quiz.questions[4].answer, 1, "letters are case-insensitive");
        assert_eq!(quiz.questions[0].line, 3);
        assert_eq!(quiz.pass_mark(), 5);
    }

    #[test]
    fn problems_name_the_file_and_line() {
        let mut six = SIX;
        six[3] = ("q1", "a");
        let error = Quiz::parse(&quiz_text(&six), Path::new("quiz/07.toml")).expect_err("dup");
        assert_eq!(error.line, Some(24), "{error}");
        assert!(
            error.to_string().starts_with("quiz/07.toml:24: "),
            "{error}"
        );
        assert!(
            error.message.contains("used twice (first on line 3)"),
            "{error}"
        );

        let mut six = SIX;
        six[1] = ("q2", "d");
        let error = Quiz::parse(&quiz_text(&six), Path::new("x.toml")).expect_err("d of 3");
        assert_eq!(error.line, Some(14), "{error}");

        let broken = quiz_text(&SIX).replace("prompt = \"Why?\"", "prompt = Why?");
        let error = Quiz::parse(&broken, Path::new("x.toml")).expect_err("not TOML");
        assert_eq!(error.line, Some(5), "{error}");

        let typo = quiz_text(&SIX).replacen("explanation", "explaination", 1);
        let error = Quiz::parse(&typo, Path::new("x.toml")).expect_err("unknown key");
        assert!(error.message.contains("explaination"), "{error}");

        let error = Quiz::parse(&quiz_text(&SIX[..5]), Path::new("x.toml")).expect_err("five");
        assert!(error.message.contains("at least 6"), "{error}");
    }

    #[test]
    fn letters_round_trip() {
        assert_eq!(letter(0), 'a');
        assert_eq!(letter(4), 'e');
        assert_eq!(parse_letter(" C ", 3), Some(2));
        assert_eq!(parse_letter("d", 3), None);
        assert_eq!(parse_letter("ab", 3), None);
        assert_eq!(parse_letter("", 3), None);
        assert_eq!(parse_letter("é", 3), None);
    }
}
