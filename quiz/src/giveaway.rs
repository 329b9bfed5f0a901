//! How much of a learner's work a lesson gives away: of the lines the learner adds (the
//! starter→solution diff), the share that appears word for word in the lesson's text or hints.
//!
//! A line counts when it carries code: blank lines, comments and lines of brackets and
//! punctuation alone are left out, on both sides. Whitespace inside a line is collapsed before
//! comparing, so indentation does not matter.

use std::path::Path;

use similar::{ChangeTag, TextDiff};

use crate::{drift, normalize};

/// The lines a learner adds in a lesson, and those of them the text or hints show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Share {
    /// Every line the learner adds, as compared (collapsed whitespace).
    pub added: Vec<String>,
    /// The added lines that the text or the hints show word for word.
    pub shown: Vec<String>,
}

impl Share {
    pub fn percent(&self) -> f64 {
        if self.added.is_empty() {
            0.0
        } else {
            100.0 * self.shown.len() as f64 / self.added.len() as f64
        }
    }
}

/// A line with its whitespace collapsed, or `None` when it carries no code.
pub fn code_line(line: &str) -> Option<String> {
    let collapsed = line.split_whitespace().collect::<Vec<_>>().join(" ");
    let is_comment = ["//", "#", "/*", "*", "<!--"]
        .iter()
        .any(|start| collapsed.starts_with(start))
        && !collapsed.starts_with("#[")
        && !collapsed.starts_with("#!");
    let letters = collapsed.chars().filter(|c| c.is_alphanumeric()).count();
    (!is_comment && letters >= 3 && !matches!(collapsed.as_str(), "Ok(())" | "else {"))
        .then_some(collapsed)
}

/// Whether a file can hold the learner's work: everything but the lesson text and build output.
/// The lesson's own tests are the same in starter and solution, so they add no line; a test file
/// the learner writes (lesson 14's `tests/service.rs`) counts like any other work.
fn is_work(relative: &Path) -> bool {
    let name = relative.to_string_lossy();
    !(name.ends_with(".md") || name.starts_with("target"))
}

/// The lines added from `starter` to `solution`, over every file of the learner's work.
pub fn added_lines(starter: &Path, solution: &Path) -> Vec<String> {
    let mut added = Vec::new();
    for relative in drift::files(solution) {
        if !is_work(&relative) {
            continue;
        }
        let Ok(new) = std::fs::read_to_string(solution.join(&relative)) else {
            continue;
        };
        let old = std::fs::read_to_string(starter.join(&relative)).unwrap_or_default();
        let (old, new) = (normalize::crate_names(&old), normalize::crate_names(&new));
        let diff = TextDiff::from_lines(&old, &new);
        for change in diff.iter_all_changes() {
            if change.tag() == ChangeTag::Insert
                && let Some(line) = code_line(change.value())
            {
                added.push(line);
            }
        }
    }
    added
}

/// The share of `starter`→`solution` that `text` (the README and the hints) shows.
pub fn share(starter: &Path, solution: &Path, text: &str) -> Share {
    let text = normalize::crate_names(text);
    // Whole lines (code blocks) and inline code spans (`...` in prose and hints) both show code.
    let spans = text
        .lines()
        .flat_map(|line| line.split('`').skip(1).step_by(2));
    let shown_lines: std::collections::HashSet<String> =
        text.lines().chain(spans).filter_map(code_line).collect();
    let added = added_lines(starter, solution);
    let shown = added
        .iter()
        .filter(|line| shown_lines.contains(*line))
        .cloned()
        .collect();
    Share { added, shown }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lines_with_code_count() {
        assert_eq!(code_line("    }"), None);
        assert_eq!(code_line("    });"), None);
        assert_eq!(code_line("// a comment"), None);
        assert_eq!(code_line("  # a TOML comment"), None);
        assert_eq!(code_line(""), None);
        assert_eq!(code_line("Ok(())"), None);
        assert_eq!(
            code_line("    let   code = short_code();"),
            Some("let code = short_code();".to_string())
        );
        assert_eq!(
            code_line("#[tonic::async_trait]"),
            Some("#[tonic::async_trait]".to_string())
        );
    }
}
