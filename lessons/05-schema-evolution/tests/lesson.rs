//! Lesson 05's checks: which schema changes old and new programs survive, and which corrupt data.
//!
//! The tests write bytes with one version of `Link` and read them with another. To see exactly
//! what is on the wire they also decode with `WireLink` below, a message written for the tests
//! that knows fields by number only. Some tests compile your `proto/link_v2.proto` with protox
//! (once with a line added) to prove that `reserved` does its job. Please don't edit them:
//! `cargo quiz check 05` runs them as they are.

use std::path::{Path, PathBuf};

use prost::Message;
use protox::prost_reflect::prost_types::FileDescriptorSet;

use lesson_05::{describe_v2, field_4_as_string, id_as_sint64, upgrade, v1, v2};

/// Every field number either version has used, with the wire type it was written with.
#[derive(Clone, PartialEq, prost::Message)]
struct WireLink {
    #[prost(int64, tag = "1")]
    id: i64,
    #[prost(string, tag = "2")]
    url: String,
    #[prost(string, tag = "3")]
    short_code: String,
    #[prost(int64, optional, tag = "4")]
    clicks: Option<i64>,
    #[prost(string, optional, tag = "5")]
    title: Option<String>,
}

fn v1_link() -> v1::Link {
    v1::Link {
        id: 300,
        url: "https://example.com/article-one".to_string(),
        short_code: "k7m2px".to_string(),
        clicks: 1500,
    }
}

// ---- a new field ------------------------------------------------------------------------------

#[test]
fn upgrade_writes_the_title_as_field_5() {
    let bytes = upgrade(&v1_link(), "Article one").encode_to_vec();
    let wire = WireLink::decode(bytes.as_slice()).expect("v2 bytes should decode");
    assert_eq!(
        wire.title.as_deref(),
        Some("Article one"),
        "v2's Link should have `string title = 5;`, and upgrade should fill it in"
    );
}

#[test]
fn a_v1_reader_skips_the_new_field() {
    let bytes = upgrade(&v1_link(), "Article one").encode_to_vec();
    let old = v1::Link::decode(bytes.as_slice())
        .expect("v1 should read v2 bytes: an unknown field is skipped, not an error");
    assert_eq!(old.id, 300, "id is still field 1");
    assert_eq!(
        old.url, "https://example.com/article-one",
        "the URL is still field 2"
    );
    assert_eq!(old.short_code, "k7m2px", "short_code is still field 3");
}

#[test]
fn a_v2_reader_sees_the_default_for_a_field_v1_never_wrote() {
    let bytes = v1_link().encode_to_vec();
    let new = v2::Link::decode(bytes.as_slice()).expect("v2 should read v1 bytes");
    assert_eq!(
        describe_v2(&new),
        "#300 k7m2px -> https://example.com/article-one titled \"\"",
        "v1 wrote no title, so a v2 reader sees \"\": describe_v2 should print `#ID CODE -> URL titled \"TITLE\"`"
    );
}

// ---- a removed field ------------------------------------------------------------------------

/// v1's bytes as a v2 program passes them on: decoded as v2, encoded again.
fn v1_bytes_through_v2() -> Vec<u8> {
    let bytes = v1_link().encode_to_vec();
    v2::Link::decode(bytes.as_slice())
        .expect("v2 should read v1 bytes")
        .encode_to_vec()
}

#[test]
fn a_v2_reader_skips_the_clicks_v1_wrote() {
    let wire = WireLink::decode(v1_bytes_through_v2().as_slice()).expect("decode");
    assert_eq!(
        wire.clicks, None,
        "v2's Link should have no field 4: v2 skips it when it reads, and prost keeps no unknown \
         fields to write back"
    );
}

#[test]
fn a_v1_reader_sees_zero_clicks_from_v2() {
    let old = v1::Link::decode(v1_bytes_through_v2().as_slice()).expect("v1 should read v2 bytes");
    assert_eq!(
        old.clicks, 0,
        "v2's Link should have no clicks; a field the writer does not have reads as its default, 0"
    );
}

// ---- a rename --------------------------------------------------------------------------------

#[test]
fn a_renamed_field_keeps_its_bytes() {
    let wire = WireLink::decode(v1_bytes_through_v2().as_slice()).expect("decode");
    assert_eq!(
        wire.url, "https://example.com/article-one",
        "the URL should still travel as field 2, a string, whatever its name in v2"
    );
    let v2_descriptor = compile(&read_v2_proto()).expect("proto/link_v2.proto should compile");
    assert_eq!(
        field_name(&v2_descriptor, 2).as_deref(),
        Some("long_url"),
        "in v2, field 2 should be renamed `long_url`"
    );
}

// ---- reserved ----------------------------------------------------------------------------------

#[test]
fn reserved_4_stops_field_4_from_coming_back() {
    let edited = add_to_v2_link(&read_v2_proto(), "string owner = 4;");
    let error = compile(&edited).expect_err(
        "protox compiled v2 with `string owner = 4;` added: add `reserved 4;` to v2's Link",
    );
    assert!(
        error.contains("reserved"),
        "protox should refuse field 4 because it is reserved, not for another reason: {error}"
    );
}

#[test]
fn clicks_is_a_reserved_name() {
    // protoc refuses a field named like a reserved name; protox 0.10 checks reserved numbers
    // only, so this test reads the compiled descriptor instead.
    let v2_descriptor = compile(&read_v2_proto()).expect("proto/link_v2.proto should compile");
    let reserved: Vec<&String> = v2_descriptor
        .file
        .iter()
        .flat_map(|file| &file.message_type)
        .filter(|message| message.name() == "Link")
        .flat_map(|message| &message.reserved_name)
        .collect();
    assert_eq!(
        reserved,
        ["clicks"],
        "v2's Link should have `reserved \"clicks\";`, so the name is kept from reuse too"
    );
}

// ---- changes that break ------------------------------------------------------------------------

#[test]
fn int64_read_as_sint64_gives_a_wrong_id_and_no_error() {
    let bytes = v1_link().encode_to_vec();
    assert_eq!(
        id_as_sint64(&bytes).expect("the bytes still decode: both types are varints"),
        150,
        "zigzag reads 300 as 150: the type change corrupts silently"
    );
    let one = v1::Link { id: 1, ..v1_link() }.encode_to_vec();
    assert_eq!(
        id_as_sint64(&one).expect("decode"),
        -1,
        "zigzag reads 1 as -1"
    );
}

#[test]
fn a_reused_number_with_another_wire_type_fails_to_decode() {
    let bytes = v1_link().encode_to_vec();
    let error = field_4_as_string(&bytes)
        .expect_err("v1 wrote field 4 as a varint: reading it as a string should be an error");
    assert!(
        error.to_string().contains("invalid wire type"),
        "prost refuses a known field that arrives with another wire type (protobuf-go would \
         keep it as an unknown field instead); the error should say so, not: {error}"
    );
}

#[test]
fn a_reused_number_hides_while_the_old_field_is_zero() {
    let bytes = v1::Link {
        clicks: 0,
        ..v1_link()
    }
    .encode_to_vec();
    assert_eq!(
        field_4_as_string(&bytes).expect("with 0 clicks, field 4 is not written, so nothing fails"),
        "",
        "proto3 does not write 0: the broken reader sees no field 4 and returns \"\""
    );
}

// ---- helpers ------------------------------------------------------------------------------------

fn read_v2_proto() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("proto/link_v2.proto");
    std::fs::read_to_string(&path).expect("read proto/link_v2.proto")
}

/// `proto` with `line` added as the first line inside `message Link {`.
fn add_to_v2_link(proto: &str, line: &str) -> String {
    let open = "message Link {";
    let at = proto
        .find(open)
        .expect("proto/link_v2.proto should have `message Link {`")
        + open.len();
    format!("{}\n  {line}{}", &proto[..at], &proto[at..])
}

/// Compiles `proto` with protox, from a folder of its own; the error as text if it fails.
fn compile(proto: &str) -> Result<FileDescriptorSet, String> {
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "lesson-05-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create a temporary folder");
    std::fs::write(dir.join("link_v2.proto"), proto).expect("write the proto");
    let result = protox::compile(["link_v2.proto"], [&dir]).map_err(|error| error.to_string());
    let _ = std::fs::remove_dir_all(&dir);
    result
}

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The name of v2 `Link`'s field `number`, from a compiled descriptor.
fn field_name(files: &FileDescriptorSet, number: i32) -> Option<String> {
    files
        .file
        .iter()
        .flat_map(|file| &file.message_type)
        .filter(|message| message.name() == "Link")
        .flat_map(|message| &message.field)
        .find(|field| field.number() == number)
        .map(|field| field.name().to_string())
}
