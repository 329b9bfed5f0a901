//! Lesson 04's checks: encoding and decoding a `Link`, and reading its bytes by hand.
//!
//! The hand-written decoders are checked against the bytes prost itself writes, so a test that
//! passes means your reading of the wire format agrees with a real protobuf library. Please
//! don't edit them: `cargo quiz check 04` runs them as they are.

use prost::Message;

use solution_04::dump::dump;
use solution_04::pb::Link;
use solution_04::{WireType, decode_key, decode_link, decode_varint, encode_link, link_to_json};

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
    assert_eq!(
        link_to_json(&sample()).len(),
        86,
        "compact JSON, as an API sends it, is 86 bytes for this link: no spaces, no newlines"
    );
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
fn decode_varint_refuses_a_tenth_byte_above_1_as_prost_does() {
    // Nine bytes carry 63 bits; the 10th byte has room for one more bit, so only 0x00 and 0x01.
    let mut too_big = vec![0xff; 9];
    too_big.push(0x02);
    assert!(
        prost::encoding::decode_varint(&mut too_big.as_slice()).is_err(),
        "prost refuses this varint"
    );
    assert_eq!(
        decode_varint(&too_big),
        None,
        "the 10th byte of {too_big:02x?} holds more than the one bit left of a u64: refuse it, as prost does"
    );
    let mut continued = vec![0xff; 9];
    continued.push(0x81);
    assert_eq!(
        decode_varint(&continued),
        None,
        "a 10th byte with its high bit set ({continued:02x?}) is too long and too big"
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
fn decode_key_refuses_a_key_wider_than_32_bits() {
    let largest = (536_870_911u64 << 3) | 5; // field 2^29 - 1, wire type 5
    assert_eq!(
        decode_key(largest),
        Some((536_870_911, WireType::I32)),
        "536,870,911 (2^29 - 1) is the largest field number: its key {largest:#x} is valid"
    );
    let wider = 536_870_912u64 << 3; // field 2^29: the key needs 33 bits
    assert_eq!(
        decode_key(wider),
        None,
        "a key above u32::MAX ({wider:#x}) is not valid, as prost says: refuse it before you shift"
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

#[test]
fn the_dump_steps_over_fields_of_every_wire_type() {
    // Fields a `Link` does not have: 5 (varint 7), 6 (fixed64 1), 7 (fixed32 2), 8 (the bytes "hi").
    let bytes = [
        0x28, 0x07, //
        0x31, 1, 0, 0, 0, 0, 0, 0, 0, //
        0x3d, 2, 0, 0, 0, //
        0x42, 0x02, b'h', b'i',
    ];
    let text = dump(&bytes).expect("fields of every wire type should dump");
    for expected in [
        "28                      key: field 5 (unknown), wire type 0 (varint)",
        "07                      varint: 7",
        "31                      key: field 6 (unknown), wire type 1 (8 bytes)",
        "01 00 00 00 00 00 00 00 8 fixed bytes",
        "3d                      key: field 7 (unknown), wire type 5 (4 bytes)",
        "02 00 00 00             4 fixed bytes",
        "42                      key: field 8 (unknown), wire type 2 (length-delimited)",
        "02                      length: 2 bytes",
        "68 69                   \"hi\"",
    ] {
        assert!(
            text.lines().any(|line| line == expected),
            "the dump should have the line {expected:?}: the wire type says how long the value is; it is:\n{text}"
        );
    }
}

#[test]
fn the_dump_reports_bytes_cut_short_instead_of_panicking() {
    let cases: [(&str, &[u8]); 5] = [
        ("a key with no value after it", &[0x08]),
        ("a varint cut off", &[0x08, 0xac]),
        ("a length that runs past the end", &[0x12, 0x05, b'h', b'i']),
        ("4 fixed bytes announced, 2 left", &[0x3d, 0x02, 0x00]),
        (
            "a length of u64::MAX",
            &[
                0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
        ),
    ];
    for (what, bytes) in cases {
        let result = std::panic::catch_unwind(|| dump(bytes));
        match result {
            Ok(Err(_)) => {}
            Ok(Ok(text)) => panic!("{what} ({bytes:02x?}) should be an Err, not the dump:\n{text}"),
            Err(_) => panic!(
                "dump panicked on {what} ({bytes:02x?}) (the panic message is above): check that \
                 the value fits in what is left before you slice, and return an Err"
            ),
        }
    }
}
