//! The course checker: the course manifest, the quiz, the code checks and the course's own
//! consistency checks. `src/main.rs` is the `cargo quiz` command line.

pub mod check;
pub mod cli;
pub mod demo;
pub mod diff;
pub mod drift;
pub mod giveaway;
pub mod load;
pub mod manifest;
pub mod map;
pub mod normalize;
pub mod progress;
pub mod questions;
pub mod readme;
pub mod scratch;
pub mod style;
pub mod take;
pub mod watch;
pub mod wrap;

/// Input the checker cannot work with: an unknown lesson, a malformed file, no terminal for an
/// interactive quiz. `cargo quiz` prints it and exits with code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}
