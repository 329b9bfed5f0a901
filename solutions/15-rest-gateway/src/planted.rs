//! Bugs planted on purpose, for `cargo quiz check 14`: it runs your `tests/service.rs` once with
//! none, then once per bug with `SHORTENER_PLANTED_BUG` set to its name, and expects a test to
//! fail every time. Without the variable the service is the real one. Not part of the lesson's
//! API: leave this file and its call sites as they are.

use std::sync::OnceLock;

/// The environment variable that names the bug to plant.
pub const VAR: &str = "SHORTENER_PLANTED_BUG";

/// Every bug that can be planted, by name.
pub const BUGS: &[&str] = &[
    "reused-code",
    "unordered-list",
    "partial-batch",
    "negative-clicks",
    "internal-not-found",
    "open-door",
    "no-details",
    "deadline-ignored",
];

/// Whether the bug `name` is planted in this process. The variable is read once.
pub fn bug(name: &str) -> bool {
    static PLANTED: OnceLock<Option<String>> = OnceLock::new();
    PLANTED.get_or_init(|| std::env::var(VAR).ok()).as_deref() == Some(name)
}
