//! Encodes one link, compares its size with JSON, explains every byte, and shows what happens
//! to a field this program does not know.
//! NEW(lesson 04): this demo is given, but for the sizes and the dump in its middle (Exercise 4).

use lesson_04::pb::Link;
// NEW(lesson 04): given; Exercise 4 needs more imports.
use lesson_04::{decode_link, encode_link};

// NEW(lesson 04): main returns a Result, so that `?` can pass a decode error on.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let link = Link {
        // NEW(lesson 04): 300 is two varint bytes, ac 02.
        id: 300,
        url: "https://example.com/article-one".to_string(),
        short_code: "k7m2px".to_string(),
        // NEW(lesson 04): 1500 is two varint bytes, dc 0b.
        clicks: 1500,
    };
    let bytes = encode_link(&link);
    println!("{link:?}");
    println!();

    // TODO(lesson 04): Exercise 4: print the two sizes, a blank line and the dump, as the
    // README's output shows.

    let decoded = decode_link(&bytes)?;
    println!();
    println!("decoded back: equal to the original? {}", decoded == link);

    // A newer program may send a field this one has never heard of: field 5, varint 7.
    let mut newer = bytes.clone();
    newer.extend_from_slice(&[0x28, 0x07]);
    let read = decode_link(&newer)?;
    println!();
    println!("with an unknown field 5 added: {} bytes", newer.len());
    println!("decoded: {read:?}");
    println!("encoded again: {} bytes", encode_link(&read).len());
    Ok(())
}
