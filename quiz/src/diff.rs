//! `cargo quiz diff NN`: the learner's crate against the solution, file by file.

use std::fmt::Write;
use std::path::Path;

use similar::{ChangeTag, TextDiff};

use crate::style::Style;
use crate::{drift, normalize};

/// Files that are not the learner's work: the lesson text and lock files.
fn compared(relative: &Path) -> bool {
    !matches!(
        relative.to_str(),
        Some("README.md" | "Cargo.lock" | ".quiz-progress.toml")
    )
}

/// A file's lines as the diff sees them: `keys` are compared (crate names made equal), `shown`
/// are printed (the learner's own text; the solution's with the learner's crate names).
struct Lines {
    keys: Vec<String>,
    shown: Vec<String>,
}

/// Whether a line is the start of one of the starter's own comments, which a learner may leave
/// in place: `// TODO(lesson 07): ...` or `// NEW(lesson 07): ...`.
fn is_marker(line: &str) -> bool {
    let trimmed = line.trim_start();
    [
        "// TODO(lesson",
        "// NEW(lesson",
        "# TODO(lesson",
        "# NEW(lesson",
        "//! NEW(lesson",
    ]
    .iter()
    .any(|start| trimmed.starts_with(start))
}

impl Lines {
    fn of(relative: &Path, text: &str, mine: bool) -> Lines {
        let is_manifest = relative == Path::new("Cargo.toml");
        let mut lines = Lines {
            keys: Vec::new(),
            shown: Vec::new(),
        };
        let mut in_marker = false;
        for line in text.lines() {
            // The starter's markers are not the learner's work: a marker comment, the comment
            // lines that continue it, and a marker at the end of a line of code are left out.
            let trimmed = line.trim_start();
            if is_marker(line) {
                in_marker = true;
                continue;
            }
            if in_marker && (trimmed.starts_with("// ") || trimmed.starts_with("# ")) {
                continue;
            }
            in_marker = false;
            let line = match line
                .find(" // NEW(lesson")
                .or_else(|| line.find(" // TODO(lesson"))
            {
                Some(at) => &line[..at],
                None => line,
            };
            if is_manifest && line.starts_with("description =") {
                continue;
            }
            let shown = if mine {
                line.to_string()
            } else {
                line.replace("solution-", "lesson-")
                    .replace("solution_", "lesson_")
            };
            lines.keys.push(normalize::crate_names(line));
            lines.shown.push(shown);
        }
        lines
    }
}

/// The diff of `mine` against `solution`, only for files that differ (after crate names are made
/// equal), or `None` when they are the same.
pub fn render(mine: &Path, solution: &Path, style: Style) -> Option<String> {
    let mut files: Vec<_> = drift::files(mine);
    files.extend(drift::files(solution));
    files.sort();
    files.dedup();

    let mut out = String::new();
    for relative in files.into_iter().filter(|f| compared(f)) {
        let shown = relative.display();
        let read = |dir: &Path| std::fs::read(dir.join(&relative)).ok();
        let (old, new) = match (read(mine), read(solution)) {
            (Some(old), Some(new)) => (old, new),
            (Some(_), None) => {
                let _ = writeln!(
                    out,
                    "{}",
                    style.yellow(&format!("only in your crate: {shown}"))
                );
                continue;
            }
            (None, Some(_)) => {
                let _ = writeln!(
                    out,
                    "{}",
                    style.yellow(&format!("only in the solution: {shown}"))
                );
                continue;
            }
            (None, None) => continue,
        };
        let (Ok(old), Ok(new)) = (String::from_utf8(old), String::from_utf8(new)) else {
            let _ = writeln!(
                out,
                "{}",
                style.yellow(&format!("binary file differs: {shown}"))
            );
            continue;
        };
        let old = Lines::of(&relative, &old, true);
        let new = Lines::of(&relative, &new, false);
        if old.keys == new.keys {
            continue;
        }
        let _ = writeln!(out, "{}", style.bold(&format!("--- yours:    {shown}")));
        let _ = writeln!(out, "{}", style.bold(&format!("+++ solution: {shown}")));
        let old_keys: Vec<&str> = old.keys.iter().map(String::as_str).collect();
        let new_keys: Vec<&str> = new.keys.iter().map(String::as_str).collect();
        let diff = TextDiff::from_slices(&old_keys, &new_keys);
        for group in diff.grouped_ops(3) {
            let (Some(first), Some(last)) = (group.first(), group.last()) else {
                continue;
            };
            let old_range = first.old_range().start..last.old_range().end;
            let new_range = first.new_range().start..last.new_range().end;
            let _ = writeln!(
                out,
                "{}",
                style.cyan(&format!(
                    "@@ -{},{} +{},{} @@",
                    old_range.start + 1,
                    old_range.len(),
                    new_range.start + 1,
                    new_range.len()
                ))
            );
            for op in &group {
                for change in diff.iter_changes(op) {
                    let _ = match change.tag() {
                        ChangeTag::Equal => {
                            let line = change.old_index().map_or("", |i| old.shown[i].as_str());
                            writeln!(out, " {line}")
                        }
                        ChangeTag::Delete => {
                            let line = change.old_index().map_or("", |i| old.shown[i].as_str());
                            writeln!(out, "{}", style.red(&format!("-{line}")))
                        }
                        ChangeTag::Insert => {
                            let line = change.new_index().map_or("", |i| new.shown[i].as_str());
                            writeln!(out, "{}", style.green(&format!("+{line}")))
                        }
                    };
                }
            }
        }
        let _ = writeln!(out);
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_that_differ_are_shown() {
        let base = std::env::temp_dir().join(format!("quiz-diff-{}", std::process::id()));
        let mine = base.join("lesson");
        let solution = base.join("solution");
        for dir in [&mine, &solution] {
            std::fs::create_dir_all(dir.join("src")).expect("dirs");
        }
        std::fs::write(mine.join("Cargo.toml"), "[package]\nname = \"lesson-07\"\n")
            .expect("write");
        std::fs::write(
            solution.join("Cargo.toml"),
            "[package]\nname = \"solution-07\"\n",
        )
        .expect("write");
        std::fs::write(mine.join("src/lib.rs"), "fn a() {\n    todo!()\n}\n").expect("write");
        std::fs::write(solution.join("src/lib.rs"), "fn a() {\n    42\n}\n").expect("write");

        let shown = render(&mine, &solution, Style::plain()).expect("src/lib.rs differs");
        assert!(
            !shown.contains("Cargo.toml"),
            "the crate names are not a difference:\n{shown}"
        );
        assert!(shown.contains("-    todo!()\n+    42\n"), "{shown}");

        std::fs::write(
            mine.join("src/lib.rs"),
            "use lesson_07::x; // NEW(lesson 07): given.\n// TODO(lesson 07): write a.\n//   in two lines.\nfn a() {\n    todo!()\n}\n",
        )
        .expect("write");
        std::fs::write(
            solution.join("src/lib.rs"),
            "use solution_07::x;\nfn a() {\n    42\n}\n",
        )
        .expect("write");
        let shown = render(&mine, &solution, Style::plain()).expect("src/lib.rs differs");
        assert!(
            !shown.contains("TODO") && !shown.contains("NEW"),
            "no markers:\n{shown}"
        );
        assert!(
            shown.contains(" use lesson_07::x;") && !shown.contains("crate_NN"),
            "lines are shown as they are, not normalised:\n{shown}"
        );

        std::fs::write(
            mine.join("src/lib.rs"),
            "use lesson_07::x;\nfn a() {\n    42\n}\n",
        )
        .expect("write");
        assert_eq!(render(&mine, &solution, Style::plain()), None);
        let _ = std::fs::remove_dir_all(&base);
    }
}
