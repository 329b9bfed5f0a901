//! Builds a link that uses every kind of proto3 field, and prints it.
// NEW(lesson 02): nothing to write in this file: it prints the link that src/lib.rs builds.

// NEW(lesson 02): `encoded_len` below is a method of the `prost::Message` trait.
use prost::Message;

use lesson_02::{describe, example_link};
// NEW(lesson 02): `example_link` and `describe` are yours to write, in src/lib.rs.

fn main() {
    // NEW(lesson 02): `cargo run` prints this once the tests pass.
    let link = example_link();
    println!("{}", describe(&link));
    println!("encoded: {} bytes", link.encoded_len());
}
