//! Lesson 02's checks: `proto/link.proto` declares every kind of field the lesson shows, with
//! the numbers it gives, `example_link` sets each of them, and `describe` reads each of them
//! from the generated Rust.
//!
//! The tests don't trust your generated types to check themselves: they encode your link and
//! decode the bytes with `WireLink` below, a message written by hand that knows only the field
//! numbers and wire types, the way a program in another language would. Please don't edit
//! them: `cargo quiz check 02` runs them as they are.

use std::collections::HashMap;

use prost::Message;

use lesson_02::pb::Link;
use lesson_02::{describe, example_link};

/// What `shortener.Link` should look like on the wire, field by field.
#[derive(Clone, PartialEq, prost::Message)]
struct WireLink {
    #[prost(int64, tag = "1")]
    id: i64,
    #[prost(string, tag = "2")]
    url: String,
    #[prost(string, tag = "3")]
    short_code: String,
    #[prost(int64, tag = "4")]
    clicks: i64,
    /// An enum travels as its number.
    #[prost(int32, tag = "5")]
    status: i32,
    #[prost(message, optional, tag = "6")]
    owner: Option<WireOwner>,
    #[prost(string, repeated, tag = "7")]
    tags: Vec<String>,
    #[prost(map = "string, string", tag = "8")]
    labels: HashMap<String, String>,
    /// The two fields of `oneof expiry`: on the wire, a oneof is just fields of which at most
    /// one is sent.
    #[prost(string, optional, tag = "9")]
    expires_at: Option<String>,
    #[prost(int64, optional, tag = "10")]
    max_clicks: Option<i64>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireOwner {
    #[prost(string, tag = "1")]
    email: String,
    #[prost(bool, tag = "2")]
    verified: bool,
}

/// `example_link()`, encoded by your generated code and decoded by `WireLink`.
fn example_on_the_wire() -> WireLink {
    let bytes = example_link().encode_to_vec();
    WireLink::decode(bytes.as_slice())
        .expect("the example link should decode field by field: is a field's type wrong?")
}

/// Turns a hand-written `WireLink` into bytes and decodes them with your generated `Link`.
fn generated_from(wire: &WireLink) -> Link {
    Link::decode(wire.encode_to_vec().as_slice())
        .expect("your Link should decode these bytes: is a field's type wrong?")
}

fn full_wire_link() -> WireLink {
    WireLink {
        id: 7,
        url: "https://example.com/a".to_string(),
        short_code: "abc123".to_string(),
        clicks: 5,
        status: 2,
        owner: Some(WireOwner {
            email: "grace@example.com".to_string(),
            verified: false,
        }),
        tags: vec!["x".to_string(), "y".to_string(), "z".to_string()],
        labels: HashMap::from([
            ("team".to_string(), "growth".to_string()),
            ("env".to_string(), "prod".to_string()),
        ]),
        expires_at: Some("2030-01-01T00:00:00Z".to_string()),
        max_clicks: None,
    }
}

#[test]
fn the_contract_fields_keep_numbers_1_to_4() {
    let wire = example_on_the_wire();
    assert_eq!(wire.id, 1, "id is `int64 id = 1;`, set to 1");
    assert_eq!(
        wire.url, "https://example.com/article-one",
        "url is `string url = 2;`"
    );
    assert_eq!(
        wire.short_code, "k7m2px",
        "short_code is `string short_code = 3;`"
    );
    assert_eq!(wire.clicks, 42, "clicks is `int64 clicks = 4;`, set to 42");
}

#[test]
fn status_is_an_enum_in_field_5_set_to_active() {
    assert_eq!(
        example_on_the_wire().status,
        1,
        "expected `LinkStatus status = 5;` holding LINK_STATUS_ACTIVE, which is 1"
    );
}

#[test]
fn owner_is_a_nested_message_in_field_6() {
    let owner = example_on_the_wire()
        .owner
        .expect("expected `Owner owner = 6;` to be set: Some(Owner { .. })");
    assert_eq!(
        owner.email, "ada@example.com",
        "Owner is `string email = 1;`"
    );
    assert!(owner.verified, "Owner is `bool verified = 2;`, set to true");
}

#[test]
fn tags_are_a_repeated_field_7() {
    assert_eq!(
        example_on_the_wire().tags,
        ["docs", "launch"],
        "expected `repeated string tags = 7;` holding docs and launch, in that order"
    );
}

#[test]
fn labels_are_a_map_in_field_8() {
    let expected = HashMap::from([
        ("campaign".to_string(), "spring".to_string()),
        ("source".to_string(), "newsletter".to_string()),
    ]);
    assert_eq!(
        example_on_the_wire().labels,
        expected,
        "expected `map<string, string> labels = 8;` holding campaign=spring and source=newsletter"
    );
}

#[test]
fn expiry_is_a_oneof_of_fields_9_and_10() {
    let wire = example_on_the_wire();
    assert_eq!(
        (wire.expires_at, wire.max_clicks),
        (None, Some(1000)),
        "expected `oneof expiry {{ string expires_at = 9; int64 max_clicks = 10; }}` set to max_clicks 1000"
    );

    let both = WireLink {
        expires_at: Some("2030-01-01T00:00:00Z".to_string()),
        max_clicks: Some(5),
        ..full_wire_link()
    };
    assert!(
        describe(&generated_from(&both)).ends_with("expires: after 5 clicks"),
        "fields 9 and 10 should both belong to `oneof expiry`: when both arrive, the last one wins"
    );
}

#[test]
fn labels_are_printed_sorted_by_key() {
    let keys = [
        "team", "env", "zone", "app", "owner", "cost", "tier", "region",
    ];
    let many = WireLink {
        labels: keys
            .iter()
            .map(|key| (key.to_string(), "x".to_string()))
            .collect(),
        ..full_wire_link()
    };
    let text = describe(&generated_from(&many));
    assert!(
        text.contains("labels: app=x, cost=x, env=x, owner=x, region=x, team=x, tier=x, zone=x\n"),
        "a map has no order (a HashMap iterates differently from run to run): sort the `key=value` texts before you join them. describe printed:\n{text}"
    );
}

#[test]
fn describe_prints_the_example_as_run_it_shows() {
    let expected = "\
link 1: k7m2px -> https://example.com/article-one (42 clicks)
status: Active
owner: ada@example.com (verified)
tags: docs, launch
labels: campaign=spring, source=newsletter
expires: after 1000 clicks";
    assert_eq!(
        describe(&example_link()),
        expected,
        "describe(&example_link()) should print the lines of the lesson's Run it, one per field"
    );
}

#[test]
fn describe_reads_every_kind_of_field() {
    let text = describe(&generated_from(&full_wire_link()));
    let expected = "\
link 7: abc123 -> https://example.com/a (5 clicks)
status: Disabled
owner: grace@example.com
tags: x, y, z
labels: env=prod, team=growth
expires: at 2030-01-01T00:00:00Z";
    assert_eq!(text, expected, "describe should print one line per field");
}

#[test]
fn unset_fields_read_as_their_defaults() {
    let bare = WireLink {
        id: 2,
        url: "https://example.com/b".to_string(),
        short_code: "def456".to_string(),
        ..Default::default()
    };
    let expected = [
        "link 2: def456 -> https://example.com/b (0 clicks)",
        "status: Unspecified",
        "owner: none",
        "tags: ",
        "labels: ",
        "expires: never",
    ]
    .join("\n");
    assert_eq!(
        describe(&generated_from(&bare)),
        expected,
        "an unset enum reads as its zero value, an unset message as None, an unset oneof as None"
    );
}

#[test]
fn an_unknown_status_number_reads_as_unspecified() {
    let from_the_future = WireLink {
        status: 9,
        ..full_wire_link()
    };
    assert!(
        describe(&generated_from(&from_the_future)).contains("status: Unspecified"),
        "describe should use the generated `status()` getter, which turns unknown numbers into the default"
    );
}
