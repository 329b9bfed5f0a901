//! Lesson 04: what a `Link` looks like on the wire. prost encodes and decodes it; a few lines of
//! hand-written Rust read the same bytes back, one varint at a time.
//! TODO(lesson 04): fill in the functions below; `dump.rs` is given, and uses them.

/// The code that `build.rs` generated from `proto/link.proto`: messages, server trait, client.
pub mod pb {
    tonic::include_proto!("shortener");
}

pub mod dump;

use pb::Link;
// TODO(lesson 04): encode_link and decode_link need the prost::Message trait in scope.

/// The link in protobuf's binary encoding.
pub fn encode_link(link: &Link) -> Vec<u8> {
    // TODO(lesson 04): one call of the prost::Message trait does it.
    todo!("encode_link: encode {link:?} with prost")
}

/// Reads a link back from its encoding. Bytes that are not a valid `Link` are an error.
pub fn decode_link(bytes: &[u8]) -> Result<Link, prost::DecodeError> {
    // TODO(lesson 04): the other half of prost::Message: read a Link from the bytes.
    todo!("decode_link: decode {} bytes with prost", bytes.len())
}

/// The same link as JSON, with the field names a JSON API would use.
pub fn link_to_json(link: &Link) -> String {
    // TODO(lesson 04): build a JSON object with serde_json::json! and turn it into a String.
    todo!("link_to_json: {link:?} as JSON")
}

/// Reads one varint from the start of `bytes`: its value, and how many bytes it took.
///
/// Each byte carries 7 bits of the number, least significant group first; a set high bit
/// (0x80) means "more bytes follow". `None` if the bytes end before the varint does, or if
/// it runs past 10 bytes (64 bits need at most 10 groups of 7).
pub fn decode_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    // TODO(lesson 04): add up the low 7 bits of each byte, shifted by 7 more each time,
    // until a byte without the 0x80 bit; give up after 10 bytes.
    todo!("decode_varint: read a varint from {bytes:02x?}")
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
/// `key = field_number << 3 | wire_type`. `None` for field number 0 and for the wire types
/// proto3 never writes (3 and 4 were groups; 6 and 7 were never used).
pub fn decode_key(key: u64) -> Option<(u32, WireType)> {
    // TODO(lesson 04): the wire type is `key & 0b111`, the field number `key >> 3`.
    todo!("decode_key: split {key:#x} into field number and wire type")
}
