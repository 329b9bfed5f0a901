//! The question bank: `quiz/lessons/NN.toml`, one file per lesson, with the lesson's hints in
//! steps, a hint for each of its tests, and its questions. Loading validates everything and
//! names the file and line of any problem.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

/// How many questions a lesson's quiz has.
pub const QUESTIONS: std::ops::RangeInclusive<usize> = 8..=10;
/// Fewest and most choices a multiple-choice question may have.
pub const CHOICES: std::ops::RangeInclusive<usize> = 3..=5;

/// One lesson's quiz file, loaded and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quiz {
    /// The lesson's hints, in the order `cargo quiz hint` shows them: a nudge first.
    pub hints: Vec<String>,
    /// What to change when a test of `tests/lesson.rs` fails, by the test's name.
    pub tests: BTreeMap<String, String>,
    pub questions: Vec<Question>,
}

/// One question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Unique within the lesson.
    pub id: String,
    pub prompt: String,
    pub kind: Kind,
    /// Why the answer is right.
    pub explanation: String,
    /// The 1-based line of the question in its file.
    pub line: usize,
}

/// How a question is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Pick one of the choices; `answer` is the index of the right one, in the file's order.
    Choice { choices: Vec<Choice>, answer: usize },
    /// Type the answer; it is right when it matches one of these after [`normalize_answer`].
    Text { accept: Vec<String> },
}

/// One choice of a multiple-choice question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// What `--answers` calls it: unique within the question.
    pub id: String,
    pub text: String,
    /// Why this choice is wrong (empty for the right one).
    pub why: String,
}

/// What a learner answered to one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The index of a choice, in the file's order.
    Choice(usize),
    Text(String),
}

impl Question {
    /// Whether `answer` is right.
    pub fn is_right(&self, answer: &Answer) -> bool {
        match (&self.kind, answer) {
            (Kind::Choice { answer: right, .. }, Answer::Choice(chosen)) => right == chosen,
            (Kind::Text { accept }, Answer::Text(text)) => {
                let given = normalize_answer(text);
                !given.is_empty() && accept.iter().any(|a| normalize_answer(a) == given)
            }
            _ => false,
        }
    }

    /// The right answer, as a person reads it.
    pub fn right_answer(&self) -> &str {
        match &self.kind {
            Kind::Choice { choices, answer } => &choices[*answer].text,
            Kind::Text { accept } => &accept[0],
        }
    }

    /// Reads one answer as `--answers` gives it: a choice's id, or the free text.
    pub fn parse_answer(&self, given: &str) -> Option<Answer> {
        let given = given.trim();
        match &self.kind {
            Kind::Choice { choices, .. } => choices
                .iter()
                .position(|choice| choice.id == given)
                .map(Answer::Choice),
            Kind::Text { .. } => (!given.is_empty()).then(|| Answer::Text(given.to_string())),
        }
    }
}

/// A free-text answer reduced to what matters: lower case, `0x` dropped before hex bytes, and
/// only letters and digits kept. `NOT_FOUND`, `not found` and `Not-Found` are one answer, and
/// so are `0xAC 0x02` and `ac02`.
pub fn normalize_answer(text: &str) -> String {
    let lower = text.to_lowercase();
    let mut out = String::new();
    let mut chars = lower.chars().peekable();
    let mut previous_alnum = false;
    while let Some(c) = chars.next() {
        if c == '0' && !previous_alnum && chars.peek() == Some(&'x') {
            let mut ahead = chars.clone();
            ahead.next();
            if ahead.peek().is_some_and(char::is_ascii_hexdigit) {
                chars.next();
                previous_alnum = false;
                continue;
            }
        }
        previous_alnum = c.is_alphanumeric();
        if previous_alnum {
            out.push(c);
        }
    }
    out
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
    hints: Vec<String>,
    #[serde(default)]
    tests: BTreeMap<String, String>,
    #[serde(default, rename = "question")]
    questions: Vec<Spanned<RawQuestion>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    id: String,
    prompt: String,
    #[serde(default)]
    choices: Option<Vec<RawChoice>>,
    #[serde(default)]
    answer: Option<Spanned<String>>,
    #[serde(default)]
    accept: Option<Vec<String>>,
    explanation: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChoice {
    id: String,
    text: String,
    #[serde(default)]
    why: String,
}

/// The letter of choice `index` as shown: 0 is `a`.
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
        if raw.hints.is_empty() || raw.hints.iter().any(|hint| hint.trim().is_empty()) {
            return Err(error(
                None,
                "`hints` needs at least one hint, and none may be empty".to_string(),
            ));
        }
        if let Some((name, _)) = raw.tests.iter().find(|(_, hint)| hint.trim().is_empty()) {
            return Err(error(None, format!("[tests] {name} has an empty hint")));
        }
        if !QUESTIONS.contains(&raw.questions.len()) {
            return Err(error(
                None,
                format!(
                    "{} questions; a lesson has {} to {} ([[question]] tables)",
                    raw.questions.len(),
                    QUESTIONS.start(),
                    QUESTIONS.end()
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
            if raw.explanation.trim().is_empty() {
                return Err(at("the `explanation` is empty".to_string()));
            }
            let kind = match (raw.choices, raw.answer, raw.accept) {
                (Some(choices), Some(answer), None) => Question::choice_kind(choices, answer, text)
                    .map_err(|(l, m)| {
                        error(
                            Some(l.unwrap_or(line)),
                            format!("question {:?}: {m}", raw.id),
                        )
                    })?,
                (None, None, Some(accept)) => {
                    if accept.is_empty() || accept.iter().any(|a| normalize_answer(a).is_empty()) {
                        return Err(at(
                            "`accept` needs at least one answer with a letter or digit in it"
                                .to_string(),
                        ));
                    }
                    Kind::Text { accept }
                }
                _ => {
                    return Err(at(
                        "a question has either `choices` and `answer` (multiple choice) or \
                         `accept` (free text), not both and not neither"
                            .to_string(),
                    ));
                }
            };
            questions.push(Question {
                id: raw.id,
                prompt: raw.prompt,
                kind,
                explanation: raw.explanation,
                line,
            });
        }
        Ok(Quiz {
            hints: raw.hints,
            tests: raw.tests,
            questions,
        })
    }

    /// How many right answers pass: 80%, rounded up (7 of 8, 8 of 10).
    pub fn pass_mark(&self) -> usize {
        (self.questions.len() * 4).div_ceil(5)
    }
}

impl Question {
    fn choice_kind(
        choices: Vec<RawChoice>,
        answer: Spanned<String>,
        text: &str,
    ) -> Result<Kind, (Option<usize>, String)> {
        if !CHOICES.contains(&choices.len()) {
            return Err((
                None,
                format!(
                    "{} choices; a question has {} to {}",
                    choices.len(),
                    CHOICES.start(),
                    CHOICES.end()
                ),
            ));
        }
        for (i, choice) in choices.iter().enumerate() {
            if choice.id.trim().is_empty() || choice.id.contains(',') {
                return Err((
                    None,
                    format!("choice {} has an empty id, or one with a comma", i + 1),
                ));
            }
            if choice.text.trim().is_empty() {
                return Err((None, format!("the choice {:?} has no text", choice.id)));
            }
            if choices[..i].iter().any(|c| c.id == choice.id) {
                return Err((
                    None,
                    format!("the choice id {:?} is there twice", choice.id),
                ));
            }
            if choices[..i].iter().any(|c| c.text == choice.text) {
                return Err((None, format!("the choice {:?} is there twice", choice.text)));
            }
        }
        let answer_line = line_of(text, answer.span().start);
        let answer = answer.into_inner();
        let Some(index) = choices.iter().position(|c| c.id == answer) else {
            return Err((
                Some(answer_line),
                format!(
                    "the answer {answer:?} is not the id of a choice ({})",
                    choices
                        .iter()
                        .map(|c| c.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        if let Some(bare) = choices
            .iter()
            .enumerate()
            .find(|(i, c)| *i != index && c.why.trim().is_empty())
        {
            return Err((
                None,
                format!(
                    "the wrong choice {:?} needs a `why`: what is wrong with it",
                    bare.1.id
                ),
            ));
        }
        Ok(Kind::Choice {
            choices: choices
                .into_iter()
                .map(|c| Choice {
                    id: c.id,
                    text: c.text,
                    why: c.why,
                })
                .collect(),
            answer: index,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(id: &str, answer: &str) -> String {
        format!(
            "[[question]]\nid = \"{id}\"\nprompt = \"Why?\"\nanswer = \"{answer}\"\nexplanation = \"Because.\"\nchoices = [\n  {{ id = \"one\", text = \"One\", why = \"no\" }},\n  {{ id = \"two\", text = \"Two\", why = \"no\" }},\n  {{ id = \"three\", text = \"Three\", why = \"no\" }},\n]\n\n"
        )
    }

    fn quiz_text(questions: &[(&str, &str)]) -> String {
        let mut text =
            "hints = [\"Read the lesson.\", \"Look at get_link.\"]\n\n[tests]\na_test = \"Exercise 1.\"\n\n"
                .to_string();
        for (id, answer) in questions {
            text.push_str(&question(id, answer));
        }
        text
    }

    const EIGHT: [(&str, &str); 8] = [
        ("q1", "one"),
        ("q2", "two"),
        ("q3", "three"),
        ("q4", "one"),
        ("q5", "two"),
        ("q6", "three"),
        ("q7", "one"),
        ("q8", "two"),
    ];

    #[test]
    fn a_valid_file_loads() {
        let quiz = Quiz::parse(&quiz_text(&EIGHT), Path::new("01.toml")).expect("valid");
        assert_eq!(quiz.questions.len(), 8);
        assert_eq!(quiz.hints.len(), 2);
        assert_eq!(quiz.tests["a_test"], "Exercise 1.");
        let Kind::Choice { answer, .. } = &quiz.questions[1].kind else {
            panic!("a choice question")
        };
        assert_eq!(*answer, 1);
        assert_eq!(quiz.questions[0].line, 6);
        assert_eq!(quiz.pass_mark(), 7);
        assert_eq!(
            quiz.questions[2].parse_answer("three"),
            Some(Answer::Choice(2))
        );
        assert_eq!(
            quiz.questions[2].parse_answer("c"),
            None,
            "ids, not letters"
        );
    }

    #[test]
    fn problems_name_the_file_and_line() {
        let mut eight = EIGHT;
        eight[3] = ("q1", "one");
        let error = Quiz::parse(&quiz_text(&eight), Path::new("quiz/07.toml")).expect_err("dup");
        assert!(error.to_string().starts_with("quiz/07.toml:"), "{error}");
        assert!(
            error.message.contains("used twice (first on line 6)"),
            "{error}"
        );

        let mut eight = EIGHT;
        eight[1] = ("q2", "four");
        let error = Quiz::parse(&quiz_text(&eight), Path::new("x.toml")).expect_err("no such id");
        assert!(error.message.contains("not the id of a choice"), "{error}");
        assert_eq!(error.line, Some(20), "{error}");

        let broken = quiz_text(&EIGHT).replace("prompt = \"Why?\"", "prompt = Why?");
        let error = Quiz::parse(&broken, Path::new("x.toml")).expect_err("not TOML");
        assert_eq!(error.line, Some(8), "{error}");

        let typo = quiz_text(&EIGHT).replacen("explanation", "explaination", 1);
        let error = Quiz::parse(&typo, Path::new("x.toml")).expect_err("unknown key");
        assert!(error.message.contains("explaination"), "{error}");

        let error = Quiz::parse(&quiz_text(&EIGHT[..5]), Path::new("x.toml")).expect_err("five");
        assert!(error.message.contains("8 to 10"), "{error}");

        let no_why = quiz_text(&EIGHT).replacen(", why = \"no\" }", " }", 2);
        let error = Quiz::parse(&no_why, Path::new("x.toml")).expect_err("a bare wrong choice");
        assert!(error.message.contains("needs a `why`"), "{error}");
    }

    #[test]
    fn free_text_answers_are_normalised() {
        let text = quiz_text(&EIGHT[..7])
            + "[[question]]\nid = \"varint\"\nprompt = \"300 as a varint?\"\naccept = [\"ac 02\"]\nexplanation = \"7 bits at a time.\"\n";
        let quiz = Quiz::parse(&text, Path::new("x.toml")).expect("valid");
        let question = &quiz.questions[7];
        for right in ["ac 02", "0xAC 0x02", "AC02", "0xac,0x02", " ac-02 "] {
            let answer = question.parse_answer(right).expect("an answer");
            assert!(question.is_right(&answer), "{right:?} should be right");
        }
        for wrong in ["ac 03", "02 ac", "x", "0x"] {
            let answer = question.parse_answer(wrong).expect("an answer");
            assert!(!question.is_right(&answer), "{wrong:?} should be wrong");
        }
        assert_eq!(normalize_answer("NOT_FOUND"), normalize_answer("not found"));
        assert_eq!(normalize_answer("0x08 0x96 0x01"), "089601");
        assert_eq!(normalize_answer("box"), "box", "an x inside a word stays");
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
