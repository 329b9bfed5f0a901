//! Encodes one link as protobuf and as JSON, and prints both with their sizes.

use solution_01::{Link, hex, to_json, to_protobuf};

fn main() -> Result<(), serde_json::Error> {
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
