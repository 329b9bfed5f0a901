//! "Lesson N's starter is solution N-1 plus the lesson's TODOs": the check that keeps the
//! lessons from drifting apart.

use std::path::{Path, PathBuf};

use similar::{DiffOp, TextDiff};

use crate::normalize;

/// Files that are not compared: the lesson text, the tests (compared with the solution's
/// instead), and build output.
fn compared(relative: &Path) -> bool {
    let skip_dirs = ["target", "tests"];
    let skip_files = ["README.md", "Cargo.lock"];
    !relative
        .components()
        .any(|c| skip_dirs.contains(&c.as_os_str().to_string_lossy().as_ref()))
        && !skip_files
            .iter()
            .any(|f| relative.as_os_str() == std::ffi::OsStr::new(f))
}

/// Every file below `dir`, relative to it, sorted.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if entry.file_name() != "target" {
                    walk(root, &path, out);
                }
            } else if let Ok(relative) = path.strip_prefix(root) {
                out.push(relative.to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The places where `starter` differs from `previous` (the solution of the lesson before)
/// without a `TODO` (work for the learner) or a `NEW(lesson` (a given change) on a changed line
/// or on a line right next to the change. Each finding names
/// the file and the starter's line.
///
/// A file the lesson gives whole needs one marker only: when the starter's file is word for
/// word `solution`'s (the learner has nothing to do in it) and says `NEW(lesson` somewhere,
/// its changes are the lesson's, given.
pub fn untracked_changes(previous: &Path, starter: &Path, solution: &Path) -> Vec<String> {
    let mut findings = Vec::new();
    for relative in files(starter) {
        if !compared(&relative) {
            continue;
        }
        let Ok(old) = std::fs::read_to_string(previous.join(&relative)) else {
            continue; // new in this lesson: scaffolding, nothing to compare with
        };
        let Ok(new) = std::fs::read_to_string(starter.join(&relative)) else {
            findings.push(format!("{}: not valid UTF-8", relative.display()));
            continue;
        };
        let old = normalize::for_comparison(&relative, &old);
        let new = normalize::for_comparison(&relative, &new);
        let solved = std::fs::read_to_string(solution.join(&relative))
            .map(|text| normalize::for_comparison(&relative, &text));
        if new.contains("NEW(lesson")
            && !new.contains("TODO")
            && solved.is_ok_and(|solved| solved == new)
        {
            continue; // given whole: the solution's file, marked
        }
        let new_lines: Vec<&str> = new.lines().collect();
        let has_todo = |index: usize| {
            new_lines
                .get(index)
                .is_some_and(|l| l.contains("TODO") || l.contains("NEW(lesson"))
        };
        let diff = TextDiff::from_lines(&old, &new);
        for op in diff.ops() {
            let range = match *op {
                DiffOp::Equal { .. } => continue,
                DiffOp::Delete { new_index, .. } => new_index..new_index,
                DiffOp::Insert {
                    new_index, new_len, ..
                }
                | DiffOp::Replace {
                    new_index, new_len, ..
                } => new_index..new_index + new_len,
            };
            let marked = range.clone().any(has_todo)
                || (range.start > 0 && has_todo(range.start - 1))
                || has_todo(range.end);
            if !marked {
                let shown: Vec<&str> = if range.is_empty() {
                    vec!["<lines of the previous solution removed here>"]
                } else {
                    new_lines[range.clone()].to_vec()
                };
                findings.push(format!(
                    "{}:{}: differs from the previous solution with no TODO next to it:\n    {}",
                    relative.display(),
                    range.start + 1,
                    shown.join("\n    ")
                ));
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_with(dir: &Path, lib: &str) {
        std::fs::create_dir_all(dir.join("src")).expect("mkdir");
        std::fs::write(dir.join("src/lib.rs"), lib).expect("write");
    }

    #[test]
    fn a_change_needs_a_todo_next_to_it() {
        let tmp = std::env::temp_dir().join(format!("quiz-drift-{}", std::process::id()));
        let (old, new) = (tmp.join("old"), tmp.join("new"));
        crate_with(&old, "use solution_06::x;\nfn a() {}\nfn b() { 1 }\n");

        crate_with(
            &new,
            "use lesson_07::x;\nfn a() {}\nfn b() {\n    // TODO: do it\n    todo!()\n}\n",
        );
        let solution = tmp.join("solution");
        assert_eq!(
            untracked_changes(&old, &new, &solution),
            Vec::<String>::new()
        );

        crate_with(&new, "use lesson_07::x;\nfn a() { 2 }\nfn b() { 1 }\n");
        let found = untracked_changes(&old, &new, &solution);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("src/lib.rs:2:"), "{found:?}");

        // A file given whole: the solution's, with one marker, however many changes.
        let given = "// NEW(lesson 07): given.\nuse lesson_07::x;\nfn a() { 2 }\nfn b() { 3 }\n";
        crate_with(&new, given);
        crate_with(&solution, &given.replace("lesson_07", "solution_07"));
        assert_eq!(
            untracked_changes(&old, &new, &solution),
            Vec::<String>::new()
        );
        // ... but not once it differs from the solution's.
        crate_with(
            &solution,
            "// NEW(lesson 07): given.\nuse solution_07::x;\nfn a() { 2 }\nfn b() { 4 }\n",
        );
        assert!(!untracked_changes(&old, &new, &solution).is_empty());

        std::fs::remove_dir_all(&tmp).expect("clean up");
    }
}
