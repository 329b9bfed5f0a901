//! One link written by v1 and by v2, and read back by both; then the same v1 bytes read by the
//! two broken schemas.
//! NEW(lesson 05): the first part is given; Exercise 4 writes the rest.

use prost::Message;

// NEW(lesson 05): given; Exercise 4 needs more of the crate.
use lesson_05::{describe_v1, describe_v2, v1, v2};

// NEW(lesson 05): given: the worked example of the README's step 1.
/// What a v1 program and a v2 program each read from the same bytes.
fn read_with_both(bytes: &[u8]) -> Result<(), prost::DecodeError> {
    println!("  v1 reads: {}", describe_v1(&v1::Link::decode(bytes)?));
    println!("  v2 reads: {}", describe_v2(&v2::Link::decode(bytes)?));
    Ok(())
}

// NEW(lesson 05): a decode error ends the demo.
fn main() -> Result<(), prost::DecodeError> {
    let link = v1::Link {
        id: 300,
        url: "https://example.com/article-one".to_string(),
        short_code: "k7m2px".to_string(),
        clicks: 1500,
    };
    // NEW(lesson 05): the worked example (README, step 1): v1 writes, and both versions read.
    let old_bytes = link.encode_to_vec();
    println!("v1 writes {} bytes: {link:?}", old_bytes.len());
    read_with_both(&old_bytes)?;

    // TODO(lesson 05): Exercise 4: upgrade the link and show what v1 and v2 read from the v2
    // bytes; then what the two broken schemas read from the v1 bytes, as the README's output
    // shows.
    Ok(())
}
