//! The course checker: the course manifest, the quiz, the code checks and the course's own
//! consistency checks. `src/main.rs` is the `cargo quiz` command line.

pub mod manifest;
pub mod drift;
pub mod normalize;
pub mod readme;
