//! The learner's progress: which quizzes and code checks passed. It lives in
//! `.quiz-progress.toml` at the repository's top (git ignores it), written whole and atomically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// The progress file's name, at the repository's top.
pub const FILE_NAME: &str = ".quiz-progress.toml";

/// What one lesson has passed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonProgress {
    /// The quiz was passed (once passed, it stays passed).
    #[serde(default)]
    pub quiz: bool,
    /// The best quiz score so far, as "right/total".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_score: Option<String>,
    /// The last code check of the learner's crate passed.
    #[serde(default)]
    pub check: bool,
    /// How many of the lesson's hints `cargo quiz hint` has shown.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub hints_shown: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl LessonProgress {
    /// A lesson is done when its quiz and its code check have both passed.
    pub fn done(&self) -> bool {
        self.quiz && self.check
    }
}

/// Every lesson's progress, by lesson number ("07").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    #[serde(default)]
    pub lessons: BTreeMap<String, LessonProgress>,
}

/// The progress file and what was read from it.
#[derive(Debug)]
pub struct ProgressFile {
    path: PathBuf,
    pub progress: Progress,
}

impl ProgressFile {
    /// The progress file of the course at `root`.
    pub fn path_in(root: &Path) -> PathBuf {
        root.join(FILE_NAME)
    }

    /// Reads the progress file. A missing file is no progress yet; a file that cannot be read as
    /// progress is reported on stderr and replaced by a fresh one at the next save.
    pub fn open(path: &Path) -> ProgressFile {
        let progress = match std::fs::read_to_string(path) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Progress::default(),
            Err(error) => {
                eprintln!(
                    "warning: cannot read your progress file {}: {error}; starting from scratch",
                    path.display()
                );
                Progress::default()
            }
            Ok(text) => match toml::from_str(&text) {
                Ok(progress) => progress,
                Err(error) => {
                    eprintln!(
                        "warning: your progress file {} is damaged ({}); it will be replaced by a fresh one",
                        path.display(),
                        error.message().trim()
                    );
                    Progress::default()
                }
            },
        };
        ProgressFile {
            path: path.to_path_buf(),
            progress,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One lesson's progress (nothing passed, if it has none yet).
    pub fn lesson(&self, number: &str) -> LessonProgress {
        self.progress
            .lessons
            .get(number)
            .cloned()
            .unwrap_or_default()
    }

    /// Changes one lesson's progress.
    pub fn update(&mut self, number: &str, change: impl FnOnce(&mut LessonProgress)) {
        change(self.progress.lessons.entry(number.to_string()).or_default());
    }

    /// Writes the file: to a temporary file next to it first, then renamed over it, so that an
    /// interrupted write never leaves half a file.
    pub fn save(&self) -> anyhow::Result<()> {
        let mut text = String::from(
            "# Your progress in the course, written by `cargo quiz`. Git ignores this file.\n\n",
        );
        text.push_str(&toml::to_string(&self.progress).context("cannot write progress as TOML")?);
        let temporary = self
            .path
            .with_extension(format!("toml.{}.tmp", std::process::id()));
        std::fs::write(&temporary, text)
            .with_context(|| format!("cannot write {}", temporary.display()))?;
        std::fs::rename(&temporary, &self.path).with_context(|| {
            let _ = std::fs::remove_file(&temporary);
            format!("cannot replace {}", self.path.display())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("quiz-progress-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir.join(FILE_NAME)
    }

    #[test]
    fn progress_survives_a_round_trip() {
        let path = temp_file("round-trip");
        let _ = std::fs::remove_file(&path);
        let mut file = ProgressFile::open(&path);
        assert_eq!(file.progress, Progress::default(), "no file is no progress");
        file.update("07", |lesson| {
            lesson.quiz = true;
            lesson.best_score = Some("6/6".to_string());
        });
        file.save().expect("save");
        let again = ProgressFile::open(&path);
        assert!(again.lesson("07").quiz);
        assert!(!again.lesson("07").check);
        assert!(!again.lesson("08").quiz);
    }

    #[test]
    fn a_damaged_file_is_replaced() {
        let path = temp_file("damaged");
        std::fs::write(&path, "lessons = [this is not toml").expect("write");
        let mut file = ProgressFile::open(&path);
        assert_eq!(file.progress, Progress::default());
        file.update("01", |lesson| lesson.check = true);
        file.save().expect("save over the damaged file");
        assert!(ProgressFile::open(&path).lesson("01").check);
    }
}
