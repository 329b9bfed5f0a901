//! `course.toml`: every lesson's number, slug and title, described once.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

/// The whole course, as `course.toml` describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct Course {
    #[serde(skip)]
    root: PathBuf,
    #[serde(rename = "lesson")]
    pub lessons: Vec<Lesson>,
}

/// One lesson's entry in `course.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    /// Two digits: "01".
    pub number: String,
    pub slug: String,
    pub title: String,
    /// The crate has a server binary, `lesson-NN-server`.
    #[serde(default)]
    pub server: bool,
    /// The crate has a client binary, `lesson-NN-client`.
    #[serde(default)]
    pub client: bool,
    /// The RPCs the lesson's server answers, by their proto names.
    #[serde(default)]
    pub rpcs: Vec<String>,
    /// Extra black-box checks of the lesson's server, by name: `errors` (lesson 11,
    /// `quiz/src/check/errors.rs`).
    #[serde(default)]
    pub checks: Vec<String>,
    /// False for a lesson that is planned but not written yet.
    #[serde(default = "yes")]
    pub ready: bool,
}

fn yes() -> bool {
    true
}

/// Which of a lesson's two crates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `lessons/NN-slug`: the learner's crate.
    Lesson,
    /// `solutions/NN-slug`: the finished crate.
    Solution,
}

impl Side {
    /// The prefix of the package and binary names: `lesson` or `solution`.
    pub fn prefix(self) -> &'static str {
        match self {
            Side::Lesson => "lesson",
            Side::Solution => "solution",
        }
    }

    /// The folder the crates of this side live in.
    pub fn folder(self) -> &'static str {
        match self {
            Side::Lesson => "lessons",
            Side::Solution => "solutions",
        }
    }
}

impl Lesson {
    /// `NN-slug`, the folder name in `lessons/` and `solutions/`.
    pub fn dir_name(&self) -> String {
        format!("{}-{}", self.number, self.slug)
    }

    /// The package name of one side: `lesson-NN` or `solution-NN`.
    pub fn package(&self, side: Side) -> String {
        format!("{}-{}", side.prefix(), self.number)
    }

    /// The name of one of the crate's binaries (`"server"`, `"client"`), or of the crate's only
    /// binary when `role` is `None`.
    pub fn binary(&self, side: Side, role: Option<&str>) -> String {
        match role {
            Some(role) => format!("{}-{}-{role}", side.prefix(), self.number),
            None => self.package(side),
        }
    }
}

impl fmt::Display for Lesson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.number, self.title)
    }
}

impl Course {
    /// Reads `course.toml` in `root`, the repository's top folder.
    pub fn load(root: &Path) -> anyhow::Result<Course> {
        let path = root.join("course.toml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut course: Course =
            toml::from_str(&text).with_context(|| format!("{} is malformed", path.display()))?;
        course.root = root.to_path_buf();
        course
            .validate()
            .with_context(|| format!("{} is inconsistent", path.display()))?;
        Ok(course)
    }

    /// Finds the repository's top folder (the one with `course.toml`) from `start` upwards.
    pub fn find_root(start: &Path) -> Option<PathBuf> {
        start
            .ancestors()
            .find(|dir| dir.join("course.toml").is_file())
            .map(Path::to_path_buf)
    }

    /// The course this crate was built in (for tests and tools run by cargo).
    pub fn from_manifest_dir() -> anyhow::Result<Course> {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = Course::find_root(here).context("no course.toml above the quiz crate")?;
        Course::load(&root)
    }

    fn validate(&self) -> anyhow::Result<()> {
        for (index, lesson) in self.lessons.iter().enumerate() {
            let expected = format!("{:02}", index + 1);
            if lesson.number != expected {
                bail!(
                    "lesson {:?} is entry {}: lessons must be numbered 01, 02, ... in order",
                    lesson.number,
                    index + 1
                );
            }
            let slug_ok = !lesson.slug.is_empty()
                && lesson
                    .slug
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !slug_ok {
                bail!(
                    "lesson {}: the slug {:?} must be [a-z0-9-]+",
                    lesson.number,
                    lesson.slug
                );
            }
            if lesson.client && !lesson.server {
                bail!(
                    "lesson {}: a client needs a server to talk to",
                    lesson.number
                );
            }
        }
        Ok(())
    }

    /// The repository's top folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The lessons that are written (not just planned).
    pub fn ready(&self) -> impl Iterator<Item = &Lesson> {
        self.lessons.iter().filter(|lesson| lesson.ready)
    }

    /// The lesson numbered `number` ("7", "07" and "007" all work).
    pub fn lesson(&self, number: &str) -> anyhow::Result<&Lesson> {
        let wanted: u32 = number.trim().parse().with_context(|| {
            format!(
                "{number:?} is not a lesson number (try 01 to {:02})",
                self.lessons.len()
            )
        })?;
        self.lessons
            .iter()
            .find(|lesson| lesson.number.parse::<u32>().ok() == Some(wanted))
            .with_context(|| {
                format!(
                    "there is no lesson {number} (lessons are 01 to {:02})",
                    self.lessons.len()
                )
            })
    }

    /// The lesson before `lesson`, if any.
    pub fn previous(&self, lesson: &Lesson) -> Option<&Lesson> {
        let index = self.lessons.iter().position(|l| l == lesson)?;
        index.checked_sub(1).map(|i| &self.lessons[i])
    }

    /// Where one side of a lesson lives.
    pub fn crate_dir(&self, lesson: &Lesson, side: Side) -> PathBuf {
        self.root.join(side.folder()).join(lesson.dir_name())
    }

    /// The lesson's hint and quiz file, `quiz/lessons/NN.toml`.
    pub fn quiz_file(&self, lesson: &Lesson) -> PathBuf {
        self.root
            .join("quiz")
            .join("lessons")
            .join(format!("{}.toml", lesson.number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_course_manifest_is_valid() {
        let course = Course::from_manifest_dir().expect("course.toml loads");
        let numbers: Vec<&str> = course.lessons.iter().map(|l| l.number.as_str()).collect();
        let expected: Vec<String> = (1..=numbers.len()).map(|n| format!("{n:02}")).collect();
        assert_eq!(
            numbers, expected,
            "lessons are numbered 01, 02, ... in order"
        );
        assert_eq!(course.lesson("7").expect("lesson 7").slug, "unary-server");
        assert!(course.lesson("99").is_err());
        assert!(course.lesson("x").is_err());
    }

    #[test]
    fn names_follow_the_convention() {
        let course = Course::from_manifest_dir().expect("course.toml loads");
        let lesson = course.lesson("08").expect("lesson 8");
        assert_eq!(lesson.package(Side::Solution), "solution-08");
        assert_eq!(
            lesson.binary(Side::Lesson, Some("client")),
            "lesson-08-client"
        );
        assert_eq!(lesson.dir_name(), "08-unary-client");
    }
}
