//! Encodes a request and a link as protobuf, the link as JSON too, and prints each with its size.

use solution_01::{CreateLinkRequest, Link, hex, request_to_protobuf, to_json, to_protobuf};

fn main() -> Result<(), serde_json::Error> {
    // The worked example: a message with one field.
    let request = CreateLinkRequest {
        url: "https://example.com/article-one".to_string(),
    };
    let bytes = request_to_protobuf(&request);
    println!("{request:?}");
    println!("protobuf: {:>2} bytes  {}", bytes.len(), hex(&bytes));

    // The link, as protobuf and as JSON.
    let link = Link {
        id: 1,
        url: "https://example.com/article-one".to_string(),
        short_code: "k7m2px".to_string(),
        clicks: 42,
    };
    let protobuf = to_protobuf(&link);
    let json = to_json(&link)?;
    println!("{link:?}");
    println!("protobuf: {:>2} bytes  {}", protobuf.len(), hex(&protobuf));
    println!("json:     {:>2} bytes  {json}", json.len());
    Ok(())
}
