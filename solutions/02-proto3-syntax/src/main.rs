//! Builds a link that uses every kind of proto3 field, and prints it.

use prost::Message;

use solution_02::{describe, example_link};

fn main() {
    let link = example_link();
    println!("{}", describe(&link));
    println!("encoded: {} bytes", link.encoded_len());
}
