//! Lesson 01: messages by hand. `CreateLinkRequest` (the worked example) and `Link` become
//! protobuf bytes with prost, and the same `Link` also becomes JSON text with serde_json, so
//! that the two encodings can be compared side by side.

// TODO(lesson 01): Learn, step 3: `encode_to_vec` is a method of a prost trait; bring it into scope.

/// The request a client sends to shorten a URL: one field, the smallest message of the contract.
///
/// The number in `tag = "..."` is the field number of the contract
/// (`proto/shortener/link.proto`): it, not the name, is what travels on the wire.
// TODO(lesson 01): Learn, step 2: make this a protobuf message, as the lesson shows.
#[derive(Clone, PartialEq, Debug)]
pub struct CreateLinkRequest {
    pub url: String,
}

/// The request in protobuf's binary encoding.
pub fn request_to_protobuf(request: &CreateLinkRequest) -> Vec<u8> {
    // TODO(lesson 01): Learn, step 3: encode the request with prost.
    todo!("encode {request:?} with prost (Learn, step 3)")
}

/// A shortened link, written by hand the way generated code will look from lesson 02 on.
// TODO(lesson 01): Exercise 1: make Link a protobuf message with the contract's field numbers and
// types. Exercise 2: let serde turn it into JSON as well.
#[derive(Clone, PartialEq, Debug)]
pub struct Link {
    pub id: i64,
    pub url: String,
    pub short_code: String,
    pub clicks: i64,
}

/// The link in protobuf's binary encoding.
pub fn to_protobuf(link: &Link) -> Vec<u8> {
    // TODO(lesson 01): Exercise 1: encode the link with prost.
    todo!("encode {link:?} with prost (Exercise 1)")
}

/// The same link as JSON text.
pub fn to_json(link: &Link) -> Result<String, serde_json::Error> {
    // TODO(lesson 01): Exercise 2: turn the link into compact JSON text with serde_json.
    todo!("turn {link:?} into JSON with serde_json (Exercise 2)")
}

/// Bytes as lowercase hex, two digits a byte, the way protobuf bytes are usually shown.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
