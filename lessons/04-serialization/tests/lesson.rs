//! Lesson 04's checks: encoding and decoding a `Link`, and reading its bytes by hand.
//!
//! The hand-written decoders are checked against the bytes prost itself writes, so a test that
//! passes means your reading of the wire format agrees with a real protobuf library. Please
//! don't edit them: `cargo quiz check 04` runs them as they are.

use prost::Message;

use lesson_04::dump::dump;
use lesson_04::pb::Link;
use lesson_04::{WireType, decode_key, decode_link, decode_varint, encode_link, link_to_json};

fn sample() -> Link {
    Link {
        id: 300,
        url: "https://example.com/article-one".to_string(),
        short_code: "k7m2px".to_string(),
        clicks: 1500,
    }
}

/// The bytes prost writes for `value` as a varint.
fn prost_varint(value: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    prost::encoding::encode_varint(value, &mut bytes);
    bytes
}

#[test]
fn a_link_survives_a_round_trip() {
    let link = sample();
    let bytes = encode_link(&link);
    let back = decode_link(&bytes).expect("decode_link should read what encode_link wrote");
    assert_eq!(
        back, link,
        "decoding the encoded link should give the same link"
    );
}

#[test]
fn encode_link_writes_what_any_protobuf_reader_understands() {
    let bytes = encode_link(&sample());
    assert_eq!(
        bytes.len(),
        sample().encoded_len(),
        "encode_link should write exactly encoded_len() bytes"
    );
    let contract = shortener_proto::Link::decode(bytes.as_slice())
        .expect("the contract's Link should decode what encode_link wrote");
    assert_eq!(contract.id, 300, "id should travel as field 1");
    assert_eq!(contract.url, "https://example.com/article-one");
    assert_eq!(contract.short_code, "k7m2px");
    assert_eq!(contract.clicks, 1500, "clicks should travel as field 4");
}

#[test]
fn a_link_of_default_values_encodes_to_no_bytes() {
    assert!(
        encode_link(&Link::default()).is_empty(),
        "proto3 does not write fields that hold their default value (0, \"\")"
    );
}

#[test]
fn decode_link_refuses_bytes_that_stop_mid_field() {
    let bytes = encode_link(&sample());
    let cut = &bytes[..bytes.len() - 1];
    assert!(
        decode_link(cut).is_err(),
        "the last byte is missing from clicks' varint: decode_link should return an error, not a link"
    );
}

#[test]
fn decode_link_skips_a_field_it_does_not_know() {
    let link = sample();
    let mut bytes = encode_link(&link);
    bytes.extend_from_slice(&[0x28, 0x07]); // field 5, varint 7: not in this Link
    let read = decode_link(&bytes).expect("an unknown field is not an error");
    assert_eq!(read, link, "the known fields should come through unchanged");
    assert_eq!(
        encode_link(&read),
        encode_link(&link),
        "prost does not keep unknown fields: encoding again should drop field 5"
    );
}

#[test]
fn link_to_json_names_every_field() {
    let json: serde_json::Value = serde_json::from_str(&link_to_json(&sample()))
        .expect("link_to_json should return valid JSON");
    assert_eq!(json["id"], 300);
    assert_eq!(json["url"], "https://example.com/article-one");
    assert_eq!(json["short_code"], "k7m2px");
    assert_eq!(json["clicks"], 1500);
}

#[test]
fn a_small_number_is_one_byte_of_varint() {
    for value in [0u64, 1, 42, 127] {
        assert_eq!(
            decode_varint(&[value as u8]),
            Some((value, 1)),
            "a byte below 0x80 is a whole varint: its value is the byte itself"
        );
    }
}

#[test]
fn decode_varint_reads_what_prost_writes() {
    let values = [
        0,
        1,
        127,
        128,
        300,
        1500,
        16_383,
        16_384,
        u64::from(u32::MAX),
        (-1i64) as u64, // a negative int64 is written as 10 bytes
        u64::MAX,
    ];
    for value in values {
        let bytes = prost_varint(value);
        assert_eq!(
            decode_varint(&bytes),
            Some((value, bytes.len())),
            "decode_varint({bytes:02x?}) should be ({value}, {}): 7 bits a byte, low bits first",
            bytes.len()
        );
    }
}

#[test]
fn decode_varint_stops_at_the_end_of_its_varint() {
    // 300 is ac 02; what follows belongs to the next field.
    assert_eq!(
        decode_varint(&[0xac, 0x02, 0x12, 0x1f]),
        Some((300, 2)),
        "the varint ends at the first byte whose high bit (0x80) is clear"
    );
}

#[test]
fn decode_varint_refuses_a_varint_that_never_ends() {
    assert_eq!(
        decode_varint(&[0xac]),
        None,
        "0xac has its high bit set, so a byte should follow: the varint is cut off"
    );
    assert_eq!(decode_varint(&[]), None, "no bytes, no varint");
    assert_eq!(
        decode_varint(&[0xff; 11]),
        None,
        "a varint is at most 10 bytes long (64 bits, 7 a byte)"
    );
}

#[test]
fn decode_key_splits_field_number_and_wire_type() {
    let cases = [
        (0x08, 1, WireType::Varint),
        (0x12, 2, WireType::Len),
        (0x1a, 3, WireType::Len),
        (0x20, 4, WireType::Varint),
        (0x09, 1, WireType::I64),
        (0x15, 2, WireType::I32),
    ];
    for (key, field, wire_type) in cases {
        assert_eq!(
            decode_key(key),
            Some((field, wire_type)),
            "key {key:#04x} should be field {field}, {wire_type:?}: key = field << 3 | wire type"
        );
    }
}

#[test]
fn decode_key_reads_large_field_numbers() {
    let mut bytes = Vec::new();
    prost::encoding::encode_key(1000, prost::encoding::WireType::LengthDelimited, &mut bytes);
    let (key, _) = decode_varint(&bytes).expect("a key is a varint");
    assert_eq!(
        decode_key(key),
        Some((1000, WireType::Len)),
        "field 1000 needs a two-byte key ({bytes:02x?}): shift the whole key right by 3"
    );
}

#[test]
fn decode_key_refuses_what_proto3_never_writes() {
    for key in [0x0b, 0x0c, 0x0e, 0x0f] {
        assert_eq!(
            decode_key(key),
            None,
            "wire types 3, 4, 6 and 7 are not valid in proto3 (key {key:#04x})"
        );
    }
    assert_eq!(decode_key(0x00), None, "field number 0 is not valid");
}

#[test]
fn the_dump_explains_every_byte_of_a_link() {
    let text = dump(&encode_link(&sample())).expect("an encoded Link should dump");
    for expected in [
        "08                      key: field 1 (id), wire type 0 (varint)",
        "ac 02                   varint: 300",
        "1f                      length: 31 bytes",
        "6b 37 6d 32 70 78       \"k7m2px\"",
        "dc 0b                   varint: 1500",
    ] {
        assert!(
            text.lines().any(|line| line == expected),
            "the dump should have the line {expected:?}; it is:\n{text}"
        );
    }
}
