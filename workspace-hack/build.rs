//! Empty: a build script makes cargo take this crate's `[build-dependencies]` into account,
//! which unifies the features of what build scripts and macros use too.
fn main() {}
