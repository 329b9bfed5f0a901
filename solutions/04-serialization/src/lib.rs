//! Lesson 04: what a `Link` looks like on the wire. prost encodes and decodes it; a few lines of
//! hand-written Rust read the same bytes back, one varint at a time.

/// The code that `build.rs` generated from `proto/link.proto`: messages, server trait, client.
pub mod pb {
    tonic::include_proto!("shortener");
}

pub mod dump;

use pb::Link;
use prost::Message;

/// The link in protobuf's binary encoding.
pub fn encode_link(link: &Link) -> Vec<u8> {
    link.encode_to_vec()
}

/// Reads a link back from its encoding. Bytes that are not a valid `Link` are an error.
pub fn decode_link(bytes: &[u8]) -> Result<Link, prost::DecodeError> {
    Link::decode(bytes)
}

/// The same link as JSON, with the field names a JSON API would use.
pub fn link_to_json(link: &Link) -> String {
    serde_json::json!({
        "id": link.id,
        "url": link.url,
        "short_code": link.short_code,
        "clicks": link.clicks,
    })
    .to_string()
}

/// Reads one varint from the start of `bytes`: its value, and how many bytes it took.
///
/// Each byte carries 7 bits of the number, least significant group first; a set high bit
/// (0x80) means "more bytes follow". `None` if the bytes end before the varint does, if it runs
/// past 10 bytes (64 bits need at most 10 groups of 7), or if its 10th byte holds more than the
/// one bit that is left of a `u64` (prost refuses that varint too).
pub fn decode_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (index, &byte) in bytes.iter().enumerate().take(10) {
        if index == 9 && byte > 0x01 {
            return None;
        }
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return Some((value, index + 1));
        }
    }
    None
}

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
    let key = u32::try_from(key).ok()?;
    let wire_type = match key & 0b111 {
        0 => WireType::Varint,
        1 => WireType::I64,
        2 => WireType::Len,
        5 => WireType::I32,
        _ => return None,
    };
    let field_number = key >> 3;
    if field_number == 0 {
        return None;
    }
    Some((field_number, wire_type))
}
