//! Lesson 01: messages by hand. `CreateLinkRequest` (the worked example) and `Link` become
//! protobuf bytes with prost, and the same `Link` also becomes JSON text with serde_json, so
//! that the two encodings can be compared side by side.

use prost::Message;

/// The request a client sends to shorten a URL: one field, the smallest message of the contract.
///
/// The number in `tag = "..."` is the field number of the contract
/// (`proto/shortener/link.proto`): it, not the name, is what travels on the wire.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CreateLinkRequest {
    #[prost(string, tag = "1")]
    pub url: String,
}

/// The request in protobuf's binary encoding.
pub fn request_to_protobuf(request: &CreateLinkRequest) -> Vec<u8> {
    request.encode_to_vec()
}

/// A shortened link, written by hand the way generated code will look from lesson 02 on.
#[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
pub struct Link {
    #[prost(int64, tag = "1")]
    pub id: i64,
    #[prost(string, tag = "2")]
    pub url: String,
    #[prost(string, tag = "3")]
    pub short_code: String,
    #[prost(int64, tag = "4")]
    pub clicks: i64,
}

/// The link in protobuf's binary encoding.
pub fn to_protobuf(link: &Link) -> Vec<u8> {
    link.encode_to_vec()
}

/// The same link as JSON text.
pub fn to_json(link: &Link) -> Result<String, serde_json::Error> {
    serde_json::to_string(link)
}

/// Bytes as lowercase hex, two digits a byte, the way protobuf bytes are usually shown.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
