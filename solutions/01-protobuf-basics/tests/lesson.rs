//! Lesson 01's checks: `Link` is a protobuf message with the contract's field numbers, and the
//! same link also turns into JSON.
//!
//! The protobuf tests decode your bytes with the course's contract (`proto/shortener/link.proto`
//! at the top of the repository), the way a program in any other language would read them.
//! Please don't edit them: `cargo quiz check 01` runs them as they are.

use prost::Message;

use solution_01::{Link, hex, to_json, to_protobuf};

fn example() -> Link {
    Link {
        id: 1,
        url: "https://example.com/article-one".to_string(),
        short_code: "k7m2px".to_string(),
        clicks: 42,
    }
}

#[test]
fn the_protobuf_bytes_decode_as_the_contracts_link() {
    let bytes = to_protobuf(&example());
    let decoded = shortener_proto::Link::decode(bytes.as_slice())
        .expect("to_protobuf should return bytes that decode as a shortener.Link");
    let expected = shortener_proto::Link {
        id: 1,
        url: "https://example.com/article-one".to_string(),
        short_code: "k7m2px".to_string(),
        clicks: 42,
    };
    assert_eq!(
        decoded, expected,
        "a reader built from the contract should see every field: check the tag numbers (id 1, url 2, short_code 3, clicks 4)"
    );
}

#[test]
fn each_field_is_written_with_its_number_and_wire_type() {
    let link = Link {
        id: 1,
        url: "a".to_string(),
        short_code: "b".to_string(),
        clicks: 2,
    };
    // 08 01     field 1, varint: 1
    // 12 01 61  field 2, length-delimited: 1 byte, "a"
    // 1a 01 62  field 3, length-delimited: 1 byte, "b"
    // 20 02     field 4, varint: 2
    assert_eq!(
        hex(&to_protobuf(&link)),
        "08011201611a01622002",
        "expected id as int64 tag 1, url as string tag 2, short_code as string tag 3, clicks as int64 tag 4"
    );
}

#[test]
fn fields_at_their_default_value_are_not_written() {
    let empty = Link {
        id: 0,
        url: String::new(),
        short_code: String::new(),
        clicks: 0,
    };
    assert!(
        to_protobuf(&empty).is_empty(),
        "in proto3 a zero number or an empty string is not sent at all, so this link is 0 bytes"
    );
}

#[test]
fn the_json_names_every_field() {
    let json = to_json(&example()).expect("a Link should always turn into JSON");
    assert_eq!(
        json,
        r#"{"id":1,"url":"https://example.com/article-one","short_code":"k7m2px","clicks":42}"#,
        "derive serde::Serialize on Link and use serde_json::to_string"
    );
}

#[test]
fn protobuf_is_smaller_than_json_for_the_same_link() {
    let protobuf = to_protobuf(&example());
    let json = to_json(&example()).expect("a Link should always turn into JSON");
    assert!(
        !protobuf.is_empty() && protobuf.len() < json.len(),
        "expected a non-empty protobuf encoding smaller than the JSON: {} bytes against {} bytes",
        protobuf.len(),
        json.len()
    );
}
