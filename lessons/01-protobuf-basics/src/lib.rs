//! Lesson 01: one link, two encodings. The same `Link` becomes protobuf bytes (with prost) and
//! JSON text (with serde_json), so that the two can be compared side by side.

// TODO(lesson 01): bring `prost::Message` into scope: `encode_to_vec` is one of its methods.

/// A shortened link, written by hand the way generated code will look from lesson 02 on.
///
/// The numbers in `tag = "..."` are the field numbers of the contract
/// (`proto/shortener/link.proto`): they, not the names, are what travels on the wire.
// TODO(lesson 01): derive `prost::Message` and `serde::Serialize` instead of `Debug` (prost's
// derive writes a Debug of its own), and put `#[prost(TYPE, tag = "N")]` above each field:
// id is an int64 with tag 1, url a string with tag 2, short_code a string with tag 3, clicks an
// int64 with tag 4.
#[derive(Clone, PartialEq, Debug)]
pub struct Link {
    pub id: i64,
    pub url: String,
    pub short_code: String,
    pub clicks: i64,
}

/// The link in protobuf's binary encoding.
pub fn to_protobuf(link: &Link) -> Vec<u8> {
    // TODO(lesson 01): encode the link with prost.
    todo!("encode {link:?} with prost (step 3 of the lesson)")
}

/// The same link as JSON text.
pub fn to_json(link: &Link) -> Result<String, serde_json::Error> {
    // TODO(lesson 01): turn the link into JSON with serde_json.
    todo!("turn {link:?} into JSON with serde_json (step 4 of the lesson)")
}

/// Bytes as lowercase hex, two digits a byte, the way protobuf bytes are usually shown.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
