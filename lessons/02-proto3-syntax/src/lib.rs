//! Lesson 02: `proto/link.proto` uses most of proto3, and `build.rs` turns it into Rust.
//! This file builds one `Link` with every kind of field, and reads it back field by field.
// NEW(lesson 02): lesson 01's hand-written messages are gone: from now on they are generated.

// NEW(lesson 02): nothing to write here: build.rs writes the Rust for `package shortener;` into
// OUT_DIR, and this includes it. Lesson 03 explains both.
/// The code that `build.rs` generated from `proto/link.proto`.
pub mod pb {
    tonic::include_proto!("shortener");
}

// TODO(lesson 02): import the generated types you use, as you go.
use pb::Link;

/// A link that sets every field of `Link`, to show what each one becomes in Rust.
pub fn example_link() -> Link {
    // TODO(lesson 02): Learn, step 5: the contract's four fields, the owner and the status.
    // Your turn: the tags, the labels and the expiry. The values are in the lesson's table.
    todo!("build the example link (Learn, step 5, then Your turn)")
}

/// One line per field, in a stable order, for people to read.
pub fn describe(link: &Link) -> String {
    // TODO(lesson 02): the first line, then Learn, step 5: the status line. Your turn: one line
    // each for the owner, the tags, the labels and the expiry, in that order, as Run it shows.
    todo!("describe {link:?} (Learn, step 5, then Your turn)")
}
