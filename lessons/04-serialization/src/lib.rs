//! Lesson 04: what a `Link` looks like on the wire. prost encodes and decodes it; a few lines of
//! hand-written Rust read the same bytes back, one varint at a time.
//! TODO(lesson 04): the README's worked example fills in encode_link and decode_link; the other
//! functions that end in `todo!()` are the exercises. `WireType` and `dump.rs` are given.

/// The code that `build.rs` generated from `proto/link.proto`: messages, server trait, client.
pub mod pb {
    tonic::include_proto!("shortener");
}

pub mod dump;

use pb::Link;
// TODO(lesson 04): encode_link and decode_link need the prost::Message trait in scope.

/// The link in protobuf's binary encoding.
pub fn encode_link(link: &Link) -> Vec<u8> {
    // TODO(lesson 04): the worked example: one method of the prost::Message trait.
    todo!("encode_link({link:?}): the README's first worked example")
}

/// Reads a link back from its encoding. Bytes that are not a valid `Link` are an error.
pub fn decode_link(bytes: &[u8]) -> Result<Link, prost::DecodeError> {
    // TODO(lesson 04): the worked example: the other half of the prost::Message trait.
    todo!(
        "decode_link of {} bytes: the README's first worked example",
        bytes.len()
    )
}

/// The same link as JSON, with the field names a JSON API would use.
pub fn link_to_json(link: &Link) -> String {
    // TODO(lesson 04): Exercise 4: the link as compact JSON, with serde_json.
    todo!("Exercise 4: link_to_json({link:?})")
}

/// Reads one varint from the start of `bytes`: its value, and how many bytes it took.
///
/// Each byte carries 7 bits of the number, least significant group first; a set high bit
/// (0x80) means "more bytes follow". `None` if the bytes end before the varint does, if it runs
/// past 10 bytes (64 bits need at most 10 groups of 7), or if its 10th byte holds more than the
/// one bit that is left of a `u64` (prost refuses that varint too).
pub fn decode_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    // TODO(lesson 04): Exercise 1: read the varint, byte by byte, by the rules above.
    todo!("Exercise 1: decode_varint({bytes:02x?})")
}

// NEW(lesson 04): WireType is given: decode_key, below, returns one.
/// How the bytes after a key are laid out: the 3 low bits of the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireType {
    /// 0: a varint follows (int32, int64, uint32, uint64, sint32, sint64, bool, enum).
    Varint,
    /// 1: 8 bytes follow, little-endian (fixed64, sfixed64, double).
    I64,
    /// 2: a varint length, then that many bytes (string, bytes, messages, packed repeated).
    Len,
    /// 5: 4 bytes follow, little-endian (fixed32, sfixed32, float).
    I32,
}

/// Splits a key (the varint in front of every field) into the field number and the wire type:
/// `key = field_number << 3 | wire_type`. `None` for a key wider than 32 bits (field numbers
/// stop at 2^29 - 1), for field number 0, and for the wire types proto3 never writes (3 and 4
/// were groups; 6 and 7 were never used).
pub fn decode_key(key: u64) -> Option<(u32, WireType)> {
    // TODO(lesson 04): Exercise 2: split the key by the rules above.
    todo!("Exercise 2: decode_key({key:#x})")
}
