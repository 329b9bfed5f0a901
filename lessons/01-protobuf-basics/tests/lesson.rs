//! Lesson 01's checks: `CreateLinkRequest` and `Link` are protobuf messages with the contract's
//! field numbers, the same link also turns into JSON, and `cargo run` prints the comparison.
//!
//! The protobuf tests decode your bytes with the course's contract (`proto/shortener/link.proto`
//! at the top of the repository), the way a program in any other language would read them.
//! Please don't edit them: `cargo quiz check 01` runs them as they are.

use std::process::Command;

use prost::Message;

use lesson_01::{CreateLinkRequest, Link, hex, request_to_protobuf, to_json, to_protobuf};

fn example() -> Link {
    Link {
        id: 1,
        url: "https://example.com/article-one".to_string(),
        short_code: "k7m2px".to_string(),
        clicks: 42,
    }
}

#[test]
fn the_request_is_its_url_in_field_1() {
    let request = CreateLinkRequest {
        url: "a".to_string(),
    };
    // 0a     field 1, length-delimited (1 << 3 | 2)
    // 01 61  1 byte: "a"
    assert_eq!(
        hex(&request_to_protobuf(&request)),
        "0a0161",
        "expected `#[prost(string, tag = \"1\")]` on url and `encode_to_vec` in request_to_protobuf (Learn, step 2 and 3)"
    );
    let decoded = shortener_proto::CreateLinkRequest::decode(
        request_to_protobuf(&CreateLinkRequest {
            url: "https://example.com/article-one".to_string(),
        })
        .as_slice(),
    )
    .expect("request_to_protobuf should return bytes that decode as a shortener.CreateLinkRequest");
    assert_eq!(
        decoded.url, "https://example.com/article-one",
        "a reader built from the contract should find the URL in field 1"
    );
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
        "derive serde::Serialize on Link and turn it into a compact String with serde_json (Exercise 2)"
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

#[test]
fn cargo_run_prints_the_request_then_the_link_in_both_encodings() {
    let output = Command::new(env!("CARGO_BIN_EXE_lesson-01"))
        .output()
        .expect("the crate's binary (src/main.rs) should start");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "`cargo run` should exit with success; a todo!() left in src/main.rs or src/lib.rs panics.\nIt printed:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = "\
CreateLinkRequest { url: \"https://example.com/article-one\" }
protobuf: 33 bytes  0a1f68747470733a2f2f6578616d706c652e636f6d2f61727469636c652d6f6e65
Link { id: 1, url: \"https://example.com/article-one\", short_code: \"k7m2px\", clicks: 42 }
protobuf: 45 bytes  0801121f68747470733a2f2f6578616d706c652e636f6d2f61727469636c652d6f6e651a066b376d327078202a
json:     82 bytes  {\"id\":1,\"url\":\"https://example.com/article-one\",\"short_code\":\"k7m2px\",\"clicks\":42}
";
    assert_eq!(
        stdout, expected,
        "src/main.rs should print exactly the five lines of the lesson's \"Run it\" (Exercise 3): compare line by line, spaces included"
    );
}
