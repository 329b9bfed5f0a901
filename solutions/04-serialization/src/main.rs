//! Encodes one link, compares its size with JSON, explains every byte, and shows what happens
//! to a field this program does not know.

use prost::Message;

use solution_04::dump::dump;
use solution_04::pb::Link;
use solution_04::{decode_link, encode_link, link_to_json};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let link = Link {
        id: 300,
        url: "https://example.com/article-one".to_string(),
        short_code: "k7m2px".to_string(),
        clicks: 1500,
    };
    let bytes = encode_link(&link);
    println!("{link:?}");
    println!();

    let json = link_to_json(&link);
    println!(
        "protobuf: {} bytes (encoded_len: {})",
        bytes.len(),
        link.encoded_len()
    );
    println!("json:     {} bytes {json}", json.len());
    println!();
    print!("{}", dump(&bytes)?);

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
