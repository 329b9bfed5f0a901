//! Lesson 01: one link, two encodings. The same `Link` becomes protobuf bytes (with prost) and
//! JSON text (with serde_json), so that the two can be compared side by side.

use prost::Message;

/// A shortened link, written by hand the way generated code will look from lesson 02 on.
///
/// The numbers in `tag = "..."` are the field numbers of the contract
/// (`proto/shortener/link.proto`): they, not the names, are what travels on the wire.
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
