//! What every store's tests share: temporary folders, code sources, and the suite of rules
//! that every store must follow alike (`suite.rs`, instantiated per store by `store_suite!`).

#![allow(dead_code)] // each test binary uses its own part of this module

pub mod suite;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use solution_19::{Code, CodeSource, PlannedCodes, Store};

/// A folder of its own for one test, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "solution-19-{}-{}-{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a temporary folder");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `sqlite:<this folder>/<file>`.
    pub fn url(&self, file: &str) -> String {
        format!("sqlite:{}", self.0.join(file).display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The planned codes, then `stuck` forever: a source that runs out of free codes on purpose.
pub struct ThenStuck {
    planned: PlannedCodes,
    left: usize,
    stuck: Code,
}

impl ThenStuck {
    pub fn new(planned: &[&str], stuck: &str) -> ThenStuck {
        ThenStuck {
            planned: planned_codes(planned.iter().copied()),
            left: planned.len(),
            stuck: code(stuck),
        }
    }
}

impl CodeSource for ThenStuck {
    fn next_code(&mut self) -> Code {
        if self.left == 0 {
            return self.stuck;
        }
        self.left -= 1;
        self.planned.next_code()
    }
}

/// Opens stores of one kind for the suite, and closes them at the end.
pub trait Backend {
    type Store: Store;
    /// A new, empty store whose codes come from `codes`.
    async fn open(&mut self, codes: Box<dyn CodeSource>) -> Self::Store;
    /// Closes what `open` opened.
    async fn finish(self);
}

/// `https://example.com/N`: a URL per number.
pub fn url(n: usize) -> String {
    format!("https://example.com/{n}")
}

/// The ids of links, for messages and comparisons.
pub fn ids(links: &[solution_19::pb::Link]) -> Vec<i64> {
    links.iter().map(|link| link.id).collect()
}

/// The code written `text`; a test that plans anything else has a mistake.
pub fn code(text: &str) -> Code {
    Code::parse(text).unwrap_or_else(|| panic!("{text:?} is not a short code"))
}

/// A code source that tries `codes` first, in order.
pub fn planned_codes<'a>(codes: impl IntoIterator<Item = &'a str>) -> PlannedCodes {
    PlannedCodes::new(codes.into_iter().map(code))
}
