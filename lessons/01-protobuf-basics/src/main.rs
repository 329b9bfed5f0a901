//! Encodes a request and a link as protobuf, the link as JSON too, and prints each with its size.

use lesson_01::{CreateLinkRequest, hex, request_to_protobuf};

fn main() -> Result<(), serde_json::Error> {
    // The worked example: a message with one field.
    let request = CreateLinkRequest {
        url: "https://example.com/article-one".to_string(),
    };
    let bytes = request_to_protobuf(&request);
    println!("{request:?}");
    println!("protobuf: {:>2} bytes  {}", bytes.len(), hex(&bytes));

    // TODO(lesson 01): Exercise 3: build the link of the lesson, and print what "Run it" shows
    // after the request: the link itself, its protobuf size and bytes, its JSON size and text.
    todo!("Exercise 3: print the link in both encodings")
}
