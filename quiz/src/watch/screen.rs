//! What the watch shows: a short screen, redrawn whole. A progress line, the first failing
//! check (what was expected, what came back, its hint), and the keys.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use crate::check::{self, Check};
use crate::style::Style;

/// At most this many lines of what a failing check got (`cargo quiz check` shows them all).
const GOT_LINES: usize = 12;

/// How many of the worker's last stderr lines are kept, to explain a run that died.
const KEPT_STDERR: usize = 15;

/// What the run shown on screen has reported so far.
#[derive(Debug, Default)]
pub struct RunState {
    pub checks: Vec<Check>,
    /// Every check ran.
    pub finished: bool,
    /// The run ended without finishing: why.
    pub error: Option<String>,
    /// The check's last progress line (`building lesson-07 ...`).
    pub status: String,
    stderr: VecDeque<String>,
}

impl RunState {
    /// One line of the worker's stderr.
    pub fn progress(&mut self, line: &str) {
        if self.stderr.len() == KEPT_STDERR {
            self.stderr.pop_front();
        }
        self.stderr.push_back(line.to_string());
        if let Some(status) = line.trim().strip_prefix("==>") {
            self.status = status.trim().to_string();
        }
    }

    /// The worker exited before it said it finished.
    pub fn died(&mut self) {
        if !self.finished && self.error.is_none() {
            let said: Vec<&str> = self.stderr.iter().map(String::as_str).collect();
            self.error = Some(format!(
                "the check stopped before its end; its last words:\n{}",
                said.join("\n")
            ));
        }
    }

    pub fn passed(&self) -> bool {
        self.finished
            && self.error.is_none()
            && !self.checks.is_empty()
            && self.checks.iter().all(|check| check.result.is_ok())
    }

    pub fn ended(&self) -> bool {
        self.finished || self.error.is_some()
    }

    fn passed_count(&self) -> usize {
        self.checks.iter().filter(|c| c.result.is_ok()).count()
    }
}

/// Everything one drawing of the screen shows.
pub struct Screen<'a> {
    /// `Lesson 07: A unary server`.
    pub title: String,
    /// The crate watched, as shown (a link where the terminal has them).
    pub watching: String,
    pub run: &'a RunState,
    /// How many checks the last finished run had: the total while a run is under way.
    pub expected_total: Option<usize>,
    pub lesson: &'a str,
    /// Once every check passed: what that recorded and what comes next.
    pub passed_note: String,
    /// The last hint asked for (`Hint 2 of 3: ...`).
    pub hint: Option<String>,
    /// A one-line answer to the last key (`d shows the diff once every check passes`).
    pub notice: Option<String>,
    /// The keys that work now, as `(key, what)`.
    pub keys: Vec<(&'static str, &'static str)>,
    /// Turns the paths in prose into terminal links (or leaves them as they are).
    pub links: &'a dyn Fn(&str) -> String,
}

const BAR: usize = 20;

fn bar(style: Style, passed: usize, total: usize) -> String {
    let filled = (passed * BAR).checked_div(total).unwrap_or(0).min(BAR);
    format!(
        "[{}{}]",
        style.green(&"#".repeat(filled)),
        style.dim(&".".repeat(BAR - filled))
    )
}

/// The screen as text, lines separated by `\n`, wrapped to the style's width.
pub fn render(screen: &Screen, style: Style) -> String {
    let run = screen.run;
    let mut out = String::new();
    out.push_str(&style.bold(&screen.title));
    out.push('\n');
    out.push_str(&style.dim(&style.hang(
        "watching ",
        &format!(
            "{} (src/, tests/, proto/, build.rs, Cargo.toml): every save reruns \
             `cargo quiz check {}`",
            screen.watching, screen.lesson
        ),
    )));
    out.push_str("\n\n");

    let passed = run.passed_count();
    if run.ended() {
        let total = run.checks.len();
        let line = if run.passed() {
            style.green(&format!("all {total} checks passed"))
        } else {
            format!("{passed} of {total} checks passed")
        };
        out.push_str(&format!("{} {line}\n", bar(style, passed, total)));
    } else {
        let so_far = match screen.expected_total {
            Some(total) => format!("{passed} of {total} checks passed so far"),
            None => format!("{passed} checks passed so far"),
        };
        let doing = if run.status.is_empty() {
            "starting".to_string()
        } else {
            run.status.clone()
        };
        out.push_str(&style.hang(
            &format!("{} ", style.cyan("checking...")),
            &format!("{so_far}; {doing}"),
        ));
        out.push('\n');
    }
    out.push('\n');

    if let Some(error) = &run.error {
        out.push_str(&style.red(&style.wrap(&format!("The check could not run: {error}"))));
        out.push_str("\n\n");
    }
    let failures: Vec<&Check> = run.checks.iter().filter(|c| c.result.is_err()).collect();
    if let Some(first) = failures.first() {
        out.push_str(&check::render_check(
            style,
            &linked(first, screen.links),
            GOT_LINES,
        ));
        if failures.len() > 1 {
            out.push_str(&style.dim(&style.wrap(&format!(
                "... and {} more failing: `cargo quiz check {}` lists every check.",
                failures.len() - 1,
                screen.lesson
            ))));
            out.push('\n');
        }
        out.push('\n');
    } else if run.passed() {
        out.push_str(&style.wrap(&screen.passed_note));
        out.push_str("\n\n");
    }

    if let Some(hint) = &screen.hint {
        out.push_str(&style.wrap(&(screen.links)(hint)));
        out.push_str("\n\n");
    }
    if let Some(notice) = &screen.notice {
        out.push_str(&style.yellow(&style.wrap(notice)));
        out.push_str("\n\n");
    }
    let keys: Vec<String> = screen
        .keys
        .iter()
        .map(|(key, what)| format!("{} {what}", style.bold(key)))
        .collect();
    out.push_str(&style.wrap(&keys.join("  ")));
    out.push('\n');
    out
}

/// The check, with the paths in its text made links.
fn linked(check: &Check, links: &dyn Fn(&str) -> String) -> Check {
    Check {
        name: check.name.clone(),
        result: check.result.clone().map_err(|failure| check::Failure {
            expected: links(&failure.expected),
            got: links(&failure.got),
            hint: links(&failure.hint),
        }),
    }
}

/// `text` with each path to a file that exists (`src/server.rs:130`, `tests/lesson.rs:40:10`,
/// relative to one of `bases` or absolute) made a terminal link to that file.
pub fn link_paths(text: &str, bases: &[PathBuf], link: &dyn Fn(&Path, &str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        out.push_str(&link_word(&after[..end], bases, link));
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn link_word(word: &str, bases: &[PathBuf], link: &dyn Fn(&Path, &str) -> String) -> String {
    if word.contains('\x1b') {
        return word.to_string();
    }
    let core = word.trim_start_matches(['(', '`', '\'', '"', '[']);
    let lead = &word[..word.len() - core.len()];
    let core = core.trim_end_matches([')', '`', '\'', '"', ',', ';', '.', ':', ']']);
    let tail = &word[lead.len() + core.len()..];
    // `src/server.rs:130:5`: the path is what comes before a `:` followed by a line number.
    let path = match core.split_once(':') {
        Some((path, at)) if at.split(':').all(|n| n.chars().all(|c| c.is_ascii_digit())) => path,
        _ => core,
    };
    let looks_like_a_file = path.contains('/') || path.contains('.');
    if path.is_empty() || !looks_like_a_file || path.starts_with("http") {
        return word.to_string();
    }
    let found = if Path::new(path).is_absolute() {
        Some(PathBuf::from(path)).filter(|p| p.is_file())
    } else {
        bases
            .iter()
            .map(|base| base.join(path))
            .find(|candidate| candidate.is_file())
    };
    match found {
        Some(file) => format!("{lead}{}{tail}", link(&file, core)),
        None => word.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Failure;

    fn failing(name: &str) -> Check {
        Check {
            name: name.to_string(),
            result: Err(Failure::new(
                "GetLink of an unknown code answers NOT_FOUND",
                "Unimplemented: GetLink is built in lesson 07",
                "Exercise 1, `get_link` in src/server.rs: look the code up.",
            )),
        }
    }

    fn ok(name: &str) -> Check {
        Check {
            name: name.to_string(),
            result: Ok(()),
        }
    }

    fn screen<'a>(run: &'a RunState, links: &'a dyn Fn(&str) -> String) -> Screen<'a> {
        Screen {
            title: "Lesson 07: A unary server".to_string(),
            watching: "lessons/07-unary-server".to_string(),
            run,
            expected_total: Some(3),
            lesson: "07",
            passed_note: "Lesson 07's code is done.".to_string(),
            hint: None,
            notice: None,
            keys: vec![("h", "hint"), ("q", "quit")],
            links,
        }
    }

    #[test]
    fn a_failed_run_shows_its_count_and_only_its_first_failure() {
        let run = RunState {
            checks: vec![ok("the crate builds"), failing("first"), failing("second")],
            finished: true,
            ..RunState::default()
        };
        let same = |text: &str| text.to_string();
        let shown = render(&screen(&run, &same), Style::plain());
        assert!(shown.contains("1 of 3 checks passed"), "{shown}");
        assert!(shown.contains("FAIL first"), "{shown}");
        assert!(
            shown.contains("expected: GetLink of an unknown code"),
            "{shown}"
        );
        assert!(shown.contains("hint:     Exercise 1"), "{shown}");
        assert!(
            !shown.contains("FAIL second"),
            "only the first failure:\n{shown}"
        );
        assert!(shown.contains("1 more failing"), "{shown}");
        assert!(shown.contains("h hint  q quit"), "{shown}");
    }

    #[test]
    fn a_run_under_way_says_what_it_does_and_a_passed_run_says_so() {
        let mut run = RunState {
            checks: vec![ok("the crate builds")],
            ..RunState::default()
        };
        run.progress("==> running the 8 tests of tests/lesson.rs");
        let same = |text: &str| text.to_string();
        let shown = render(&screen(&run, &same), Style::plain());
        assert!(
            shown.contains("checking... 1 of 3 checks passed so far; running the 8 tests"),
            "{shown}"
        );
        run.checks.push(ok("two"));
        run.checks.push(ok("three"));
        run.finished = true;
        let shown = render(&screen(&run, &same), Style::plain());
        assert!(shown.contains("all 3 checks passed"), "{shown}");
        assert!(shown.contains("Lesson 07's code is done."), "{shown}");
    }

    #[test]
    fn a_run_that_dies_shows_its_last_words() {
        let mut run = RunState::default();
        run.progress("thread 'main' panicked at quiz/src/check/mod.rs:1:1");
        run.died();
        let same = |text: &str| text.to_string();
        let shown = render(&screen(&run, &same), Style::plain());
        assert!(shown.contains("The check could not run"), "{shown}");
        assert!(
            shown.contains("panicked at quiz/src/check/mod.rs"),
            "{shown}"
        );
    }

    #[test]
    fn paths_to_files_that_exist_become_links_and_nothing_else_does() {
        let base = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let link = |path: &Path, text: &str| format!("<{}|{text}>", path.display());
        let text = "Look at (src/wrap.rs:12:5), not src/nowhere.rs, nor https://x.io/a.rs or 1.5.";
        let linked = link_paths(text, std::slice::from_ref(&base), &link);
        assert_eq!(
            linked,
            format!(
                "Look at (<{}|src/wrap.rs:12:5>), not src/nowhere.rs, nor https://x.io/a.rs or 1.5.",
                base.join("src/wrap.rs").display()
            )
        );
    }
}
