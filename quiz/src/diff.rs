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
        let old = normalize::for_comparison(&relative, &old);
        let new = normalize::for_comparison(&relative, &new);
        if old == new {
            continue;
        }
        let _ = writeln!(out, "{}", style.bold(&format!("--- yours:    {shown}")));
        let _ = writeln!(out, "{}", style.bold(&format!("+++ solution: {shown}")));
        let diff = TextDiff::from_lines(&old, &new);
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
                    let line = change.value().trim_end_matches('\n');
                    let _ = match change.tag() {
                        ChangeTag::Equal => writeln!(out, " {line}"),
                        ChangeTag::Delete => writeln!(out, "{}", style.red(&format!("-{line}"))),
                        ChangeTag::Insert => writeln!(out, "{}", style.green(&format!("+{line}"))),
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

        std::fs::write(mine.join("src/lib.rs"), "fn a() {\n    42\n}\n").expect("write");
        assert_eq!(render(&mine, &solution, Style::plain()), None);
        let _ = std::fs::remove_dir_all(&base);
    }
}
