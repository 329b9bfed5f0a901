//! Lesson 02: `proto/link.proto` uses most of proto3, and `build.rs` turns it into Rust.
//! This file builds one `Link` with every kind of field, and reads it back field by field.
// TODO(lesson 02): first give proto/link.proto its new fields (steps 1 to 4 of the lesson), then
// write `example_link` and `describe` below (steps 5 and 6).

/// The code that `build.rs` generated from `proto/link.proto`.
// NEW(lesson 02): nothing to write: build.rs writes the Rust for `package shortener;` into
// OUT_DIR, and this includes it. Lesson 03 explains both.
pub mod pb {
    tonic::include_proto!("shortener");
}

// TODO(lesson 02): once the proto has them, you will want `std::collections::HashMap`,
// `pb::link::{Expiry, Owner}` and `pb::LinkStatus` here too.
use pb::Link;

/// A link that sets every field of `Link`, to show what each one becomes in Rust.
pub fn example_link() -> Link {
    // TODO(lesson 02): id 1, url https://example.com/article-one, short code k7m2px, 42 clicks,
    // status ACTIVE, owner ada@example.com (verified), tags docs and launch, labels
    // campaign=spring and source=newsletter, and an expiry after 1000 clicks.
    todo!("build the example link (step 5 of the lesson)")
}

/// One line per field, in a stable order, for people to read.
pub fn describe(link: &Link) -> String {
    // TODO(lesson 02): one line per field, as step 6 of the lesson shows.
    todo!("describe {link:?} (step 6 of the lesson)")
}
