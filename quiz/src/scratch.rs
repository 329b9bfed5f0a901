//! Folders of the checker's own, removed when dropped: from lesson 18 on, every server the
//! checker, the README runner or the load tool starts gets a new, empty database in one
//! (`DATABASE_URL=sqlite:<folder>/shortener.db`). Without it, each server would open
//! `shortener.db` in the folder it runs in: two at once would refuse each other (the file is
//! locked by its server), and links of one check would show up in the next. Servers of the
//! lessons before 18 do not read the variable.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// The variable the servers of lesson 18 on read their database from.
pub const DATABASE_URL: &str = "DATABASE_URL";

/// A folder under the system's temporary folder, removed with everything in it when dropped.
#[derive(Debug)]
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// A new, empty folder named after `what` (and this process, so that two runs never
    /// share one).
    pub fn new(what: &str) -> std::io::Result<ScratchDir> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "cargo-quiz-{}-{}-{what}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        Ok(ScratchDir(dir))
    }

    /// A folder for one server's database; if none can be made, the server falls back to its
    /// default, and says so itself if that fails.
    pub fn for_database() -> Option<ScratchDir> {
        ScratchDir::new("database").ok()
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `sqlite:<this folder>/<file>`.
    pub fn database_url(&self, file: &str) -> String {
        format!("sqlite:{}", self.0.join(file).display())
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
